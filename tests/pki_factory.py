"""A tiny in-memory CA for tests: a fake cluster signer.

Unit tests of the workflow use it to "sign" the CSR kubeuser submitted; e2e tests
use it to mint deliberately wrong certificates (expired, not yet valid, foreign
CA, missing clientAuth, wrong subject).

    ca, ca_key = make_ca("kubernetes")
    pem = issue_client_cert(ca, ca_key, csr_pem, "alice", ["dev"])

Test support only; the product never imports this.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CAKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

__all__ = ["ca_pem", "cert_pem", "issue_client_cert", "make_ca", "make_key"]


def make_key(key_type: str = "ecdsa") -> CAKey:
    if key_type == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(key_type)


def _hash_for(key: CAKey) -> hashes.SHA256 | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def make_ca(
    cn: str = "kubernetes",
    *,
    key_type: str = "ecdsa",
    key: CAKey | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> tuple[x509.Certificate, CAKey]:
    """A self-signed CA certificate (``CN=cn``) and its key."""
    key = key or make_key(key_type)
    now = datetime.now(timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, _hash_for(key))
    )
    return cert, key


def _public_key(source: object) -> CertificatePublicKeyTypes:
    if isinstance(source, bytes | str):
        data = source.encode() if isinstance(source, str) else source
        if b"CERTIFICATE REQUEST" in data:
            return x509.load_pem_x509_csr(data).public_key()
        if b"PRIVATE KEY" in data:
            return serialization.load_pem_private_key(data, password=None).public_key()  # type: ignore[return-value]
        return serialization.load_pem_public_key(data)  # type: ignore[return-value]
    if isinstance(source, x509.CertificateSigningRequest):
        return source.public_key()
    if isinstance(source, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        return source.public_key()
    return source  # type: ignore[return-value]


def issue_client_cert(
    ca: x509.Certificate,
    ca_key: CAKey,
    csr_pem_or_public_key: object,
    cn: str | None = None,
    groups: Sequence[str] | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    *,
    client_auth: bool = True,
    extra_eku: Sequence[x509.ObjectIdentifier] = (),
    eku: bool = True,
    key_encipherment: bool = False,
    serial: int | None = None,
    issuer_name: x509.Name | None = None,
    lifetime: timedelta = timedelta(hours=24),
) -> bytes:
    """Sign a client certificate like the kube-apiserver-client signer would; return PEM.

    ``csr_pem_or_public_key``: CSR PEM / object, public key PEM / object, or a private key.
    ``cn``/``groups`` default to the CSR's subject when a CSR is given.
    ``not_before`` defaults to 5 minutes ago (the kube signer backdates), ``not_after``
    to ``not_before + lifetime``. ``client_auth=False`` drops clientAuth from the EKU;
    ``eku=False`` omits the EKU extension entirely. ``issuer_name`` overrides the issuer
    (to forge a certificate that names a CA it was not signed by).
    """
    csr: x509.CertificateSigningRequest | None = None
    if isinstance(csr_pem_or_public_key, x509.CertificateSigningRequest):
        csr = csr_pem_or_public_key
    elif isinstance(csr_pem_or_public_key, bytes | str):
        raw = csr_pem_or_public_key
        data = raw.encode() if isinstance(raw, str) else raw
        if b"CERTIFICATE REQUEST" in data:
            csr = x509.load_pem_x509_csr(data)
    public_key = _public_key(csr if csr is not None else csr_pem_or_public_key)

    if cn is None or groups is None:
        if csr is None:
            raise ValueError("cn and groups are required when no CSR is given")
        if cn is None:
            cn_attrs = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
            cn = str(cn_attrs[0].value) if cn_attrs else ""
        if groups is None:
            groups = [str(a.value) for a in csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]

    now = datetime.now(timezone.utc)
    nb = not_before or now - timedelta(minutes=5)
    na = not_after or nb + lifetime
    with warnings.catch_warnings():  # allow CNs over 64 UTF-8 bytes, like the kube signer does
        warnings.simplefilter("ignore", UserWarning)
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn, _validate=False)]
    attrs += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(issuer_name or ca.subject)
        .public_key(public_key)
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(nb)
        .not_valid_after(na)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=key_encipherment,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    usages = ([ExtendedKeyUsageOID.CLIENT_AUTH] if client_auth else []) + list(extra_eku)
    if eku:
        if not usages:
            usages = [ExtendedKeyUsageOID.SERVER_AUTH]
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    cert = builder.sign(ca_key, _hash_for(ca_key))
    return cert.public_bytes(serialization.Encoding.PEM)


def server_cert(
    ca: x509.Certificate, ca_key: CAKey, sans: list[x509.GeneralName], cn: str = "kube-apiserver"
) -> tuple[bytes, bytes]:
    """A serving certificate for *sans*, signed by *ca*, valid from an hour ago for 30 days: (cert PEM, key PEM)."""
    key = make_key()
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, _hash_for(ca_key))
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert_pem(cert), pem


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def ca_pem(*certs: x509.Certificate) -> bytes:
    """A PEM bundle of the given CA certificates."""
    return b"".join(cert_pem(c) for c in certs)
