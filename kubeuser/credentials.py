"""How to reach and authenticate to a context's API server, read from its kubeconfig entries (standard library only).

One reading of a cluster and user entry, shared by the API gateway (:mod:`kubeuser.k8s`) and shell completion
(:mod:`kubeuser.completion`): the server URL, the TLS trust (``certificate-authority(-data)``,
``insecure-skip-tls-verify``, ``tls-server-name``), ``proxy-url``, and the credentials kubectl sends — a client
certificate and key (inline or files), a bearer token (``token``, else ``tokenFile``) and basic auth, in the
official client's order. Credential plugins (``exec``, ``auth-provider``) are not run here: :func:`from_entries`
raises :class:`NeedsPlugin` for them, and the caller decides (the gateway asks the kubernetes client; completion
gives up).

Secrets (keys, tokens, passwords) are never in a ``repr`` or an error message.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubeuser.errors import KubeconfigError

if TYPE_CHECKING:
    import ssl

TOKEN_FILE_LIMIT = 64 * 1024  # bytes of a tokenFile read at most


class NeedsPlugin(LookupError):
    """The user entry needs a credential plugin (``exec`` or ``auth-provider``), which only the kubernetes
    client runs."""


@dataclass(frozen=True)
class Credentials:
    """Everything a request to one API server needs; ``repr`` shows no secret."""

    server: str  # without a trailing slash, as the official client uses it
    ca_pem: bytes | None = None
    insecure: bool = False  # insecure-skip-tls-verify
    tls_server_name: str | None = None
    proxy_url: str | None = None
    cert_pem: bytes | None = field(default=None, repr=False)
    key_pem: bytes | None = field(default=None, repr=False)
    authorization: str | None = field(default=None, repr=False)  # the Authorization header's value

    @property
    def https(self) -> bool:
        return self.server.startswith("https")

    def same_server(self, *, ca_pem: bytes | None = None, verify: bool | None = None) -> Credentials:
        """The same server, trust and proxy, without credentials (optionally with another CA or verification)."""
        return replace(
            self,
            ca_pem=self.ca_pem if ca_pem is None else ca_pem,
            insecure=self.insecure if verify is None else not verify,
            cert_pem=None,
            key_pem=None,
            authorization=None,
        )

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context: the CA (else the system's trust), or no verification with insecure-skip-tls-verify;
        the client certificate and key are loaded from in-memory files that are closed before this returns."""
        import ssl

        from kubeuser.secretfiles import InMemoryFiles

        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if self.insecure:
            tls.check_hostname = False
            tls.verify_mode = ssl.CERT_NONE
        elif self.ca_pem:
            tls.load_verify_locations(cadata=self.ca_pem.decode("ascii", "replace"))
        else:
            tls.load_default_certs()
        if self.cert_pem:
            files = InMemoryFiles()
            try:
                key = files.path("client.key", self.key_pem) if self.key_pem else None
                tls.load_cert_chain(files.path("client.crt", self.cert_pem), key)
            finally:
                files.close()
        return tls


def from_entries(
    cluster: Mapping[str, Any],
    user: Mapping[str, Any],
    *,
    ca_pem: bytes | None,
    user_name: str,
    base: Path | None = None,
) -> Credentials:
    """Credentials of a cluster entry and a user entry (their inner dicts). *ca_pem* is the cluster's CA, read by
    the caller; *base* is the directory relative file references (``client-key``, ``tokenFile``) are read from
    (None: the working directory).

    Raises :class:`NeedsPlugin` for ``exec``/``auth-provider`` users, :class:`KubeconfigError` for an entry that
    cannot be used (no server, data that is not base64, an unreadable file)."""
    if user.get("auth-provider") or user.get("exec"):
        raise NeedsPlugin("the user entry needs a credential plugin")
    server = cluster.get("server")
    if not isinstance(server, str) or not server:
        raise KubeconfigError(
            "the cluster entry has no server URL",
            hint="set it with: kubectl config set-cluster NAME --server=https://HOST:6443",
        )
    cert = key = None
    if server.startswith("https"):  # as the official client: client certificates only over TLS
        key = _data_or_file(user, "client-key", user_name, base)
        cert = _data_or_file(user, "client-certificate", user_name, base)
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = _read(str(user["tokenFile"]), base, f"tokenFile of user {user_name!r}")[:TOKEN_FILE_LIMIT].decode(
            "utf-8", "replace"
        )
    authorization = None
    if token and str(token).strip():
        authorization = f"Bearer {str(token).strip()}"
    elif "username" in user and "password" in user:
        pair = f"{user['username']}:{user['password']}".encode()
        authorization = "Basic " + base64.b64encode(pair).decode("ascii")
    proxy = cluster.get("proxy-url")
    return Credentials(
        server=server.rstrip("/"),
        ca_pem=ca_pem if server.startswith("https") else None,
        insecure=cluster.get("insecure-skip-tls-verify") is True,
        tls_server_name=str(cluster["tls-server-name"]) if cluster.get("tls-server-name") else None,
        proxy_url=str(proxy) if proxy else None,
        cert_pem=cert,
        key_pem=key,
        authorization=authorization,
    )


def _data_or_file(user: Mapping[str, Any], key: str, user_name: str, base: Path | None) -> bytes | None:
    from kubeuser.kubeconfig import decode_b64

    data = user.get(f"{key}-data")
    if data:
        try:
            return decode_b64(data, f"{key}-data of user {user_name!r}")
        except KubeconfigError:  # one line, never the data
            raise KubeconfigError(
                f"{key}-data of user {user_name!r} is not valid base64",
                hint="re-create the entry, e.g. kubectl config set-credentials --embed-certs",
            ) from None
    ref = user.get(key)
    if isinstance(ref, str) and ref:
        return _read(ref, base, f"{key} of user {user_name!r}")
    return None


def _read(ref: str, base: Path | None, what: str) -> bytes:
    from kubeuser.kubeconfig import read_ref

    return read_ref(ref, base, what)
