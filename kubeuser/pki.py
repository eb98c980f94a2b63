"""Keys, CSRs and certificates — everything X.509 kubeuser does, in-process.

This module never shells out (no ``openssl``); it uses :mod:`cryptography` only.

Secrets policy: private key material never appears in an exception message, a
``repr`` or a log line. Functions that parse untrusted key data raise errors that
describe *what kind* of problem there was, never *what the data was*, and they
suppress exception chaining so a traceback cannot leak it either.
"""

from __future__ import annotations

import hashlib
import unicodedata
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final, TypeAlias

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes, PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubeuser import files
from kubeuser.errors import KubeuserError, UsageError, VerificationError
from kubeuser.keyspec import DEFAULT_KEY_SIZES, KEY_SIZES, KEY_TYPES, KeyType, validate_key_spec

__all__ = [
    "DEFAULT_KEY_SIZES",
    "KEY_SIZES",
    "KEY_TYPES",
    "MAX_NAME_LENGTH",
    "CertInfo",
    "KeyType",
    "PrivateKey",
    "PublicKey",
    "build_csr",
    "cert_matches_key",
    "generate_key",
    "key_to_pem",
    "load_ca_bundle",
    "load_key_pem",
    "parse_cert",
    "public_key_fingerprint",
    "usages_for",
    "validate_key_spec",
    "validate_subject",
    "verify_issued",
    "write_private_key",
    "write_public_file",
]

PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey: TypeAlias = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
PRIVATE_KEY_TYPES = (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)

_CURVES: Final[dict[int, ec.EllipticCurve]] = {256: ec.SECP256R1(), 384: ec.SECP384R1()}

#: RFC 5280 upper bound (ub-common-name, ub-organization-name), counted in characters.
MAX_NAME_LENGTH: Final = 64

_PRIVATE_MODE: Final = 0o600
_PUBLIC_MODE: Final = 0o644


# --------------------------------------------------------------------------- keys


def generate_key(key_type: KeyType = "ecdsa", key_size: int | None = None) -> PrivateKey:
    """Generate a fresh private key (validated through :func:`validate_key_spec`)."""
    kt, size = validate_key_spec(key_type, key_size)
    if kt == "ecdsa":
        assert size is not None
        return ec.generate_private_key(_CURVES[size])
    if kt == "rsa":
        assert size is not None
        return rsa.generate_private_key(public_exponent=65537, key_size=size)
    return ed25519.Ed25519PrivateKey.generate()


def key_spec_of_certificate(cert_pem: bytes) -> tuple[KeyType, int | None]:
    """The (key type, size) of a certificate's public key, in ``--key-type``/``--key-size`` terms."""
    key = x509.load_pem_x509_certificate(cert_pem).public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ecdsa", key.curve.key_size
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519", None
    raise UsageError(f"unsupported public key type {type(key).__name__}")


def key_to_pem(key: PrivateKey) -> bytes:
    """Serialise *key* as unencrypted PKCS#8 PEM (a ``BEGIN PRIVATE KEY`` block)."""
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def load_key_pem(data: bytes) -> PrivateKey:
    """Load an unencrypted PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC).

    Raises :class:`UsageError` on anything else. The error never contains (or
    chains to an exception containing) any part of *data*.
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise UsageError("private key must be PEM bytes")
    raw = bytes(data)
    problem: str | None = None
    hint = "expected an unencrypted PEM private key (a 'BEGIN PRIVATE KEY' block, RSA or EC)"
    key: object = None
    try:
        key = serialization.load_pem_private_key(raw, password=None)
    except TypeError:
        # cryptography signals "encrypted, but no password given" with TypeError
        problem = "the private key is encrypted"
        hint = "decrypt it first; kubeuser only reads unencrypted keys (stored with mode 0600)"
    except UnsupportedAlgorithm:
        problem = "the private key uses an unsupported algorithm"
        hint = "supported key types: " + ", ".join(KEY_TYPES)
    except Exception:  # ValueError and friends: cryptography's messages are safe, but we add nothing
        problem = "the data is not a readable PEM private key"
        if b"-----BEGIN CERTIFICATE" in raw and b"PRIVATE KEY-----" not in raw:
            hint = "this looks like a certificate, not a private key"
        elif b"ENCRYPTED PRIVATE KEY" in raw:
            problem = "the private key is encrypted"
            hint = "decrypt it first; kubeuser only reads unencrypted keys"
    if problem is not None:
        raise UsageError(f"cannot load private key: {problem}", hint=hint) from None
    if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        return key
    raise UsageError(
        f"cannot load private key: unsupported key type {type(key).__name__}",
        hint="supported key types: " + ", ".join(KEY_TYPES),
    )


def usages_for(key: PrivateKey | PublicKey) -> list[str]:
    """Kubernetes CSR ``spec.usages`` for a client certificate with this key.

    Key encipherment only makes sense for RSA (RSA key transport); ECDSA and
    Ed25519 keys can only sign.
    """
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return ["digital signature", "key encipherment", "client auth"]
    return ["digital signature", "client auth"]


def _key_type_of(key: PrivateKeyTypes | CertificatePublicKeyTypes) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return f"ecdsa-{key.curve.name}"
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return f"rsa-{key.key_size}"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "ed25519"
    return type(key).__name__


# --------------------------------------------------------------------------- CSR


def _check_name_value(kind: str, value: object) -> str:
    if not isinstance(value, str):
        raise UsageError(f"{kind} must be a string, got {type(value).__name__}")
    if not value:
        raise UsageError(f"{kind} must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        raise UsageError(
            f"{kind} is {len(value)} characters long; X.509 allows at most {MAX_NAME_LENGTH}",
            hint=f"shorten the {kind}",
        )
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cs"):
            raise UsageError(
                f"{kind} {value!r} contains a control or surrogate character (U+{ord(ch):04X})",
                hint="use printable characters only",
            )
    return value


def validate_subject(common_name: str, groups: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """Check a user name and group list can go into an X.509 subject; UsageError if not."""
    if isinstance(groups, str):
        raise UsageError("groups must be a list of strings, not a single string")
    cn = _check_name_value("user name (CN)", common_name)
    gs = tuple(_check_name_value("group (O)", g) for g in groups)
    return cn, gs


def _name_attribute(oid: x509.ObjectIdentifier, value: str) -> x509.NameAttribute[str]:
    # cryptography limits CN to 64 *bytes* of UTF-8, RFC 5280's bound counts characters.
    # Our own check (validate_subject) already enforced the character bound.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return x509.NameAttribute(oid, value, _validate=False)


def _build_subject(common_name: str, groups: Sequence[str]) -> x509.Name:
    cn, gs = validate_subject(common_name, groups)
    attrs = [_name_attribute(NameOID.COMMON_NAME, cn)]
    attrs += [_name_attribute(NameOID.ORGANIZATION_NAME, g) for g in gs]
    return x509.Name(attrs)


def _signing_hash(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384 | None:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def build_csr(key: PrivateKey, common_name: str, groups: Sequence[str]) -> bytes:
    """A PEM PKCS#10 request with subject ``CN=common_name, O=group...`` (groups in order)."""
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_build_subject(common_name, groups))
        .sign(key, _signing_hash(key))  # algorithm None for Ed25519
    )
    return csr.public_bytes(serialization.Encoding.PEM)


# --------------------------------------------------------------------------- certificates


KeyLike: TypeAlias = PrivateKeyTypes | CertificatePublicKeyTypes | x509.Certificate | x509.CertificateSigningRequest


def public_key_fingerprint(key_or_cert_public_key: KeyLike) -> str:
    """Lower-case hex SHA-256 of the DER SubjectPublicKeyInfo.

    Accepts a private key, a public key, a certificate or a CSR; the same key
    always gives the same fingerprint whichever form it is passed in.
    """
    obj = key_or_cert_public_key
    pub: Any = obj.public_key() if isinstance(obj, x509.Certificate | x509.CertificateSigningRequest) else obj
    if callable(getattr(pub, "private_bytes", None)):  # a private key: use its public half
        pub = pub.public_key()
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if not isinstance(der, bytes):
        raise TypeError(f"cannot fingerprint a {type(key_or_cert_public_key).__name__}")
    return hashlib.sha256(der).hexdigest()


def _serial_hex(serial: int) -> str:
    """Upper-case hex, whole bytes, like ``openssl x509 -serial``."""
    if serial < 0:
        body = format(-serial, "X")
        return "-" + ("0" + body if len(body) % 2 else body)
    body = format(serial, "X")
    return "0" + body if len(body) % 2 else body


def iso_z(dt: datetime) -> str:
    """A moment in UTC to the second, as Kubernetes writes it: ``2026-01-02T03:04:05Z``."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _names(cert: x509.Certificate) -> tuple[x509.Name, x509.Name]:
    """``(subject, issuer)`` without cryptography's warning about CNs over 64 UTF-8 bytes.

    RFC 5280's bound counts characters, and the cluster signer does not care.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return cert.subject, cert.issuer


def _values(name: x509.Name, oid: x509.ObjectIdentifier) -> list[str]:
    out: list[str] = []
    for attr in name.get_attributes_for_oid(oid):
        v = attr.value
        out.append(v if isinstance(v, str) else v.decode("utf-8", "replace"))
    return out


@dataclass(frozen=True)
class CertInfo:
    """What kubeuser reports about an issued client certificate."""

    common_name: str
    groups: tuple[str, ...]
    serial: str
    not_before: datetime
    not_after: datetime
    issuer: str
    subject: str
    public_key_sha256: str

    def lifetime_seconds(self) -> int:
        return int((self.not_after - self.not_before).total_seconds())

    def remaining_seconds(self, now: datetime | None = None) -> int:
        """Seconds until expiry (negative once expired)."""
        return int((self.not_after - _utc(now)).total_seconds())

    def to_dict(self) -> dict[str, Any]:
        return {
            "common_name": self.common_name,
            "groups": list(self.groups),
            "serial": self.serial,
            "not_before": iso_z(self.not_before),
            "not_after": iso_z(self.not_after),
            "lifetime_seconds": self.lifetime_seconds(),
            "issuer": self.issuer,
            "subject": self.subject,
            "public_key_sha256": self.public_key_sha256,
        }


def cert_info(cert: x509.Certificate) -> CertInfo:
    """Describe a loaded certificate (a client certificate, a CA, a server's certificate)."""
    subject, issuer = _names(cert)
    cns = _values(subject, NameOID.COMMON_NAME)
    return CertInfo(
        common_name=cns[0] if cns else "",
        groups=tuple(_values(subject, NameOID.ORGANIZATION_NAME)),
        serial=_serial_hex(cert.serial_number),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        issuer=issuer.rfc4514_string(),
        subject=subject.rfc4514_string(),
        public_key_sha256=public_key_fingerprint(cert.public_key()),
    )


def load_cert(pem: bytes, what: str = "certificate") -> x509.Certificate:
    """The first certificate in *pem*; :class:`VerificationError` ("the *what* is not a readable PEM
    certificate") if there is none."""
    if isinstance(pem, str):
        pem = pem.encode("utf-8", "surrogateescape")
    try:
        return x509.load_pem_x509_certificates(bytes(pem))[0]
    except Exception:
        raise VerificationError(
            f"the {what} is not a readable PEM certificate",
            hint="expected data starting with '-----BEGIN CERTIFICATE-----'",
        ) from None


def parse_cert(pem: bytes) -> CertInfo:
    """Describe the first certificate in *pem*; :class:`VerificationError` if unreadable."""
    return cert_info(load_cert(pem))


def load_ca_bundle(pem: bytes) -> list[x509.Certificate]:
    """All certificates of a PEM bundle (non-certificate PEM blocks are ignored)."""
    if isinstance(pem, str):
        pem = pem.encode("utf-8", "surrogateescape")
    try:
        return x509.load_pem_x509_certificates(bytes(pem))
    except Exception:
        raise VerificationError(
            "the CA bundle contains no readable PEM certificate",
            hint="expected one or more '-----BEGIN CERTIFICATE-----' blocks",
        ) from None


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    if now.tzinfo is None:
        return now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc)


def _fmt_list(values: Sequence[str]) -> str:
    return ", ".join(repr(v) for v in values) if values else "(none)"


def issued_by(cert_pem: bytes, ca_pem: bytes) -> bool:
    """True iff the (first) certificate in *cert_pem* was issued directly by a CA in *ca_pem*."""
    try:
        cert = load_cert(cert_pem)
        return why_not_issued_by(cert, load_ca_bundle(ca_pem)) is None
    except (KubeuserError, ValueError):
        return False


def why_not_issued_by(cert: x509.Certificate, bundle: Sequence[x509.Certificate]) -> str | None:
    """None if *cert* is signed by a member of *bundle*, else a description of why not."""
    issuer = _names(cert)[1]
    same_name = [ca for ca in bundle if _names(ca)[0] == issuer]
    if not same_name:
        subjects = "; ".join(repr(_names(ca)[0].rfc4514_string()) for ca in bundle) or "(empty)"
        return (
            f"issuer {issuer.rfc4514_string()!r} is not among the {len(bundle)} CA certificate(s) "
            f"of the cluster CA bundle (subjects: {subjects})"
        )
    for ca in same_name:
        try:
            cert.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
            continue
        return None
    return (
        f"the signature does not verify against the CA {issuer.rfc4514_string()!r} "
        "(a CA with that name exists in the bundle but did not sign this certificate)"
    )


def verify_issued(
    cert_pem: bytes,
    key: PrivateKey | PublicKey,
    *,
    common_name: str,
    groups: Sequence[str],
    ca_pem: bytes | None,
    now: datetime | None = None,
) -> CertInfo:
    """Check that an issued certificate is the one that was asked for.

    Checks the public key, subject CN, O values (as a multiset), the clientAuth
    extended key usage, direct issuance by a member of *ca_pem* (skipped when
    ``None``: the caller reports "chain not checked") and validity at *now*.
    All differences are reported together in one :class:`VerificationError`.
    """
    cert = load_cert(cert_pem, "issued certificate")
    info = cert_info(cert)
    problems: list[str] = []

    want_fp = public_key_fingerprint(key)
    if info.public_key_sha256 != want_fp:
        problems.append(
            f"public key differs from the private key (certificate key sha256 "
            f"{info.public_key_sha256[:16]}…, {_key_type_of(cert.public_key())}; "
            f"expected {want_fp[:16]}…, {_key_type_of(key)})"
        )

    cns = _values(_names(cert)[0], NameOID.COMMON_NAME)
    if cns != [common_name]:
        got = _fmt_list(cns) if len(cns) != 1 else repr(cns[0])
        problems.append(f"CN is {got}, expected {common_name!r}")

    have, want = Counter(info.groups), Counter(groups)
    if have != want:
        missing = sorted((want - have).elements())
        extra = sorted((have - want).elements())
        parts = []
        if missing:
            parts.append(f"missing group(s) (O) {_fmt_list(missing)}")
        if extra:
            parts.append(f"extra group(s) (O) {_fmt_list(extra)}")
        problems.append("; ".join(parts) + f" (certificate has {_fmt_list(sorted(info.groups))})")

    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        problems.append("no extended key usage extension; clientAuth is required")
    except Exception:
        problems.append("the extended key usage extension is malformed; clientAuth is required")
    else:
        if ExtendedKeyUsageOID.CLIENT_AUTH not in eku:
            names = [getattr(oid, "_name", None) or oid.dotted_string for oid in eku]
            problems.append(f"extended key usage lacks clientAuth (has {_fmt_list(names)})")

    if ca_pem is not None:
        bundle = load_ca_bundle(ca_pem)
        why = why_not_issued_by(cert, bundle)
        if why is not None:
            problems.append(f"not issued by the cluster CA: {why}")

    at = _utc(now)
    if at < info.not_before:
        problems.append(f"not yet valid: valid from {iso_z(info.not_before)}, now is {iso_z(at)}")
    elif at > info.not_after:
        problems.append(f"expired at {iso_z(info.not_after)}, now is {iso_z(at)}")

    if problems:
        raise VerificationError(
            "issued certificate is wrong: " + "; ".join(problems),
            hint="the cluster's signer issued something other than what was requested; "
            "inspect it with 'openssl x509 -noout -text' and check the signer configuration",
        )
    return info


def cert_matches_key(cert_pem: bytes, key_pem: bytes) -> bool:
    """True iff the (first) certificate in *cert_pem* carries the public key of *key_pem*.

    Unreadable input raises (VerificationError for the certificate, UsageError for the key).
    """
    cert = load_cert(cert_pem)
    key = load_key_pem(key_pem)
    return public_key_fingerprint(cert.public_key()) == public_key_fingerprint(key)


# --------------------------------------------------------------------------- files


def write_private_key(path: Path, pem: bytes, *, overwrite: bool = False) -> None:
    """Atomically write a private key with mode 0600; missing parent dirs get 0700.

    Raises :class:`ConflictError` if *path* exists and *overwrite* is false. A symlink is written
    through to its target (see :mod:`kubeuser.files`).
    """
    files.write(path, pem, kind=files.KEY_FILE, mode=_PRIVATE_MODE, replace=overwrite)


def write_public_file(path: Path, data: bytes, *, overwrite: bool = True) -> None:
    """Atomically write a certificate/CSR/other public file with mode 0644; missing dirs get 0700."""
    files.write(path, data, kind=files.PUBLIC_FILE, mode=_PUBLIC_MODE, replace=overwrite)
