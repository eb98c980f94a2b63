"""kubeuser and kubectl share one lock protocol on the kubeconfig, and kubeuser keeps the file's mode and group.

kubectl (client-go) locks a kubeconfig F by creating F.lock with O_CREAT|O_EXCL and fails at once while it
exists. kubeuser creates the same lock the same way, waits (bounded) while someone else holds it, never
removes a lock it did not create, and keeps the kubeconfig's mode and owner (removing only the bits for
others, and saying so).

One limit is kubectl's own: ``kubectl config set-*`` reads the kubeconfig *before* it takes the lock and,
under the lock, deletes every entry that is missing from what it read. An entry another writer added in
between (kubeuser, or a second kubectl) is removed by that kubectl run. The concurrency test below tells
those removals apart from lost updates by watching the file, and fails on anything else.
"""

from __future__ import annotations

import grp
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubeuser_runner import OUTPUTS, cluster_name, home_kubeconfig, kubeuser, ok

KUBECTL = "/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else (shutil.which("kubectl") or "kubectl")
KUBEUSER_WRITERS = 6
KUBECTL_MIN_RUNS = 40
KUBECTL_MAX_RUNS = 400


def kubectl_lock(lock: Path) -> os.stat_result:
    """Hold the lock exactly as client-go's lockFile does."""
    os.close(os.open(lock, os.O_CREAT | os.O_EXCL, 0))
    return os.lstat(lock)


def by_name(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    return {e["name"]: e for e in doc.get(kind) or []}


def admin_names(kc: Path) -> tuple[str, str]:
    doc = yaml.safe_load(kc.read_text())
    ctx = by_name(doc, "contexts")[doc["current-context"]]["context"]
    return str(ctx["cluster"]), str(ctx["user"])


def error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("error:")]


def test_a_lock_held_by_kubectl_blocks_kubeuser_and_survives(control_plane: Any) -> None:
    kc = home_kubeconfig()
    lock = Path(f"{kc}.lock")
    before = kc.read_bytes()
    user = f"locked-{uuid.uuid4().hex[:6]}"
    theirs = kubectl_lock(lock)

    t0 = time.monotonic()
    proc = kubeuser("create", user, env={"KUBEUSER_LOCK_TIMEOUT": "2"})
    assert proc.returncode == 3, proc.stderr
    assert time.monotonic() - t0 >= 2  # it waited for the lock before giving up
    (line,) = error_lines(proc.stderr)  # one error line, naming the lock
    assert f"kubeconfig {kc} is locked" in line and str(lock) in line, line
    assert f"rm {lock}" in proc.stderr  # the hint for a stale lock
    assert kc.read_bytes() == before  # byte-identical
    now = os.lstat(lock)
    assert (now.st_ino, now.st_size, stat.S_IMODE(now.st_mode)) == (theirs.st_ino, 0, 0)  # still there, untouched

    # the same protocol: kubectl itself refuses to write while the lock exists
    refused = control_plane.kubectl("config", "set-context", "x", "--cluster=c", kubeconfig=kc, check=False)
    assert refused.returncode != 0 and "file exists" in refused.stderr and str(lock) in refused.stderr
    assert kc.read_bytes() == before

    lock.unlink()
    ok(kubeuser("create", user))
    doc = yaml.safe_load(kc.read_text())
    assert f"{user}@{cluster_name(kc)}" in by_name(doc, "contexts")
    assert not lock.exists()


@dataclass
class KubectlRun:
    index: int
    start: float
    end: float
    returncode: int
    stderr: str


def test_kubectl_loop_and_parallel_kubeuser_creates_lose_nothing(control_plane: Any, tmp_path: Path) -> None:
    kc = home_kubeconfig()
    cluster, admin = admin_names(kc)
    before = yaml.safe_load(kc.read_text())
    tag = uuid.uuid4().hex[:6]
    users = [f"mix{i}-{tag}" for i in range(KUBEUSER_WRITERS)]
    entries = {u: f"{u}@{cluster}" for u in users}
    finished = threading.Event()

    # watch the file: when did each kubeuser entry appear, and when was it last there
    seen: dict[str, list[float]] = {}

    def watch() -> None:
        while not finished.is_set():
            try:
                text = kc.read_text()
            except (OSError, ValueError):
                continue
            now = time.monotonic()
            for entry in entries.values():
                if f"name: {entry}\n" in text:
                    seen.setdefault(entry, [now, now])[1] = now
            time.sleep(0.001)

    runs: list[KubectlRun] = []

    def kubectl_loop() -> None:
        i = 0
        while i < KUBECTL_MAX_RUNS and (i < KUBECTL_MIN_RUNS or not finished.is_set()):
            start = time.monotonic()
            proc = subprocess.run(
                [
                    KUBECTL,
                    "--kubeconfig",
                    str(kc),
                    "config",
                    "set-context",
                    f"loop-{i}",
                    f"--cluster={cluster}",
                    f"--user={admin}",
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            runs.append(KubectlRun(i, start, time.monotonic(), proc.returncode, proc.stderr))
            i += 1

    watcher = threading.Thread(target=watch, daemon=True)
    looper = threading.Thread(target=kubectl_loop, daemon=True)
    watcher.start()
    looper.start()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "kubeuser", "create", u, "--ttl", "1h"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "KUBEUSER_LOCK_TIMEOUT": "60"},
        )
        for u in users
    ]
    results = {}
    for u, p in zip(users, procs, strict=True):
        out, err = p.communicate(timeout=300)
        OUTPUTS.append(f"$ kubeuser create {u} (with a kubectl loop)\n{out}\n{err}")
        results[u] = (p.returncode, err)
    finished.set()
    looper.join(timeout=300)
    watcher.join(timeout=10)
    assert not looper.is_alive()

    # every kubeuser create reported done (they wait for kubectl's lock instead of failing)
    failed = {u: err[-600:] for u, (rc, err) in results.items() if rc != 0}
    assert not failed, failed
    # kubectl only ever failed because kubeuser held the lock, and it did get through
    done = [r for r in runs if r.returncode == 0]
    refused = [r for r in runs if r.returncode != 0]
    assert all("file exists" in r.stderr and f"{kc}.lock" in r.stderr for r in refused), refused[:3]
    assert done, "no kubectl run succeeded"

    # the file parses, for PyYAML and for kubectl
    after = yaml.safe_load(kc.read_text())
    view = yaml.safe_load(control_plane.kubectl("config", "view", "--raw", kubeconfig=kc).stdout)
    contexts, users_after = by_name(after, "contexts"), by_name(after, "users")
    assert set(by_name(view, "contexts")) == set(contexts)

    # every kubectl change that was reported done is there: kubeuser never lost one
    for r in done:
        assert contexts.get(f"loop-{r.index}") == {
            "name": f"loop-{r.index}",
            "context": {"cluster": cluster, "user": admin},
        }, f"kubectl's loop-{r.index} was lost"
    # every kubeuser change is there, unless kubectl's read-before-lock removed it (see the module docstring):
    # then kubeuser had written it (it was in the file) and a successful kubectl run was in flight when it went
    removed_by_kubectl = []
    for u, entry in entries.items():
        if entry in contexts and entry in users_after:
            assert contexts[entry]["context"] == {"cluster": cluster, "user": entry, "namespace": "default"}
            continue
        assert entry not in contexts and entry not in users_after, f"{entry} is only half there"
        assert entry in seen, f"kubeuser reported {u} done, but {entry} never appeared in the file"
        last = seen[entry][1]
        culprits = [r.index for r in done if r.start <= last <= r.end + 0.05]
        assert culprits, f"{entry} was written, then lost, with no kubectl run in flight"
        removed_by_kubectl.append((entry, culprits))

    # nothing else changed: earlier entries identical, no entry from a refused kubectl run
    for kind in ("clusters", "users", "contexts"):
        for name, entry in by_name(before, kind).items():
            assert by_name(after, kind).get(name) == entry, f"{kind[:-1]} {name!r} changed"
    expected = set(by_name(before, "contexts")) | {f"loop-{r.index}" for r in done}
    expected |= {e for e in entries.values() if e in contexts}
    assert set(contexts) == expected
    for key in ("current-context", "preferences", "apiVersion", "kind"):
        assert after.get(key) == before.get(key), key
    left = sorted(p.name for p in kc.parent.iterdir() if p.name not in ("kubeuser", "cache"))  # cache: kubectl's
    assert left == ["config"]  # no lock or temp file left
    print(
        f"\nkubectl: {len(done)} runs done, {len(refused)} refused (lock held); "
        f"kubeuser: {len(users)} creates done; removed again by kubectl's read-before-lock: {removed_by_kubectl}"
    )


def _other_group() -> int:
    if os.geteuid() == 0:
        return grp.getgrgid(1).gr_gid  # daemon
    groups = [g for g in os.getgroups() if g != os.getegid()]
    return groups[0] if groups else os.getegid()


def test_kubeconfig_mode_and_group_are_kept(control_plane: Any) -> None:
    kc = home_kubeconfig()
    gid = _other_group()
    os.chown(kc, -1, gid)
    kc.chmod(0o640)
    uid = kc.stat().st_uid
    tag = uuid.uuid4().hex[:6]

    proc = ok(kubeuser("create", f"modes-{tag}"))
    st = kc.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, uid, gid)
    assert "world-readable" not in proc.stderr

    kc.chmod(0o644)
    proc = ok(kubeuser("create", f"modes2-{tag}"))
    st = kc.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, uid, gid)
    assert f"warning: kubeconfig {kc} was world-readable (0644); kubeuser wrote it 0640" in proc.stderr
