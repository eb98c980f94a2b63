"""Run the real ``kubeuser`` CLI in a subprocess, as a user would, and keep every output for secret scans."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

OUTPUTS: list[str] = []  # every stdout/stderr of the run, scanned for private keys at the end


def kubeuser(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "kubeuser", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    OUTPUTS.append(f"$ kubeuser {' '.join(args)}\n{proc.stdout}\n{proc.stderr}")
    return proc


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def home_kubeconfig() -> Path:
    return Path(os.environ["HOME"]) / ".kube" / "config"


def cluster_name(kubeconfig: Path) -> str:
    """The cluster entry name of the kubeconfig's current context (kubeuser-local here, kind-kind on kind)."""
    import yaml

    doc = yaml.safe_load(kubeconfig.read_text())
    current = doc["current-context"]
    ctx = next(c for c in doc["contexts"] if c["name"] == current)
    return str(ctx["context"]["cluster"])


def uid() -> str:
    return uuid.uuid4().hex[:8]


def uname(prefix: str) -> str:
    """A user name no other test uses: tests pass alone and in any order."""
    return f"{prefix}-{uid()}"


def openssl_x509(pem: bytes, *args: str) -> str:
    """``openssl x509 -noout -nameopt RFC2253 ARGS`` on a PEM certificate: an independent witness."""
    proc = subprocess.run(
        ["openssl", "x509", "-noout", "-nameopt", "RFC2253", *args], input=pem, capture_output=True, check=True
    )
    return proc.stdout.decode()


def serial_of(pem: bytes) -> str:
    """The certificate's serial as openssl prints it (upper-case hex)."""
    return openssl_x509(pem, "-serial").strip().split("=", 1)[1].upper()


def read_pty(master: int) -> bytes:
    """Everything written to a pseudo-terminal until its last writer closed it (then EIO); closes *master*."""
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side was closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return b"".join(chunks)
