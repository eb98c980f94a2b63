"""``kubeuser run`` on the real control plane: the command runs as the user, then nothing of it is left."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from kubeuser_runner import OUTPUTS, kubeuser

REG = "kubeuser-system"
KUBECTL = "/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else (shutil.which("kubectl") or "kubectl")


def uname() -> str:
    return f"run-{uuid.uuid4().hex[:8]}"


def assert_gone(control_plane: Any, name: str, namespace: str) -> None:
    """As admin: the user's Role/RoleBinding and CSRs are gone and its record says revoked."""
    for kind in ("role", "rolebinding"):
        res = control_plane.kubectl("get", kind, f"kubeuser:{name}", "-n", namespace, check=False)
        assert res.returncode != 0 and "NotFound" in res.stderr, res.stdout
    csrs = control_plane.kubectl("get", "csr", "-l", f"kubeuser.io/user={name}", "-o", "name").stdout
    assert csrs.strip() == ""
    cm = json.loads(control_plane.kubectl("get", "configmap", f"user-{name}", "-n", REG, "-o", "json").stdout)
    assert cm["metadata"]["labels"]["kubeuser.io/status"] == "revoked"
    assert json.loads(cm["data"]["record.json"])["status"] == "revoked"


def test_run_lists_pods_as_the_user_then_revokes(control_plane: Any, namespace: str, tmp_path: Path) -> None:
    name = uname()
    seen = tmp_path / "seen"
    script = (
        f'set -e; echo "$KUBECONFIG" > {seen}; '
        f"{KUBECTL} get pods -n {namespace}; "
        f"{KUBECTL} auth can-i get secrets -n {namespace} && exit 42; "
        f"{KUBECTL} config view --minify -o jsonpath='{{.users[0].name}}'"
    )
    proc = kubeuser("run", name, "--rule", "get,list:pods", "-n", namespace, "--", "sh", "-c", script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(name)  # kubectl ran with the user's kubeconfig
    assert "Write kubeconfig" in proc.stderr and "revoked" in proc.stderr  # progress on stderr
    kc = Path(seen.read_text().strip())
    assert not kc.exists() and not kc.parent.exists()  # temp dir deleted
    assert not (Path(os.environ["HOME"]) / ".kube" / "kubeuser").exists()  # no key under ~/.kube
    assert_gone(control_plane, name, namespace)


def test_run_failing_command_exit_code_and_cleanup(control_plane: Any, namespace: str) -> None:
    name = uname()
    proc = kubeuser("run", name, "--rule", "get:pods", "-n", namespace, "--", "sh", "-c", "exit 3")
    assert proc.returncode == 3, proc.stderr
    assert_gone(control_plane, name, namespace)


def assert_never_made(control_plane: Any, name: str, namespace: str) -> None:
    """As admin: no Role/RoleBinding, no CSR and no registry record of the user ever existed."""
    for kind, ns in (("role", namespace), ("rolebinding", namespace), ("configmap", REG)):
        obj = f"user-{name}" if kind == "configmap" else f"kubeuser:{name}"
        res = control_plane.kubectl("get", kind, obj, "-n", ns, check=False)
        assert res.returncode != 0 and "NotFound" in res.stderr, res.stdout
    assert control_plane.kubectl("get", "csr", "-l", f"kubeuser.io/user={name}", "-o", "name").stdout.strip() == ""
    assert name not in control_plane.kubectl("get", "csr", "-o", "name").stdout


def test_run_command_not_found(control_plane: Any, namespace: str) -> None:
    name = uname()
    proc = kubeuser("run", name, "--rule", "get:pods", "-n", namespace, "--", "no-such-command-kubeuser")
    assert proc.returncode == 127
    assert [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")] == [
        "error: command not found: no-such-command-kubeuser"
    ]
    assert "Approve" not in proc.stderr  # no step ran
    assert_never_made(control_plane, name, namespace)


def test_run_command_path_missing_or_not_executable(control_plane: Any, namespace: str, tmp_path: Path) -> None:
    script = tmp_path / "deploy.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)
    for cmd, code in (("/nonexistent/cmd", 127), (str(script), 126)):
        name = uname()
        proc = kubeuser("run", name, "--rule", "get:pods", "-n", namespace, "--", cmd)
        assert proc.returncode == code, proc.stderr
        assert [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")] == [
            f"error: command {'not found' if code == 127 else 'not executable'}: {cmd}"
        ]
        assert_never_made(control_plane, name, namespace)


def test_run_passes_debug_after_double_dash_to_the_command(control_plane: Any, namespace: str) -> None:
    name = uname()
    code = "import sys; print(sys.argv[1:])"
    proc = kubeuser("run", name, "--rule", "get:pods", "-n", namespace, "--", sys.executable, "-c", code,
                    "--debug", "--traceback")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['--debug', '--traceback']"
    assert_gone(control_plane, name, namespace)


def test_run_sigterm_while_command_sleeps(control_plane: Any, namespace: str, tmp_path: Path) -> None:
    name = uname()
    seen = tmp_path / "seen"
    args = ["run", name, "--rule", "get:pods", "-n", namespace, "--",
            "sh", "-c", f'echo "$KUBECONFIG" > {seen}.tmp && mv {seen}.tmp {seen} && exec sleep 120']  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubeuser", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        deadline = time.monotonic() + 120
        while not seen.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the command never started"
            time.sleep(0.1)
        # the user exists while the command runs
        control_plane.kubectl("get", "rolebinding", f"kubeuser:{name}", "-n", namespace)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    OUTPUTS.append(f"$ kubeuser {' '.join(args)}\n{out}\n{err}")
    assert proc.returncode == 128 + signal.SIGTERM, err  # sleep was killed by the forwarded SIGTERM
    assert time.monotonic() - t0 < 60
    assert "killed by SIGTERM" in err and "revoked" in err
    kc = Path(seen.read_text().strip())
    assert not kc.parent.exists()
    assert_gone(control_plane, name, namespace)


def test_no_private_key_in_run_outputs() -> None:
    for text in OUTPUTS:
        assert "PRIVATE KEY" not in text
