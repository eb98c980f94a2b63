"""``kubeuser doctor`` without a cluster: real sockets on 127.0.0.1 (TCP, TLS with certificates from an
in-memory CA) and a fake gateway standing in for the API server's authentication and authorization.

Every test asserts the cause a check reports, not merely that something failed.
"""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import json
import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pki_factory
import pytest
import yaml
from cryptography import x509
from fake_gateway import FakeGateway

from kubeuser import pki, tokens
from kubeuser.connect import Target
from kubeuser.errors import ExitCode, UnauthenticatedError, UnreachableError
from kubeuser.gateway import Gateway
from kubeuser.workflows import doctor as wf

NOW = datetime.now(timezone.utc)

# --------------------------------------------------------------------------- local servers


class LocalServer:
    """Accepts connections on 127.0.0.1 in a thread: a TLS handshake with the given certificate, or plain HTTP."""

    def __init__(self, tmp: Path, cert_key: tuple[bytes, bytes] | None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.ctx: ssl.SSLContext | None = None
        if cert_key is not None:
            (tmp / "srv.crt").write_bytes(cert_key[0])
            (tmp / "srv.key").write_bytes(cert_key[1])
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(tmp / "srv.crt", tmp / "srv.key")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(2)
            try:
                if self.ctx is None:
                    conn.recv(1024)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                else:
                    with self.ctx.wrap_socket(conn, server_side=True):
                        pass
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[tuple[bytes, bytes] | None], LocalServer]]:
    servers: list[LocalServer] = []

    def start(cert_key: tuple[bytes, bytes] | None) -> LocalServer:
        d = tmp_path / f"srv{len(servers)}"
        d.mkdir()
        s = LocalServer(d, cert_key)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.close()


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------- the API server stand-in


class Unauthenticated:
    def __getattr__(self, name: str) -> Any:
        if name == "close":
            return lambda: None

        def fail(*a: Any, **k: Any) -> Any:
            raise UnauthenticatedError("reading the server version: the API server rejected the credentials (401)")

        return fail


def apiserver(fake: FakeGateway) -> Callable[[Target], Gateway]:
    """A gateway factory authenticating like kube-apiserver: client certs must chain to the CA and be valid now."""

    def open_gateway(target: Target) -> Gateway:
        user = target.ctx.embedded_user()
        if user.get("client-certificate-data"):
            cert_pem = base64.b64decode(user["client-certificate-data"])
            key_pem = base64.b64decode(user["client-key-data"])
            cert = x509.load_pem_x509_certificate(cert_pem)
            if not (cert.not_valid_before_utc <= datetime.now(timezone.utc) <= cert.not_valid_after_utc):
                return Unauthenticated()
            return fake.as_certificate(cert_pem, key_pem)
        if user.get("token") == "bad":
            return Unauthenticated()
        if user.get("token") in fake.tokens:  # a token from the fake's TokenRequest: valid as the fake decides
            return fake.as_token(str(user["token"]))
        return fake

    return open_gateway


# --------------------------------------------------------------------------- kubeconfigs


class World:
    """A cluster CA, a serving certificate for 127.0.0.1/localhost, and a fake API server."""

    def __init__(self, tmp: Path, serve: Callable[[tuple[bytes, bytes] | None], LocalServer]) -> None:
        self.tmp = tmp
        self.fake = FakeGateway(version=(1, 30))
        self.ca, self.ca_key = self.fake.ca, self.fake.ca_key
        sans: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        self.server = serve(pki_factory.server_cert(self.ca, self.ca_key, sans))
        self.serve = serve
        self.kc = tmp / "kubeconfig"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.port}"

    def client(
        self,
        cn: str = "alice",
        groups: tuple[str, ...] = ("dev",),
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        ca: tuple[x509.Certificate, Any] | None = None,
    ) -> tuple[bytes, bytes]:
        key = pki_factory.make_key()
        ca_cert, ca_key = ca or (self.ca, self.ca_key)
        not_after = not_after or NOW + timedelta(days=30)
        pem = pki_factory.issue_client_cert(ca_cert, ca_key, key, cn, list(groups), not_before, not_after)
        return pem, pki.key_to_pem(key)

    def write(
        self,
        user: dict[str, Any] | None = None,
        *,
        server: str | None = None,
        ca_pem: bytes | None = None,
        cluster_extra: dict[str, Any] | None = None,
        user_name: str = "alice",
        namespace: str | None = "dev",
        mode: int = 0o600,
    ) -> Path:
        if user is None:
            cert, key = self.client()
            user = embedded(cert, key)
        cluster: dict[str, Any] = {"server": server or self.url}
        ca = self.fake.ca_pem if ca_pem is None else ca_pem
        if ca:
            cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
        cluster.update(cluster_extra or {})
        ctx: dict[str, Any] = {"cluster": "prod", "user": user_name}
        if namespace:
            ctx["namespace"] = namespace
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "prod", "cluster": cluster}],
            "users": [{"name": user_name, "user": user}],
            "contexts": [{"name": f"{user_name}@prod", "context": ctx}],
            "current-context": f"{user_name}@prod",
        }
        self.kc.write_text(yaml.safe_dump(doc))
        os.chmod(self.kc, mode)
        return self.kc

    def doctor(self, **kw: Any) -> wf.DoctorReport:
        opts = wf.DoctorOptions(kubeconfig=str(self.kc), timeout=2.0, **kw)
        return wf.run(opts, apiserver(self.fake))


def embedded(cert: bytes, key: bytes) -> dict[str, str]:
    return {
        "client-certificate-data": base64.b64encode(cert).decode(),
        "client-key-data": base64.b64encode(key).decode(),
    }


@pytest.fixture
def world(tmp_path: Path, serve: Callable[[tuple[bytes, bytes] | None], LocalServer]) -> World:
    return World(tmp_path, serve)


def statuses(report: wf.DoctorReport) -> dict[str, str]:
    return {c.id: c.status for c in report.checks}


# --------------------------------------------------------------------------- healthy


def test_healthy_certificate_user_passes_every_check(world: World) -> None:
    world.write()
    report = world.doctor()
    assert [c.id for c in report.checks] == [cid for cid, _ in wf.CHECKS]  # every check, once, in order
    st = statuses(report)
    for cid in ("kubeconfig", "context", "server-url", "dns", "tcp", "tls", "credentials", "client-cert-files",
                "key-match", "cert-validity", "cert-subject", "cert-chain", "authentication"):  # fmt: skip
        assert st[cid] == "pass", report.check(cid)
    assert report.authenticated
    assert "IP address" in report.check("dns").detail
    tls = report.check("tls").detail
    assert (
        "issued by CN=fake-cluster-ca" in tls
        and "IP:127.0.0.1" in tls
        and "verified against the kubeconfig's CA" in tls
    )
    assert "CN=alice" in report.check("cert-subject").detail and "O=dev" in report.check("cert-subject").detail
    assert report.check("authentication").detail.startswith("authenticated as alice (groups dev")
    # no RBAC for alice: authorization is only a warning, with the command that grants access
    authz = report.check("authorization")
    assert authz.status == "warn" and "may not list pods in dev" in authz.detail
    assert "--user=alice -n dev" in (authz.fix or "")
    assert report.credential == "client-certificate" and report.namespace == "dev"


def test_authorization_reports_list_pods_and_rules(world: World) -> None:
    world.write()
    world.fake.objects[("RoleBinding", "dev", "alice-view")] = {
        "kind": "RoleBinding",
        "metadata": {"name": "alice-view", "namespace": "dev"},
        "roleRef": {"kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": "alice"}],
    }
    report = world.doctor()
    authz = report.check("authorization")
    assert authz.status == "pass"
    assert "may list pods in dev" in authz.detail and "get,list,watch pods,services,configmaps" in authz.detail
    assert "selfsubjectaccessreviews" not in authz.detail  # the rules every user has are left out


def test_namespace_flag_overrides_the_context(world: World) -> None:
    world.write()
    report = world.doctor(namespace="kube-system")
    assert report.namespace == "kube-system" and "in kube-system" in report.check("authorization").detail


def test_old_server_without_selfsubjectreview_names_the_cn(world: World) -> None:
    world.fake.ver = type(world.fake.ver)("v1.20.2", 1, 20)
    world.write()
    report = world.doctor()
    auth = report.check("authentication")
    assert auth.status == "pass" and "no SelfSubjectReview" in auth.detail and "names you alice" in auth.detail


# --------------------------------------------------------------------------- the network


def test_connection_refused_is_a_tcp_failure(world: World) -> None:
    port = free_port()
    world.write(server=f"https://127.0.0.1:{port}")
    report = world.doctor()
    tcp = report.check("tcp")
    assert tcp.status == "fail" and f"connection refused at 127.0.0.1:{port}" in tcp.detail
    assert "is the API server running, and is the port right" in (tcp.fix or "")
    st = statuses(report)
    assert st["tls"] == "skip" and "tcp failed" in report.check("tls").detail
    assert st["authentication"] == "skip" and st["authorization"] == "skip"
    # the certificate is still checked locally
    assert st["key-match"] == "pass" and st["cert-validity"] == "pass"
    assert not report.authenticated


def test_dns_failure(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_host(*a: Any, **k: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    world.write(server="https://api.nope.invalid:6443")
    report = world.doctor()
    dns = report.check("dns")
    assert dns.status == "fail" and "cannot resolve api.nope.invalid: Name or service not known" in dns.detail
    assert "https://api.nope.invalid:6443" in (dns.fix or "")
    assert statuses(report)["tcp"] == "skip" and "dns failed" in report.check("authentication").detail


def test_dns_resolves_localhost(world: World) -> None:
    world.write(server=f"https://localhost:{world.server.port}")
    report = world.doctor()
    assert report.check("dns").status == "pass" and "localhost → " in report.check("dns").detail
    assert report.check("tls").status == "pass"


def test_ca_mismatch_names_the_server_certificate_issuer(world: World) -> None:
    other_ca, _ = pki_factory.make_ca("some-other-ca")
    world.write(ca_pem=pki_factory.cert_pem(other_ca))
    report = world.doctor()
    tls = report.check("tls")
    assert tls.status == "fail"
    assert tls.detail.startswith("CA mismatch: the server certificate is issued by CN=fake-cluster-ca")
    assert "CN=some-other-ca" in tls.detail  # what the kubeconfig trusts
    assert "--certificate-authority=ca.crt --embed-certs=true" in (tls.fix or "")
    assert report.check("authentication").status == "skip" and "tls failed" in report.check("authentication").detail


def test_wrong_host_is_told_apart_from_a_ca_mismatch(
    world: World, serve: Callable[[tuple[bytes, bytes] | None], LocalServer]
) -> None:
    srv = serve(pki_factory.server_cert(world.ca, world.ca_key, [x509.DNSName("api.example.test")]))
    world.write(server=f"https://127.0.0.1:{srv.port}")
    report = world.doctor()
    tls = report.check("tls")
    assert tls.status == "fail" and tls.detail.startswith("wrong host:")
    assert "valid for DNS:api.example.test" in tls.detail and "not for '127.0.0.1'" in tls.detail
    assert "--tls-server-name=NAME" in (tls.fix or "")
    # and tls-server-name is the cure
    world.write(server=f"https://127.0.0.1:{srv.port}", cluster_extra={"tls-server-name": "api.example.test"})
    report = world.doctor()
    assert report.check("tls").status == "pass", report.check("tls")
    assert "tls-server-name api.example.test" in report.check("server-url").detail


def test_insecure_skip_tls_verify_is_a_warning(world: World) -> None:
    other_ca, _ = pki_factory.make_ca("some-other-ca")
    world.write(ca_pem=b"", cluster_extra={"insecure-skip-tls-verify": True})
    report = world.doctor()
    tls = report.check("tls")
    assert tls.status == "warn" and "not verified" in tls.detail and "issued by CN=fake-cluster-ca" in tls.detail
    del other_ca


def test_no_ca_in_kubeconfig_means_system_trust(world: World) -> None:
    world.write(ca_pem=b"")
    report = world.doctor()
    tls = report.check("tls")
    assert tls.status == "fail" and "CA mismatch" in tls.detail and "system's CAs" in tls.detail
    assert report.check("cert-chain").status == "skip"


def test_plain_http_port(world: World, serve: Callable[[tuple[bytes, bytes] | None], LocalServer]) -> None:
    srv = serve(None)
    world.write(server=f"https://127.0.0.1:{srv.port}")
    report = world.doctor()
    tls = report.check("tls")
    assert tls.status == "fail" and "the server speaks plain HTTP on this port, not TLS" in tls.detail


@pytest.mark.parametrize(
    ("server", "needle"),
    [
        ("http://127.0.0.1:8080", "scheme 'http'"),
        ("127.0.0.1:6443", "has no scheme"),
        ("https://", "has no host"),
        ("https://127.0.0.1:99999", "not a valid URL"),
    ],
)
def test_malformed_server_url(world: World, server: str, needle: str) -> None:
    world.write(server=server)
    report = world.doctor()
    url = report.check("server-url")
    assert url.status == "fail" and needle in url.detail, url
    assert "kubectl config set-cluster prod --server=https://HOST:PORT" in (url.fix or "")
    st = statuses(report)
    assert st["dns"] == st["tcp"] == st["tls"] == st["authentication"] == "skip"


def test_proxy_url_is_not_probed_directly(world: World) -> None:
    world.write(cluster_extra={"proxy-url": "http://proxy.example.test:3128"})
    report = world.doctor()
    st = statuses(report)
    assert st["dns"] == st["tcp"] == st["tls"] == "skip"
    assert "proxy-url" in report.check("dns").detail
    assert st["authentication"] == "pass"


# --------------------------------------------------------------------------- the certificate


def test_expired_certificate(world: World) -> None:
    cert, key = world.client(not_before=NOW - timedelta(days=40), not_after=NOW - timedelta(days=10))
    world.write(embedded(cert, key))
    report = world.doctor()
    v = report.check("cert-validity")
    assert v.status == "fail" and v.detail.startswith("expired 10d")
    assert v.fix == "`kubeuser renew alice` issues a new certificate (run by an admin)"
    auth = report.check("authentication")
    assert auth.status == "fail" and "401 Unauthorized" in auth.detail and "the certificate expired at" in auth.detail
    assert "kubeuser renew alice" in (auth.fix or "")
    assert not report.authenticated


def test_not_yet_valid_certificate_is_clock_skew(world: World) -> None:
    cert, key = world.client(not_before=NOW + timedelta(hours=2), not_after=NOW + timedelta(days=2))
    world.write(embedded(cert, key))
    report = world.doctor()
    v = report.check("cert-validity")
    assert v.status == "fail" and v.detail.startswith("not yet valid") and "clock skew" in v.detail
    assert "timedatectl" in (v.fix or "")
    auth = report.check("authentication")
    assert auth.status == "fail" and "clock skew" in auth.detail


def test_expiring_soon_is_a_warning(world: World) -> None:
    cert, key = world.client(not_before=NOW - timedelta(days=28), not_after=NOW + timedelta(days=2))
    world.write(embedded(cert, key))
    report = world.doctor()
    v = report.check("cert-validity")
    assert (
        v.status == "warn" and v.detail.startswith("expires in 2d (valid ") and "kubeuser renew alice" in (v.fix or "")
    )
    assert report.authenticated


def test_certificate_from_a_foreign_ca(world: World) -> None:
    foreign = pki_factory.make_ca("evil-ca")
    cert, key = world.client(ca=foreign)
    world.write(embedded(cert, key))
    report = world.doctor()
    chain = report.check("cert-chain")
    assert chain.status == "warn" and "issued by CN=evil-ca" in chain.detail and "CN=fake-cluster-ca" in chain.detail
    auth = report.check("authentication")
    assert auth.status == "fail"
    assert "the certificate is not from the cluster's CA: it is issued by CN=evil-ca" in auth.detail
    assert "kubeuser create alice" in (auth.fix or "")


def test_same_name_different_ca(world: World) -> None:
    impostor = pki_factory.make_ca("fake-cluster-ca")  # same subject, other key
    cert, key = world.client(ca=impostor)
    world.write(embedded(cert, key))
    report = world.doctor()
    assert "did not sign this certificate" in report.check("cert-chain").detail
    assert report.check("authentication").status == "fail"


def test_key_does_not_match_certificate(world: World) -> None:
    cert, _ = world.client()
    _, other_key = world.client()
    world.write(embedded(cert, other_key))
    report = world.doctor()
    km = report.check("key-match")
    assert km.status == "fail" and "the private key does not belong to the certificate" in km.detail
    assert "kubeuser renew alice" in (km.fix or "")
    auth = report.check("authentication")
    assert auth.status == "skip" and "key-match failed" in auth.detail


def test_cn_is_not_the_user_name(world: World) -> None:
    cert, key = world.client(cn="My Laptop", groups=("Internet Widgits Pty Ltd",))
    world.write(embedded(cert, key))
    report = world.doctor()
    subj = report.check("cert-subject")
    assert subj.status == "warn"
    assert "CN=My Laptop" in subj.detail and "openssl's default" in subj.detail
    assert "the CN 'My Laptop' is not the kubeconfig user name 'alice'" in subj.detail
    assert report.authenticated  # the server accepts it — under the wrong name
    assert "authenticated as My Laptop" in report.check("authentication").detail


@pytest.mark.filterwarnings("ignore:Attribute's length")
def test_certificate_without_cn(world: World) -> None:
    cert, key = world.client(cn="")
    world.write(embedded(cert, key))
    report = world.doctor()
    subj = report.check("cert-subject")
    assert subj.status == "fail" and "has no CN" in subj.detail


def test_system_masters_is_flagged(world: World) -> None:
    cert, key = world.client(groups=("system:masters",))
    world.write(embedded(cert, key))
    assert "system:masters" in world.doctor().check("cert-subject").detail


def test_key_file_readable_by_others(world: World, tmp_path: Path) -> None:
    cert, key = world.client()
    (tmp_path / "alice.crt").write_bytes(cert)
    (tmp_path / "alice.key").write_bytes(key)
    os.chmod(tmp_path / "alice.key", 0o644)
    world.write({"client-certificate": "alice.crt", "client-key": str(tmp_path / "alice.key")})  # relative + absolute
    report = world.doctor()
    files = report.check("client-cert-files")
    assert files.status == "warn" and "readable by its group and everyone (mode 0644)" in files.detail
    assert files.fix == f"chmod 600 {tmp_path / 'alice.key'}"
    assert report.check("key-match").status == "pass" and report.authenticated


def test_kubeconfig_with_embedded_key_readable_by_group(world: World) -> None:
    world.write(mode=0o640)
    files = world.doctor().check("client-cert-files")
    assert files.status == "warn" and f"chmod 600 {world.kc}" == files.fix
    assert "readable by its group (mode 0640)" in files.detail


def test_missing_key_file(world: World, tmp_path: Path) -> None:
    cert, _ = world.client()
    (tmp_path / "alice.crt").write_bytes(cert)
    world.write({"client-certificate": "alice.crt", "client-key": "missing.key"})
    report = world.doctor()
    files = report.check("client-cert-files")
    assert files.status == "fail" and f"client-key file {tmp_path / 'missing.key'} does not exist" in files.detail
    assert report.check("key-match").status == "skip"
    assert report.check("cert-validity").status == "pass"  # the certificate alone is still checked
    assert report.check("authentication").status == "skip"


def test_unreadable_key_file(world: World, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    cert, key = world.client()
    (tmp_path / "alice.crt").write_bytes(cert)
    (tmp_path / "alice.key").write_bytes(key)
    os.chmod(tmp_path / "alice.key", 0)
    world.write({"client-certificate": "alice.crt", "client-key": "alice.key"})
    files = world.doctor().check("client-cert-files")
    assert files.status == "fail" and "permission denied" in files.detail


def test_garbage_certificate_and_key(world: World) -> None:
    world.write({"client-certificate-data": base64.b64encode(b"hello").decode(), "client-key-data": "!!!"})
    files = world.doctor().check("client-cert-files")
    assert files.status == "fail"
    assert "client-key-data is not valid base64" in files.detail
    assert "not a readable PEM certificate" in files.detail


# --------------------------------------------------------------------------- other kinds of users


def test_token_user_skips_certificate_checks_but_authenticates(world: World) -> None:
    world.write({"token": "s3cr3t-token-value"}, user_name="admin")
    report = world.doctor()
    st = statuses(report)
    assert report.credential == "token"
    assert "bearer token (18 characters, from token)" in report.check("credentials").detail
    for cid in ("client-cert-files", "key-match", "cert-validity", "cert-subject", "cert-chain"):
        assert st[cid] == "skip" and "not a client-certificate user (token)" in report.check(cid).detail
    assert st["authentication"] == "pass" and report.authenticated
    assert "s3cr3t-token-value" not in json.dumps(report.to_dict())


def test_rejected_token(world: World) -> None:
    world.write({"token": "bad"})
    auth = world.doctor().check("authentication")
    assert auth.status == "fail" and "the token is invalid, expired or revoked" in auth.detail


def test_expired_jwt_token(world: World) -> None:
    def b64(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    jwt = ".".join([b64({"alg": "RS256"}), b64({"sub": "system:serviceaccount:ci:bot", "exp": 1_000_000}), "sig"])
    world.write({"token": jwt})
    report = world.doctor()
    creds, claims = report.check("credentials"), report.check("token-claims")
    assert "JWT subject system:serviceaccount:ci:bot" in creds.detail
    assert claims.status == "fail" and "expired" in claims.detail and "at 1970-01-12T13:46:40Z" in claims.detail
    assert claims.fix is not None and "kubeuser token bot" not in claims.fix  # no ServiceAccount claim: no name
    assert report.check("cert-validity").status == "skip"  # a certificate check, for a token user


def test_service_account_token_gets_a_service_account_binding_fix(world: World) -> None:
    def b64(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    jwt = ".".join([b64({"alg": "RS256"}), b64({"sub": "system:serviceaccount:ci:bot", "exp": 4_000_000_000}), "s"])
    world.fake.ver = type(world.fake.ver)("v1.20.2", 1, 20)  # no SelfSubjectReview: the name comes from the JWT
    world.fake.deny.add("list pods")
    world.write({"token": jwt})
    report = world.doctor()
    assert report.check("token-claims").status == "pass" and "expires 2096-" in report.check("token-claims").detail
    authz = report.check("authorization")
    assert authz.status == "warn"
    assert authz.fix == (
        "an admin grants access, e.g. kubectl create rolebinding bot-view --clusterrole=view "
        "--serviceaccount=ci:bot -n dev"
    )


def test_exec_plugin_not_installed(world: World) -> None:
    world.write(
        {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1",
                "command": "kubelogin-does-not-exist",
                "installHint": "install kubelogin: https://example.test/kubelogin",
            }
        }
    )
    report = world.doctor()
    creds = report.check("credentials")
    assert creds.status == "fail"
    assert "the exec auth plugin 'kubelogin-does-not-exist' is not installed (not found on PATH)" in creds.detail
    assert creds.fix == "install kubelogin: https://example.test/kubelogin"
    assert report.credential == "exec"
    assert report.check("authentication").status == "skip" and report.check("key-match").status == "skip"


def test_exec_plugin_installed(world: World) -> None:
    world.write({"exec": {"apiVersion": "client.authentication.k8s.io/v1alpha1", "command": "true"}})
    report = world.doctor()
    creds = report.check("credentials")
    assert creds.status == "warn" and "exec plugin" in creds.detail and "v1alpha1 was removed" in creds.detail
    assert report.check("authentication").status == "pass"


def test_auth_provider_gcp(world: World) -> None:
    world.write({"auth-provider": {"name": "gcp", "config": {}}})
    creds = world.doctor().check("credentials")
    assert creds.status == "warn" and "removed from kubectl in 1.26" in creds.detail
    assert "gke-gcloud-auth-plugin" in (creds.fix or "")


def test_user_without_credentials(world: World) -> None:
    world.write({})
    report = world.doctor()
    creds = report.check("credentials")
    assert creds.status == "fail" and "has no credentials" in creds.detail and "anonymous" in creds.detail
    assert report.credential == "none"
    assert report.check("authentication").status == "skip"


def test_unreachable_through_the_gateway(world: World) -> None:
    world.write()

    def down(target: Target) -> Gateway:
        raise UnreachableError("reading the server version: cannot reach it", hint="check the server address")

    report = wf.run(wf.DoctorOptions(kubeconfig=str(world.kc)), down)
    auth = report.check("authentication")
    assert auth.status == "fail" and "cannot reach it" in auth.detail and auth.fix == "check the server address"


# --------------------------------------------------------------------------- the file


def test_malformed_kubeconfig_skips_everything_else(tmp_path: Path) -> None:
    kc = tmp_path / "config"
    kc.write_text("clusters: [\n")
    report = wf.run(wf.DoctorOptions(kubeconfig=str(kc)))
    assert report.check("kubeconfig").status == "fail" and "invalid YAML" in report.check("kubeconfig").detail
    assert all(c.status == "skip" for c in report.checks[1:]) and len(report.checks) == len(wf.CHECKS)


def test_unknown_context(world: World) -> None:
    world.write()
    report = wf.run(wf.DoctorOptions(kubeconfig=str(world.kc), context="nope"))
    ctx = report.check("context")
    assert ctx.status == "fail" and "context 'nope' not found" in ctx.detail and "alice@prod" in (ctx.fix or "")


def test_context_naming_a_missing_user(world: World) -> None:
    world.write()
    doc = yaml.safe_load(world.kc.read_text())
    doc["users"] = []
    world.kc.write_text(yaml.safe_dump(doc))
    ctx = wf.run(wf.DoctorOptions(kubeconfig=str(world.kc))).check("context")
    assert ctx.status == "fail" and "refers to user 'alice', which is not defined" in ctx.detail


# --------------------------------------------------------------------------- the command line


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from kubeuser.cli import main

    with pytest.raises(SystemExit) as ei:
        main(list(args))
    out, err = capsys.readouterr()
    code = ei.value.code
    return int(code) if isinstance(code, int) else 1, out, err


def test_cli_text_is_plain_without_a_tty_and_exits_12(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.write(server=f"https://127.0.0.1:{free_port()}")
    code, out, err = run_cli(capsys, "doctor", "--kubeconfig", str(world.kc))
    assert code == int(ExitCode.CHECK_FAILED) == 12
    assert "\x1b[" not in out  # no colour codes
    lines = out.splitlines()
    assert any(ln.startswith("✓ kubeconfig ") for ln in lines)
    assert any(ln.startswith("✗ tcp ") and "connection refused" in ln for ln in lines)
    assert any(ln.startswith("- authentication ") for ln in lines)
    assert any(ln.strip().startswith("fix: is the API server running") for ln in lines)
    assert "result: NOT authenticated" in out
    assert "error: the identity does not authenticate: tcp: connection refused" in err


def test_cli_json(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.write(server=f"https://127.0.0.1:{free_port()}")
    code, out, _ = run_cli(capsys, "doctor", "--kubeconfig", str(world.kc), "-o", "json")
    assert code == 12
    doc = json.loads(out)
    assert doc["kind"] == "DoctorReport" and doc["authenticated"] is False
    by_id = {c["id"]: c for c in doc["checks"]}
    assert set(by_id) == {cid for cid, _ in wf.CHECKS}
    assert by_id["tcp"]["status"] == "fail" and by_id["tcp"]["fix"]
    assert set(by_id["tcp"]) == {"id", "title", "status", "detail", "fix", "required"}
    # the verdict rests on authentication alone (skipped here: tcp failed), as preflight's on its required checks
    assert [c["id"] for c in doc["checks"] if c["required"]] == ["authentication"]
    assert by_id["authentication"]["status"] == "skip"


def test_cli_exit_0_when_authenticated(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    world.write()
    monkeypatch.setattr("kubeuser.connect.open_gateway", apiserver(world.fake))
    code, out, err = run_cli(capsys, "doctor", "--kubeconfig", str(world.kc), "-o", "yaml")
    assert code == 0, err
    doc = yaml.safe_load(out)
    assert doc["authenticated"] is True and doc["identity"]["username"] == "alice"


def test_cli_rejects_bad_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "doctor", "-o", "xml")
    assert code == ExitCode.USAGE and "unknown output format" in err


def test_a_host_that_cannot_be_encoded(world: World) -> None:
    world.write(server="https://a..b:6443")
    dns = world.doctor().check("dns")
    assert dns.status == "fail" and "cannot resolve a..b" in dns.detail


def test_an_unexpected_error_fails_one_check_not_the_report(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(d: Any) -> None:
        raise RuntimeError("kaboom")

    steps = tuple(dataclasses.replace(s, run=broken) if s.id == "cert-subject" else s for s in wf.STEPS)
    monkeypatch.setattr(wf, "STEPS", steps)
    world.write()
    report = world.doctor()
    subj = report.check("cert-subject")
    assert subj.status == "fail" and subj.detail == "unexpected error in this check: RuntimeError: kaboom"
    assert "kubeuser bug" in (subj.fix or "")
    assert [c.id for c in report.checks] == [cid for cid, _ in wf.CHECKS]
    assert report.authenticated  # every other check still ran


# ------------------------------------------------------------- token identities (kubeuser create --auth token)


def _token_user(world: World, ttl: int = 3600) -> tuple[str, str]:
    """A ServiceAccount with a token bound to a Secret, as `kubeuser create --auth token` makes: (token, secret)."""
    fake = world.fake
    fake.create_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubeuser-system"}})
    fake.create_object({"apiVersion": "v1", "kind": "ServiceAccount",
                        "metadata": {"name": "dash", "namespace": "kubeuser-system"}})  # fmt: skip
    secret = fake.create_object({"apiVersion": "v1", "kind": "Secret",
                                 "metadata": {"name": "dash-token-1", "namespace": "kubeuser-system"}})  # fmt: skip
    body = tokens.token_request(ttl, "dash-token-1", secret["metadata"]["uid"])
    token = fake.request_token("kubeuser-system", "dash", body)["status"]["token"]
    return str(token), "dash-token-1"


def test_a_live_token_identity_passes_and_names_its_bound_secret(world: World) -> None:
    token, secret = _token_user(world, ttl=7 * 86400)
    world.write({"token": token}, user_name="dash")
    report = world.doctor()
    claims = report.check("token-claims")
    assert claims.status == "pass", claims
    assert f"bound to Secret kubeuser-system/{secret}" in claims.detail and "(read from the token, unverified)" in (
        claims.detail
    )
    assert report.check("authentication").status == "pass" and report.ok
    assert token not in json.dumps(report.to_dict())  # never the credential itself


def test_a_revoked_token_is_told_apart_from_an_expired_one(world: World) -> None:
    token, secret = _token_user(world, ttl=7 * 86400)
    world.write({"token": token}, user_name="dash")
    world.fake.delete_object("Secret", secret, "kubeuser-system")  # what `kubeuser revoke`/`renew` do
    report = world.doctor()
    assert report.check("token-claims").status == "pass"  # not expired …
    auth = report.check("authentication")
    assert auth.status == "fail" and "401" in auth.detail  # … yet rejected, and the report says why
    assert "has not expired but is rejected" in auth.detail and f"Secret {secret}" in auth.detail
    assert "ServiceAccount kubeuser-system/dash" in auth.detail and "kubeuser revoke" in auth.detail
    assert auth.fix is not None and "kubeuser renew dash" in auth.fix
    assert not report.ok


def test_a_token_near_its_expiry_is_a_warning(world: World) -> None:
    token, _secret = _token_user(world, ttl=3600)
    world.write({"token": token}, user_name="dash")
    claims = world.doctor().check("token-claims")
    assert claims.status == "warn" and "expires in" in claims.detail
    assert claims.fix == "`kubeuser renew dash` before then"


def test_an_opaque_token_skips_the_claims_check(world: World) -> None:
    world.write({"token": "abcdef.0123456789abcdef"}, user_name="boot")
    claims = world.doctor().check("token-claims")
    assert claims.status == "skip" and "not a JWT" in claims.detail
