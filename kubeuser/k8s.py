"""The :class:`~kubeuser.gateway.Gateway` over a direct urllib3 transport.

Import this module lazily (``kubeuser --help`` does not need it). One connection pool per identity, built
from an explicit kubeconfig dict and context (:mod:`kubeuser.credentials` reads the server, trust, proxy
and credentials). The kubernetes client is imported only for users whose credentials come from a plugin
(``exec``, ``auth-provider``): importing it costs a few hundred milliseconds, about as much as the API work
of a ``create``. Requests carry plain JSON dicts; responses come back as dicts.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import math
import time
import urllib.parse
import warnings
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import urllib3

from kubeuser import __version__, credentials
from kubeuser.csr import issued_certificate, parse_version
from kubeuser.errors import (
    ConflictError,
    ForbiddenError,
    KubeconfigError,
    KubeuserError,
    NotFoundError,
    SignerTimeoutError,
    UnauthenticatedError,
    UnreachableError,
    UsageError,
)
from kubeuser.gateway import SIGNER, Identity, ServerVersion, fresh_copy
from kubeuser.secretfiles import InMemoryFiles

# kind -> (api group, version, plural, namespaced)
KINDS: dict[str, tuple[str, str, str, bool]] = {
    "Namespace": ("", "v1", "namespaces", False),
    "ConfigMap": ("", "v1", "configmaps", True),
    "Secret": ("", "v1", "secrets", True),
    "ServiceAccount": ("", "v1", "serviceaccounts", True),
    "Role": ("rbac.authorization.k8s.io", "v1", "roles", True),
    "RoleBinding": ("rbac.authorization.k8s.io", "v1", "rolebindings", True),
    "ClusterRole": ("rbac.authorization.k8s.io", "v1", "clusterroles", False),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", False),
    "CertificateSigningRequest": ("certificates.k8s.io", "v1", "certificatesigningrequests", False),
}

DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) of one attempt when --request-timeout is not given
RETRY_DELAYS = (0.2, 0.6, 1.5)
USER_AGENT = f"kubeuser/{__version__}"
IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD"})


def _path(kind: str, name: str | None = None, namespace: str | None = None) -> str:
    try:
        group, version, plural, namespaced = KINDS[kind]
    except KeyError as exc:  # programming error, not user input
        raise KubeuserError(f"kubeuser does not handle objects of kind {kind}") from exc
    base = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    if namespaced:
        if not namespace:
            raise KubeuserError(f"{kind} {name or ''} needs a namespace")
        base += f"/namespaces/{namespace}"
    base += f"/{plural}"
    return f"{base}/{name}" if name else base


def _status_message(body: bytes | str | None) -> tuple[str, str]:
    """(message, reason) of a Kubernetes Status body, tolerating anything else."""
    if not body:
        return "", ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        doc = json.loads(text)
    except ValueError:
        return _short(text, 300), ""  # e.g. a proxy's HTML error page: one line, bounded
    if isinstance(doc, dict):
        return " ".join(str(doc.get("message") or "").split()), str(doc.get("reason") or "")
    return _short(text, 300), ""


class HttpError(Exception):
    """An HTTP status from the API server (internal; mapped to KubeuserError by :func:`_map_status`)."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _map_status(exc: HttpError, op: str, server: str, forbidden_hint: str | None = None) -> KubeuserError:
    msg, _reason = _status_message(exc.body)
    s = exc.status
    if s == 401:
        return UnauthenticatedError(
            f"{op}: the API server {server} rejected the credentials (401 Unauthorized)",
            hint="the client certificate is not from the cluster's client CA, has expired, or the token is "
            "invalid; `kubeuser doctor` checks each cause",
        )
    if s == 403:
        return ForbiddenError(
            f"{op}: forbidden: {msg}" if msg else f"{op}: forbidden (403)",
            hint=forbidden_hint or "ask a cluster admin for the permission named above",
        )
    if s == 404:
        return NotFoundError(f"{op}: not found: {msg}" if msg else f"{op}: not found (404)")
    if s == 409:
        return ConflictError(f"{op}: conflict: {msg}" if msg else f"{op}: conflict (409)")
    if s in (400, 422):
        return UsageError(f"{op}: the API server rejected the request: {msg}")
    return UnreachableError(
        f"{op}: the API server answered {s}: {msg}" if msg else f"{op}: the API server answered {s}",
        hint="the API server is unhealthy or overloaded; retry later",
    )


def _map_transport(exc: BaseException, op: str, server: str) -> KubeuserError:
    text = str(exc)
    reason = getattr(exc, "reason", None)
    inner = str(reason) if reason is not None else text
    low = inner.lower() + " " + text.lower()
    if "certificate verify failed" in low or "sslerror" in low or "ssl" in type(reason).__name__.lower():
        return UnreachableError(
            f"{op}: TLS handshake with {server} failed: {_short(inner)}",
            hint="the kubeconfig's certificate-authority does not match the server's certificate "
            "(or the server name is wrong); `kubeuser doctor` shows the details",
        )
    if "name or service not known" in low or "nodename nor servname" in low or "failed to resolve" in low:
        return UnreachableError(
            f"{op}: cannot resolve the host of {server}",
            hint="check the server address in the kubeconfig (kubectl config view --minify)",
        )
    if "refused" in low:
        return UnreachableError(
            f"{op}: connection to {server} refused",
            hint="is the API server running, and is the port in the kubeconfig right?",
        )
    if "timed out" in low or "timeout" in low:
        return request_timed_out(op, server)
    return UnreachableError(f"{op}: cannot reach {server}: {_short(inner)}", hint="check the server address")


def request_timed_out(op: str, server: str, seconds: float | None = None) -> UnreachableError:
    """The error of a request that got no answer in time; the hint names the flag that bounds it."""
    within = f" within {seconds:g}s" if seconds else " in time"
    return UnreachableError(
        f"{op}: {server} did not answer{within}",
        hint="check the network path to the API server; --request-timeout DURATION bounds each API request "
        "(e.g. --request-timeout 1m to wait longer)",
    )


def _json_body(raw: bytes, op: str, server: str) -> Any:
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise UnreachableError(
            f"{op}: {server} answered with something that is not JSON: {_short(raw.decode('utf-8', 'replace'), 80)}",
            hint="is the server URL in the kubeconfig a Kubernetes API server (and not a proxy or web page)?",
        ) from None


def _short(text: str, n: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


class SecretFiles(InMemoryFiles):
    """:class:`~kubeuser.secretfiles.InMemoryFiles` that also turns a kubeconfig's inline client key and
    certificate into such paths (:meth:`inline_data_as_files`)."""

    def inline_data_as_files(self, config: dict[str, Any], context: str) -> dict[str, Any]:
        """A copy of ``config`` where the context user's inline ``client-key-data`` and
        ``client-certificate-data`` are paths from :meth:`path`. The official client would otherwise copy
        them (the private key too) into ``$TMPDIR`` until the process exits.

        The cluster entry is left alone: its CA is public, and the client hands the cluster entry to exec
        credential plugins (``provideClusterInfo``), which expect ``certificate-authority-data`` and cannot
        open this process's fds."""
        config = copy.deepcopy(config)
        user = str(_ctx(config, context).get("user", ""))
        entry = _entry(config, "users", user)
        for key in ("client-key", "client-certificate"):
            data = entry.get(f"{key}-data")
            if not isinstance(data, str) or not data:
                continue
            try:
                raw = base64.b64decode("".join(data.split()), validate=True)  # newlines are fine, as in kubectl
            except (binascii.Error, ValueError):
                self.close()
                raise KubeconfigError(
                    f"{key}-data of user {user!r} is not valid base64",
                    hint="re-create the entry, e.g. kubectl config set-credentials --embed-certs",
                ) from None
            entry[key] = self.path(key, raw)
            del entry[f"{key}-data"]
        return config


class Transport:
    """One urllib3 pool to one API server as one identity: TLS, proxy, the Authorization header."""

    def __init__(
        self,
        creds: credentials.Credentials,
        *,
        request_timeout: float | None = None,
        authorization: Callable[[], str | None] | None = None,
    ) -> None:
        self.creds = creds
        self._authorization = authorization  # a plugin's token, refreshed by the kubernetes client
        self._request_timeout = request_timeout
        self._pool: urllib3.PoolManager | None = None
        self.calls = 0

    def pool(self) -> urllib3.PoolManager:
        """The connection pool, made at the first request: a client certificate that TLS cannot load fails that
        request (a TLS error, as a handshake failure would), not the construction."""
        if self._pool is not None:
            return self._pool
        creds = self.creds
        # connect-level retries only (nothing was sent yet); status/read retries are ours, for idempotent calls.
        # With --request-timeout none: each of urllib3's attempts would get the whole timeout again.
        connect = 0 if self._request_timeout else 2
        pool: dict[str, Any] = {
            "num_pools": 4,
            "maxsize": 16,
            "retries": urllib3.Retry(total=connect, connect=connect, read=0, redirect=0, status=0, backoff_factor=0.1),
        }
        if creds.https:
            pool["ssl_context"] = creds.ssl_context()
            pool["cert_reqs"] = "CERT_NONE" if creds.insecure else "CERT_REQUIRED"
            if creds.tls_server_name:
                pool["server_hostname"] = creds.tls_server_name
        if not creds.proxy_url:
            self._pool = urllib3.PoolManager(**pool)
        elif urllib.parse.urlsplit(creds.proxy_url).scheme.lower() in ("socks4", "socks4a", "socks5", "socks5h"):
            from urllib3.contrib.socks import SOCKSProxyManager  # needs PySocks, as with the kubernetes client

            self._pool = SOCKSProxyManager(creds.proxy_url, **pool)
        else:
            self._pool = urllib3.ProxyManager(creds.proxy_url, **pool)
        return self._pool

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: list[tuple[str, Any]] | None = None,
        timeout: float | tuple[float | None, float] | None,
    ) -> urllib3.BaseHTTPResponse:
        """One HTTP request; the response is not read yet (a watch streams it). Transport errors pass through."""
        self.calls += 1
        headers = {"Accept": "application/json", "Content-Type": "application/json", "User-Agent": USER_AGENT}
        authorization = self._authorization() if self._authorization is not None else self.creds.authorization
        if authorization:
            headers["Authorization"] = authorization
        url = self.creds.server + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        return self.pool().request(
            method, url, body=data, headers=headers, timeout=_timeout(timeout), preload_content=False
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.clear()


def _timeout(limit: float | tuple[float | None, float] | None) -> urllib3.Timeout | None:
    """The kubernetes client's reading of a request timeout: seconds in all, (connect, read), or None: none."""
    if isinstance(limit, tuple):
        return urllib3.Timeout(connect=limit[0], read=limit[1])
    return urllib3.Timeout(total=limit) if limit else None


def _plugin_credentials(
    config: dict[str, Any], context: str
) -> tuple[credentials.Credentials, Callable[[], str | None], Callable[[], None]]:
    """Credentials of a user that needs a credential plugin (exec, auth-provider): the kubernetes client runs
    it. Returns the credentials, the Authorization header (refreshed as the client refreshes it) and cleanup."""
    from kubernetes import client as k8s_client
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.kube_config import load_kube_config_from_dict

    configuration = k8s_client.Configuration()
    files = SecretFiles()
    try:
        load_kube_config_from_dict(  # type: ignore[no-untyped-call,unused-ignore]
            config_dict=files.inline_data_as_files(config, context),
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )

        def read(path: str | None) -> bytes | None:
            if not path:
                return None
            with open(path, "rb") as f:
                return f.read()

        creds = credentials.Credentials(
            server=str(configuration.host).rstrip("/"),
            ca_pem=read(configuration.ssl_ca_cert),
            insecure=not configuration.verify_ssl,
            tls_server_name=configuration.tls_server_name or None,
            proxy_url=configuration.proxy or None,
            cert_pem=read(configuration.cert_file),
            key_pem=read(configuration.key_file),
        )
    except ConfigException as exc:
        files.close()
        raise KubeconfigError(
            f"cannot use context {context!r}: {_short(str(exc))}",
            hint="check the context's cluster and user entries (kubectl config view --minify)",
        ) from None
    except BaseException:
        files.close()
        raise

    def authorization() -> str | None:
        token: str | None = configuration.get_api_key_with_prefix("BearerToken")  # runs the refresh hook
        return token or None

    return creds, authorization, files.close


class K8sGateway:
    """A Gateway over one :class:`Transport`."""

    def __init__(
        self,
        transport: Transport,
        *,
        ca_pem: bytes | None,
        cleanup: Callable[[], None] | None = None,
        request_timeout: float | None = None,
    ) -> None:
        self._transport = transport
        self._request_timeout = request_timeout
        self._server = transport.creds.server
        self._ca_pem = ca_pem
        self._cleanup = cleanup
        self._version: ServerVersion | None = None

    @property
    def calls(self) -> int:
        """Requests sent so far."""
        return self._transport.calls

    # construction ---------------------------------------------------------------------------

    @classmethod
    def from_config_dict(
        cls, config: dict[str, Any], context: str, *, ca_pem: bytes | None, request_timeout: float | None = None
    ) -> K8sGateway:
        """Build from a (minimal) kubeconfig dict; supports every auth the official client does (plugins through it).

        *request_timeout* (``--request-timeout``, kubectl's meaning): None → kubeuser's bounds for each
        attempt (:data:`DEFAULT_TIMEOUT`); 0 → no timeout; else the seconds each API request may take,
        connecting and retries included."""
        ctx = _ctx(config, context)
        if not ctx and not any(isinstance(e, dict) and e.get("name") == context for e in config.get("contexts") or []):
            raise KubeconfigError(
                f"cannot use context {context!r}: it is not in the kubeconfig",
                hint="check the context's cluster and user entries (kubectl config view --minify)",
            )
        user_name = str(ctx.get("user", ""))
        cluster = _entry(config, "clusters", str(ctx.get("cluster", "")))
        user = _entry(config, "users", user_name)
        authorization: Callable[[], str | None] | None = None
        cleanup: Callable[[], None] | None = None
        try:
            creds = credentials.from_entries(cluster, user, ca_pem=ca_pem, user_name=user_name)
        except credentials.NeedsPlugin:
            creds, authorization, cleanup = _plugin_credentials(config, context)
        except KubeconfigError as exc:
            if exc.message.startswith("the cluster entry has no server URL"):
                raise KubeconfigError(
                    f"cannot use context {context!r}: the cluster entry has no server URL",
                    hint="check the context's cluster and user entries (kubectl config view --minify)",
                ) from None
            raise
        try:
            if creds.insecure:  # said once, in kubeuser's words (connect.open_gateway), not per request
                warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
            transport = Transport(creds, request_timeout=request_timeout, authorization=authorization)
        except BaseException:
            if cleanup is not None:
                cleanup()
            raise
        return cls(transport, ca_pem=ca_pem, cleanup=cleanup, request_timeout=request_timeout)

    def as_certificate(self, cert_pem: bytes, key_pem: bytes) -> K8sGateway:
        """Same server and trust, authenticated by ``cert_pem``/``key_pem`` (loaded from in-memory files)."""
        return self._view(replace(self._same_server(), cert_pem=cert_pem, key_pem=key_pem))

    def as_token(self, token: str) -> K8sGateway:
        """Same server and trust, authenticated by a bearer *token* (a ServiceAccount token)."""
        return self._view(replace(self._same_server(), authorization=f"Bearer {token}"))

    def _same_server(self) -> credentials.Credentials:
        return self._transport.creds.same_server(ca_pem=self._ca_pem or None)

    def _view(self, creds: credentials.Credentials) -> K8sGateway:
        gw = K8sGateway(
            Transport(creds, request_timeout=self._request_timeout),
            ca_pem=self._ca_pem,
            request_timeout=self._request_timeout,
        )
        gw._version = self._version  # the same server: no second GET /version
        return gw

    def verifies_server(self, ca_pem: bytes) -> bool:
        """Whether *ca_pem* verifies the server's certificate: one ``GET /version`` without credentials over a
        verifying connection (any HTTP answer, 401 included, means the TLS handshake succeeded)."""
        transport = Transport(
            self._transport.creds.same_server(ca_pem=ca_pem, verify=True), request_timeout=self._request_timeout
        )
        try:
            limit = DEFAULT_TIMEOUT if self._request_timeout is None else (self._request_timeout or None)
            resp = transport.send("GET", "/version", timeout=limit)
            resp.read()
            resp.release_conn()
            return True
        except (urllib3.exceptions.HTTPError, OSError):
            return False
        finally:
            transport.close()

    @property
    def server(self) -> str:
        return self._server

    def close(self) -> None:
        try:
            self._transport.close()
        finally:
            if self._cleanup is not None:
                self._cleanup()
                self._cleanup = None

    # transport ------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        op: str,
        *,
        body: Any = None,
        query: list[tuple[str, Any]] | None = None,
        forbidden_hint: str | None = None,
        allow_404: bool = False,
    ) -> Any:
        """JSON request with error mapping, and retries with backoff for idempotent methods."""
        attempts = len(RETRY_DELAYS) + 1 if method in IDEMPOTENT else 1
        limit = self._request_timeout
        deadline = time.monotonic() + limit if limit else None

        def retry(attempt: int) -> bool:
            """Wait before the next attempt, if there is one and (with --request-timeout) time for it."""
            if attempt + 1 >= attempts:
                return False
            if deadline is not None and time.monotonic() + RETRY_DELAYS[attempt] >= deadline:
                return False
            time.sleep(RETRY_DELAYS[attempt])
            return True

        for attempt in range(attempts):
            if deadline is None:
                timeout: float | tuple[float | None, float] | None = DEFAULT_TIMEOUT if limit is None else None
            else:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    raise request_timed_out(op, self._server, limit)
            try:
                resp = self._transport.send(method, path, body=body, query=query, timeout=timeout)
                try:
                    raw = resp.read()
                finally:
                    resp.release_conn()
                if 200 <= resp.status < 300:
                    return _json_body(raw, op, self._server)
                err = HttpError(resp.status, raw)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                if retry(attempt):
                    continue
                raise self._transport_error(exc, op) from None
            if err.status == 404 and allow_404:
                return None
            if (err.status >= 500 or err.status == 429) and retry(attempt):
                continue
            raise _map_status(err, op, self._server, forbidden_hint) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _transport_error(self, exc: BaseException, op: str) -> KubeuserError:
        error = _map_transport(exc, op, self._server)
        if self._request_timeout and error.message.endswith(" did not answer in time"):
            return request_timed_out(op, self._server, self._request_timeout)
        return error

    # discovery ------------------------------------------------------------------------------

    def version(self) -> ServerVersion:
        if self._version is None:
            doc = self.request("GET", "/version", "reading the server version")
            self._version = parse_version(doc)
        return self._version

    # CSRs -----------------------------------------------------------------------------------

    def create_csr(self, manifest: dict[str, Any]) -> dict[str, Any]:
        name = manifest["metadata"]["name"]
        result: dict[str, Any] = self.request(
            "POST",
            _path("CertificateSigningRequest"),
            f"creating CertificateSigningRequest {name}",
            body=manifest,
            forbidden_hint="the admin needs `create` on certificatesigningrequests (certificates.k8s.io)",
        )
        return result

    def get_csr(self, name: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self.request(
            "GET", _path("CertificateSigningRequest", name), f"reading CSR {name}", allow_404=True
        )
        return result

    def approve_csr(self, name: str, *, reason: str, message: str) -> dict[str, Any]:
        return self._decide_csr(name, "Approved", reason=reason, message=message)

    def deny_csr(self, name: str, *, reason: str, message: str) -> dict[str, Any]:
        """Add a Denied condition through the /approval subresource (as ``kubectl certificate deny``)."""
        return self._decide_csr(name, "Denied", reason=reason, message=message)

    def _decide_csr(self, name: str, decision: str, *, reason: str, message: str) -> dict[str, Any]:
        """Add an Approved or Denied condition through /approval; re-read and retry when the CSR changed meanwhile."""
        doing = "approving" if decision == "Approved" else "denying"
        hint = (
            f"{doing} needs `update` on certificatesigningrequests/approval and `approve` on "
            f"signers (certificates.k8s.io) with resourceName {SIGNER}"
        )
        for _ in range(5):
            csr = self.get_csr(name)
            if csr is None:
                raise NotFoundError(f"{doing} CSR {name}: it no longer exists")
            status = csr.setdefault("status", {})
            conds = status.setdefault("conditions", []) or []
            if any(c.get("type") == decision for c in conds):
                return csr
            if decision == "Denied" and any(c.get("type") == "Approved" for c in conds):
                raise ConflictError(f"denying CSR {name}: it was approved meanwhile", hint=f"kubectl get csr {name}")
            conds.append(
                {
                    "type": decision,
                    "status": "True",
                    "reason": reason,
                    "message": message,
                    "lastUpdateTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                }
            )
            status["conditions"] = conds
            try:
                result: dict[str, Any] = self.request(
                    "PUT",
                    _path("CertificateSigningRequest", name) + "/approval",
                    f"{doing} CSR {name}",
                    body=csr,
                    forbidden_hint=hint,
                )
                return result
            except ConflictError:
                continue  # modified meanwhile (e.g. by the signer): re-read and retry
        raise ConflictError(f"{doing} CSR {name}: it kept changing under us", hint="retry the command")

    def wait_for_certificate(self, name: str, timeout: float) -> bytes:
        """Wait (with a watch, not polling) until the CSR carries a certificate."""
        deadline = time.monotonic() + timeout
        csr = self.get_csr(name)
        while True:
            if csr is None:
                raise NotFoundError(
                    f"CSR {name} was deleted before a certificate was issued",
                    hint="someone or something removed it; run the command again",
                )
            cert = issued_certificate(csr)
            if cert is not None:
                return cert
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SignerTimeoutError(
                    f"CSR {name} was approved but no certificate was issued within {timeout:g}s: "
                    f"no active signer for {SIGNER}",
                    hint="EKS never signs this signer; on self-managed clusters kube-controller-manager "
                    "needs --cluster-signing-cert-file/--cluster-signing-key-file (or raise --timeout)",
                )
            rv = csr.get("metadata", {}).get("resourceVersion", "")
            csr = self._watch_csr(name, rv, remaining) or self.get_csr(name)

    def _watch_csr(self, name: str, resource_version: str, remaining: float) -> dict[str, Any] | None:
        """Stream watch events until the CSR changes in a way that matters; None → re-read."""
        query: list[tuple[str, Any]] = [
            ("watch", "true"),
            ("fieldSelector", f"metadata.name={name}"),
            ("timeoutSeconds", max(1, math.ceil(remaining))),
        ]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        try:
            resp = self._transport.send(
                "GET",
                _path("CertificateSigningRequest"),
                query=query,
                timeout=(self._connect_timeout(), remaining + 5.0),
            )
        except (urllib3.exceptions.HTTPError, OSError):
            time.sleep(min(0.5, max(remaining, 0)))
            return None
        if resp.status != 200:
            try:
                data = resp.read()
            finally:
                resp.release_conn()
            if resp.status in (401, 403):
                err = HttpError(resp.status, data or b"")
                raise _map_status(err, f"watching CSR {name}", self._server)
            time.sleep(min(0.5, max(remaining, 0)))  # an unhealthy server: do not hammer it until the deadline
            return None
        raw = resp
        try:
            for event in _lines(raw):
                kind = event.get("type")
                obj = event.get("object") or {}
                if kind == "DELETED":
                    raise NotFoundError(f"CSR {name} was deleted before a certificate was issued")
                if kind == "ERROR":
                    return None  # e.g. 410 Gone: re-read
                if kind in ("ADDED", "MODIFIED") and issued_certificate(obj) is not None:
                    return obj
        except (urllib3.exceptions.HTTPError, OSError):
            return None
        except ValueError:  # an event that is not JSON: not a Kubernetes watch; pause, then re-read
            time.sleep(min(0.5, max(remaining, 0)))
            return None
        finally:
            raw.release_conn()
        return None

    def _connect_timeout(self) -> float | None:
        """Seconds to connect for a watch (its reading is bounded by the signer wait, --timeout)."""
        if self._request_timeout is None:
            return DEFAULT_TIMEOUT[0]
        return self._request_timeout or None  # 0: no timeout

    def delete_csr(self, name: str) -> bool:
        return self.delete_object("CertificateSigningRequest", name)

    def list_csrs(self, label_selector: str) -> list[dict[str, Any]]:
        return self.list_objects("CertificateSigningRequest", label_selector=label_selector)

    # generic objects ------------------------------------------------------------------------

    def create_object(self, obj: dict[str, Any]) -> dict[str, Any]:
        kind, meta = obj["kind"], obj["metadata"]
        result: dict[str, Any] = self.request(
            "POST",
            _path(kind, None, meta.get("namespace")),
            f"creating {_label(kind, meta['name'], meta.get('namespace'))}",
            body=obj,
            forbidden_hint=_rbac_hint("create", kind, meta.get("namespace")),
        )
        return result

    def request_token(self, namespace: str, service_account: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.request(
            "POST",
            _path("ServiceAccount", service_account, namespace) + "/token",
            f"requesting a token for ServiceAccount {namespace}/{service_account}",
            body=body,
            forbidden_hint=f"needs `create` on serviceaccounts/token in namespace {namespace}",
        )
        return result

    def apply_object(self, obj: dict[str, Any]) -> str:
        """Create, or replace an existing object of the same name. Returns "created" or "updated"."""
        obj = fresh_copy(obj)  # server-set fields (resourceVersion, uid, …) must not be sent on create
        kind, meta = obj["kind"], obj["metadata"]
        ns = meta.get("namespace")
        try:
            self.create_object(obj)
            return "created"
        except ConflictError:
            pass
        current = self.get_object(kind, meta["name"], ns)
        if current is None:
            self.create_object(obj)
            return "created"
        body = json.loads(json.dumps(obj))
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        op = f"updating {_label(kind, meta['name'], ns)}"
        if "roleRef" in obj and current.get("roleRef") != obj["roleRef"]:
            # roleRef is immutable: replace the binding
            self.delete_object(kind, meta["name"], ns)
            self.create_object(obj)
            return "updated"
        self.request("PUT", _path(kind, meta["name"], ns), op, body=body, forbidden_hint=_rbac_hint("update", kind, ns))
        return "updated"

    def replace_object(self, obj: dict[str, Any]) -> dict[str, Any]:
        kind, meta = obj["kind"], obj["metadata"]
        ns = meta.get("namespace")
        result: dict[str, Any] = self.request(
            "PUT",
            _path(kind, meta["name"], ns),
            f"updating {_label(kind, meta['name'], ns)}",
            body=obj,
            forbidden_hint=_rbac_hint("update", kind, ns),
        )
        return result

    def get_object(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self.request(
            "GET", _path(kind, name, namespace), f"reading {_label(kind, name, namespace)}", allow_404=True
        )
        return result

    def list_objects(
        self, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        group, _v, plural, namespaced = KINDS[kind]
        path = _path(kind, None, namespace) if namespaced and namespace else _path_all(kind)
        query = [("labelSelector", label_selector)] if label_selector else []
        where = f" in {namespace}" if namespace else ""
        doc = self.request(
            "GET",
            path,
            f"listing {plural}{where}",
            query=query,
            forbidden_hint=_rbac_hint("list", kind, namespace),
        )
        items: list[dict[str, Any]] = doc.get("items") or []
        api_version = f"{group}/{_v}" if group else _v
        for item in items:  # list items come without kind/apiVersion
            item.setdefault("kind", kind)
            item.setdefault("apiVersion", api_version)
        return items

    def delete_object(self, kind: str, name: str, namespace: str | None = None) -> bool:
        result = self.request(
            "DELETE",
            _path(kind, name, namespace),
            f"deleting {_label(kind, name, namespace)}",
            allow_404=True,
            forbidden_hint=_rbac_hint("delete", kind, namespace),
        )
        return result is not None

    # reviews --------------------------------------------------------------------------------

    def whoami(self) -> Identity:
        v = self.version()
        api = "v1" if v.at_least(1, 28) else ("v1beta1" if v.at_least(1, 27) else None)
        if api is not None:
            body = {"apiVersion": f"authentication.k8s.io/{api}", "kind": "SelfSubjectReview"}
            doc = self.request(
                "POST",
                f"/apis/authentication.k8s.io/{api}/selfsubjectreviews",
                "asking the server who we are (SelfSubjectReview)",
                body=body,
                allow_404=True,
            )
            if doc is not None:
                info = doc.get("status", {}).get("userInfo", {})
                return Identity(
                    username=info.get("username"),
                    groups=tuple(info.get("groups") or ()),
                    method="SelfSubjectReview",
                )
        # every version: an SSAR proves the credentials authenticate (401 otherwise)
        self.can_i("create", "selfsubjectaccessreviews", group="authorization.k8s.io")
        return Identity(username=None, groups=(), method="SelfSubjectAccessReview")

    def can_i(
        self,
        verb: str,
        resource: str,
        *,
        group: str = "",
        namespace: str | None = None,
        subresource: str | None = None,
        name: str | None = None,
    ) -> bool:
        attrs = _resource_attributes(verb, resource, group, namespace, subresource, name)
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attrs},
        }
        doc = self.request(
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            f"checking whether we may {verb} {resource}",
            body=body,
        )
        return bool(doc.get("status", {}).get("allowed"))

    def rules_review(self, namespace: str) -> list[dict[str, Any]]:
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectRulesReview",
            "spec": {"namespace": namespace},
        }
        doc = self.request(
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            f"listing what we may do in {namespace}",
            body=body,
        )
        rules: list[dict[str, Any]] = doc.get("status", {}).get("resourceRules") or []
        return rules

    def subject_can_i(
        self,
        user: str,
        groups: list[str],
        verb: str,
        resource: str,
        *,
        group: str = "",
        namespace: str | None = None,
    ) -> bool:
        attrs = _resource_attributes(verb, resource, group, namespace)
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {"user": user, "groups": [*groups, "system:authenticated"], "resourceAttributes": attrs},
        }
        doc = self.request(
            "POST",
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            f"checking whether {user} may {verb} {resource}",
            body=body,
            forbidden_hint="needs `create` on subjectaccessreviews (authorization.k8s.io)",
        )
        return bool(doc.get("status", {}).get("allowed"))


# helpers --------------------------------------------------------------------------------------


def _resource_attributes(
    verb: str,
    resource: str,
    group: str,
    namespace: str | None,
    subresource: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """ResourceAttributes of an access review; ``pods/exec`` is resource ``pods``, subresource ``exec``."""
    res, _, sub = resource.partition("/")
    attrs: dict[str, Any] = {"verb": verb, "resource": res, "group": group}
    if subresource or sub:
        attrs["subresource"] = subresource or sub
    if namespace:
        attrs["namespace"] = namespace
    if name:
        attrs["name"] = name
    return attrs


def _ctx(config: dict[str, Any], context: str) -> dict[str, Any]:
    return _entry(config, "contexts", context)


def _entry(config: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    inner = kind[:-1]
    for e in config.get(kind) or []:
        if isinstance(e, dict) and e.get("name") == name:
            value = e.get(inner) or {}
            return value if isinstance(value, dict) else {}
    return {}


def _path_all(kind: str) -> str:
    group, version, plural, _ = KINDS[kind]
    return f"/api/{version}/{plural}" if not group else f"/apis/{group}/{version}/{plural}"


def _label(kind: str, name: str, namespace: str | None) -> str:
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def _rbac_hint(verb: str, kind: str, namespace: str | None) -> str:
    group, _v, plural, _ = KINDS.get(kind, ("", "", kind.lower() + "s", False))
    where = f" in namespace {namespace}" if namespace else " cluster-wide"
    g = f" ({group})" if group else ""
    return f"the admin needs `{verb}` on {plural}{g}{where}"


def _lines(resp: Any) -> Iterator[dict[str, Any]]:
    buf = b""
    for chunk in resp.stream(4096, decode_content=True):
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.strip():
                yield json.loads(line)
    if buf.strip():
        yield json.loads(buf)
