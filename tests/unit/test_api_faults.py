"""API faults: the real K8sGateway against a scripted HTTP server, and failures injected at every create step.

Part 1 runs ``kubeuser.k8s.K8sGateway`` (the official client underneath) against a stub API server on
127.0.0.1 that answers each request from a script and counts what it receives: refused connections,
read timeouts, dropped connections, 401/403/404/409/400/5xx/429, non-JSON bodies, broken watches.
Each fault must become the right KubeuserError (exit code) with a one-line message naming the
operation; idempotent methods (GET/PUT/DELETE) are retried with backoff, POST never is.

Part 2 injects a failure into each step of ``create`` over the fake gateway (and through the real
CLI): the error names the step, everything created so far is rolled back, the kubeconfig and key
files are untouched, and whatever a failed rollback leaves behind is found by ``kubeuser cleanup``.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from fake_gateway import FakeGateway
from http_thread import serving

from kubeuser import connect, k8s, naming, pki, registry, render
from kubeuser.cli import main
from kubeuser.errors import (
    ConflictError,
    ExitCode,
    ForbiddenError,
    KubeconfigError,
    KubeuserError,
    SignerTimeoutError,
    UnauthenticatedError,
    UnreachableError,
    UsageError,
    VerificationError,
)
from kubeuser.progress import RecordingReporter
from kubeuser.workflows import cleanup as cleanupwf
from kubeuser.workflows import create as createwf

CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
RETRY = (0.01, 0.02, 0.04)

# ============================================================================ a scripted API server


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list → JSON; bytes/str as is
    delay: float = 0.0  # seconds to wait before answering
    drop: bool = False  # close the connection without any answer
    content_type: str = "application/json"


def status_body(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason,
            "code": code}  # fmt: skip


@dataclass
class Route:
    method: str
    path: str
    query: str | None
    replies: list[Reply]


@dataclass
class Seen:
    method: str
    path: str
    query: str
    body: Any


@dataclass
class StubServer:
    """A fake kube-apiserver: answers from per-route scripts (the last reply of a script repeats)."""

    routes: list[Route] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def on(self, method: str, path: str, *replies: Reply, query: str | None = None) -> None:
        self.routes.insert(0, Route(method, path, query, list(replies)))  # later routes win

    def count(self, method: str | None = None, path: str | None = None) -> int:
        return sum(1 for s in self.seen if (method is None or s.method == method) and (path is None or s.path == path))

    def answer(self, method: str, target: str, body: Any) -> Reply:
        parts = urlsplit(target)
        with self.lock:
            self.seen.append(Seen(method, parts.path, parts.query, body))
            for r in self.routes:
                if r.method == method and r.path == parts.path and (r.query is None or r.query in parts.query):
                    return r.replies.pop(0) if len(r.replies) > 1 else r.replies[0]
        return Reply(404, status_body(404, "NotFound", f"the server could not find {parts.path}"))

    def config(self, server: str | None = None) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "stub", "cluster": {"server": server or self.url}}],
            "users": [{"name": "admin", "user": {"token": "not-a-real-token"}}],
            "contexts": [{"name": "admin@stub", "context": {"cluster": "stub", "user": "admin"}}],
            "current-context": "admin@stub",
        }

    def gateway(self, server: str | None = None) -> k8s.K8sGateway:
        return k8s.K8sGateway.from_config_dict(self.config(server), "admin@stub", ca_pem=None)


def _handler(stub: StubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
            reply = stub.answer(self.command, self.path, body)
            if reply.delay:
                time.sleep(reply.delay)
            if reply.drop:
                self.close_connection = True
                return
            data = reply.body
            if isinstance(data, (dict, list)):
                data = json.dumps(data)
            data = data.encode() if isinstance(data, str) else (data or b"")
            with contextlib.suppress(OSError):  # the client may have given up (read timeout)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class _Clock:
    """k8s's view of the time module: real, but every sleep is recorded."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        time.sleep(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    c = _Clock()
    monkeypatch.setattr(k8s, "time", c)
    monkeypatch.setattr(k8s, "RETRY_DELAYS", RETRY)
    monkeypatch.setattr(k8s, "DEFAULT_TIMEOUT", (2.0, 0.5))
    return c


@pytest.fixture
def stub(clock: _Clock) -> Iterator[StubServer]:
    s = StubServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(s))
    server.daemon_threads = True
    server.block_on_close = False
    s.url = f"http://127.0.0.1:{server.server_address[1]}"
    with serving(server):
        yield s


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raised(fn: Callable[[], Any]) -> KubeuserError:
    """Run *fn*; it must raise a KubeuserError (anything else fails the test as it would crash the CLI)."""
    try:
        fn()
    except KubeuserError as exc:
        assert "\n" not in exc.message, f"message is not one line: {exc.message!r}"
        return exc
    raise AssertionError("no error raised")


VERSION = {"major": "1", "minor": "30", "gitVersion": "v1.30.0"}


def csr_obj(name: str, *, cert: str | None = None, rv: str = "1") -> dict[str, Any]:
    status: dict[str, Any] = {"certificate": cert} if cert else {}
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": name, "resourceVersion": rv}, "spec": {}, "status": status}  # fmt: skip


def csr_manifest(name: str) -> dict[str, Any]:
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": name},
            "spec": {"request": "", "signerName": "kubernetes.io/kube-apiserver-client"}}  # fmt: skip


# ============================================================================ transport faults


def test_connection_refused_is_unreachable_and_names_the_step(stub: StubServer) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    gw = stub.gateway(dead)
    exc = raised(gw.version)
    assert isinstance(exc, UnreachableError) and int(exc.exit_code) == 4 and exc.exit_code is ExitCode.UNREACHABLE
    assert exc.message == f"reading the server version: connection to {dead} refused"
    assert exc.hint and "port" in exc.hint
    exc = raised(lambda: gw.create_csr(csr_manifest("kubeuser-a")))  # POST: refused before anything was sent
    assert exc.message.startswith("creating CertificateSigningRequest kubeuser-a: connection to")
    assert stub.count() == 0


def test_read_timeout_get_is_retried_then_reported(stub: StubServer, clock: _Clock) -> None:
    stub.on("GET", "/version", Reply(200, VERSION, delay=1.5))  # read timeout is 0.5s in these tests
    gw = stub.gateway()
    t0 = time.monotonic()
    exc = raised(gw.version)
    assert isinstance(exc, UnreachableError) and exc.exit_code == 4
    assert exc.message == f"reading the server version: {stub.url} did not answer in time"
    assert stub.count("GET", "/version") == len(RETRY) + 1  # idempotent: retried
    assert clock.sleeps == list(RETRY)
    assert time.monotonic() - t0 < 10


def test_read_timeout_post_is_not_retried(stub: StubServer, clock: _Clock) -> None:
    stub.on("POST", CSRS, Reply(201, csr_obj("kubeuser-a"), delay=1.5))
    exc = raised(lambda: stub.gateway().create_csr(csr_manifest("kubeuser-a")))
    assert isinstance(exc, UnreachableError)
    assert exc.message == f"creating CertificateSigningRequest kubeuser-a: {stub.url} did not answer in time"
    assert stub.count("POST", CSRS) == 1  # the server may have acted on it: never sent twice
    assert clock.sleeps == []


def test_dropped_connection_get_retried_post_not(stub: StubServer) -> None:
    stub.on("GET", "/version", Reply(drop=True), Reply(200, VERSION))
    assert stub.gateway().version().git_version == "v1.30.0"
    assert stub.count("GET", "/version") == 2
    stub.on("POST", CSRS, Reply(drop=True), Reply(201, csr_obj("kubeuser-b")))
    exc = raised(lambda: stub.gateway().create_csr(csr_manifest("kubeuser-b")))
    assert isinstance(exc, UnreachableError) and exc.message.startswith("creating CertificateSigningRequest kubeuser-b")
    assert stub.count("POST", CSRS) == 1


def test_tls_to_a_plain_http_server(stub: StubServer) -> None:
    https = stub.url.replace("http://", "https://")
    exc = raised(stub.gateway(https).version)
    assert isinstance(exc, UnreachableError) and exc.exit_code == 4
    assert exc.message.startswith(f"reading the server version: TLS handshake with {https} failed")


# ============================================================================ HTTP status mapping


def test_401_is_unauthenticated_and_not_retried(stub: StubServer) -> None:
    stub.on("GET", "/version", Reply(401, status_body(401, "Unauthorized", "Unauthorized")))
    exc = raised(stub.gateway().version)
    assert (
        isinstance(exc, UnauthenticatedError) and int(exc.exit_code) == 5 and exc.exit_code is ExitCode.UNAUTHENTICATED
    )
    assert (
        exc.message
        == f"reading the server version: the API server {stub.url} rejected the credentials (401 Unauthorized)"
    )
    assert stub.count() == 1


def test_403_on_approve_names_approval_and_signer_permissions(stub: StubServer) -> None:
    name = "kubeuser-alice-1"
    stub.on("GET", f"{CSRS}/{name}", Reply(200, csr_obj(name)))
    msg = (
        f'certificatesigningrequests.certificates.k8s.io "{name}" is forbidden: User "ops" cannot update resource '
        '"certificatesigningrequests/approval" in API group "certificates.k8s.io" at the cluster scope'
    )
    stub.on("PUT", f"{CSRS}/{name}/approval", Reply(403, status_body(403, "Forbidden", msg)))
    exc = raised(lambda: stub.gateway().approve_csr(name, reason="r", message="m"))
    assert isinstance(exc, ForbiddenError) and int(exc.exit_code) == 6 and exc.exit_code is ExitCode.FORBIDDEN
    assert exc.message == f"approving CSR {name}: forbidden: {msg}"
    assert exc.hint is not None
    assert "certificatesigningrequests/approval" in exc.hint
    assert "`approve` on signers" in exc.hint and "kubernetes.io/kube-apiserver-client" in exc.hint
    assert stub.count("PUT") == 1  # 403 is final
    (put,) = [s for s in stub.seen if s.method == "PUT"]
    assert put.body["status"]["conditions"][-1]["type"] == "Approved"


def test_409_on_csr_name_clash(stub: StubServer) -> None:
    msg = 'certificatesigningrequests.certificates.k8s.io "kubeuser-a" already exists'
    stub.on("POST", CSRS, Reply(409, status_body(409, "AlreadyExists", msg)))
    exc = raised(lambda: stub.gateway().create_csr(csr_manifest("kubeuser-a")))
    assert isinstance(exc, ConflictError) and int(exc.exit_code) == 7 and exc.exit_code is ExitCode.CONFLICT
    assert exc.message == f"creating CertificateSigningRequest kubeuser-a: conflict: {msg}"
    assert stub.count("POST") == 1


@pytest.mark.parametrize("code", [400, 422])
def test_400_and_422_are_usage_errors(stub: StubServer, code: int) -> None:
    stub.on("POST", CSRS, Reply(code, status_body(code, "Invalid", "spec.expirationSeconds: Invalid value: 5")))
    exc = raised(lambda: stub.gateway().create_csr(csr_manifest("kubeuser-a")))
    assert isinstance(exc, UsageError) and exc.exit_code == 2
    assert exc.message == (
        "creating CertificateSigningRequest kubeuser-a: the API server rejected the request: "
        "spec.expirationSeconds: Invalid value: 5"
    )


def test_404_reads_as_absent_and_delete_as_false(stub: StubServer) -> None:
    gw = stub.gateway()
    assert gw.get_csr("nope") is None
    assert gw.delete_csr("nope") is False
    assert stub.count() == 2  # 404 is an answer, not a fault: no retries


def test_the_new_identitys_gateway_reuses_the_server_version(stub: StubServer) -> None:
    stub.on("GET", "/version", Reply(200, {"major": "1", "minor": "20", "gitVersion": "v1.20.2"}))
    admin = stub.gateway()
    assert admin.version().minor == 20
    user = admin.as_certificate(b"-----BEGIN CERTIFICATE-----\n", b"not used over plain http")
    try:
        assert user.version() == admin.version()
    finally:
        user.close()
        admin.close()
    assert stub.count("GET", "/version") == 1  # one server, one GET /version per run


# ============================================================================ retries


@pytest.mark.parametrize("code", [500, 503, 429])
def test_get_5xx_and_429_retried_with_backoff_then_succeeds(stub: StubServer, clock: _Clock, code: int) -> None:
    busy = Reply(code, status_body(code, "InternalError", "etcdserver: leader changed"))
    stub.on("GET", "/version", busy, busy, Reply(200, VERSION))
    assert stub.gateway().version().git_version == "v1.30.0"
    assert stub.count("GET", "/version") == 3
    assert clock.sleeps == [RETRY[0], RETRY[1]]  # growing backoff


def test_get_5xx_gives_up_after_the_retries(stub: StubServer, clock: _Clock) -> None:
    stub.on("GET", "/version", Reply(503, status_body(503, "ServiceUnavailable", "etcd is unavailable")))
    exc = raised(stub.gateway().version)
    assert isinstance(exc, UnreachableError) and exc.exit_code == 4
    assert exc.message == "reading the server version: the API server answered 503: etcd is unavailable"
    assert stub.count("GET", "/version") == len(RETRY) + 1
    assert clock.sleeps == list(RETRY)


def test_post_5xx_is_not_retried(stub: StubServer, clock: _Clock) -> None:
    stub.on("POST", CSRS, Reply(500, status_body(500, "InternalError", "boom")), Reply(201, csr_obj("kubeuser-a")))
    exc = raised(lambda: stub.gateway().create_csr(csr_manifest("kubeuser-a")))
    assert isinstance(exc, UnreachableError)
    assert exc.message == "creating CertificateSigningRequest kubeuser-a: the API server answered 500: boom"
    assert stub.count("POST", CSRS) == 1 and clock.sleeps == []


def test_put_is_retried(stub: StubServer, clock: _Clock) -> None:
    name = "kubeuser-alice-1"
    stub.on("GET", f"{CSRS}/{name}", Reply(200, csr_obj(name)))
    stub.on("PUT", f"{CSRS}/{name}/approval", Reply(502, b"bad gateway"), Reply(200, csr_obj(name, rv="2")))
    assert stub.gateway().approve_csr(name, reason="r", message="m")["metadata"]["resourceVersion"] == "2"
    assert stub.count("PUT") == 2 and clock.sleeps == [RETRY[0]]


def test_put_of_apply_is_retried(stub: StubServer) -> None:
    path = "/api/v1/namespaces/kubeuser-system/configmaps"
    meta = {"name": "user-a", "namespace": "kubeuser-system"}
    cm: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}
    stub.on("POST", path, Reply(409, status_body(409, "AlreadyExists", "exists")))
    stub.on("GET", f"{path}/user-a", Reply(200, {**cm, "metadata": {**meta, "resourceVersion": "7"}}))
    stub.on("PUT", f"{path}/user-a", Reply(503, b""), Reply(503, b""), Reply(200, cm))
    assert stub.gateway().apply_object(cm) == "updated"
    assert [s.method for s in stub.seen] == ["POST", "GET", "PUT", "PUT", "PUT"]
    assert stub.seen[-1].body["metadata"]["resourceVersion"] == "7"


def test_delete_is_retried(stub: StubServer, clock: _Clock) -> None:
    stub.on("DELETE", f"{CSRS}/kubeuser-a", Reply(503, b""), Reply(200, {"kind": "Status", "status": "Success"}))
    assert stub.gateway().delete_csr("kubeuser-a") is True
    assert stub.count("DELETE") == 2 and clock.sleeps == [RETRY[0]]
    stub.on("DELETE", f"{CSRS}/kubeuser-b", Reply(500, status_body(500, "InternalError", "boom")))
    exc = raised(lambda: stub.gateway().delete_csr("kubeuser-b"))
    assert exc.message == "deleting CertificateSigningRequest kubeuser-b: the API server answered 500: boom"
    assert stub.count("DELETE", f"{CSRS}/kubeuser-b") == len(RETRY) + 1


# ============================================================================ bodies that are not what they should be


def test_html_error_page_gives_a_one_line_message(stub: StubServer) -> None:
    page = b"<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center>nginx</center>\n</body>\n</html>\n"
    stub.on("GET", "/version", Reply(502, page, content_type="text/html"))
    exc = raised(stub.gateway().version)  # raised() also asserts one line
    assert exc.message.startswith("reading the server version: the API server answered 502: <html> <head>")


def test_a_2xx_that_is_not_json_is_an_error_not_a_crash(stub: StubServer) -> None:
    stub.on("GET", "/version", Reply(200, b"<html>\n<body>Please log in</body></html>", content_type="text/html"))
    exc = raised(stub.gateway().version)
    assert isinstance(exc, UnreachableError) and exc.exit_code == 4
    assert exc.message.startswith(f"reading the server version: {stub.url} answered with something that is not JSON")


def test_multiline_status_message_is_one_line(stub: StubServer) -> None:
    msg = 'admission webhook "policy.example.com" denied the request:\n- rule 1\n- rule 2'
    stub.on("POST", CSRS, Reply(403, status_body(403, "Forbidden", msg)))
    exc = raised(lambda: stub.gateway().create_csr(csr_manifest("kubeuser-a")))
    assert exc.message.endswith("denied the request: - rule 1 - rule 2")


@pytest.mark.parametrize("watch", [Reply(500, status_body(500, "InternalError", "x")), Reply(200, b"not json\n")])
def test_broken_watch_times_out_cleanly_without_hammering(stub: StubServer, watch: Reply) -> None:
    stub.on("GET", f"{CSRS}/kubeuser-a", Reply(200, csr_obj("kubeuser-a")))
    stub.on("GET", CSRS, watch, query="watch=true")
    t0 = time.monotonic()
    exc = raised(lambda: stub.gateway().wait_for_certificate("kubeuser-a", 1.0))
    assert isinstance(exc, SignerTimeoutError) and exc.exit_code == 8
    assert time.monotonic() - t0 < 5
    assert stub.count() <= 10  # paused between attempts (it was ~20 requests a second)


def test_watch_delivers_the_certificate(stub: StubServer) -> None:
    import base64

    cert = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n...").decode()
    stub.on("GET", f"{CSRS}/kubeuser-a", Reply(200, csr_obj("kubeuser-a")))
    event = json.dumps({"type": "MODIFIED", "object": csr_obj("kubeuser-a", cert=cert)}) + "\n"
    stub.on("GET", CSRS, Reply(200, event), query="watch=true")
    assert stub.gateway().wait_for_certificate("kubeuser-a", 5.0).startswith(b"-----BEGIN CERTIFICATE")
    (watch,) = [s for s in stub.seen if "watch=true" in s.query]
    assert "resourceVersion=1" in watch.query and "fieldSelector=metadata.name%3Dkubeuser-a" in watch.query


# ============================================================================ failures at each create step


class ArmedGateway(FakeGateway):
    """The fake gateway, whose ``fail`` entries may skip the first N calls (``skip``)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.skip: dict[str, int] = {}

    def _call(self, name: str, check: str | None = None) -> None:
        root = self._root
        assert isinstance(root, ArmedGateway)
        if root.skip.get(name, 0) > 0 and name in root.fail:
            root.skip[name] -= 1
            held = root.fail.pop(name)
            try:
                super()._call(name, check)
            finally:
                root.fail[name] = held
            return
        super()._call(name, check)


@dataclass(frozen=True)
class Fault:
    step: str
    error: type[KubeuserError]
    message: str
    arm: Callable[[dict[str, Any]], None]
    exit_code: int


def _fail(method: str, exc: KubeuserError, skip: int = 0) -> Callable[[dict[str, Any]], None]:
    def arm(ctx: dict[str, Any]) -> None:
        ctx["gw"].fail[method] = exc
        ctx["gw"].skip[method] = skip

    return arm


def _bad_certificate(ctx: dict[str, Any]) -> None:
    def verify(*a: Any, **k: Any) -> Any:
        raise VerificationError("issued certificate is wrong: CN is 'mallory', expected 'user01'")

    ctx["monkeypatch"].setattr(pki, "verify_issued", verify)


def _kubeconfig_garbled(ctx: dict[str, Any]) -> None:
    ctx["kc"].write_text("clusters: [\n")  # someone else broke it while we were busy
    ctx["before"] = ctx["kc"].read_bytes()


S = "https://127.0.0.1:6443"
FAULTS = [
    Fault("Connect", UnreachableError, f"reading the server version: connection to {S} refused",
          _fail("version", UnreachableError(f"reading the server version: connection to {S} refused")), 4),
    Fault("Check permissions", UnreachableError, "checking whether we may create certificatesigningrequests: timeout",
          _fail("can_i", UnreachableError("checking whether we may create certificatesigningrequests: timeout")), 4),
    Fault("Submit CertificateSigningRequest", ConflictError, "creating CertificateSigningRequest x: conflict",
          _fail("create_csr", ConflictError("creating CertificateSigningRequest x: conflict")), 7),
    Fault("Approve", ForbiddenError, "approving CSR x: forbidden",
          _fail("approve_csr", ForbiddenError("approving CSR x: forbidden")), 6),
    Fault("Wait for the signed certificate", SignerTimeoutError, "no certificate was issued within 60s",
          _fail("wait_for_certificate", SignerTimeoutError("no certificate was issued within 60s")), 8),
    Fault("Verify the certificate", VerificationError, "issued certificate is wrong", _bad_certificate, 9),
    Fault("Prove the new identity authenticates", UnauthenticatedError, "does not accept the new certificate (401)",
          _fail("whoami", UnauthenticatedError("401 Unauthorized")), 5),
    Fault("Grant access (RBAC)", ForbiddenError, "creating RoleBinding dev/kubeuser:user01: forbidden",
          _fail("create_object", ForbiddenError("creating RoleBinding dev/kubeuser:user01: forbidden"), skip=1), 6),
    Fault("Record in registry", UnreachableError, "updating ConfigMap: the API server answered 503",
          _fail("apply_object", UnreachableError("updating ConfigMap: the API server answered 503")), 4),
    Fault("Write kubeconfig", KubeconfigError, "invalid YAML", _kubeconfig_garbled, 3),
]  # fmt: skip
STEPS = [f.step for f in FAULTS]
# steps before the CSR exists: there is nothing to roll back
BEFORE_CSR = {"Connect", "Check permissions", "Submit CertificateSigningRequest"}


class ArmingReporter(RecordingReporter):
    """Arms the fault when its step starts."""

    def __init__(self, fault: Fault, ctx: dict[str, Any]) -> None:
        super().__init__()
        self.fault, self.ctx = fault, ctx

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[Any]:
        if title == self.fault.step:
            self.fault.arm(self.ctx)
        with super().step(title) as s:
            yield s


@pytest.fixture
def armed(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    gw = ArmedGateway()
    from workflow_env import write_admin_kubeconfig

    before = write_admin_kubeconfig(env["kc"], gw.ca_pem)
    return {**env, "gw": gw, "before": before, "monkeypatch": monkeypatch}


def _key_files(home: Path) -> list[Path]:
    root = home / ".kube" / "kubeuser"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _managed(gw: FakeGateway) -> list[str]:
    objs = [f"{k} {ns}/{n}" for (k, ns, n), o in gw.objects.items()
            if (o["metadata"].get("labels") or {}).get(naming.MANAGED_BY_LABEL) == naming.MANAGED_BY
            and k != "Namespace"]  # fmt: skip
    return sorted(objs + [f"CSR {n}" for n in gw.csrs])


def _assert_rolled_back(ctx: dict[str, Any], fault: Fault) -> None:
    gw: ArmedGateway = ctx["gw"]
    assert _managed(gw) == [], f"left behind after a failure at {fault.step!r}"
    assert _key_files(ctx["home"]) == []
    assert ctx["kc"].read_bytes() == ctx["before"], f"kubeconfig changed after a failure at {fault.step!r}"
    res = cleanupwf.cleanup(cleanupwf.CleanupOptions(), gw, RecordingReporter())
    assert res.orphans == []


@pytest.mark.parametrize("fault", FAULTS, ids=STEPS)
def test_failure_at_each_create_step_names_it_and_rolls_back(armed: dict[str, Any], fault: Fault) -> None:
    from kubeuser.connect import resolve

    gw: ArmedGateway = armed["gw"]
    reporter = ArmingReporter(fault, armed)
    opts = createwf.CreateOptions(name="user01", groups=["dev"], rules=["get,list:pods"])
    with pytest.raises(KubeuserError) as ei:
        createwf.create(opts, resolve(None, None), gw, reporter)
    exc = ei.value
    assert reporter.failed == fault.step
    assert isinstance(exc, fault.error) and int(exc.exit_code) == fault.exit_code
    assert fault.message in exc.message and "\n" not in exc.message
    if fault.step not in BEFORE_CSR:
        assert exc.hint is not None
        assert "was deleted" in exc.hint or "everything this run changed was undone" in exc.hint
    _assert_rolled_back(armed, fault)


def test_a_failed_access_summary_keeps_the_working_user(armed: dict[str, Any]) -> None:
    """After 'Write kubeconfig' the user is complete: a failing summary is a warning, not a rollback."""
    from kubeuser.connect import resolve

    gw: ArmedGateway = armed["gw"]
    gw.fail["rules_review"] = UnreachableError("listing what we may do in dev: timeout")
    reporter = RecordingReporter()
    res = createwf.create(
        createwf.CreateOptions(name="user01", rules=["get,list:pods"]), resolve(None, None), gw, reporter
    )
    assert reporter.failed == "Summarize access"
    assert "summarizing its access failed: listing what we may do in dev: timeout" in " ".join(res.warnings)
    assert ("Role", "dev", "kubeuser:user01") in gw.objects and ("RoleBinding", "dev", "kubeuser:user01") in gw.objects
    assert ("ConfigMap", "kubeuser-system", "user-user01") in gw.objects
    doc = yaml.safe_load(armed["kc"].read_text())
    assert "user01@prod" in {u["name"] for u in doc["users"]} and res.key_file and Path(res.key_file).exists()
    assert cleanupwf.cleanup(cleanupwf.CleanupOptions(), gw, RecordingReporter()).orphans == []


@pytest.fixture
def cli(armed: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    monkeypatch.setattr(connect, "open_gateway", lambda target: armed["gw"])

    def run(*args: str, fault: Fault | None = None) -> tuple[int, str, str]:
        orig = render.ConsoleReporter.step

        def step(self: render.ConsoleReporter, title: str) -> Any:
            if fault is not None and title == fault.step:
                fault.arm(armed)
            return orig(self, title)

        render.ConsoleReporter.step = step  # type: ignore[method-assign]
        try:
            with pytest.raises(SystemExit) as ei:
                main(list(args))
        finally:
            render.ConsoleReporter.step = orig  # type: ignore[method-assign]
        out, err = capsys.readouterr()
        return int(ei.value.code or 0), out, err

    return run


@pytest.mark.parametrize("fault", FAULTS, ids=STEPS)
def test_cli_failure_at_each_step_shows_the_step_error_and_hint(cli: Any, armed: dict[str, Any], fault: Fault) -> None:
    code, out, err = cli("create", "user01", "-g", "dev", "--rule", "get,list:pods", fault=fault)
    assert code == fault.exit_code, err
    lines = err.splitlines()
    assert f"[FAIL] {fault.step}" in lines, err  # the step that failed is named
    error_lines = [ln for ln in lines if ln.startswith("error: ")]
    assert len(error_lines) == 1 and fault.message in error_lines[0], err
    assert "Traceback" not in err and out == ""
    if fault.step not in BEFORE_CSR:
        assert any(
            ln.startswith("hint: ") and ("removed" in ln or "was deleted" in ln or "undone" in ln) for ln in lines
        ), err
    _assert_rolled_back(armed, fault)


def test_failed_rollback_is_reported_and_cleanup_finds_exactly_that(cli: Any, armed: dict[str, Any]) -> None:
    gw: ArmedGateway = armed["gw"]
    fault = Fault("Record in registry", UnreachableError, "503", _fail("apply_object", UnreachableError("503")), 4)
    gw.fail["delete_csr"] = UnreachableError("deleting CertificateSigningRequest: connection refused")
    gw.fail["delete_object"] = UnreachableError("deleting RoleBinding: connection refused")
    code, _, err = cli("create", "user01", "-g", "dev", "--rule", "get,list:pods", fault=fault)
    assert code == 4
    (hint,) = [ln for ln in err.splitlines() if ln.startswith("hint: ")]
    assert "left behind:" in hint and "RoleBinding dev/kubeuser:user01" in hint and "CSR kubeuser-user01-" in hint
    left = _managed(gw)
    assert left == sorted(["RoleBinding dev/kubeuser:user01", f"CSR {next(iter(gw.csrs))}"])

    code, out, err = cli("cleanup", "-o", "json")
    assert code == 0, err
    found = json.loads(out)["orphans"]
    assert sorted(f"{'CSR' if o['kind'] == 'CertificateSigningRequest' else o['kind']} "
                  f"{o['namespace'] + '/' if o['namespace'] else ''}{o['name']}" for o in found) == left  # fmt: skip
    assert all(o["user"] == "user01" and "no kubeuser record" in o["reason"] and not o["deleted"] for o in found)

    code, out, err = cli("cleanup", "--delete")
    assert code == 0, err
    assert out.count("[deleted]") == 2
    assert _managed(gw) == []
    code, out, _ = cli("cleanup")
    assert code == 0 and out.startswith("nothing to clean up")


def test_cleanup_keeps_active_users_and_lists_revoked_ones(cli: Any, armed: dict[str, Any]) -> None:
    gw: ArmedGateway = armed["gw"]
    assert cli("create", "alice", "--rule", "get:pods")[0] == 0
    assert cli("create", "bob", "--clusterrole", "view", "--cluster-wide")[0] == 0
    # an approved CSR whose certificate never came, for alice (active): a leftover all the same
    gw.csrs["kubeuser-alice-stuck"] = {
        "metadata": {"name": "kubeuser-alice-stuck", "labels": naming.managed_labels("alice"),
                     "annotations": naming.managed_annotations("alice", [])},
        "status": {"conditions": [{"type": "Approved", "status": "True"}]},
    }  # fmt: skip
    # bob's record says revoked, but his binding is still there (say, a revoke was killed half-way)
    reg = registry.Registry(gw, "kubeuser-system")
    rec, cert = reg.get("bob") or (None, None)
    assert rec is not None
    rec.status = "revoked"
    reg.put(rec, cert)
    code, out, err = cli("cleanup", "-o", "json")
    assert code == 0, err
    found = {(o["kind"], o["name"]): o for o in json.loads(out)["orphans"]}
    assert set(found) == {
        ("CertificateSigningRequest", "kubeuser-alice-stuck"),
        ("ClusterRoleBinding", "kubeuser:bob:view"),
        *{("CertificateSigningRequest", n) for n in gw.csrs if n.startswith("kubeuser-bob-")},
    }
    assert found[("CertificateSigningRequest", "kubeuser-alice-stuck")]["reason"] == (
        "approved but no certificate was issued"
    )
    assert found[("ClusterRoleBinding", "kubeuser:bob:view")]["reason"] == "user 'bob' is revoked"
    # --user narrows it down; alice's Role and RoleBinding are never touched
    code, out, _ = cli("cleanup", "--delete", "--user", "alice")
    assert code == 0 and "kubeuser-alice-stuck" in out and "bob" not in out
    assert ("Role", "dev", "kubeuser:alice") in gw.objects and ("RoleBinding", "dev", "kubeuser:alice") in gw.objects
    assert ("ClusterRoleBinding", None, "kubeuser:bob:view") in gw.objects


def test_cleanup_min_age_and_bad_age(cli: Any, armed: dict[str, Any]) -> None:
    gw: ArmedGateway = armed["gw"]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    gw.csrs["kubeuser-young"] = {
        "metadata": {"name": "kubeuser-young", "creationTimestamp": stamp, "labels": naming.managed_labels("x"),
                     "annotations": naming.managed_annotations("x", [])},
        "status": {},
    }  # fmt: skip
    code, out, _ = cli("cleanup", "--min-age", "10m", "--delete")
    assert code == 0 and "1 object(s) younger than --min-age 10m were left alone" in out
    assert "kubeuser-young" in gw.csrs
    # --delete spares objects younger than 10 minutes by default (another admin's run may be in progress) …
    code, out, _ = cli("cleanup", "--delete")
    assert code == 0 and "kubeuser-young" in gw.csrs
    assert "1 object(s) younger than --min-age 10m were left alone (--min-age 0 includes them" in out
    # … listing shows everything by default …
    code, out, _ = cli("cleanup")
    assert code == 0 and "kubeuser-young" in out and "younger" not in out
    # … and --min-age 0 deletes it
    code, out, _ = cli("cleanup", "--delete", "--min-age", "0")
    assert code == 0 and "kubeuser-young" not in gw.csrs and "[deleted]" in out
    code, _, err = cli("cleanup", "--min-age", "soon")
    assert code == 2 and err.startswith("error: --min-age: cannot read duration 'soon'")
    assert cleanupwf.parse_age("1h30m") == 5400 and cleanupwf.parse_age("0") == 0 and cleanupwf.parse_age("90") == 90


def test_cleanup_delete_failure_is_an_error(cli: Any, armed: dict[str, Any]) -> None:
    gw: ArmedGateway = armed["gw"]
    gw.csrs["kubeuser-x"] = {"metadata": {"name": "kubeuser-x", "labels": naming.managed_labels("x")}, "status": {}}
    gw.fail["delete_csr"] = ForbiddenError("deleting CertificateSigningRequest kubeuser-x: forbidden")
    code, _, err = cli("cleanup", "--delete")
    assert code == 6
    assert (
        "\nerror: could not delete 1 of 1 leftover object(s); first: CertificateSigningRequest kubeuser-x: "
        "deleting CertificateSigningRequest kubeuser-x: forbidden\n"
    ) in err
    assert "run `kubeuser cleanup --delete` again" in err


def test_cleanup_treats_an_unreadable_record_as_active(cli: Any, armed: dict[str, Any]) -> None:
    gw: ArmedGateway = armed["gw"]
    assert cli("create", "carol", "--rule", "get:pods")[0] == 0
    key = ("ConfigMap", "kubeuser-system", "user-carol")
    gw.objects[key]["data"]["record.json"] = "{not json"
    code, out, err = cli("cleanup", "-o", "json")
    assert code == 0, err
    assert json.loads(out)["orphans"] == []
    assert "registry record kubeuser-system/user-carol is unreadable; treating user 'carol' as active" in err


def test_kubeconfig_untouched_when_the_cluster_is_down(cli: Any, armed: dict[str, Any]) -> None:
    armed["gw"].fail["version"] = UnreachableError(f"reading the server version: connection to {S} refused")
    code, _, err = cli("create", "user01")
    assert code == 4 and err.startswith("[FAIL] Connect\nerror: reading the server version: connection to")
    assert armed["kc"].read_bytes() == armed["before"]
    assert yaml.safe_load(armed["kc"].read_text())["current-context"] == "admin@prod"


# ============================================================================ the test-only fault hook


def test_fault_spec_parsing() -> None:
    import signal

    from kubeuser import faults

    assert faults.parse("Approve:SIGKILL") == ("Approve", signal.SIGKILL)
    assert faults.parse("Grant access (RBAC):int") == ("Grant access (RBAC)", signal.SIGINT)
    assert faults.parse("Write kubeconfig:15") == ("Write kubeconfig", signal.SIGTERM)
    for bad in ("Approve", ":SIGKILL", "Approve:", "Approve:SIGNOPE"):
        with pytest.raises(ValueError):
            faults.parse(bad)


@pytest.mark.parametrize("quiet", [False, True], ids=["text", "quiet"])
def test_fault_hook_interrupts_right_after_the_step(monkeypatch: pytest.MonkeyPatch, quiet: bool) -> None:
    from rich.console import Console

    from kubeuser import faults

    reporter = render.ConsoleReporter(Console(file=io.StringIO()), quiet=quiet)
    with reporter.step("Approve"):  # no variable: nothing happens
        pass
    monkeypatch.setenv(faults.ENV_VAR, "Approve:SIGINT")
    ran = []
    with reporter.step("Submit CertificateSigningRequest"):  # another step: nothing happens
        ran.append("submit")
    with pytest.raises(KeyboardInterrupt), reporter.step("Approve"):
        ran.append("approve")  # the step itself completes …
    assert ran == ["submit", "approve"]  # … and the interrupt comes right after it


def test_malformed_fault_spec_is_reported_once_and_ignored(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kubeuser import faults

    monkeypatch.setattr(faults, "_warned", False)
    monkeypatch.setenv(faults.ENV_VAR, "Approve:SIGNOPE")
    faults.after_step("Approve")
    faults.after_step("Approve")
    assert capsys.readouterr().err == (
        "warning: ignoring KUBEUSER_FAULT_AFTER_STEP: unknown signal 'SIGNOPE' in 'Approve:SIGNOPE'\n"
    )
