"""``--request-timeout`` (kubectl's flag): each API request, connecting and retries included, ends within it.

The server here is a socket that accepts connections and never answers (TLS or HTTP): the case where a
hanging API server used to keep ``kubeuser`` waiting ~22 s and hint at ``--timeout`` (the signer wait).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeuser import durations, k8s
from kubeuser.errors import UnreachableError, UsageError


class Silent:
    """A TCP listener that accepts every connection and never sends a byte."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.05)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(conn)

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        for conn in self.accepted:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent() -> Iterator[Silent]:
    s = Silent()
    try:
        yield s
    finally:
        s.close()


def config(server: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "admin", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": "admin@c", "context": {"cluster": "c", "user": "admin"}}],
        "current-context": "admin@c",
    }


def failure(gw: k8s.K8sGateway, call: Any) -> tuple[UnreachableError, float]:
    t0 = time.monotonic()
    try:
        call(gw)
    except UnreachableError as exc:
        return exc, time.monotonic() - t0
    finally:
        gw.close()
    raise AssertionError("no UnreachableError")


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_a_silent_server_fails_within_the_request_timeout(silent: Silent, scheme: str) -> None:
    gw = k8s.K8sGateway.from_config_dict(
        config(f"{scheme}://127.0.0.1:{silent.port}"), "admin@c", ca_pem=None, request_timeout=1.0
    )
    exc, elapsed = failure(gw, lambda g: g.version())  # a GET: retried, but only within the timeout
    assert 0.9 <= elapsed < 1.6, elapsed
    assert exc.message == f"reading the server version: {scheme}://127.0.0.1:{silent.port} did not answer within 1s"
    assert exc.hint and "--request-timeout" in exc.hint and "raise --timeout" not in exc.hint


def test_a_post_is_bounded_too(silent: Silent) -> None:
    gw = k8s.K8sGateway.from_config_dict(
        config(f"https://127.0.0.1:{silent.port}"), "admin@c", ca_pem=None, request_timeout=1.0
    )
    exc, elapsed = failure(gw, lambda g: g.can_i("create", "pods"))
    assert 0.9 <= elapsed < 1.6, elapsed
    assert exc.message.endswith("did not answer within 1s")


def test_without_the_flag_the_hint_names_request_timeout(silent: Silent, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(k8s, "DEFAULT_TIMEOUT", (0.2, 0.2))
    monkeypatch.setattr(k8s, "RETRY_DELAYS", (0.01, 0.01, 0.01))
    gw = k8s.K8sGateway.from_config_dict(config(f"http://127.0.0.1:{silent.port}"), "admin@c", ca_pem=None)
    exc, elapsed = failure(gw, lambda g: g.version())
    assert elapsed < 3
    assert exc.message.endswith("did not answer in time")
    assert exc.hint and "--request-timeout" in exc.hint and "raise --timeout" not in exc.hint


def test_zero_means_no_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """kubectl's 0: a slow answer (longer than kubeuser's own per-attempt bound) is waited for."""
    monkeypatch.setattr(k8s, "DEFAULT_TIMEOUT", (0.3, 0.3))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        port = int(sock.getsockname()[1])

        def answer_late() -> None:
            conn, _ = sock.accept()
            with conn:
                conn.recv(65536)
                time.sleep(0.8)
                body = b'{"major": "1", "minor": "30", "gitVersion": "v1.30.0"}'
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                             b"Connection: close\r\n\r\n%s" % (len(body), body))  # fmt: skip

        t = threading.Thread(target=answer_late, daemon=True)
        t.start()
        gw = k8s.K8sGateway.from_config_dict(config(f"http://127.0.0.1:{port}"), "admin@c", ca_pem=None,
                                             request_timeout=0)  # fmt: skip
        try:
            assert gw.version().git_version == "v1.30.0"
        finally:
            gw.close()
        t.join()


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("1m", 60), ("1m30s", 90), ("5", 5), ("0", 0)])
def test_request_timeout_values(text: str, seconds: float) -> None:
    assert durations.request_timeout(text) == seconds


@pytest.mark.parametrize("text", ["nan", "-1", "inf", "2d", "soon", ""])
def test_bad_request_timeouts_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError) as info:
        durations.request_timeout(text)
    assert info.value.message.startswith("--request-timeout")


def run_cli(*args: str, home: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)}
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "kubeuser", *args], capture_output=True, text=True, env=env,
                          timeout=60, check=False)  # fmt: skip
    return proc, time.monotonic() - t0


def test_cli_list_against_a_silent_server(silent: Silent, tmp_path: Path) -> None:
    kc = tmp_path / "kubeconfig"
    kc.write_text(yaml.safe_dump(config(f"https://127.0.0.1:{silent.port}")))
    kc.chmod(0o600)
    startup, _ = run_cli("list", "--kubeconfig", str(kc), "--request-timeout", "nan", home=tmp_path)
    assert startup.returncode == 2 and startup.stderr.startswith("error: --request-timeout")
    proc, elapsed = run_cli("list", "--kubeconfig", str(kc), "--request-timeout", "2s", home=tmp_path)
    assert proc.returncode == 4, proc.stderr
    warning, *lines = proc.stderr.splitlines()
    assert warning.startswith("warning: cluster 'c' has insecure-skip-tls-verify")  # said once, in kubeuser's words
    assert len(lines) == 2 and "InsecureRequestWarning" not in proc.stderr
    assert lines[0].endswith(f"https://127.0.0.1:{silent.port} did not answer within 2s"), lines
    assert lines[1].startswith("hint: ") and "--request-timeout" in lines[1]
    assert 2.0 <= elapsed < 6.0, elapsed  # 2 s for the request, the rest is starting Python


COMMANDS = ["create", "import", "list", "show", "renew", "grant", "ungrant", "approve", "revoke", "run", "apply",
            "doctor", "preflight", "cleanup", "token"]  # fmt: skip
OFFLINE = ["request"]  # makes a key and a certificate request on this machine: no cluster


def test_every_command_is_known_to_talk_to_the_cluster_or_not() -> None:
    from kubeuser.cli.commands import COMMANDS as TABLE

    assert sorted(c.name for c in TABLE) == sorted(COMMANDS + OFFLINE)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_that_talks_to_the_cluster_has_the_flag(name: str) -> None:
    import typer.main

    from kubeuser.cli.app import app

    group = typer.main.get_command(app)
    command = group.get_command(None, name)  # type: ignore[attr-defined]  # the lazy group builds it on request
    assert any("--request-timeout" in p.opts for p in command.params), name
