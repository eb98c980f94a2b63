"""kubeuser.certname reads a certificate's CN without cryptography: the same answer as pki, or none."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pki_factory
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kubeuser import certname, pki


def _cert(attrs: list[x509.NameAttribute[str]] | list[x509.RelativeDistinguishedName]) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(attrs)
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ca")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize("key_type", ["ecdsa", "rsa", "ed25519"])
@pytest.mark.parametrize("cn", ["admin", "kubernetes-admin", "système:ünïcode", "x" * 64])
def test_the_cn_of_an_issued_client_certificate_is_pkis(key_type: str, cn: str) -> None:
    ca, ca_key = pki_factory.make_ca("cluster-ca", key_type=key_type)
    key = pki.generate_key(key_type)  # type: ignore[arg-type]
    pem = pki_factory.issue_client_cert(ca, ca_key, key, cn=cn, groups=["system:masters", "dev"])
    assert certname.common_name(pem) == pki.parse_cert(pem).common_name == cn


def test_printable_string_and_several_rdns() -> None:
    pem = _cert(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ops"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Jane Admin", _type=x509.name._ASN1Type.PrintableString),
        ]
    )
    assert certname.common_name(pem) == pki.parse_cert(pem).common_name == "Jane Admin"


@pytest.mark.parametrize(
    "pem",
    [
        b"",
        b"not a certificate",
        b"-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----\n",
        b"-----BEGIN CERTIFICATE-----\n" + base64.b64encode(b"\x30\x82\xff\xff") + b"\n-----END CERTIFICATE-----\n",
    ],
)
def test_what_it_cannot_read_is_left_to_pki(pem: bytes) -> None:
    assert certname.common_name(pem) is None


def test_no_cn_or_two_cns_are_left_to_pki() -> None:
    none = _cert([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ops")])
    two = _cert([x509.NameAttribute(NameOID.COMMON_NAME, "a"), x509.NameAttribute(NameOID.COMMON_NAME, "b")])
    assert certname.common_name(none) is None and pki.parse_cert(none).common_name == ""
    assert certname.common_name(two) is None and pki.parse_cert(two).common_name == "a"


def test_a_truncated_certificate_is_left_to_pki() -> None:
    pem = _cert([x509.NameAttribute(NameOID.COMMON_NAME, "admin")])
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    for cut in (len(der) // 3, len(der) - 1):
        short = b"-----BEGIN CERTIFICATE-----\n" + base64.b64encode(der[:cut]) + b"\n-----END CERTIFICATE-----\n"
        assert certname.common_name(short) is None
