"""Many real processes updating one kubeconfig at once must not lose each other's entries."""

from __future__ import annotations

import itertools
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

# Each worker: announce readiness, wait for the common trigger, then add its own user + context.
# The sleep inside mutate widens the read-modify-write window, so without the lock updates would
# be lost; the recorded (start, end) of every critical section lets us check they never overlap.
WORKER = r"""
import json, os, sys, time
from pathlib import Path
from kubeuser import kubeconfig as kc

path, trigger, ready, index = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
Path(ready).touch()
deadline = time.monotonic() + 20
while not os.path.exists(trigger):
    if time.monotonic() > deadline:
        sys.exit("trigger never came")
    time.sleep(0.001)

window = {}

def mutate(doc):
    window["start"] = time.monotonic()
    time.sleep(0.01)
    kc.set_entry(doc, "users", f"user-{index}", kc.user_entry(f"CERT{index}".encode(), b"KEY"))
    kc.set_entry(doc, "contexts", f"ctx-{index}", kc.context_entry("prod", f"user-{index}", f"ns-{index}"))
    window["end"] = time.monotonic()

kc.update_file(Path(path), mutate)
print(json.dumps(window))
"""

N = 20


def _initial() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "prod", "cluster": {"server": "https://prod:6443", "x-extra": [1, 2]}}],
        "users": [{"name": "admin", "user": {"token": "secret"}}],
        "contexts": [{"name": "admin@prod", "context": {"cluster": "prod", "user": "admin"}}],
        "current-context": "admin@prod",
        "preferences": {},
        "x-unknown": {"keep": "me"},
    }


def _run_workers(tmp_path: Path, paths: list[Path]) -> list[dict[str, float]]:
    trigger = tmp_path / "go"
    ready_dir = tmp_path / "ready"
    ready_dir.mkdir()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(p), str(trigger), str(ready_dir / str(i)), str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i, p in enumerate(paths)
    ]
    try:
        deadline = time.monotonic() + 30
        while len(list(ready_dir.iterdir())) < len(paths):
            assert time.monotonic() < deadline, "workers did not start"
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs if p.poll() is not None]
            time.sleep(0.005)
        trigger.touch()  # everyone starts at once
        windows = []
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            windows.append(json.loads(out))
        return windows
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _check_result(kubeconfig: Path, windows: list[dict[str, float]], n: int) -> None:
    doc = yaml.safe_load(kubeconfig.read_text())  # valid YAML
    initial = _initial()
    users = {u["name"]: u["user"] for u in doc["users"]}
    contexts = {c["name"]: c["context"] for c in doc["contexts"]}
    assert set(users) == {"admin"} | {f"user-{i}" for i in range(n)}
    assert set(contexts) == {"admin@prod"} | {f"ctx-{i}" for i in range(n)}
    assert len(doc["users"]) == n + 1 and len(doc["contexts"]) == n + 1
    for i in range(n):
        assert contexts[f"ctx-{i}"] == {"cluster": "prod", "user": f"user-{i}", "namespace": f"ns-{i}"}
    # pre-existing entries intact
    assert users["admin"] == initial["users"][0]["user"]
    assert contexts["admin@prod"] == initial["contexts"][0]["context"]
    for key in ("clusters", "current-context", "preferences", "x-unknown", "apiVersion", "kind"):
        assert doc[key] == initial[key], key
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o640  # the mode the test gave it is kept
    # critical sections never overlapped
    spans = sorted((w["start"], w["end"]) for w in windows)
    assert len(spans) == n
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start
    # nothing left behind next to the file
    assert sorted(p.name for p in kubeconfig.parent.iterdir()) == [kubeconfig.name]


def test_twenty_processes_add_entries_to_the_same_file(tmp_path: Path) -> None:
    kube = tmp_path / "kube"
    kube.mkdir()
    kubeconfig = kube / "config"
    kubeconfig.write_text(yaml.safe_dump(_initial(), sort_keys=False))
    kubeconfig.chmod(0o640)
    started = time.monotonic()
    windows = _run_workers(tmp_path, [kubeconfig] * N)
    _check_result(kubeconfig, windows, N)
    assert time.monotonic() - started < 30


def test_writers_via_symlink_and_target_share_the_lock(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    kubeconfig = real / "config"
    kubeconfig.write_text(yaml.safe_dump(_initial(), sort_keys=False))
    kubeconfig.chmod(0o640)
    link_dir = tmp_path / "links"
    link_dir.mkdir()
    link = link_dir / "config"
    link.symlink_to(kubeconfig)
    n = 6
    windows = _run_workers(tmp_path, [link if i % 2 else kubeconfig for i in range(n)])
    _check_result(kubeconfig, windows, n)
    assert link.is_symlink()
