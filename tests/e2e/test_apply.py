"""``kubeuser apply`` on the real control plane: 20 users from a file, idempotence, prune — checked with kubectl."""

from __future__ import annotations

import json
import os
import stat
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubeuser_runner import OUTPUTS, kubeuser, ok

N_USERS = 20
N_PRUNED = 5


@pytest.fixture
def registry_ns(control_plane: Any) -> Iterator[str]:
    """A registry of our own: --prune only ever sees the users of this test."""
    name = f"e2e-reg-{uuid.uuid4().hex[:8]}"
    yield name
    control_plane.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)


def users_file(path: Path, names: list[str], namespace: str) -> Path:
    doc = {
        "apiVersion": "kubeuser.io/v1alpha1",
        "kind": "UserList",
        "users": [
            {"name": n, "groups": ["e2e-team"], "ttl": "2d", "namespaces": {namespace: {"rules": ["get,list:pods"]}}}
            for n in names
        ],
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def can(control_plane: Any, kc: Path, *args: str) -> Any:
    return control_plane.kubectl(*args, kubeconfig=kc, check=False)


def record_status(control_plane: Any, registry_ns: str, name: str) -> str:
    cm = json.loads(control_plane.kubectl("get", "configmap", f"user-{name}", "-n", registry_ns, "-o", "json").stdout)
    return str(cm["metadata"]["labels"]["kubeuser.io/status"])


def test_apply_twenty_users_idempotent_and_prune(
    control_plane: Any, namespace: str, registry_ns: str, tmp_path: Path
) -> None:
    prefix = f"ap-{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}-{i:02d}" for i in range(N_USERS)]
    f = users_file(tmp_path / "users.yaml", names, namespace)
    out = tmp_path / "handout"
    common = ["-f", str(f), "--registry-namespace", registry_ns]

    # 1. create all 20, 4 at a time, one standalone kubeconfig each
    t0 = time.monotonic()
    proc = ok(kubeuser("apply", *common, "--out-dir", str(out), "--parallel", "4", "-o", "json", timeout=600))
    took = time.monotonic() - t0
    data = json.loads(proc.stdout)
    assert data["summary"]["create"] == N_USERS and data["summary"]["failed"] == 0, proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    files = sorted(out.iterdir())
    assert [p.name for p in files] == [f"{n}.kubeconfig" for n in names]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert not (Path(os.environ["HOME"]) / ".kube" / "kubeuser").exists()  # no keys kept by the admin

    def check(kc: Path) -> tuple[int, int, str]:
        pods = can(control_plane, kc, "get", "pods", "-n", namespace)
        secrets = can(control_plane, kc, "get", "secrets", "-n", namespace)
        return pods.returncode, secrets.returncode, secrets.stderr

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = dict(zip(names, pool.map(check, files), strict=True))
    for n, (pods_rc, secrets_rc, secrets_err) in results.items():
        assert pods_rc == 0, f"{n} may not list pods"
        assert secrets_rc != 0 and "forbidden" in secrets_err.lower() and f'User "{n}"' in secrets_err

    # 2. the same file again: nothing to do, nothing written
    mtimes = {p.name: p.stat().st_mtime_ns for p in files}
    t1 = time.monotonic()
    again = json.loads(ok(kubeuser("apply", *common, "--out-dir", str(out), "-o", "json", timeout=600)).stdout)
    took_again = time.monotonic() - t1
    assert again["summary"]["unchanged"] == N_USERS and sum(again["summary"].values()) == N_USERS
    assert {u["action"] for u in again["users"]} == {"unchanged"}
    assert {p.name: p.stat().st_mtime_ns for p in sorted(out.iterdir())} == mtimes

    # 3. five users leave the file: --dry-run shows exactly them, --prune revokes exactly them
    gone, kept = names[:N_PRUNED], names[N_PRUNED:]
    users_file(f, kept, namespace)
    plan = json.loads(ok(kubeuser("apply", *common, "--prune", "--dry-run", "-o", "json")).stdout)
    assert sorted(u["user"] for u in plan["users"] if u["action"] == "prune") == gone
    assert all(record_status(control_plane, registry_ns, n) == "active" for n in gone)
    text = ok(kubeuser("apply", *common, "--prune", timeout=600)).stdout
    assert "5 prune" in text and f"{N_USERS - N_PRUNED} unchanged" in text
    for n in gone:
        assert record_status(control_plane, registry_ns, n) == "revoked"
        rb = control_plane.kubectl("get", "rolebinding", f"kubeuser:{n}", "-n", namespace, check=False)
        assert rb.returncode != 0 and "NotFound" in rb.stderr
        denied = can(control_plane, out / f"{n}.kubeconfig", "get", "pods", "-n", namespace)
        assert denied.returncode != 0 and "forbidden" in denied.stderr.lower()  # authenticates, may do nothing
    for n in kept:
        assert record_status(control_plane, registry_ns, n) == "active"
    assert can(control_plane, out / f"{kept[0]}.kubeconfig", "get", "pods", "-n", namespace).returncode == 0
    # and then the file and the cluster agree
    final = json.loads(ok(kubeuser("apply", *common, "--prune", "-o", "json")).stdout)
    assert final["summary"]["unchanged"] == N_USERS - N_PRUNED and final["summary"]["prune"] == 0

    print(f"\napply of {N_USERS} users with --parallel 4: {took:.1f}s; unchanged re-apply: {took_again:.1f}s")


def test_apply_schema_error_points_at_the_line(control_plane: Any, registry_ns: str, tmp_path: Path) -> None:
    f = tmp_path / "users.yaml"
    f.write_text(
        "apiVersion: kubeuser.io/v1alpha1\nkind: UserList\nusers:\n"
        "  - name: fine\n    ttl: 30d\n  - name: broken\n    ttl: abc\n"
    )
    proc = kubeuser("apply", "-f", str(f), "--registry-namespace", registry_ns)
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"error: {f}:7: users[1].ttl: cannot read duration 'abc'" in proc.stderr
    res = control_plane.kubectl("get", "configmap", "-n", registry_ns, "-o", "name", check=False)
    assert res.stdout.strip() == ""  # nothing was created


def test_no_private_key_in_apply_outputs() -> None:
    for text in OUTPUTS:
        assert "PRIVATE KEY" not in text
