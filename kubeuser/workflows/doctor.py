"""``kubeuser doctor``: check a kubeconfig identity step by step and say exactly why access fails.

The checks run in a fixed order, from the file to the server's verdict:

kubeconfig → context → server URL → DNS → TCP → TLS (server certificate vs the kubeconfig's CA) →
credentials → client certificate/key files → key matches certificate → validity window → subject
(CN/O) → issued by the cluster CA → authentication (401 or not) → authorization sample.

DNS, TCP and TLS are probed directly with :mod:`socket` and :mod:`ssl` (not through the API client) so a
wrong address, a closed port, a CA mismatch and a wrong host name each get their own verdict. The
certificate checks are local. Authentication and authorization go through the gateway, which maps HTTP
errors. A check whose prerequisite failed is skipped with the reason; the identity is healthy when the
API server authenticates it (authorization problems are warnings).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import ipaddress
import json
import os
import shutil
import socket
import ssl
import stat
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.x509.oid import NameOID

from kubeuser import durations, kubeconfig, pki, rbac
from kubeuser.connect import Target
from kubeuser.errors import (
    ForbiddenError,
    KubeuserError,
    UnauthenticatedError,
)
from kubeuser.gateway import Gateway, Identity

PASS, FAIL, WARN, SKIP = "pass", "fail", "warn", "skip"

#: every check, in the order it runs: (id, title)
CHECKS: tuple[tuple[str, str], ...] = (
    ("kubeconfig", "kubeconfig parses"),
    ("context", "context, cluster and user exist"),
    ("server-url", "server URL is well-formed"),
    ("dns", "DNS resolves the server host"),
    ("tcp", "TCP connection to the server"),
    ("tls", "TLS: server certificate verifies against the kubeconfig CA"),
    ("credentials", "credentials of the user entry"),
    ("client-cert-files", "client certificate and key present and readable"),
    ("key-match", "private key matches the certificate"),
    ("cert-validity", "certificate is within its validity window"),
    ("cert-subject", "certificate subject: CN = user name, O = groups"),
    ("cert-chain", "certificate is issued by the cluster CA"),
    ("authentication", "the API server accepts the credentials"),
    ("authorization", "authorization sample (list pods, rules)"),
)
TITLES = dict(CHECKS)

EXPIRY_WARNING_SECONDS = 7 * 86400  # warn when less than this (or a fifth of the lifetime) is left
OPENSSL_DEFAULT_ORG = "Internet Widgits Pty Ltd"
_HOSTNAME_MISMATCH = (62, 64)  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
_UNKNOWN_ISSUER = (2, 7, 18, 19, 20, 21)  # no issuer / bad signature / self-signed / unable to verify leaf
_EXPIRED, _NOT_YET_VALID = 10, 9
_DEFAULT_RULES = ("selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews")

GatewayFactory = Callable[[Target], Gateway]


@dataclass
class Check:
    id: str
    title: str
    status: str  # pass | fail | warn | skip
    detail: str = ""
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "status": self.status, "detail": self.detail, "fix": self.fix}


@dataclass
class DoctorOptions:
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    timeout: float = 3.0  # per network probe (DNS, TCP, TLS)
    now: datetime | None = None  # the local clock (tests pin it)


@dataclass
class DoctorReport:
    checks: list[Check] = field(default_factory=list)
    kubeconfig: list[str] = field(default_factory=list)
    context: str | None = None
    cluster: str | None = None
    user: str | None = None
    server: str | None = None
    namespace: str | None = None
    credential: str | None = None  # client-certificate | token | exec | auth-provider | basic-auth | none
    identity: Identity | None = None

    @property
    def authenticated(self) -> bool:
        return any(c.id == "authentication" and c.status in (PASS, WARN) for c in self.checks)

    def check(self, check_id: str) -> Check:
        return next(c for c in self.checks if c.id == check_id)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.status == WARN]

    def to_dict(self) -> dict[str, Any]:
        ident = None
        if self.identity is not None:
            ident = {
                "username": self.identity.username,
                "groups": list(self.identity.groups),
                "method": self.identity.method,
            }
        return {
            "kind": "DoctorReport",
            "kubeconfig": self.kubeconfig,
            "context": self.context,
            "cluster": self.cluster,
            "user": self.user,
            "server": self.server,
            "namespace": self.namespace,
            "credential": self.credential,
            "authenticated": self.authenticated,
            "identity": ident,
            "checks": [c.to_dict() for c in self.checks],
        }


def run(opts: DoctorOptions, open_gateway: GatewayFactory | None = None) -> DoctorReport:
    """Run every check; never raises KubeuserError (each problem becomes a check)."""
    if open_gateway is None:
        from kubeuser.connect import open_gateway as default_open

        open_gateway = default_open
    return _Doctor(opts, open_gateway).run()


# --------------------------------------------------------------------------- the checks


@dataclass
class _Endpoint:
    scheme: str
    host: str
    port: int
    server_name: str  # for SNI and the host name check (tls-server-name, else host)


class _Doctor:
    def __init__(self, opts: DoctorOptions, open_gateway: GatewayFactory) -> None:
        self.opts = opts
        self.open_gateway = open_gateway
        self.now = opts.now or datetime.now(timezone.utc)
        self.report = DoctorReport()
        self.status: dict[str, str] = {}
        self.loaded: kubeconfig.LoadedKubeconfig | None = None
        self.ctx: kubeconfig.ResolvedContext | None = None
        self.endpoint: _Endpoint | None = None
        self.addresses: list[tuple[int, Any]] = []
        self.connected: tuple[int, Any] | None = None
        self.ca_pem: bytes | None = None
        self.ca_error: KubeuserError | None = None
        self.cert: x509.Certificate | None = None
        self.cert_pem: bytes | None = None
        self.key: pki.PrivateKey | None = None
        self.cn: str | None = None
        self.time_problem: str | None = None  # why the certificate is outside its validity window
        self.chain_problem: str | None = None
        self.kinds: list[str] = []
        self.not_cert_user: str | None = None
        self.token_subject: str | None = None  # a JWT's sub claim (service account tokens name the account)
        self._gw: Gateway | None = None  # open after a successful authentication, for the authorization check

    # plumbing ---------------------------------------------------------------------------

    def add(self, check_id: str, status: str, detail: str = "", fix: str | None = None) -> Check:
        c = Check(check_id, TITLES[check_id], status, detail, fix)
        self.report.checks.append(c)
        self.status[check_id] = status
        return c

    def failed(self, *ids: str) -> str | None:
        """The first of *ids* that failed or was skipped (a prerequisite that did not hold)."""
        for i in ids:
            if self.status.get(i) in (FAIL, SKIP):
                return i
        return None

    def skip_rest(self, reason: str) -> None:
        for cid, _ in CHECKS:
            if cid not in self.status:
                self.add(cid, SKIP, reason)

    def run(self) -> DoctorReport:
        self._guard("kubeconfig", self.check_kubeconfig)
        if self.loaded is None:
            self.skip_rest("the kubeconfig could not be read")
            return self.report
        self._guard("context", self.check_context)
        if self.ctx is None:
            self.skip_rest("the context could not be resolved")
            return self.report
        steps: list[tuple[str, Callable[[], None]]] = [
            ("server-url", self.check_server_url),
            ("dns", self.check_dns),
            ("tcp", self.check_tcp),
            ("tls", self.check_tls),
            ("credentials", self.check_credentials),
            ("client-cert-files", self.check_cert_files),
            ("key-match", self.check_key_match),
            ("cert-validity", self.check_validity),
            ("cert-subject", self.check_subject),
            ("cert-chain", self.check_chain),
            ("authentication", self.check_authentication),
            ("authorization", self.check_authorization),
        ]
        for check_id, step in steps:
            if check_id not in self.status:
                self._guard(check_id, step)
        return self.report

    def _guard(self, check_id: str, step: Callable[[], None]) -> None:
        """Run one check; an unexpected exception fails that check instead of the whole report."""
        try:
            step()
        except Exception as exc:  # a bug or an input nobody foresaw: say so, keep going
            if check_id not in self.status:
                self.add(
                    check_id,
                    FAIL,
                    f"unexpected error in this check: {type(exc).__name__}: {exc}",
                    "this is a kubeuser bug: please report it with the output of `kubeuser doctor -o json`",
                )

    # 1-2: the file ----------------------------------------------------------------------

    def check_kubeconfig(self) -> None:
        try:
            self.loaded = kubeconfig.load(self.opts.kubeconfig)
        except KubeuserError as exc:
            self.add("kubeconfig", FAIL, exc.message, exc.hint)
            return
        files = [str(p) for p, _ in self.loaded.documents]
        self.report.kubeconfig = files
        self.add("kubeconfig", PASS, ", ".join(files))

    def check_context(self) -> None:
        assert self.loaded is not None
        try:
            ctx = self.loaded.context(self.opts.context)
        except KubeuserError as exc:
            self.add("context", FAIL, exc.message, exc.hint)
            return
        self.ctx = ctx
        ns = self.opts.namespace or ctx.namespace or "default"
        r = self.report
        r.context, r.cluster, r.user, r.namespace = ctx.name, ctx.cluster_name, ctx.user_name, ns
        self.add(
            "context", PASS, f"context {ctx.name}: cluster {ctx.cluster_name}, user {ctx.user_name}, namespace {ns}"
        )

    # 3-6: the network -------------------------------------------------------------------

    def check_server_url(self) -> None:
        assert self.ctx is not None
        cluster = self.ctx.cluster_name
        raw = self.ctx.cluster.get("server")
        set_server = f"kubectl config set-cluster {cluster} --server=https://HOST:PORT"
        if not isinstance(raw, str) or not raw.strip():
            self.add("server-url", FAIL, f"cluster {cluster} has no server URL", f"set it: {set_server}")
            return
        self.report.server = raw
        try:
            u = urllib.parse.urlsplit(raw.strip())
            port = u.port
        except ValueError as exc:
            self.add("server-url", FAIL, f"{raw!r} is not a valid URL ({exc})", f"fix it: {set_server}")
            return
        if u.scheme != "https":
            # "127.0.0.1:6443" parses as scheme "127.0.0.1" on Python 3.10: a scheme needs "://" here
            what = f"scheme {u.scheme!r}" if u.scheme and "://" in raw else "no scheme"
            self.add(
                "server-url",
                FAIL,
                f"{raw!r} has {what}: the API server speaks https (client certificates and tokens need TLS)",
                f"use https://: {set_server}",
            )
            return
        if not u.hostname:
            self.add("server-url", FAIL, f"{raw!r} has no host", f"fix it: {set_server}")
            return
        server_name = self.ctx.cluster.get("tls-server-name") or u.hostname
        self.endpoint = _Endpoint(u.scheme, u.hostname, port or 443, str(server_name))
        notes = [f"host {u.hostname}, port {port or 443}" + ("" if port else " (default)")]
        if self.ctx.cluster.get("tls-server-name"):
            notes.append(f"tls-server-name {server_name}")
        if self.ctx.cluster.get("proxy-url"):
            notes.append(f"through proxy {self.ctx.cluster['proxy-url']}")
        self.add("server-url", PASS, f"{raw} ({'; '.join(notes)})")

    def _direct_network_skip(self, check_id: str) -> bool:
        assert self.ctx is not None
        proxy = self.ctx.cluster.get("proxy-url")
        if proxy:
            self.add(check_id, SKIP, f"the cluster is reached through proxy-url {proxy}; not probed directly")
            return True
        return False

    def check_dns(self) -> None:
        if self.endpoint is None:
            self.add("dns", SKIP, "no usable server URL")
            return
        if self._direct_network_skip("dns"):
            return
        host, port = self.endpoint.host, self.endpoint.port
        try:
            ipaddress.ip_address(host)
            literal = True
        except ValueError:
            literal = False
        pool = ThreadPoolExecutor(max_workers=1)
        try:
            infos = pool.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM).result(self.opts.timeout)
        except FutureTimeout:
            self.add(
                "dns",
                FAIL,
                f"looking up {host} did not finish within {self.opts.timeout:g}s",
                "check this machine's DNS servers (/etc/resolv.conf, VPN)",
            )
            return
        except (OSError, ValueError) as exc:  # ValueError: a host IDNA cannot encode, or with a NUL
            assert self.ctx is not None
            why = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
            self.add(
                "dns",
                FAIL,
                f"cannot resolve {host}: {why} — the server address in the kubeconfig is wrong, or this machine's "
                "DNS does not know it (kubectl says: Unable to connect to the server: dial tcp: lookup "
                f"{host}: no such host)",
                f"check the host in {self.report.server} (kubectl config set-cluster {self.ctx.cluster_name} "
                "--server=https://HOST:PORT) and this machine's DNS (/etc/resolv.conf, VPN)",
            )
            return
        finally:
            pool.shutdown(wait=False)
        seen: list[tuple[int, Any]] = []
        for family, _type, _proto, _canon, sockaddr in infos:
            if (family, sockaddr) not in seen:
                seen.append((family, sockaddr))
        self.addresses = seen
        shown = ", ".join(str(sa[0]) for _, sa in seen)
        self.add("dns", PASS, "IP address, no lookup needed" if literal else f"{host} → {shown}")

    def check_tcp(self) -> None:
        if self.endpoint is None or self.status.get("dns") == FAIL:
            self.add("tcp", SKIP, f"not attempted: {self.failed('server-url', 'dns') or 'dns'} failed")
            return
        if self._direct_network_skip("tcp"):
            return
        host, port = self.endpoint.host, self.endpoint.port
        errors: list[tuple[str, OSError]] = []
        for family, sockaddr in self.addresses:
            t0 = time.monotonic()
            try:
                with socket.socket(family, socket.SOCK_STREAM) as s:
                    s.settimeout(self.opts.timeout)
                    s.connect(sockaddr)
            except OSError as exc:
                errors.append((str(sockaddr[0]), exc))
                continue
            self.connected = (family, sockaddr)
            took = (time.monotonic() - t0) * 1000
            self.add("tcp", PASS, f"connected to {_addr(sockaddr)} in {took:.0f} ms")
            return
        where = ", ".join(f"{a}:{port}" for a, _ in errors) or f"{host}:{port}"
        cluster = self.ctx.cluster_name if self.ctx else "CLUSTER"
        if any(isinstance(e, ConnectionRefusedError) for _, e in errors):
            self.add(
                "tcp",
                FAIL,
                f"connection refused at {where}: nothing listens on port {port} there (kubectl says: The "
                f"connection to the server {host}:{port} was refused)",
                f"is the API server running, and is the port right? kube-apiserver usually listens on 6443, "
                f"managed clusters on 443: kubectl config set-cluster {cluster} --server=https://{host}:PORT",
            )
        elif any(isinstance(e, (TimeoutError, socket.timeout)) for _, e in errors):
            self.add(
                "tcp",
                FAIL,
                f"no answer from {where} within {self.opts.timeout:g}s",
                "a firewall drops the connection or the address is wrong; check the server address and the "
                "network path (VPN, security groups)",
            )
        else:
            why = "; ".join(f"{a}: {e.strerror or e}" for a, e in errors) or "no address to connect to"
            self.add("tcp", FAIL, f"cannot connect to {host}:{port}: {why}", "check the server address and routing")

    def _tls_connect(self, context: ssl.SSLContext) -> ssl.SSLSocket:
        assert self.endpoint is not None and self.connected is not None
        family, sockaddr = self.connected
        raw = socket.socket(family, socket.SOCK_STREAM)
        raw.settimeout(self.opts.timeout)
        try:
            raw.connect(sockaddr)
            name = self.endpoint.server_name
            sni = None if _is_ip(name) and not context.check_hostname else name
            return context.wrap_socket(raw, server_hostname=sni)
        except BaseException:
            raw.close()
            raise

    def _speaks_plain_http(self) -> bool:
        """Does the port answer a plain HTTP request? (tells "not TLS at all" from other handshake failures)"""
        if self.connected is None:
            return False
        family, sockaddr = self.connected
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(self.opts.timeout)
                s.connect(sockaddr)
                s.sendall(b"GET / HTTP/1.0\r\nHost: kubeuser-doctor\r\n\r\n")
                return s.recv(8).startswith(b"HTTP/")
        except OSError:
            return False

    def check_tls(self) -> None:
        if self.connected is None:
            if self.status.get("tcp") == SKIP and self.ctx is not None and self.ctx.cluster.get("proxy-url"):
                self.add("tls", SKIP, "the cluster is reached through a proxy; not probed directly")
            else:
                self.add("tls", SKIP, f"not attempted: {self.failed('server-url', 'dns', 'tcp') or 'tcp'} failed")
            return
        assert self.ctx is not None and self.endpoint is not None
        cluster = self.ctx.cluster_name
        try:
            self.ca_pem = self.ctx.ca_pem()
        except KubeuserError as exc:
            self.ca_error = exc
            self.add("tls", FAIL, exc.message, exc.hint)
            return
        # 1. what does the server present? (no verification: only to describe it)
        probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        probe.check_hostname = False
        probe.verify_mode = ssl.CERT_NONE
        try:
            with self._tls_connect(probe) as s:
                der = s.getpeercert(binary_form=True)
                version = s.version() or "TLS"
        except (ssl.SSLError, OSError, ValueError) as exc:
            detail = _handshake_failure(exc)
            if self._speaks_plain_http():
                detail = "the server speaks plain HTTP on this port, not TLS (an http:// service, not the API server)"
            self.add("tls", FAIL, detail, "check the server URL points at the API server's https port")
            return
        server_cert = x509.load_der_x509_certificate(der) if der else None
        desc = _describe_server_cert(server_cert) if server_cert is not None else "no certificate"
        insecure = bool(self.ctx.cluster.get("insecure-skip-tls-verify"))
        if insecure:
            self.add(
                "tls",
                WARN,
                f"insecure-skip-tls-verify is set: the server certificate is not verified ({desc}); anyone in the "
                "network path could impersonate the API server",
                f"remove insecure-skip-tls-verify and set the cluster CA: kubectl config set-cluster {cluster} "
                "--insecure-skip-tls-verify=false --certificate-authority=ca.crt --embed-certs=true",
            )
            return
        # 2. verify like a client does: chain to the kubeconfig CA (or the system CAs), then the host name
        verify = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        verify.check_hostname = True
        verify.verify_mode = ssl.CERT_REQUIRED
        if self.ca_pem:
            try:
                verify.load_verify_locations(cadata=self.ca_pem.decode("ascii", "replace"))
            except (ssl.SSLError, ValueError):
                self.add(
                    "tls",
                    FAIL,
                    f"the certificate-authority of cluster {cluster} holds no readable PEM certificate",
                    f"set the cluster CA: kubectl config set-cluster {cluster} --certificate-authority=ca.crt "
                    "--embed-certs=true",
                )
                return
            trust = f"the kubeconfig's CA ({_bundle_subjects(self.ca_pem)})"
        else:
            verify.load_default_certs()
            trust = "the system's CAs (the kubeconfig has no certificate-authority)"
        try:
            with self._tls_connect(verify):
                pass
        except ssl.SSLCertVerificationError as exc:
            self.add("tls", FAIL, *self._verify_failure(exc, server_cert, trust))
            return
        except (ssl.SSLError, OSError, ValueError) as exc:
            self.add("tls", FAIL, _handshake_failure(exc), "check the server URL points at the API server's https port")
            return
        self.add("tls", PASS, f"{version}; {desc}; verified against {trust} for {self.endpoint.server_name}")

    def _verify_failure(
        self, exc: ssl.SSLCertVerificationError, cert: x509.Certificate | None, trust: str
    ) -> tuple[str, str]:
        assert self.ctx is not None and self.endpoint is not None
        cluster = self.ctx.cluster_name
        name = self.endpoint.server_name
        code = getattr(exc, "verify_code", 0)
        message = getattr(exc, "verify_message", "") or str(exc)
        issuer = _name(cert.issuer) if cert is not None else "?"
        sans = _sans(cert) if cert is not None else []
        valid_for = ", ".join(sans) or "no names (no subjectAltName)"
        set_ca = (
            f"put the cluster's CA certificate in the kubeconfig: kubectl config set-cluster {cluster} "
            "--certificate-authority=ca.crt --embed-certs=true (ca.crt from your cluster admin, or "
            "/etc/kubernetes/pki/ca.crt on a control-plane node)"
        )
        if code in _HOSTNAME_MISMATCH:
            return (
                f"wrong host: the server certificate (issued by {issuer}, which the CA trusts) is valid for "
                f"{valid_for} — not for {name!r} (x509: certificate is valid for ..., not {name})",
                f"use a server address the certificate names (kubectl config set-cluster {cluster} "
                f"--server=https://NAME:{self.endpoint.port}), or set the name to check: kubectl config set-cluster "
                f"{cluster} --tls-server-name=NAME",
            )
        if code in _UNKNOWN_ISSUER:
            also = ""
            if cert is not None and not _name_matches(name, cert):
                also = f"; its names ({valid_for}) do not include {name!r} either"
            return (
                f"CA mismatch: the server certificate is issued by {issuer}, which {trust} did not sign "
                f"(x509: certificate signed by unknown authority){also}",
                set_ca,
            )
        if code == _EXPIRED and cert is not None:
            return (
                f"the server certificate expired at {_iso(cert.not_valid_after_utc)} (issuer {issuer})",
                "the cluster admin must renew the API server's serving certificate (e.g. kubeadm certs renew "
                "apiserver); if it is not expired, this machine's clock is wrong",
            )
        if code == _NOT_YET_VALID and cert is not None:
            return (
                f"the server certificate is not valid before {_iso(cert.not_valid_before_utc)}; this machine's "
                f"clock says {_iso(self.now)} (clock skew)",
                "fix this machine's clock (timedatectl; enable NTP)",
            )
        return (f"the server certificate does not verify: {message} (issuer {issuer})", set_ca)

    # 7-12: the credentials --------------------------------------------------------------

    def check_credentials(self) -> None:
        assert self.ctx is not None
        user = self.ctx.user
        name = self.ctx.user_name
        kinds: list[str] = []
        if any(user.get(k) for k in ("client-certificate", "client-certificate-data", "client-key", "client-key-data")):
            kinds.append("client-certificate")
        if user.get("token") or user.get("tokenFile"):
            kinds.append("token")
        if user.get("exec"):
            kinds.append("exec")
        if user.get("auth-provider"):
            kinds.append("auth-provider")
        if user.get("username") or user.get("password"):
            kinds.append("basic-auth")
        self.kinds = kinds
        self.report.credential = "+".join(kinds) or "none"
        if not kinds:
            self.add(
                "credentials",
                FAIL,
                f"user {name!r} has no credentials (no client certificate, token, exec plugin or auth-provider): "
                "its requests are anonymous and the API server rejects them (401)",
                f"add credentials: an admin runs `kubeuser create NAME`, or kubectl config set-credentials {name} "
                "--client-certificate=CRT --client-key=KEY --embed-certs=true",
            )
            return
        notes: list[str] = []
        problems: list[tuple[str, str]] = []  # (detail, fix)
        warns: list[tuple[str, str]] = []
        if "client-certificate" in kinds:
            notes.append("client certificate")
        if "token" in kinds:
            self._token(user, notes, problems, warns)
        if "exec" in kinds:
            self._exec(user.get("exec"), notes, problems, warns)
        if "auth-provider" in kinds:
            self._auth_provider(user.get("auth-provider"), notes, warns)
        if "basic-auth" in kinds:
            warns.append(
                (
                    "username/password (basic auth) was removed from Kubernetes in 1.19",
                    "use a client certificate (`kubeuser create`) or a token",
                )
            )
        detail = "; ".join(notes)
        if len(kinds) > 1:
            detail += " (several credential kinds: the client sends all it can)"
        if problems:
            self.add("credentials", FAIL, "; ".join(p for p, _ in problems) + f" — {detail}", problems[0][1])
        elif warns:
            self.add("credentials", WARN, detail + " — " + "; ".join(w for w, _ in warns), warns[0][1])
        else:
            self.add("credentials", PASS, detail)

    def _token(
        self, user: dict[str, Any], notes: list[str], problems: list[tuple[str, str]], warns: list[tuple[str, str]]
    ) -> None:
        token = user.get("token")
        source = "token"
        if not token and user.get("tokenFile"):
            path = _resolve(str(user["tokenFile"]), self.ctx.user_origin if self.ctx else None)
            source = f"tokenFile {path}"
            try:
                token = path.read_text().strip()
            except OSError as exc:
                problems.append(
                    (f"cannot read tokenFile {path}: {exc.strerror or exc}", "fix the tokenFile path or its mode")
                )
                return
        text = str(token or "")
        notes.append(f"bearer token ({len(text)} characters, from {source})")
        claims = _jwt_claims(text)
        if claims is None:
            return
        sub = claims.get("sub")
        if isinstance(sub, str):
            notes.append(f"JWT subject {sub}")
            self.token_subject = sub
        exp = claims.get("exp")
        if isinstance(exp, (int, float)):
            at = datetime.fromtimestamp(exp, timezone.utc)
            if at <= self.now:
                problems.append((f"the token expired at {_iso(at)}", "get a fresh token from whoever issued it"))
            else:
                notes.append(f"expires {_iso(at)}")

    def _exec(self, spec: Any, notes: list[str], problems: list[tuple[str, str]], warns: list[tuple[str, str]]) -> None:
        spec = spec if isinstance(spec, dict) else {}
        command = str(spec.get("command") or "")
        api = str(spec.get("apiVersion") or "")
        install = spec.get("installHint")
        fix = (
            str(install).strip()
            if install
            else f"install {command or 'the plugin'} or fix users[].user.exec.command in the kubeconfig"
        )
        if not command:
            problems.append(("the exec plugin has no command", "set users[].user.exec.command"))
            return
        if "/" in command:
            path: Path | None = _resolve(command, self.ctx.user_origin if self.ctx else None)
            assert path is not None
            found = path.is_file() and os.access(path, os.X_OK)
        else:
            which = shutil.which(command)
            path = Path(which) if which else None
            found = path is not None
        if not found:
            problems.append(
                (
                    f"the exec auth plugin {command!r} is not installed (not found"
                    + (" or not executable)" if "/" in command else " on PATH)"),
                    fix,
                )
            )
            return
        notes.append(f"exec plugin {path} ({api or 'no apiVersion'}); no certificate checks")
        if api.endswith("/v1alpha1"):
            warns.append(
                (
                    f"exec apiVersion {api} was removed in kubectl 1.24",
                    "use client.authentication.k8s.io/v1 (or v1beta1)",
                )
            )

    def _auth_provider(self, spec: Any, notes: list[str], warns: list[tuple[str, str]]) -> None:
        spec = spec if isinstance(spec, dict) else {}
        name = str(spec.get("name") or "?")
        notes.append(f"auth-provider {name}; no certificate checks")
        if name in ("gcp", "azure"):
            plugin = "gke-gcloud-auth-plugin" if name == "gcp" else "kubelogin"
            warns.append(
                (
                    f"the {name} auth-provider was removed from kubectl in 1.26",
                    f"switch to the exec plugin {plugin} (an exec: entry in the kubeconfig user)",
                )
            )
        elif name == "oidc":
            cfg = spec.get("config") or {}
            if isinstance(cfg, dict) and not cfg.get("id-token") and not cfg.get("refresh-token"):
                warns.append(("oidc has neither id-token nor refresh-token", "log in again with your OIDC helper"))

    def check_cert_files(self) -> None:
        assert self.ctx is not None
        if "client-certificate" not in self.kinds:
            what = self.report.credential if self.report.credential != "none" else "no credentials"
            self.not_cert_user = f"not a client-certificate user ({what})"
            self.add("client-cert-files", SKIP, self.not_cert_user)
            return
        user = self.ctx.user
        origin = self.ctx.user_origin
        problems: list[tuple[str, str]] = []
        warns: list[tuple[str, str]] = []
        notes: list[str] = []
        cert_pem = self._read_credential(user, "client-certificate", origin, problems, warns, notes, secret=False)
        key_pem = self._read_credential(user, "client-key", origin, problems, warns, notes, secret=True)
        if cert_pem is not None:
            try:
                self.cert = x509.load_pem_x509_certificates(cert_pem)[0]
                self.cert_pem = cert_pem
            except Exception:
                problems.append(
                    (
                        "the client certificate is not a readable PEM certificate",
                        "it must start with -----BEGIN CERTIFICATE-----; re-issue it (`kubeuser renew NAME`)",
                    )
                )
        if key_pem is not None:
            try:
                self.key = pki.load_key_pem(key_pem)
            except KubeuserError as exc:
                problems.append((f"the client key: {exc.message}", exc.hint or "use the key the CSR was made with"))
        if problems:
            self.add("client-cert-files", FAIL, "; ".join(p for p, _ in problems), problems[0][1])
        elif warns:
            self.add("client-cert-files", WARN, "; ".join(notes + [w for w, _ in warns]), warns[0][1])
        else:
            self.add("client-cert-files", PASS, "; ".join(notes))

    def _read_credential(
        self,
        user: dict[str, Any],
        key: str,
        origin: Path | None,
        problems: list[tuple[str, str]],
        warns: list[tuple[str, str]],
        notes: list[str],
        *,
        secret: bool,
    ) -> bytes | None:
        assert self.ctx is not None
        name = self.ctx.user_name
        what = "private key" if secret else "certificate"
        data = user.get(f"{key}-data")
        set_cmd = f"kubectl config set-credentials {name} --client-certificate=CRT --client-key=KEY --embed-certs=true"
        if data:
            try:
                raw = base64.b64decode("".join(str(data).split()), validate=True)
            except (binascii.Error, ValueError):
                problems.append((f"{key}-data is not valid base64", set_cmd))
                return None
            notes.append(f"{what} embedded ({key}-data)")
            if secret and origin is not None:
                mode = _mode(origin)
                if mode is not None and mode & 0o077:
                    warns.append(
                        (
                            f"the kubeconfig {origin} holds the private key and is readable by "
                            f"{_who(mode)} (mode {mode:04o})",
                            f"chmod 600 {origin}",
                        )
                    )
            return raw
        ref = user.get(key)
        if not ref:
            problems.append((f"the user has no {key} (the {what} is missing)", set_cmd))
            return None
        path = _resolve(str(ref), origin)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            problems.append((f"{key} file {path} does not exist", f"fix the path in the kubeconfig: {set_cmd}"))
            return None
        except PermissionError:
            problems.append(
                (f"cannot read {key} file {path}: permission denied", f"check its owner and mode: ls -l {path}")
            )
            return None
        except OSError as exc:
            problems.append((f"cannot read {key} file {path}: {exc.strerror or exc}", set_cmd))
            return None
        notes.append(f"{what} file {path}")
        if secret:
            mode = _mode(path)
            if mode is not None and mode & 0o077:
                warns.append(
                    (
                        f"the private key {path} is readable by {_who(mode)} (mode {mode:04o})",
                        f"chmod 600 {path}",
                    )
                )
        return raw

    def check_key_match(self) -> None:
        if self.cert is None or self.key is None:
            self.add(
                "key-match",
                SKIP,
                self.not_cert_user or "the certificate and key could not both be read (see client-cert-files)",
            )
            return
        have = pki.public_key_fingerprint(self.cert)
        want = pki.public_key_fingerprint(self.key)
        if have == want:
            self.add("key-match", PASS, f"public key sha256 {have[:16]}…")
            return
        cn = _cn(self.cert) or "NAME"
        self.add(
            "key-match",
            FAIL,
            f"the private key does not belong to the certificate (certificate key sha256 {have[:16]}…, "
            f"private key sha256 {want[:16]}…): no TLS client can use this pair "
            "(kubectl says: tls: private key does not match public key)",
            f"use the key the certificate was issued for; if it is lost, issue a new certificate: `kubeuser renew "
            f"{cn}` (or `kubeuser create {cn} --force`)",
        )

    def check_validity(self) -> None:
        if self.cert is None:
            self.add("cert-validity", SKIP, self.not_cert_user or "no readable certificate")
            return
        nb, na = self.cert.not_valid_before_utc, self.cert.not_valid_after_utc
        cn = _cn(self.cert) or "NAME"
        window = f"valid {_iso(nb)} → {_iso(na)}"
        if self.now > na:
            self.time_problem = f"the certificate expired at {_iso(na)}"
            self.add(
                "cert-validity",
                FAIL,
                f"expired {_rough((self.now - na).total_seconds())} ago, at {_iso(na)} ({window}); the "
                "API server rejects it (401 Unauthorized)",
                f"`kubeuser renew {cn}` issues a new certificate (run by an admin)",
            )
        elif self.now < nb:
            ahead = _rough((nb - self.now).total_seconds())
            self.time_problem = f"the certificate is not valid until {_iso(nb)} (clock skew)"
            self.add(
                "cert-validity",
                FAIL,
                f"not yet valid: valid from {_iso(nb)}, but this machine's clock says {_iso(self.now)} ({ahead} "
                "early) — clock skew between this machine, the signer and the API server",
                "check the clocks: `timedatectl status` here and on the control plane; enable NTP "
                "(systemd-timesyncd or chrony). If this clock is right, the signer's clock runs ahead",
            )
        elif (na - self.now).total_seconds() < min(EXPIRY_WARNING_SECONDS, 0.2 * (na - nb).total_seconds()):
            left = _rough((na - self.now).total_seconds())
            self.add("cert-validity", WARN, f"expires in {left} ({window})", f"`kubeuser renew {cn}` before then")
        else:
            left = _rough((na - self.now).total_seconds())
            self.add("cert-validity", PASS, f"{window} ({left} left)")

    def check_subject(self) -> None:
        if self.cert is None:
            self.add("cert-subject", SKIP, self.not_cert_user or "no readable certificate")
            return
        assert self.ctx is not None
        cns = _attrs(self.cert.subject, NameOID.COMMON_NAME)
        orgs = _attrs(self.cert.subject, NameOID.ORGANIZATION_NAME)
        self.cn = cns[0] if cns else None
        groups = ", ".join(orgs) if orgs else "none"
        detail = f"CN={self.cn!s} (the user name the API server sees), O={groups} (groups)"
        if not cns or not cns[0].strip():
            self.add(
                "cert-subject",
                FAIL,
                f"the certificate has no CN (subject {_name(self.cert.subject) or 'empty'}): the API server has no "
                "user name for it and rejects it (401)",
                "issue a certificate whose CN is the user name: `kubeuser create NAME` (openssl: -subj '/CN=NAME')",
            )
            return
        cn = cns[0]
        warns: list[tuple[str, str]] = []
        if OPENSSL_DEFAULT_ORG in orgs:
            warns.append(
                (
                    f"O={OPENSSL_DEFAULT_ORG!r} is openssl's default (the CSR was made without -subj), so the user "
                    "is in that group and the CN is probably not the intended user name",
                    "issue a certificate with the intended subject: `kubeuser create NAME -g GROUP`",
                )
            )
        if "system:masters" in orgs:
            warns.append(
                (
                    "O=system:masters: this identity is a cluster super-user that no RBAC binding can restrict or "
                    "revoke",
                    "give people ordinary groups and RBAC bindings instead",
                )
            )
        if not _cn_matches_user(cn, self.ctx.user_name, self.ctx.name):
            warns.append(
                (
                    f"the CN {cn!r} is not the kubeconfig user name {self.ctx.user_name!r}: the API server knows "
                    f"this identity as {cn!r}, so RBAC bindings must name {cn!r}",
                    f"bind roles to User {cn!r}, or issue a certificate with CN=<the intended user name> "
                    "(`kubeuser create NAME`)",
                )
            )
        if warns:
            self.add("cert-subject", WARN, detail + " — " + "; ".join(w for w, _ in warns), warns[0][1])
        else:
            self.add("cert-subject", PASS, detail)

    def check_chain(self) -> None:
        if self.cert is None:
            self.add("cert-chain", SKIP, self.not_cert_user or "no readable certificate")
            return
        assert self.ctx is not None
        ca_pem = self.ca_pem
        if ca_pem is None and self.ca_error is None:
            try:
                ca_pem = self.ca_pem = self.ctx.ca_pem()
            except KubeuserError as exc:
                self.ca_error = exc
        if ca_pem is None:
            reason = self.ca_error.message if self.ca_error else "the kubeconfig has no certificate-authority"
            self.add("cert-chain", SKIP, f"nothing to compare with: {reason}")
            return
        try:
            bundle = pki.load_ca_bundle(ca_pem)
        except KubeuserError as exc:
            self.add("cert-chain", SKIP, f"nothing to compare with: {exc.message}")
            return
        problem = _issued_by(self.cert, bundle)
        issuer = _name(self.cert.issuer)
        if problem is None:
            self.add("cert-chain", PASS, f"issued by {issuer} (the cluster CA in the kubeconfig)")
            return
        cluster_ca = "; ".join(_name(c.subject) for c in bundle)
        self.chain_problem = (
            f"the certificate is not from the cluster's CA: it is issued by {issuer}, the cluster CA is {cluster_ca}"
        )
        cn = _cn(self.cert) or "NAME"
        self.add(
            "cert-chain",
            WARN,
            f"{problem}. Unless the API server trusts a separate client CA (--client-ca-file), it rejects this "
            "certificate (401); the authentication check decides",
            f"get a certificate signed by the cluster CA: an admin runs `kubeuser create {cn}` (or `kubeuser renew "
            f"{cn}`)",
        )

    # 13-14: the server's verdict --------------------------------------------------------

    def check_authentication(self) -> None:
        blocker = self.failed("server-url") or next(
            (
                i
                for i in ("dns", "tcp", "tls", "credentials", "client-cert-files", "key-match")
                if self.status.get(i) == FAIL
            ),
            None,
        )
        if blocker is not None:
            self.add("authentication", SKIP, f"not attempted: {blocker} failed")
            return
        assert self.ctx is not None and self.loaded is not None
        gw: Gateway | None = None
        try:
            gw = self.open_gateway(Target(self.loaded, self.ctx))
            identity = gw.whoami()
        except UnauthenticatedError as exc:
            self.add("authentication", FAIL, *self._why_401(exc))
            self._close(gw)
            return
        except ForbiddenError as exc:  # a 403 means the server knew who we are
            self.add("authentication", PASS, f"authenticated (the server answered 403, not 401: {exc.message})")
            self._gw = gw
            return
        except KubeuserError as exc:
            self.add("authentication", FAIL, exc.message, exc.hint)
            self._close(gw)
            return
        except Exception as exc:  # the API client choking on an odd kubeconfig entry
            self.add(
                "authentication",
                FAIL,
                f"the API client could not use this context: {type(exc).__name__}: {exc}",
                "check the user and cluster entries (kubectl config view --minify)",
            )
            self._close(gw)
            return
        self._gw = gw
        self.report.identity = identity
        self.add("authentication", *self._identity_verdict(identity))

    def _close(self, gw: Gateway | None) -> None:
        if gw is not None:
            with contextlib.suppress(Exception):
                gw.close()

    def _identity_verdict(self, identity: Identity) -> tuple[str, str, str | None]:
        if identity.username is not None:
            groups = ", ".join(g for g in identity.groups if g != "system:authenticated") or "none"
            text = f"authenticated as {identity.username} (groups {groups}; SelfSubjectReview)"
            if self.cn and identity.username != self.cn:
                return (
                    WARN,
                    text + f" — not as the certificate's CN {self.cn!r}",
                    "the server maps identities differently (an authenticating proxy or webhook?)",
                )
            return PASS, text, None
        who = f"; the certificate names you {self.cn}" if self.cn else ""
        return (
            PASS,
            f"authenticated (SelfSubjectAccessReview: this server has no SelfSubjectReview, so it does not say the "
            f"name){who}",
            None,
        )

    def _why_401(self, exc: UnauthenticatedError) -> tuple[str, str]:
        reasons: list[tuple[str, str]] = []
        cn = self.cn or "NAME"
        if self.time_problem:
            fix = (
                f"`kubeuser renew {cn}` issues a new certificate (run by an admin)"
                if "expired" in self.time_problem
                else "fix the clock skew (see cert-validity)"
            )
            reasons.append((self.time_problem, fix))
        if self.chain_problem:
            reasons.append(
                (
                    self.chain_problem,
                    f"get a certificate signed by the cluster's CA: an admin runs `kubeuser create {cn}`",
                )
            )
        if self.status.get("cert-subject") == FAIL:
            reasons.append(("the certificate has no CN", "issue a certificate with CN=<user name>"))
        if not reasons and "client-certificate" in self.kinds:
            reasons.append(
                (
                    "the certificate chains to the kubeconfig's CA and is valid, yet the API server does not accept "
                    "it: its --client-ca-file trusts another CA",
                    "ask the cluster admin which CA signs client certificates (kube-apiserver --client-ca-file) "
                    "and get a certificate from it (`kubeuser create NAME`)",
                )
            )
        if not reasons and "token" in self.kinds:
            reasons.append(("the token is invalid, expired or revoked", "get a fresh token"))
        if not reasons and ("exec" in self.kinds or "auth-provider" in self.kinds):
            reasons.append(
                (
                    "the credential from the auth plugin was rejected (wrong cluster, expired login, or the "
                    "API server does not trust its issuer)",
                    "log in again with the plugin; check the plugin's configuration in the kubeconfig",
                )
            )
        detail = "401 Unauthorized: the API server rejected the credentials"
        if reasons:
            detail += ": " + "; ".join(r for r, _ in reasons)
            return detail, reasons[0][1]
        return detail, exc.hint or "check the credentials"

    def check_authorization(self) -> None:
        gw = self._gw
        if gw is None:
            self.add("authorization", SKIP, "not attempted: not authenticated")
            return
        ns = self.report.namespace or "default"
        try:
            try:
                may_list = gw.can_i("list", "pods", namespace=ns)
                rules = gw.rules_review(ns)
            except KubeuserError as exc:
                self.add("authorization", WARN, f"cannot review permissions: {exc.message}", exc.hint)
                return
        finally:
            self._close(gw)
        shown = [rbac.summarize_rule(r) for r in rules if not set(r.get("resources") or []) <= set(_DEFAULT_RULES)]
        summary = "; ".join(shown[:6]) + (f"; +{len(shown) - 6} more" if len(shown) > 6 else "")
        rules_text = f"{len(shown)} rule(s) in {ns}" + (f": {summary}" if summary else "")
        if may_list:
            self.add("authorization", PASS, f"may list pods in {ns}; {rules_text}")
            return
        who = (
            (self.report.identity.username if self.report.identity else None) or self.cn or self.token_subject or "USER"
        )
        sa = who.split(":")
        if who.startswith("system:serviceaccount:") and len(sa) == 4:
            fix = (
                f"an admin grants access, e.g. kubectl create rolebinding {sa[3]}-view --clusterrole=view "
                f"--serviceaccount={sa[2]}:{sa[3]} -n {ns}"
            )
        else:
            fix = (
                f"an admin grants access, e.g. kubectl create rolebinding {who}-view --clusterrole=view --user={who} "
                f"-n {ns} (or `kubeuser create {who} --force --clusterrole view -n {ns}`)"
            )
        self.add(
            "authorization",
            WARN,
            f"authenticated, but may not list pods in {ns} (RBAC grants nothing for it there — 403 Forbidden); "
            + rules_text,
            fix,
        )


# --------------------------------------------------------------------------- helpers


def _rough(seconds: float) -> str:
    """A duration for people: whole hours past a day, whole minutes past an hour (1d5s → 1d)."""
    if seconds >= 86400:
        seconds = round(seconds / 3600) * 3600
    elif seconds >= 3600:
        seconds = round(seconds / 60) * 60
    return durations.format(seconds)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _addr(sockaddr: Any) -> str:
    host, port = sockaddr[0], sockaddr[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _name(name: x509.Name) -> str:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return name.rfc4514_string()


def _attrs(name: x509.Name, oid: x509.ObjectIdentifier) -> list[str]:
    import warnings

    out = []
    with warnings.catch_warnings():  # cryptography warns about an empty or over-long CN; we report it ourselves
        warnings.simplefilter("ignore")
        attrs = name.get_attributes_for_oid(oid)
    for a in attrs:
        v = a.value
        out.append(v if isinstance(v, str) else v.decode("utf-8", "replace"))
    return out


def _cn(cert: x509.Certificate) -> str | None:
    cns = _attrs(cert.subject, NameOID.COMMON_NAME)
    return cns[0] if cns else None


def _sans(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    names = [f"DNS:{d}" for d in ext.get_values_for_type(x509.DNSName)]
    names += [f"IP:{ip}" for ip in ext.get_values_for_type(x509.IPAddress)]
    return names


def _name_matches(name: str, cert: x509.Certificate) -> bool:
    """Does the certificate name *name* (SAN DNS with a leading wildcard label, or SAN IP)?"""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return False
    if _is_ip(name):
        return ipaddress.ip_address(name) in ext.get_values_for_type(x509.IPAddress)
    n = name.lower().rstrip(".")
    for d in ext.get_values_for_type(x509.DNSName):
        d = d.lower().rstrip(".")
        if d == n or (d.startswith("*.") and "." in n and n.split(".", 1)[1] == d[2:]):
            return True
    return False


def _describe_server_cert(cert: x509.Certificate) -> str:
    sans = ", ".join(_sans(cert)) or "no subjectAltName"
    return (
        f"server certificate {_name(cert.subject) or '(empty subject)'} issued by {_name(cert.issuer)}, "
        f"names {sans}, valid until {_iso(cert.not_valid_after_utc)}"
    )


def _bundle_subjects(ca_pem: bytes) -> str:
    try:
        return "; ".join(_name(c.subject) for c in pki.load_ca_bundle(ca_pem))
    except KubeuserError:
        return "unreadable"


def _handshake_failure(exc: BaseException) -> str:
    text = str(exc)
    low = text.lower()
    if "wrong version number" in low or "record layer failure" in low or "http request" in low:
        return "the server does not speak TLS on this port (is it an http:// port, or not the API server?)"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "the TLS handshake timed out"
    if isinstance(exc, ConnectionError) or "eof" in low:
        return f"the server closed the connection during the TLS handshake ({text})"
    return f"TLS handshake failed: {text}"


def _issued_by(cert: x509.Certificate, bundle: list[x509.Certificate]) -> str | None:
    """None if a CA of *bundle* signed *cert*, else why not."""
    issuer = cert.issuer
    same = [ca for ca in bundle if ca.subject == issuer]
    if not same:
        subjects = "; ".join(_name(ca.subject) for ca in bundle) or "(empty)"
        return f"issued by {_name(issuer)}, which is not the cluster CA in the kubeconfig ({subjects})"
    for ca in same:
        try:
            cert.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
            continue
        return None
    return (
        f"names the cluster CA {_name(issuer)} as issuer, but that CA's key did not sign it (a different CA with "
        "the same name)"
    )


def _resolve(ref: str, origin: Path | None) -> Path:
    path = Path(os.path.expanduser(ref))
    if not path.is_absolute():
        path = (origin.parent if origin is not None else Path.cwd()) / path
    return path


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def _who(mode: int) -> str:
    parts = []
    if mode & 0o070:
        parts.append("its group")
    if mode & 0o007:
        parts.append("everyone")
    return " and ".join(parts)


def _cn_matches_user(cn: str, user_name: str, context_name: str) -> bool:
    """Is the kubeconfig's naming consistent with the CN (``alice``, ``alice@cluster``, ``cluster-alice``…)?"""
    c = cn.lower()
    for n in (user_name.lower(), context_name.lower()):
        if n == c or n.startswith(c + "@") or n.endswith("-" + c) or n.endswith("@" + c):
            return True
    return False


def _jwt_claims(token: str) -> dict[str, Any] | None:
    """The (unverified) payload of a JWT, to report its subject and expiry; None if not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        doc = json.loads(payload)
    except (ValueError, binascii.Error):
        return None
    return doc if isinstance(doc, dict) else None
