"""Shell completion: what ``kubeuser … <TAB>`` offers, found quickly or not at all.

Fixed values (output formats, key types) and the kubeconfig's contexts are read locally. Names that live in
the cluster (the registry's users, namespaces) come from one GET to the API server with the context's own
credentials, made with the standard library (importing the kubernetes client alone can take longer than a
shell should wait) and bounded: :data:`LOOKUP_BUDGET` seconds in all, with :data:`CONNECT_TIMEOUT` for the
connection. Whatever goes wrong (no kubeconfig, an unreachable or silent server, TLS or authentication
failures, a credential plugin or proxy this light client does not run) gives no candidates: never an error
message in the middle of a command line, never a hung shell.
"""

from __future__ import annotations

import contextlib
import time
import typing
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:  # the network modules load only for a lookup: importing this module is part of every start
    from kubeuser.kubeconfig import ResolvedContext

LOOKUP_BUDGET = 2.0  # seconds for one cluster lookup, everything included
CONNECT_TIMEOUT = 1.0  # seconds to open the TCP connection (within the budget)


def _matching(candidates: Iterable[str], incomplete: str) -> list[str]:
    """The candidates that start with what was typed, each once, in their order."""
    return [c for c in dict.fromkeys(candidates) if c.startswith(incomplete)]


# ------------------------------------------------------------------------------------- local values
def output_formats(incomplete: str) -> list[str]:
    from kubeuser.render import OUTPUT_FORMATS

    return _matching(OUTPUT_FORMATS, incomplete)


def list_output_formats(incomplete: str) -> list[str]:
    """``list -o``: the formats, and ``wide``."""
    from kubeuser.render import OUTPUT_FORMATS

    return _matching(("text", "wide", *OUTPUT_FORMATS), incomplete)


def key_types(incomplete: str) -> list[str]:
    from kubeuser.keyspec import KeyType

    return _matching(typing.get_args(KeyType), incomplete)


def contexts(ctx: typer.Context, incomplete: str) -> list[str]:
    """The contexts of the kubeconfig the command line names (``--kubeconfig``), else of $KUBECONFIG/default."""
    from kubeuser import kubeconfig

    try:
        loaded = kubeconfig.load(_param(ctx, "kubeconfig"))
    except Exception:  # no or unreadable kubeconfig: nothing to offer
        return []
    return _matching(loaded.names("contexts"), incomplete)


# ----------------------------------------------------------------------------------- cluster values
def namespaces(ctx: typer.Context, incomplete: str) -> list[str]:
    def names(doc: Any) -> list[str]:
        return [str(item["metadata"]["name"]) for item in doc.get("items") or []]

    return _matching(_lookup(ctx, "/api/v1/namespaces", names), incomplete)


def users(ctx: typer.Context, incomplete: str) -> list[str]:
    """The users of kubeuser's registry (``--registry-namespace``, else $KUBEUSER_REGISTRY_NAMESPACE or the default)."""
    import urllib.parse

    from kubeuser import naming, registry

    namespace = registry.namespace_from(_param(ctx, "registry_namespace"))
    query = urllib.parse.urlencode({"labelSelector": naming.MANAGED_SELECTOR})
    path = f"/api/v1/namespaces/{urllib.parse.quote(namespace, safe='')}/configmaps?{query}"

    def names(doc: Any) -> list[str]:
        found = []
        for cm in doc.get("items") or []:
            if registry.RECORD_KEY in (cm.get("data") or {}):
                with contextlib.suppress(Exception):  # a damaged record: skip it, as `list` does
                    found.append(registry.from_configmap(cm).user)
        return sorted(found)

    return _matching(_lookup(ctx, path, names), incomplete)


def _param(ctx: typer.Context, name: str) -> str | None:
    """A value given earlier on the command line being completed (``--kubeconfig``, ``--context``, …)."""
    value = ctx.params.get(name)
    return value if isinstance(value, str) and value else None


def _lookup(ctx: typer.Context, path: str, extract: Callable[[Any], list[str]]) -> list[str]:
    """``extract(GET path)`` through the command line's kubeconfig and context, or ``[]`` when that fails or
    takes longer than :data:`LOOKUP_BUDGET`: the request runs in a daemon thread that is abandoned then."""
    import threading

    kubeconfig_path, context = _param(ctx, "kubeconfig"), _param(ctx, "context")
    deadline = time.monotonic() + LOOKUP_BUDGET
    found: list[list[str]] = []

    def run() -> None:
        from kubeuser import kubeconfig

        with contextlib.suppress(Exception):
            resolved = kubeconfig.load(kubeconfig_path).context(context)
            found.append(extract(get_json(resolved, path, deadline)))

    worker = threading.Thread(target=run, name="kubeuser-completion", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    return found[0] if found else []


def get_json(resolved: ResolvedContext, path: str, deadline: float) -> Any:
    """``GET path`` on the context's API server, authenticated as the context's user; the parsed JSON body.

    Raises on anything but a 2xx JSON answer, and (:class:`TimeoutError`) when *deadline*
    (:func:`time.monotonic`) passes. The server, trust and credentials are read as the API gateway reads them
    (:mod:`kubeuser.credentials`: client certificates and keys, inline or files, bearer tokens, inline or
    ``tokenFile``, and basic auth); exec and auth-provider plugins and proxies are not run (:class:`LookupError`)."""
    import http.client
    import json
    import socket
    import urllib.parse

    from kubeuser import credentials

    base = resolved.user_origin.parent if resolved.user_origin is not None else None
    creds = credentials.from_entries(
        resolved.cluster, resolved.embedded_user(), ca_pem=resolved.ca_pem(), user_name=resolved.user_name, base=base
    )
    if creds.proxy_url:
        raise LookupError("proxies are not used for completion")
    url = urllib.parse.urlsplit(resolved.server())
    if url.scheme not in ("https", "http") or not url.hostname:
        raise LookupError(f"unsupported server URL {url.geturl()!r}")
    headers = {"Accept": "application/json", "User-Agent": "kubeuser-completion"}
    if creds.authorization:
        headers["Authorization"] = creds.authorization

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("completion lookup budget spent")
        return left

    port = url.port or (443 if url.scheme == "https" else 80)
    sock = socket.create_connection((url.hostname, port), timeout=min(CONNECT_TIMEOUT, remaining()))
    try:
        if url.scheme == "https":
            tls = creds.ssl_context()
            sock.settimeout(remaining())
            sock = tls.wrap_socket(sock, server_hostname=creds.tls_server_name or url.hostname)
        conn = http.client.HTTPConnection(url.hostname, port)
        conn.sock = sock
        sock.settimeout(remaining())
        conn.request("GET", (url.path.rstrip("/") + path), headers=headers)
        sock.settimeout(remaining())
        response = conn.getresponse()
        body = response.read(16 * 1024 * 1024 + 1)
        if not 200 <= response.status < 300 or len(body) > 16 * 1024 * 1024:
            raise LookupError(f"GET {path}: HTTP {response.status}")
        remaining()
        return json.loads(body)
    finally:
        sock.close()
