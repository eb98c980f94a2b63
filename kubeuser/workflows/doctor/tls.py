"""The TLS group: the server's certificate verifies against the kubeconfig's CA, for the right host name.

Probed directly with :mod:`ssl`, so a CA mismatch, a wrong host name, an expired serving certificate and
a port that does not speak TLS each get their own verdict.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl

from cryptography import x509

from kubeuser import pki
from kubeuser.checks import FAIL, PASS, SKIP, WARN
from kubeuser.errors import KubeuserError
from kubeuser.workflows.doctor.diagnosis import Diagnosis, Step
from kubeuser.workflows.doctor.network import is_ip

_HOSTNAME_MISMATCH = (62, 64)  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
_UNKNOWN_ISSUER = (2, 7, 18, 19, 20, 21)  # no issuer / bad signature / self-signed / unable to verify leaf
_EXPIRED, _NOT_YET_VALID = 10, 9


def check_tls(d: Diagnosis) -> None:
    if d.connected is None:
        if d.status.get("tcp") == SKIP and d.ctx is not None and d.ctx.cluster.get("proxy-url"):
            d.add("tls", SKIP, "the cluster is reached through a proxy; not probed directly")
        else:
            d.add("tls", SKIP, f"not attempted: {d.failed('server-url', 'dns', 'tcp') or 'tcp'} failed")
        return
    assert d.ctx is not None and d.endpoint is not None
    cluster = d.ctx.cluster_name
    try:
        d.ca_pem = d.ctx.ca_pem()
    except KubeuserError as exc:
        d.ca_error = exc
        d.add("tls", FAIL, exc.message, exc.hint)
        return
    # 1. what does the server present? (no verification: only to describe it)
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    probe.check_hostname = False
    probe.verify_mode = ssl.CERT_NONE
    try:
        with _connect(d, probe) as s:
            der = s.getpeercert(binary_form=True)
            version = s.version() or "TLS"
    except (ssl.SSLError, OSError, ValueError) as exc:
        detail = _handshake_failure(exc)
        if _speaks_plain_http(d):
            detail = "the server speaks plain HTTP on this port, not TLS (an http:// service, not the API server)"
        d.add("tls", FAIL, detail, "check the server URL points at the API server's https port")
        return
    server_cert = x509.load_der_x509_certificate(der) if der else None
    desc = _describe(server_cert) if server_cert is not None else "no certificate"
    if d.ctx.cluster.get("insecure-skip-tls-verify"):
        d.add(
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
    if d.ca_pem:
        try:
            verify.load_verify_locations(cadata=d.ca_pem.decode("ascii", "replace"))
        except (ssl.SSLError, ValueError):
            d.add(
                "tls",
                FAIL,
                f"the certificate-authority of cluster {cluster} holds no readable PEM certificate",
                f"set the cluster CA: kubectl config set-cluster {cluster} --certificate-authority=ca.crt "
                "--embed-certs=true",
            )
            return
        trust = f"the kubeconfig's CA ({bundle_subjects(d.ca_pem)})"
    else:
        verify.load_default_certs()
        trust = "the system's CAs (the kubeconfig has no certificate-authority)"
    try:
        with _connect(d, verify):
            pass
    except ssl.SSLCertVerificationError as exc:
        d.add("tls", FAIL, *_verify_failure(d, exc, server_cert, trust))
        return
    except (ssl.SSLError, OSError, ValueError) as exc:
        d.add("tls", FAIL, _handshake_failure(exc), "check the server URL points at the API server's https port")
        return
    d.add("tls", PASS, f"{version}; {desc}; verified against {trust} for {d.endpoint.server_name}")


def _connect(d: Diagnosis, context: ssl.SSLContext) -> ssl.SSLSocket:
    assert d.endpoint is not None and d.connected is not None
    family, sockaddr = d.connected
    raw = socket.socket(family, socket.SOCK_STREAM)
    raw.settimeout(d.opts.timeout)
    try:
        raw.connect(sockaddr)
        name = d.endpoint.server_name
        sni = None if is_ip(name) and not context.check_hostname else name
        return context.wrap_socket(raw, server_hostname=sni)
    except BaseException:
        raw.close()
        raise


def _speaks_plain_http(d: Diagnosis) -> bool:
    """Does the port answer a plain HTTP request? (tells "not TLS at all" from other handshake failures)"""
    if d.connected is None:
        return False
    family, sockaddr = d.connected
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(d.opts.timeout)
            s.connect(sockaddr)
            s.sendall(b"GET / HTTP/1.0\r\nHost: kubeuser-doctor\r\n\r\n")
            return s.recv(8).startswith(b"HTTP/")
    except OSError:
        return False


def _verify_failure(
    d: Diagnosis, exc: ssl.SSLCertVerificationError, cert: x509.Certificate | None, trust: str
) -> tuple[str, str]:
    assert d.ctx is not None and d.endpoint is not None
    cluster = d.ctx.cluster_name
    name = d.endpoint.server_name
    code = getattr(exc, "verify_code", 0)
    message = getattr(exc, "verify_message", "") or str(exc)
    info = pki.cert_info(cert) if cert is not None else None
    issuer = info.issuer if info is not None else "?"
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
            f"--server=https://NAME:{d.endpoint.port}), or set the name to check: kubectl config set-cluster "
            f"{cluster} --tls-server-name=NAME",
        )
    if code in _UNKNOWN_ISSUER:
        also = ""
        if cert is not None and not _names(name, cert):
            also = f"; its names ({valid_for}) do not include {name!r} either"
        return (
            f"CA mismatch: the server certificate is issued by {issuer}, which {trust} did not sign "
            f"(x509: certificate signed by unknown authority){also}",
            set_ca,
        )
    if code == _EXPIRED and info is not None:
        return (
            f"the server certificate expired at {pki.iso_z(info.not_after)} (issuer {issuer})",
            "the cluster admin must renew the API server's serving certificate (e.g. kubeadm certs renew "
            "apiserver); if it is not expired, this machine's clock is wrong",
        )
    if code == _NOT_YET_VALID and info is not None:
        return (
            f"the server certificate is not valid before {pki.iso_z(info.not_before)}; this machine's "
            f"clock says {pki.iso_z(d.now)} (clock skew)",
            "fix this machine's clock (timedatectl; enable NTP)",
        )
    return (f"the server certificate does not verify: {message} (issuer {issuer})", set_ca)


def _sans(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    names = [f"DNS:{n}" for n in ext.get_values_for_type(x509.DNSName)]
    names += [f"IP:{ip}" for ip in ext.get_values_for_type(x509.IPAddress)]
    return names


def _names(name: str, cert: x509.Certificate) -> bool:
    """Does the certificate name *name* (SAN DNS with a leading wildcard label, or SAN IP)?"""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return False
    if is_ip(name):
        return ipaddress.ip_address(name) in ext.get_values_for_type(x509.IPAddress)
    n = name.lower().rstrip(".")
    for dns in ext.get_values_for_type(x509.DNSName):
        dns = dns.lower().rstrip(".")
        if dns == n or (dns.startswith("*.") and "." in n and n.split(".", 1)[1] == dns[2:]):
            return True
    return False


def _describe(cert: x509.Certificate) -> str:
    info = pki.cert_info(cert)
    sans = ", ".join(_sans(cert)) or "no subjectAltName"
    return (
        f"server certificate {info.subject or '(empty subject)'} issued by {info.issuer}, "
        f"names {sans}, valid until {pki.iso_z(info.not_after)}"
    )


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


def bundle_subjects(ca_pem: bytes) -> str:
    """The subjects of a CA bundle, for a message ("unreadable" if it holds no certificate)."""
    try:
        return "; ".join(pki.cert_info(c).subject for c in pki.load_ca_bundle(ca_pem))
    except KubeuserError:
        return "unreadable"


STEPS = (Step("tls", "TLS: server certificate verifies against the kubeconfig CA", check_tls, blocking=True),)
