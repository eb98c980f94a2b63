"""The client-certificate checks of the credentials group: files, key, validity window, subject and issuer.

All local (no server involved), so they still run when the server is unreachable. What they find also
explains a 401 later (:func:`why_rejected`).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from kubeuser import durations, kubeconfig, pki
from kubeuser.checks import FAIL, PASS, SKIP, WARN
from kubeuser.errors import KubeuserError
from kubeuser.workflows.doctor.diagnosis import Diagnosis, Findings, Step

KIND = "client-certificate"
EXPIRY_WARNING_SECONDS = 7 * 86400  # warn when less than this (or a fifth of the lifetime) is left
OPENSSL_DEFAULT_ORG = "Internet Widgits Pty Ltd"


def present(user: dict[str, Any]) -> bool:
    return any(user.get(k) for k in ("client-certificate", "client-certificate-data", "client-key", "client-key-data"))


def describe(d: Diagnosis, user: dict[str, Any], found: Findings) -> None:
    found.notes.append("client certificate")


def check_files(d: Diagnosis) -> None:
    assert d.ctx is not None
    user, origin = d.ctx.user, d.ctx.user_origin
    found = Findings()
    cert_pem = _read(d, user, "client-certificate", origin, found, secret=False)
    key_pem = _read(d, user, "client-key", origin, found, secret=True)
    if cert_pem is not None:
        try:
            d.cert = pki.load_cert(cert_pem, "client certificate")
        except KubeuserError as exc:
            fix = "it must start with -----BEGIN CERTIFICATE-----; re-issue it (`kubeuser renew NAME`)"
            found.problems.append((exc.message, fix))
        else:
            d.cert_info = pki.cert_info(d.cert)
    if key_pem is not None:
        try:
            d.key = pki.load_key_pem(key_pem)
        except KubeuserError as exc:
            found.problems.append((f"the client key: {exc.message}", exc.hint or "use the key the CSR was made with"))
    d.conclude("client-cert-files", found)


def _read(
    d: Diagnosis, user: dict[str, Any], key: str, origin: Path | None, found: Findings, *, secret: bool
) -> bytes | None:
    """The certificate or key of the user entry (embedded, or a file); what is wrong with it goes to *found*."""
    assert d.ctx is not None
    name = d.ctx.user_name
    what = "private key" if secret else "certificate"
    data = user.get(f"{key}-data")
    set_cmd = f"kubectl config set-credentials {name} --client-certificate=CRT --client-key=KEY --embed-certs=true"
    if data:
        try:
            raw = kubeconfig.decode_b64(data, f"{key}-data")
        except KubeuserError as exc:
            found.problems.append((exc.message, set_cmd))
            return None
        found.notes.append(f"{what} embedded ({key}-data)")
        if secret and origin is not None:
            mode = _mode(origin)
            if mode is not None and mode & 0o077:
                found.warns.append(
                    (
                        f"the kubeconfig {origin} holds the private key and is readable by "
                        f"{_who(mode)} (mode {mode:04o})",
                        f"chmod 600 {origin}",
                    )
                )
        return raw
    ref = user.get(key)
    if not ref:
        found.problems.append((f"the user has no {key} (the {what} is missing)", set_cmd))
        return None
    path = d.ref(str(ref), origin)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        found.problems.append((f"{key} file {path} does not exist", f"fix the path in the kubeconfig: {set_cmd}"))
        return None
    except PermissionError:
        found.problems.append(
            (f"cannot read {key} file {path}: permission denied", f"check its owner and mode: ls -l {path}")
        )
        return None
    except OSError as exc:
        found.problems.append((f"cannot read {key} file {path}: {exc.strerror or exc}", set_cmd))
        return None
    found.notes.append(f"{what} file {path}")
    if secret:
        mode = _mode(path)
        if mode is not None and mode & 0o077:
            found.warns.append(
                (f"the private key {path} is readable by {_who(mode)} (mode {mode:04o})", f"chmod 600 {path}")
            )
    return raw


def check_key_match(d: Diagnosis) -> None:
    if d.cert_info is None or d.key is None:
        d.add("key-match", SKIP, "the certificate and key could not both be read (see client-cert-files)")
        return
    have = d.cert_info.public_key_sha256
    want = pki.public_key_fingerprint(d.key)
    if have == want:
        d.add("key-match", PASS, f"public key sha256 {have[:16]}…")
        return
    cn = d.cert_info.common_name or "NAME"
    d.add(
        "key-match",
        FAIL,
        f"the private key does not belong to the certificate (certificate key sha256 {have[:16]}…, "
        f"private key sha256 {want[:16]}…): no TLS client can use this pair "
        "(kubectl says: tls: private key does not match public key)",
        f"use the key the certificate was issued for; if it is lost, issue a new certificate: `kubeuser renew "
        f"{cn}` (or `kubeuser create {cn} --force`)",
    )


def check_validity(d: Diagnosis) -> None:
    info = d.cert_info
    if info is None:
        d.add("cert-validity", SKIP, "no readable certificate")
        return
    nb, na, now = info.not_before, info.not_after, d.now
    cn = info.common_name or "NAME"
    window = f"valid {pki.iso_z(nb)} → {pki.iso_z(na)}"
    if now > na:
        d.time_problem = f"the certificate expired at {pki.iso_z(na)}"
        d.add(
            "cert-validity",
            FAIL,
            f"expired {durations.rough((now - na).total_seconds())} ago, at {pki.iso_z(na)} ({window}); the "
            "API server rejects it (401 Unauthorized)",
            f"`kubeuser renew {cn}` issues a new certificate (run by an admin)",
        )
    elif now < nb:
        ahead = durations.rough((nb - now).total_seconds())
        d.time_problem = f"the certificate is not valid until {pki.iso_z(nb)} (clock skew)"
        d.add(
            "cert-validity",
            FAIL,
            f"not yet valid: valid from {pki.iso_z(nb)}, but this machine's clock says {pki.iso_z(now)} ({ahead} "
            "early) — clock skew between this machine, the signer and the API server",
            "check the clocks: `timedatectl status` here and on the control plane; enable NTP "
            "(systemd-timesyncd or chrony). If this clock is right, the signer's clock runs ahead",
        )
    elif (na - now).total_seconds() < min(EXPIRY_WARNING_SECONDS, 0.2 * (na - nb).total_seconds()):
        left = durations.rough((na - now).total_seconds())
        d.add("cert-validity", WARN, f"expires in {left} ({window})", f"`kubeuser renew {cn}` before then")
    else:
        left = durations.rough((na - now).total_seconds())
        d.add("cert-validity", PASS, f"{window} ({left} left)")


def check_subject(d: Diagnosis) -> None:
    info = d.cert_info
    if info is None:
        d.add("cert-subject", SKIP, "no readable certificate")
        return
    assert d.ctx is not None
    cn, orgs = info.common_name, info.groups
    d.cn = cn or None
    detail = f"CN={d.cn!s} (the user name the API server sees), O={', '.join(orgs) or 'none'} (groups)"
    if not cn.strip():
        d.add(
            "cert-subject",
            FAIL,
            f"the certificate has no CN (subject {info.subject or 'empty'}): the API server has no "
            "user name for it and rejects it (401)",
            "issue a certificate whose CN is the user name: `kubeuser create NAME` (openssl: -subj '/CN=NAME')",
        )
        return
    found = Findings()
    if OPENSSL_DEFAULT_ORG in orgs:
        found.warns.append(
            (
                f"O={OPENSSL_DEFAULT_ORG!r} is openssl's default (the CSR was made without -subj), so the user "
                "is in that group and the CN is probably not the intended user name",
                "issue a certificate with the intended subject: `kubeuser create NAME -g GROUP`",
            )
        )
    if "system:masters" in orgs:
        found.warns.append(
            (
                "O=system:masters: this identity is a cluster super-user that no RBAC binding can restrict or revoke",
                "give people ordinary groups and RBAC bindings instead",
            )
        )
    if not _cn_matches_user(cn, d.ctx.user_name, d.ctx.name):
        found.warns.append(
            (
                f"the CN {cn!r} is not the kubeconfig user name {d.ctx.user_name!r}: the API server knows "
                f"this identity as {cn!r}, so RBAC bindings must name {cn!r}",
                f"bind roles to User {cn!r}, or issue a certificate with CN=<the intended user name> "
                "(`kubeuser create NAME`)",
            )
        )
    d.conclude("cert-subject", found, detail)


def check_chain(d: Diagnosis) -> None:
    if d.cert is None or d.cert_info is None:
        d.add("cert-chain", SKIP, "no readable certificate")
        return
    assert d.ctx is not None
    ca_pem = d.ca_pem
    if ca_pem is None and d.ca_error is None:
        try:
            ca_pem = d.ca_pem = d.ctx.ca_pem()
        except KubeuserError as exc:
            d.ca_error = exc
    if ca_pem is None:
        reason = d.ca_error.message if d.ca_error else "the kubeconfig has no certificate-authority"
        d.add("cert-chain", SKIP, f"nothing to compare with: {reason}")
        return
    try:
        bundle = pki.load_ca_bundle(ca_pem)
    except KubeuserError as exc:
        d.add("cert-chain", SKIP, f"nothing to compare with: {exc.message}")
        return
    why = pki.why_not_issued_by(d.cert, bundle)
    issuer = d.cert_info.issuer
    if why is None:
        d.add("cert-chain", PASS, f"issued by {issuer} (the cluster CA in the kubeconfig)")
        return
    cluster_ca = "; ".join(pki.cert_info(c).subject for c in bundle)
    d.chain_problem = (
        f"the certificate is not from the cluster's CA: it is issued by {issuer}, the cluster CA is {cluster_ca}"
    )
    cn = d.cert_info.common_name or "NAME"
    d.add(
        "cert-chain",
        WARN,
        f"issued by {issuer}, but not by the cluster CA in the kubeconfig: {why}. Unless the API server trusts a "
        "separate client CA (--client-ca-file), it rejects this certificate (401); the authentication check "
        "decides",
        f"get a certificate signed by the cluster CA: an admin runs `kubeuser create {cn}` (or `kubeuser renew {cn}`)",
    )


def why_rejected(d: Diagnosis) -> list[tuple[str, str]]:
    """Why the API server answers 401 to this certificate, from what the checks above found: (cause, fix)."""
    reasons: list[tuple[str, str]] = []
    cn = d.cn or "NAME"
    if d.time_problem:
        fix = (
            f"`kubeuser renew {cn}` issues a new certificate (run by an admin)"
            if "expired" in d.time_problem
            else "fix the clock skew (see cert-validity)"
        )
        reasons.append((d.time_problem, fix))
    if d.chain_problem:
        reasons.append(
            (d.chain_problem, f"get a certificate signed by the cluster's CA: an admin runs `kubeuser create {cn}`")
        )
    if d.status.get("cert-subject") == FAIL:
        reasons.append(("the certificate has no CN", "issue a certificate with CN=<user name>"))
    if not reasons:
        reasons.append(
            (
                "the certificate chains to the kubeconfig's CA and is valid, yet the API server does not accept "
                "it: its --client-ca-file trusts another CA",
                "ask the cluster admin which CA signs client certificates (kube-apiserver --client-ca-file) "
                "and get a certificate from it (`kubeuser create NAME`)",
            )
        )
    return reasons


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


STEPS = (
    Step("client-cert-files", "client certificate and key present and readable", check_files, KIND, blocking=True),
    Step("key-match", "private key matches the certificate", check_key_match, KIND, blocking=True),
    Step("cert-validity", "certificate is within its validity window", check_validity, KIND),
    Step("cert-subject", "certificate subject: CN = user name, O = groups", check_subject, KIND),
    Step("cert-chain", "certificate is issued by the cluster CA", check_chain, KIND),
)
