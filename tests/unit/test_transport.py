"""The gateway's own transport (kubeuser.k8s over urllib3): what it sends for each kind of kubeconfig entry.

A small HTTP(S) server records each request's target and headers. The common entries (token, tokenFile,
basic auth, client certificates, CA, tls-server-name, insecure-skip-tls-verify, proxy-url) never import the
kubernetes client; an exec plugin goes through it.
"""

from __future__ import annotations

import base64
import ssl
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pki_factory
import pytest
from cryptography import x509
from http_thread import send_json, serving

from kubeuser import k8s
from kubeuser.errors import UnreachableError

ROOT = Path(__file__).resolve().parents[2]
VERSION = {"major": "1", "minor": "30", "gitVersion": "v1.30.0"}


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []  # (request target, headers)
        self.url = ""


def _serve(tls: ssl.SSLContext | None = None) -> Iterator[Recorder]:
    rec = Recorder()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            rec.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            send_json(self, VERSION)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    rec.url = f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    with serving(server):
        yield rec


@pytest.fixture
def plain() -> Iterator[Recorder]:
    yield from _serve()


def _config(server: str, user: dict[str, Any], cluster: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
    }


def _version(config: dict[str, Any], ca_pem: bytes | None = None) -> str:
    gw = k8s.K8sGateway.from_config_dict(config, "x", ca_pem=ca_pem, request_timeout=10)
    try:
        return gw.version().git_version
    finally:
        gw.close()


def test_a_token_is_sent_as_a_bearer_header(plain: Recorder) -> None:
    assert _version(_config(plain.url, {"token": "abc.def"})) == "v1.30.0"
    target, headers = plain.seen[-1]
    assert target == "/version" and headers["authorization"] == "Bearer abc.def"
    assert headers["accept"] == "application/json" and headers["user-agent"].startswith("kubeuser/")


def test_a_token_file_is_read_and_trimmed(plain: Recorder, tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-a-file\n")
    _version(_config(plain.url, {"tokenFile": str(tmp_path / "token")}))
    assert plain.seen[-1][1]["authorization"] == "Bearer from-a-file"
    _version(_config(plain.url, {"token": "inline", "tokenFile": str(tmp_path / "token")}))
    assert plain.seen[-1][1]["authorization"] == "Bearer inline"  # the inline token wins, as in the official client


def test_basic_auth_only_without_a_token(plain: Recorder) -> None:
    _version(_config(plain.url, {"username": "ann", "password": "s3cret"}))
    assert plain.seen[-1][1]["authorization"] == "Basic " + base64.b64encode(b"ann:s3cret").decode()
    _version(_config(plain.url, {"username": "ann", "password": "s3cret", "token": "t"}))
    assert plain.seen[-1][1]["authorization"] == "Bearer t"


def test_no_credentials_no_header_and_a_path_prefix_is_kept(plain: Recorder) -> None:
    _version(_config(plain.url + "/prefix/", {}))
    target, headers = plain.seen[-1]
    assert target == "/prefix/version" and "authorization" not in headers


def test_proxy_url_sends_the_request_through_the_proxy(plain: Recorder) -> None:
    server = "http://api.kubeuser-proxied.invalid:6443"
    assert _version(_config(server, {"token": "t"}, {"proxy-url": plain.url})) == "v1.30.0"
    target, headers = plain.seen[-1]
    assert target == f"{server}/version" and headers["authorization"] == "Bearer t"  # absolute-form: a proxy request


def test_an_exec_plugin_runs_through_the_kubernetes_client(plain: Recorder, tmp_path: Path) -> None:
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        "import json\nprint(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1', "
        "'kind': 'ExecCredential', 'status': {'token': 'from-the-plugin'}}))\n"
    )
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable,
                     "args": [str(plugin)], "interactiveMode": "Never"}}  # fmt: skip
    assert _version(_config(plain.url, user)) == "v1.30.0"
    assert plain.seen[-1][1]["authorization"] == "Bearer from-the-plugin"


def test_the_common_path_never_imports_the_kubernetes_client(plain: Recorder) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        from kubeuser import k8s
        config = {_config(plain.url, {"token": "t"})!r}
        gw = k8s.K8sGateway.from_config_dict(config, "x", ca_pem=None)
        user = gw.as_token("u")
        print(gw.version().git_version, user.get_object("Namespace", "default") is not None, gw.calls, user.calls)
        print(sorted(m for m in sys.modules if m.split(".")[0] == "kubernetes"))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    answer, modules = proc.stdout.strip().splitlines()[-2:]
    assert answer == "v1.30.0 True 1 1" and modules == "[]"
    assert [h["authorization"] for _t, h in plain.seen] == ["Bearer t", "Bearer u"]


# ------------------------------------------------------------------------------------------------- TLS


def _server_tls(tmp_path: Path, dns_name: str) -> tuple[ssl.SSLContext, bytes]:
    """A server context whose certificate is for *dns_name* only, and the CA that signed it."""
    ca, ca_key = pki_factory.make_ca("transport-test-ca")
    cert, key = pki_factory.server_cert(ca, ca_key, [x509.DNSName(dns_name)], cn=dns_name)
    (tmp_path / "server.crt").write_bytes(cert)
    (tmp_path / "server.key").write_bytes(key)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(tmp_path / "server.crt", tmp_path / "server.key")
    return tls, pki_factory.cert_pem(ca)


def test_ca_tls_server_name_and_insecure_skip_tls_verify(tmp_path: Path) -> None:
    tls, ca_pem = _server_tls(tmp_path, "api.internal")
    ca_data = {"certificate-authority-data": base64.b64encode(ca_pem).decode()}
    for rec in _serve(tls):
        # the certificate names api.internal, not 127.0.0.1: verified only with tls-server-name
        assert _version(_config(rec.url, {"token": "t"}, {**ca_data, "tls-server-name": "api.internal"}), ca_pem)
        with pytest.raises(UnreachableError) as exc:
            _version(_config(rec.url, {"token": "t"}, ca_data), ca_pem)
        assert "TLS handshake" in exc.value.message
        assert _version(_config(rec.url, {"token": "t"}, {"insecure-skip-tls-verify": True}))
        gw = k8s.K8sGateway.from_config_dict(
            _config(rec.url, {"token": "t"}, {**ca_data, "tls-server-name": "api.internal"}), "x", ca_pem=ca_pem
        )
        try:
            assert gw.verifies_server(ca_pem)
            assert not gw.verifies_server(pki_factory.cert_pem(pki_factory.make_ca("another-ca")[0]))
            user = gw.as_token("user-token")  # the same server, trust and server name
            assert user.get_object("Namespace", "default") is not None
            assert rec.seen[-1] == ("/api/v1/namespaces/default", rec.seen[-1][1])
            assert rec.seen[-1][1]["authorization"] == "Bearer user-token"
            user.close()
        finally:
            gw.close()
