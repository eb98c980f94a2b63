"""Twenty ``kubeuser create`` processes at once, all merging into the same kubeconfig, against the real cluster.

Each process imports everything first, then waits at a barrier (a file appearing); all are released
together. Afterwards nothing may be lost: all 20 users and contexts are in ~/.kube/config, every
entry that was there before is unchanged, the file is valid YAML with mode 0600 and no lock or temp
file is left, every new context authenticates (checked with kubectl), the registry has 20 active
records and ``kubeuser cleanup`` finds nothing left over.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from kubeuser_runner import OUTPUTS, home_kubeconfig, kubeuser, ok

N = 20

# Runs as `python -c BARRIER GO READY ARGS...`: pay the imports, say ready, wait for GO, then be `python -m kubeuser`.
BARRIER = """
import os, runpy, sys, time
go, ready = sys.argv[1], sys.argv[2]
import kubeuser.cli, kubeuser.k8s, kubeuser.workflows.create  # noqa: F401  (the slow part, before the barrier)
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.002)
sys.argv = ["kubeuser", *sys.argv[3:]]
runpy.run_module("kubeuser", run_name="__main__", alter_sys=True)
"""


def add_foreign_entries(kc: Path) -> dict[str, Any]:
    """Entries kubeuser must never touch: another cluster/user/context, preferences, extensions, unknown keys."""
    doc = yaml.safe_load(kc.read_text())
    doc["clusters"].append(
        {"name": "other", "cluster": {"server": "https://10.9.9.9:443", "insecure-skip-tls-verify": True}}
    )
    doc["users"].append({"name": "bob", "user": {"token": "not-a-real-token", "x-extra": [1, 2]}})
    doc["contexts"].append({"name": "bob@other", "context": {"cluster": "other", "user": "bob", "namespace": "x"}})
    doc["preferences"] = {"colors": True}
    doc["extensions"] = [{"name": "example.com/ext", "extension": {"k": "v"}}]
    doc["x-unknown-top-level"] = {"kept": ["a", 1, None]}
    kc.write_text(yaml.safe_dump(doc, sort_keys=False))
    kc.chmod(0o600)
    return yaml.safe_load(kc.read_text())  # type: ignore[no-any-return]


def by_name(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    return {e["name"]: e for e in doc.get(kind) or []}


def cluster_of(doc: dict[str, Any]) -> str:
    ctx = by_name(doc, "contexts")[doc["current-context"]]
    return str(ctx["context"]["cluster"])


def start_at_barrier(args_list: list[list[str]], workdir: Path) -> list[subprocess.Popen[str]]:
    """Start one process per argument list; return once all are released together."""
    go = workdir / "go"
    procs = []
    for i, args in enumerate(args_list):
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", BARRIER, str(go), str(workdir / f"ready-{i}"), *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=dict(os.environ),
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )
        )
    deadline = time.monotonic() + 120
    while not all((workdir / f"ready-{i}").exists() for i in range(len(args_list))):
        assert time.monotonic() < deadline, "the processes did not reach the barrier"
        assert all(p.poll() is None for p in procs), "a process died before the barrier"
        time.sleep(0.02)
    go.touch()
    return procs


def test_twenty_parallel_creates_into_one_kubeconfig_lose_nothing(control_plane: Any, tmp_path: Path) -> None:
    kc = home_kubeconfig()
    before = add_foreign_entries(kc)
    cluster = cluster_of(before)
    tag = uuid.uuid4().hex[:6]
    users = [f"u{i}-{tag}" for i in range(N)]

    t0 = time.monotonic()
    procs = start_at_barrier([["create", u, "--ttl", "1h"] for u in users], tmp_path)
    results = []
    for u, p in zip(users, procs, strict=True):
        out, err = p.communicate(timeout=300)
        OUTPUTS.append(f"$ kubeuser create {u} (parallel)\n{out}\n{err}")
        results.append((u, p.returncode, out, err))
    elapsed = time.monotonic() - t0
    failed = [(u, rc, err[-800:]) for u, rc, _, err in results if rc != 0]
    assert not failed, f"{len(failed)} of {N} parallel creates failed: {failed[:3]}"

    # the file: valid YAML, 0600, no lock or temp file left behind
    text = kc.read_text()
    after = yaml.safe_load(text)
    assert stat.S_IMODE(kc.stat().st_mode) == 0o600
    assert sorted(p.name for p in kc.parent.iterdir() if p.name != "kubeuser") == ["config"], "lock/temp file left"
    # nothing lost: every earlier entry and setting exactly as it was
    for kind in ("clusters", "users", "contexts"):
        old, new = by_name(before, kind), by_name(after, kind)
        for name, entry in old.items():
            assert new.get(name) == entry, f"{kind[:-1]} {name!r} changed or vanished"
    for key in ("current-context", "preferences", "extensions", "x-unknown-top-level", "apiVersion", "kind"):
        assert after.get(key) == before.get(key), key
    # everything added: 20 users and 20 contexts, complete
    assert len(after["users"]) == len(before["users"]) + N
    assert len(after["contexts"]) == len(before["contexts"]) + N
    assert len(after["clusters"]) == len(before["clusters"])
    new_users, new_contexts = by_name(after, "users"), by_name(after, "contexts")
    for u in users:
        entry = f"{u}@{cluster}"
        assert set(new_users[entry]["user"]) == {"client-certificate-data", "client-key-data"}
        assert new_contexts[entry]["context"] == {"cluster": cluster, "user": entry, "namespace": "default"}

    # kubectl reads the same file, and each new context authenticates
    names = control_plane.kubectl("config", "get-contexts", "-o", "name", kubeconfig=kc).stdout.split()
    assert {f"{u}@{cluster}" for u in users} <= set(names)

    def can_i(u: str) -> str:
        proc = control_plane.kubectl(
            "--context", f"{u}@{cluster}", "auth", "can-i", "create",
            "selfsubjectaccessreviews.authorization.k8s.io", kubeconfig=kc, check=False,
        )  # fmt: skip
        return str(proc.stdout.strip() or proc.stderr.strip())

    with ThreadPoolExecutor(8) as pool:
        answers = dict(zip(users, pool.map(can_i, users), strict=True))
    assert set(answers.values()) == {"yes"}, answers

    # the registry has every one of them, and there is nothing to clean up
    listed = {r["user"]: r for r in json.loads(ok(kubeuser("list", "-o", "json")).stdout)["users"]}
    assert all(listed[u]["effectiveStatus"] == "active" for u in users)
    orphans = json.loads(ok(kubeuser("cleanup", "-o", "json")).stdout)["orphans"]
    assert [o for o in orphans if o["user"] in users] == []
    print(f"\n{N} parallel creates into one kubeconfig: {elapsed:.1f}s, nothing lost")


def test_zz_no_private_key_in_any_output() -> None:
    """Runs last in this module: no kubeuser run printed private key material."""
    assert OUTPUTS, "no kubeuser runs were recorded"
    for text in OUTPUTS:
        assert "PRIVATE KEY" not in text
        command = text.split("\n", 1)[0]
        if " --out - " not in command + " ":  # --out - prints the user's kubeconfig (and key) by request
            assert "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t" not in text  # base64 of "-----BEGIN PRIVATE KEY-----"
