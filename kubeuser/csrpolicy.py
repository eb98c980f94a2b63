"""What kubeuser accepts in a certificate request it did not build: the policy for ``create --csr`` and ``approve``.

A PKCS#10 request from someone else is hostile input until proven otherwise. :func:`read` parses
it (PEM or DER, size-capped; anything unreadable is one line, exit 2) and :func:`check` applies the
rules, returning every violation as a one-line :class:`Violation` naming the field:

* the request's self-signature is valid (whoever sent it holds the private key);
* the subject has exactly one CN (the user name) and only O attributes besides it (the groups);
  each name is printable and at most 64 characters; CN equals the expected user, O equal the
  expected groups when they are given;
* ``O=system:masters`` is never allowed; any other ``system:`` CN or O only with
  ``allow_system_names`` (``CN=system:node:…, O=system:nodes`` is a node's identity, not a person's);
* the key is one kubeuser would generate: ECDSA P-256/P-384, RSA 2048/3072/4096, or Ed25519;
* no extension a client certificate must not carry: basicConstraints with CA, SubjectAltName
  names, or anything but keyUsage/extendedKeyUsage; extendedKeyUsage, if present, must be client auth;
* (``approve``) the Kubernetes ``spec.usages`` are exactly ``client auth`` + ``digital signature``
  (+ ``key encipherment`` for RSA), and the requested lifetime is within ``max_ttl`` — a request with
  no ``expirationSeconds`` gets the signer's default, which is said, and fails a ``max_ttl``.
"""

from __future__ import annotations

import base64
import binascii
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from kubeuser import durations, naming
from kubeuser.errors import UsageError

MAX_CSR_BYTES = 64 * 1024
MAX_GROUPS = 20
ALLOWED_RSA_BITS = (2048, 3072, 4096)
ALLOWED_CURVES = {"secp256r1": 256, "secp384r1": 384}
_ALLOWED_EXTENSIONS = {ExtensionOID.KEY_USAGE, ExtensionOID.EXTENDED_KEY_USAGE}
# what cryptography raises for a request it cannot parse (a part of it may be parsed only when first read)
_UNREADABLE = (ValueError, TypeError, UnsupportedAlgorithm, x509.DuplicateExtension, x509.UnsupportedGeneralNameType)


@dataclass(frozen=True)
class Violation:
    field: str  # what is wrong: "signature", "CN", "O", "key", "extensions", "usages", "lifetime"
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass
class Request:
    """A parsed certificate request: what it really asks for."""

    csr: x509.CertificateSigningRequest = field(repr=False)
    pem: bytes = field(repr=False)
    common_names: list[str]
    organizations: list[str]
    other_subject: list[str]  # subject attributes other than CN and O (by name)
    key_type: str  # ecdsa | rsa | ed25519 | other:<name>
    key_size: int | None
    signature_valid: bool
    extensions: list[str]

    @property
    def user(self) -> str:
        return self.common_names[0] if self.common_names else ""

    @property
    def key_text(self) -> str:
        return self.key_type + (f" {self.key_size}" if self.key_size else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "commonName": self.user,
            "organizations": self.organizations,
            "keyType": self.key_type,
            "keySize": self.key_size,
            "signatureValid": self.signature_valid,
            "extensions": self.extensions,
        }


def _clean(value: str, limit: int = 80) -> str:
    """A value fit for a one-line message (control characters escaped, length capped)."""
    text = value.encode("unicode_escape", "backslashreplace").decode("ascii")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quoted(value: str, limit: int = 80) -> str:
    """*value* cleaned and in quotes (``repr`` of the cleaned text would escape its backslashes twice)."""
    return f"'{_clean(value, limit)}'"


def _oid_name(oid: x509.ObjectIdentifier) -> str:
    """An OID's short name, or its dotted form when cryptography does not know it (never "Unknown OID")."""
    name = oid._name
    return name if name and name != "Unknown OID" else oid.dotted_string


def read(data: bytes, source: str = "the CSR") -> Request:
    """Parse a PEM (or DER) PKCS#10 request. Raises UsageError (exit 2, one line) for anything unreadable."""
    if len(data) > MAX_CSR_BYTES:
        raise UsageError(f"{source} is {len(data)} bytes; a certificate request is at most {MAX_CSR_BYTES}")
    try:
        csr = x509.load_pem_x509_csr(data) if b"-----BEGIN" in data else x509.load_der_x509_csr(data)
    except _UNREADABLE as exc:
        first = " ".join(str(exc).split())[:100] or type(exc).__name__
        raise UsageError(
            f"{source} is not a readable certificate request ({_clean(first, 100)})",
            hint="give the PEM file `kubeuser request NAME` printed (-----BEGIN CERTIFICATE REQUEST-----)",
        ) from None
    try:
        with warnings.catch_warnings():  # cryptography warns (to stderr) about over-long names: check() says it
            warnings.simplefilter("ignore")
            subject = list(csr.subject)
            exts = list(csr.extensions)
    except _UNREADABLE as exc:
        raise UsageError(f"{source} has a malformed subject or extension ({_clean(str(exc), 80)})") from None
    try:
        key = csr.public_key()
    except _UNREADABLE as exc:
        raise UsageError(f"{source} has a public key kubeuser cannot read ({_clean(str(exc), 80)})") from None
    cns, orgs, other = [], [], []
    for attr in subject:
        value = attr.value if isinstance(attr.value, str) else attr.value.decode("utf-8", "replace")
        if attr.oid == NameOID.COMMON_NAME:
            cns.append(value)
        elif attr.oid == NameOID.ORGANIZATION_NAME:
            orgs.append(value)
        else:
            other.append(_oid_name(attr.oid))
    key_type: str
    key_size: int | None
    if isinstance(key, ec.EllipticCurvePublicKey):
        key_type, key_size = "ecdsa", ALLOWED_CURVES.get(key.curve.name, key.curve.key_size)
        if key.curve.name not in ALLOWED_CURVES:
            key_type = f"ecdsa-{key.curve.name}"
    elif isinstance(key, rsa.RSAPublicKey):
        key_type, key_size = "rsa", key.key_size
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key_type, key_size = "ed25519", None
    else:
        key_type, key_size = f"other:{type(key).__name__}", None
    try:
        signature_valid = csr.is_signature_valid
    except Exception:  # an unsupported algorithm is simply not a valid signature here
        signature_valid = False
    pem = csr.public_bytes(serialization.Encoding.PEM)
    names = [_oid_name(e.oid) for e in exts]
    return Request(csr, pem, cns, orgs, other, key_type, key_size, signature_valid, names)


def check(
    req: Request,
    *,
    user: str | None = None,
    groups: Sequence[str] | None = None,
    allow_system_names: bool = False,
    usages: Sequence[str] | None = None,
    requested_seconds: int | None = None,
    max_ttl: int | None = None,
    check_lifetime: bool = False,
) -> list[Violation]:
    """Every way *req* breaks kubeuser's policy (empty: acceptable)."""
    v: list[Violation] = []
    if not req.signature_valid:
        v.append(Violation("signature", "the request's self-signature is invalid: it was altered, or not signed by "
                                        "the key it carries"))  # fmt: skip
    if len(req.common_names) != 1:
        v.append(
            Violation("CN", f"the subject must have exactly one CN (the user name), it has {len(req.common_names)}")
        )
    if req.other_subject:
        v.append(
            Violation("subject", "only CN and O are allowed in the subject, found " + ", ".join(req.other_subject))
        )
    for kind, values in (("CN", req.common_names[:1]), ("O", req.organizations)):
        for value in values:
            bad = next((ch for ch in value if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn")), None)
            if not value or value != value.strip() or bad is not None:
                v.append(Violation(kind, f"{_quoted(value)} is empty, padded or has an invisible character"))
            elif len(value) > naming.MAX_NAME:
                v.append(Violation(kind, f"{_quoted(value, 40)} is longer than {naming.MAX_NAME} characters"))
    if len(req.organizations) > MAX_GROUPS:
        v.append(Violation("O", f"{len(req.organizations)} groups; at most {MAX_GROUPS} are accepted"))
    if user is not None and req.common_names and req.user != user:
        v.append(Violation("CN", f"the request is for {_quoted(req.user)}, not {_quoted(user)}"))
    if groups is not None and sorted(set(groups)) != sorted(set(req.organizations)):
        want = ", ".join(groups) or "none"
        got = ", ".join(_clean(o, 40) for o in req.organizations) or "none"
        v.append(Violation("O", f"the request asks for groups [{got}], not [{want}]"))
    for o in req.organizations:
        if o.lower() == naming.MASTERS:
            v.append(Violation("O", "system:masters is never allowed: it bypasses RBAC and cannot be revoked"))
        elif o.lower().startswith(naming.SYSTEM_PREFIX) and not allow_system_names:
            v.append(Violation("O", f"{_quoted(o)} is a reserved system: group (--allow-system-names to allow)"))
    if req.user.lower().startswith(naming.SYSTEM_PREFIX) and not allow_system_names:
        v.append(Violation("CN", f"{_quoted(req.user)} is a reserved system: name — a Kubernetes component's "
                                 "identity, not a person's (--allow-system-names to allow)"))  # fmt: skip
    if req.key_type == "rsa" and req.key_size not in ALLOWED_RSA_BITS:
        v.append(Violation("key", f"RSA {req.key_size} bits; accepted: {', '.join(map(str, ALLOWED_RSA_BITS))}"))
    elif req.key_type not in ("ecdsa", "rsa", "ed25519"):
        v.append(Violation("key", f"{req.key_type} keys are not accepted (ECDSA P-256/P-384, RSA 2048-4096, Ed25519)"))
    for ext in req.csr.extensions:
        if ext.oid not in _ALLOWED_EXTENSIONS:
            v.append(Violation("extensions", f"{_oid_name(ext.oid)} is not allowed in a client certificate request"))
        elif ext.oid == ExtensionOID.EXTENDED_KEY_USAGE:
            eku = ext.value
            assert isinstance(eku, x509.ExtendedKeyUsage)
            if list(eku) != [ExtendedKeyUsageOID.CLIENT_AUTH]:
                v.append(Violation("extensions", "extendedKeyUsage must be clientAuth only"))
    if usages is not None:
        wanted = {"client auth", "digital signature"} | ({"key encipherment"} if req.key_type == "rsa" else set())
        given = set(usages)
        if given != wanted:
            extra, missing = sorted(given - wanted), sorted(wanted - given)
            parts = ([f"not allowed: {', '.join(extra)}"] if extra else []) + (
                [f"missing: {', '.join(missing)}"] if missing else []
            )
            v.append(Violation("usages", f"spec.usages must be {', '.join(sorted(wanted))} ({'; '.join(parts)})"))
    if check_lifetime and max_ttl is not None:
        if requested_seconds is None:
            v.append(Violation("lifetime", f"no expirationSeconds: the signer's default applies (often a year), "
                                           f"more than --max-ttl {durations.format(max_ttl)}"))  # fmt: skip
        elif requested_seconds > max_ttl:
            v.append(Violation("lifetime", f"asks for {durations.format(requested_seconds)}, more than --max-ttl "
                                           f"{durations.format(max_ttl)}"))  # fmt: skip
    return v


def from_manifest_request(spec_request: str) -> bytes:
    """The PEM inside a CertificateSigningRequest's base64 ``spec.request`` (UsageError if not base64)."""
    try:
        return base64.b64decode(spec_request, validate=True)
    except (binascii.Error, ValueError):
        raise UsageError("spec.request is not base64") from None
