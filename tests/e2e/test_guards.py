"""Guards on the real control plane, checked with kubectl: a misspelled Role/ClusterRole creates nothing
(exit 10, with the closest existing names), and ``apply --prune`` refuses to revoke most users at once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubeuser_runner import home_kubeconfig, kubeuser, ok

LABEL = "kubeuser.io/user"
MANAGED = "app.kubernetes.io/managed-by=kubeuser"


@pytest.fixture
def registry_ns(control_plane: Any) -> Iterator[str]:
    """A registry of our own: records (and --prune) of this test only."""
    name = f"e2e-reg-{uuid.uuid4().hex[:8]}"
    yield name
    control_plane.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)


def uname(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def names_of(control_plane: Any, *args: str) -> list[str]:
    """``kubectl get ... -o name`` as a list (an empty list when nothing matches)."""
    proc = control_plane.kubectl("get", *args, "-o", "name")
    return [str(n) for n in proc.stdout.split()]


def traces_of(control_plane: Any, user: str, registry_ns: str) -> dict[str, list[str]]:
    """Everything kubeuser could have made for ``user``: CSRs, RBAC objects, registry records."""
    sel = f"{LABEL}={user}"
    return {
        "csr": names_of(control_plane, "csr", "-l", sel),
        "rbac": names_of(control_plane, "roles,rolebindings", "-A", "-l", sel)
        + names_of(control_plane, "clusterrolebindings", "-l", sel),
        "registry": names_of(control_plane, "configmaps", "-n", registry_ns, "-l", sel),
    }


NOTHING: dict[str, list[str]] = {"csr": [], "rbac": [], "registry": []}


def make_deployer(control_plane: Any, namespace: str) -> None:
    """The admin's own Role ``deployer``: the name a misspelling should be pointed at."""
    control_plane.kubectl("create", "role", "deployer", "-n", namespace, "--verb=get", "--resource=deployments.apps")


def records(control_plane: Any, registry_ns: str) -> dict[str, str]:
    """user → status, from the registry ConfigMaps' record.json."""
    doc = json.loads(control_plane.kubectl("get", "configmap", "-n", registry_ns, "-l", MANAGED, "-o", "json").stdout)
    out: dict[str, str] = {}
    for cm in doc["items"]:
        rec = json.loads(cm["data"]["record.json"])
        out[rec["user"]] = rec["status"]
    return out


def users_file(path: Path, users: list[dict[str, Any]] | None) -> Path:
    doc = {"apiVersion": "kubeuser.io/v1alpha1", "kind": "UserList", "users": users}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


# --------------------------------------------------------------------------- item 5: roles must exist


def test_misspelled_roles_create_nothing(control_plane: Any, namespace: str, registry_ns: str) -> None:
    make_deployer(control_plane, namespace)
    name = uname("typo")
    kc = home_kubeconfig()
    before = kc.read_bytes()
    env = {"KUBEUSER_REGISTRY_NAMESPACE": registry_ns}

    proc = kubeuser("create", name, "--role", "deploryer", "--clusterrole", "veiw", "-n", namespace, env=env)
    assert proc.returncode == 10, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    hints = [ln for ln in proc.stderr.splitlines() if ln.startswith("hint:")]
    assert errors == [f"error: Role 'deploryer' in namespace '{namespace}' and ClusterRole 'veiw' do not exist"]
    assert len(hints) == 1
    assert "Role 'deployer' for 'deploryer'" in hints[0] and "ClusterRole 'view' for 'veiw'" in hints[0]
    assert "--allow-missing-roles" in hints[0]
    # nothing was created, anywhere
    assert traces_of(control_plane, name, registry_ns) == NOTHING
    assert kc.read_bytes() == before
    assert not (Path(kc).parent / "kubeuser").exists()  # no key directory either

    # pre-provisioning: allowed, with a warning; the bindings name exactly what was asked
    proc = ok(
        kubeuser(
            "create", name, "--role", "deploryer", "--clusterrole", "veiw", "-n", namespace,
            "--allow-missing-roles", env=env,
        )
    )  # fmt: skip
    assert (
        f"warning: Role 'deploryer' in namespace '{namespace}' and ClusterRole 'veiw' do not exist (yet)" in proc.stderr
    )
    refs = {
        rb["roleRef"]["kind"] + "/" + rb["roleRef"]["name"]
        for rb in json.loads(
            control_plane.kubectl("get", "rolebindings", "-n", namespace, "-l", f"{LABEL}={name}", "-o", "json").stdout
        )["items"]
    }
    assert refs == {"Role/deploryer", "ClusterRole/veiw"}
    assert records(control_plane, registry_ns) == {name: "active"}


def test_correct_roles_still_pass(control_plane: Any, namespace: str, registry_ns: str) -> None:
    """The check does not get in the way: existing Role and ClusterRole, no warning."""
    make_deployer(control_plane, namespace)
    name = uname("fine")
    proc = ok(
        kubeuser("create", name, "--role", "deployer", "--clusterrole", "view", "-n", namespace,
                 "--registry-namespace", registry_ns)
    )  # fmt: skip
    assert "Check roles" in proc.stderr and "does not exist" not in proc.stderr
    assert len(traces_of(control_plane, name, registry_ns)["rbac"]) == 2


def test_apply_dry_run_reports_a_misspelled_role(
    control_plane: Any, namespace: str, registry_ns: str, tmp_path: Path
) -> None:
    make_deployer(control_plane, namespace)
    good, bad = uname("good"), uname("bad")
    f = users_file(
        tmp_path / "users.yaml",
        [
            {"name": good, "namespaces": {namespace: {"roles": ["deployer"]}}},
            {"name": bad, "namespaces": {namespace: {"roles": ["deploryer"]}}},
        ],
    )
    proc = kubeuser("apply", "-f", str(f), "--dry-run", "--registry-namespace", registry_ns)
    assert proc.returncode == 10, proc.stdout + proc.stderr
    assert f"  {bad}: error: Role 'deploryer' in namespace '{namespace}' does not exist" in proc.stdout
    assert "hint: did you mean Role 'deployer' for 'deploryer'?" in proc.stdout
    assert f"  {good}: error" not in proc.stdout
    for user in (good, bad):
        assert traces_of(control_plane, user, registry_ns) == NOTHING

    # a real apply fails only that user, and makes nothing for it
    proc = kubeuser("apply", "-f", str(f), "--registry-namespace", registry_ns)
    assert proc.returncode == 10, proc.stdout + proc.stderr
    assert traces_of(control_plane, bad, registry_ns) == NOTHING
    assert records(control_plane, registry_ns) == {good: "active"}


# --------------------------------------------------------------------------- item 11: the prune brake


def test_prune_brake(control_plane: Any, namespace: str, registry_ns: str, tmp_path: Path) -> None:
    prefix = uname("pb")
    names = [f"{prefix}-{i}" for i in range(4)]
    spec = [{"name": n, "ttl": "1d", "namespaces": {namespace: {"rules": ["get,list:pods"]}}} for n in names]
    f = tmp_path / "users.yaml"
    common = ["-f", str(f), "--registry-namespace", registry_ns]
    users_file(f, spec)
    ok(kubeuser("apply", *common, "--out-dir", str(tmp_path / "handout"), timeout=600))
    assert records(control_plane, registry_ns) == dict.fromkeys(names, "active")

    def all_still_there() -> None:
        assert records(control_plane, registry_ns) == dict.fromkeys(names, "active")
        for n in names:
            control_plane.kubectl("get", "rolebinding", f"kubeuser:{n}", "-n", namespace)  # raises if missing

    # 1. `users:` with nothing under it: a file error, whatever the flags
    f.write_text("apiVersion: kubeuser.io/v1alpha1\nkind: UserList\nusers:\n")
    for extra in (["--prune"], ["--prune", "--allow-mass-prune"]):
        proc = kubeuser("apply", *common, *extra)
        assert proc.returncode == 2 and proc.stdout == "", proc.stderr
        assert f"error: {f}:3: users: declares no users" in proc.stderr
    all_still_there()

    # 2. one of the four declared: 3 of 4 is more than half → refused, also in --dry-run
    users_file(f, spec[:1])
    proc = kubeuser("apply", *common, "--prune")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert (
        "error: --prune would revoke 3 of 4 active user(s), more than half: refused, nothing was changed" in proc.stderr
    )
    assert "--allow-mass-prune" in proc.stderr
    all_still_there()
    proc = kubeuser("apply", *common, "--prune", "--dry-run", "-o", "json")
    assert proc.returncode == 2, proc.stderr
    plan = json.loads(proc.stdout)
    assert sorted(u["user"] for u in plan["users"] if u["action"] == "prune") == names[1:]
    assert plan["prune"] == {"revoke": 3, "active": 4, "limit": 2, "maxPrune": None, "confirmed": False,
                             "refused": True}  # fmt: skip
    # --max-prune tightens: 3 declared, 1 to prune, limit 0
    users_file(f, spec[:3])
    proc = kubeuser("apply", *common, "--prune", "--max-prune", "0")
    assert proc.returncode == 2 and "revoke 1 of 4 active user(s), more than --max-prune 0" in proc.stderr
    all_still_there()

    # 3. confirmed: exactly the three undeclared users are revoked
    users_file(f, spec[:1])
    proc = ok(kubeuser("apply", *common, "--prune", "--allow-mass-prune", "-o", "json", timeout=600))
    data = json.loads(proc.stdout)
    assert data["summary"]["prune"] == 3 and data["summary"]["failed"] == 0
    assert "confirmed by --allow-mass-prune" in proc.stderr
    assert records(control_plane, registry_ns) == {names[0]: "active", **dict.fromkeys(names[1:], "revoked")}
    control_plane.kubectl("get", "rolebinding", f"kubeuser:{names[0]}", "-n", namespace)
    for n in names[1:]:
        rb = control_plane.kubectl("get", "rolebinding", f"kubeuser:{n}", "-n", namespace, check=False)
        assert rb.returncode != 0 and "NotFound" in rb.stderr
