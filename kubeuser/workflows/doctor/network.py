"""The network group: the server URL is well-formed, DNS resolves its host, and a TCP connection opens.

Probed directly with :mod:`socket` (not through the API client), so a wrong address and a closed port
each get their own verdict. A cluster reached through ``proxy-url`` is not probed directly.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from kubeuser.checks import FAIL, PASS, SKIP
from kubeuser.workflows.doctor.diagnosis import Diagnosis, Endpoint, Step


def check_server_url(d: Diagnosis) -> None:
    assert d.ctx is not None
    cluster = d.ctx.cluster_name
    raw = d.ctx.cluster.get("server")
    set_server = f"kubectl config set-cluster {cluster} --server=https://HOST:PORT"
    if not isinstance(raw, str) or not raw.strip():
        d.add("server-url", FAIL, f"cluster {cluster} has no server URL", f"set it: {set_server}")
        return
    d.report.server = raw
    try:
        u = urllib.parse.urlsplit(raw.strip())
        port = u.port
    except ValueError as exc:
        d.add("server-url", FAIL, f"{raw!r} is not a valid URL ({exc})", f"fix it: {set_server}")
        return
    if u.scheme != "https":
        # "127.0.0.1:6443" parses as scheme "127.0.0.1" on Python 3.10: a scheme needs "://" here
        what = f"scheme {u.scheme!r}" if u.scheme and "://" in raw else "no scheme"
        d.add(
            "server-url",
            FAIL,
            f"{raw!r} has {what}: the API server speaks https (client certificates and tokens need TLS)",
            f"use https://: {set_server}",
        )
        return
    if not u.hostname:
        d.add("server-url", FAIL, f"{raw!r} has no host", f"fix it: {set_server}")
        return
    server_name = d.ctx.cluster.get("tls-server-name") or u.hostname
    d.endpoint = Endpoint(u.scheme, u.hostname, port or 443, str(server_name))
    notes = [f"host {u.hostname}, port {port or 443}" + ("" if port else " (default)")]
    if d.ctx.cluster.get("tls-server-name"):
        notes.append(f"tls-server-name {server_name}")
    if d.ctx.cluster.get("proxy-url"):
        notes.append(f"through proxy {d.ctx.cluster['proxy-url']}")
    d.add("server-url", PASS, f"{raw} ({'; '.join(notes)})")


def through_proxy(d: Diagnosis, check_id: str) -> bool:
    """Skip *check_id* when the cluster is reached through ``proxy-url`` (the proxy, not this machine, connects)."""
    assert d.ctx is not None
    proxy = d.ctx.cluster.get("proxy-url")
    if proxy:
        d.add(check_id, SKIP, f"the cluster is reached through proxy-url {proxy}; not probed directly")
        return True
    return False


def check_dns(d: Diagnosis) -> None:
    if d.endpoint is None:
        d.add("dns", SKIP, "no usable server URL")
        return
    if through_proxy(d, "dns"):
        return
    host, port = d.endpoint.host, d.endpoint.port
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        infos = pool.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM).result(d.opts.timeout)
    except FutureTimeout:
        d.add(
            "dns",
            FAIL,
            f"looking up {host} did not finish within {d.opts.timeout:g}s",
            "check this machine's DNS servers (/etc/resolv.conf, VPN)",
        )
        return
    except (OSError, ValueError) as exc:  # ValueError: a host IDNA cannot encode, or with a NUL
        assert d.ctx is not None
        why = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        d.add(
            "dns",
            FAIL,
            f"cannot resolve {host}: {why} — the server address in the kubeconfig is wrong, or this machine's "
            "DNS does not know it (kubectl says: Unable to connect to the server: dial tcp: lookup "
            f"{host}: no such host)",
            f"check the host in {d.report.server} (kubectl config set-cluster {d.ctx.cluster_name} "
            "--server=https://HOST:PORT) and this machine's DNS (/etc/resolv.conf, VPN)",
        )
        return
    finally:
        pool.shutdown(wait=False)
    seen: list[tuple[int, Any]] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if (family, sockaddr) not in seen:
            seen.append((family, sockaddr))
    d.addresses = seen
    shown = ", ".join(str(sa[0]) for _, sa in seen)
    d.add("dns", PASS, "IP address, no lookup needed" if is_ip(host) else f"{host} → {shown}")


def check_tcp(d: Diagnosis) -> None:
    if d.endpoint is None or d.status.get("dns") == FAIL:
        d.add("tcp", SKIP, f"not attempted: {d.failed('server-url', 'dns') or 'dns'} failed")
        return
    if through_proxy(d, "tcp"):
        return
    host, port = d.endpoint.host, d.endpoint.port
    errors: list[tuple[str, OSError]] = []
    for family, sockaddr in d.addresses:
        t0 = time.monotonic()
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(d.opts.timeout)
                s.connect(sockaddr)
        except OSError as exc:
            errors.append((str(sockaddr[0]), exc))
            continue
        d.connected = (family, sockaddr)
        took = (time.monotonic() - t0) * 1000
        d.add("tcp", PASS, f"connected to {_addr(sockaddr)} in {took:.0f} ms")
        return
    where = ", ".join(f"{a}:{port}" for a, _ in errors) or f"{host}:{port}"
    cluster = d.ctx.cluster_name if d.ctx else "CLUSTER"
    if any(isinstance(e, ConnectionRefusedError) for _, e in errors):
        d.add(
            "tcp",
            FAIL,
            f"connection refused at {where}: nothing listens on port {port} there (kubectl says: The "
            f"connection to the server {host}:{port} was refused)",
            f"is the API server running, and is the port right? kube-apiserver usually listens on 6443, "
            f"managed clusters on 443: kubectl config set-cluster {cluster} --server=https://{host}:PORT",
        )
    elif any(isinstance(e, (TimeoutError, socket.timeout)) for _, e in errors):
        d.add(
            "tcp",
            FAIL,
            f"no answer from {where} within {d.opts.timeout:g}s",
            "a firewall drops the connection or the address is wrong; check the server address and the "
            "network path (VPN, security groups)",
        )
    else:
        why = "; ".join(f"{a}: {e.strerror or e}" for a, e in errors) or "no address to connect to"
        d.add("tcp", FAIL, f"cannot connect to {host}:{port}: {why}", "check the server address and routing")


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _addr(sockaddr: Any) -> str:
    host, port = sockaddr[0], sockaddr[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


STEPS = (
    Step("server-url", "server URL is well-formed", check_server_url),
    Step("dns", "DNS resolves the server host", check_dns, blocking=True),
    Step("tcp", "TCP connection to the server", check_tcp, blocking=True),
)
