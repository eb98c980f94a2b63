"""kubeuser.pki — keys, CSRs, certificate checks, key files.

/usr/bin/openssl is the independent verifier: what we generate must read back the
same through OpenSSL as through cryptography.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import traceback
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa, x25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubeuser import pki
from kubeuser.errors import ConflictError, ExitCode, UsageError, VerificationError

_TESTS_DIR = str(Path(__file__).resolve().parents[1])  # tests/ holds pki_factory.py
if _TESTS_DIR not in sys.path:  # tests/conftest.py normally puts it there already
    sys.path.insert(0, _TESTS_DIR)
import pki_factory  # noqa: E402

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
needs_openssl = pytest.mark.skipif(not Path(OPENSSL).exists(), reason="openssl binary not available")

KEY_SPECS: list[tuple[pki.KeyType, int | None]] = [
    ("ecdsa", 256),
    ("ecdsa", 384),
    ("rsa", 2048),
    ("rsa", 3072),
    ("rsa", 4096),
    ("ed25519", None),
]
_KEYS: dict[tuple[str, int | None], pki.PrivateKey] = {}


def key_for(kt: pki.KeyType, size: int | None = None) -> pki.PrivateKey:
    """Generated once per spec per test session (RSA 4096 is slow)."""
    k = (kt, size)
    if k not in _KEYS:
        _KEYS[k] = pki.generate_key(kt, size)
    return _KEYS[k]


def openssl(*args: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [OPENSSL, *args],
        input=input.decode() if input is not None else None,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed: {proc.stderr}")
    return proc


def multiline_subject(out: str) -> list[tuple[str, str]]:
    """Parse ``-nameopt multiline`` output into [(field, value), ...] in order."""
    pairs = []
    for line in out.splitlines()[1:]:
        if "=" in line:
            field, _, value = line.partition("=")
            pairs.append((field.strip(), value.strip()))
    return pairs


# --------------------------------------------------------------------------- key specs


@pytest.mark.parametrize(
    ("key_type", "size", "expected"),
    [
        ("ecdsa", None, ("ecdsa", 256)),
        ("ecdsa", 256, ("ecdsa", 256)),
        ("ecdsa", 384, ("ecdsa", 384)),
        ("rsa", None, ("rsa", 2048)),
        ("rsa", 2048, ("rsa", 2048)),
        ("rsa", 3072, ("rsa", 3072)),
        ("rsa", 4096, ("rsa", 4096)),
        ("ed25519", None, ("ed25519", None)),
        ("ECDSA", None, ("ecdsa", 256)),
        (" rsa ", 3072, ("rsa", 3072)),
    ],
)
def test_validate_key_spec_valid(key_type: str, size: int | None, expected: tuple[str, int | None]) -> None:
    assert pki.validate_key_spec(key_type, size) == expected


@pytest.mark.parametrize(
    ("key_type", "size", "hint_has"),
    [
        ("ecdsa", 521, ["256", "384"]),
        ("ecdsa", 224, ["256", "384"]),
        ("ecdsa", 2048, ["256", "384"]),
        ("ecdsa", 0, ["256", "384"]),
        ("rsa", 1024, ["2048", "3072", "4096"]),
        ("rsa", 8192, ["2048", "3072", "4096"]),
        ("rsa", 256, ["2048", "3072", "4096"]),
        ("rsa", -2048, ["2048", "3072", "4096"]),
        ("ed25519", 256, ["omit --key-size"]),
        ("ed25519", 255, ["omit --key-size"]),
        ("dsa", None, ["ecdsa", "rsa", "ed25519"]),
        ("ed448", None, ["ecdsa", "rsa", "ed25519"]),
        ("", None, ["ecdsa", "rsa", "ed25519"]),
    ],
)
def test_validate_key_spec_invalid(key_type: str, size: int | None, hint_has: list[str]) -> None:
    with pytest.raises(UsageError) as ei:
        pki.validate_key_spec(key_type, size)
    assert ei.value.exit_code == ExitCode.USAGE
    assert ei.value.hint is not None
    for word in hint_has:
        assert word in ei.value.hint


def test_validate_key_spec_rejects_non_int_sizes() -> None:
    with pytest.raises(UsageError):
        pki.validate_key_spec("rsa", True)
    with pytest.raises(UsageError):
        pki.validate_key_spec("rsa", "2048")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        pki.generate_key("rsa", 1024)


# --------------------------------------------------------------------------- keys and CSRs


@pytest.mark.parametrize(("key_type", "size"), KEY_SPECS)
def test_generate_key_type_and_size(key_type: pki.KeyType, size: int | None) -> None:
    key = key_for(key_type, size)
    if key_type == "ecdsa":
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        assert key.curve.key_size == size
    elif key_type == "rsa":
        assert isinstance(key, rsa.RSAPrivateKey)
        assert key.key_size == size
        assert key.private_numbers().public_numbers.e == 65537
    else:
        assert isinstance(key, ed25519.Ed25519PrivateKey)


def test_generate_key_default_is_p256() -> None:
    key = pki.generate_key()
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert isinstance(key.curve, ec.SECP256R1)


@pytest.mark.parametrize(
    ("key_type", "expected"),
    [
        ("ecdsa", ["digital signature", "client auth"]),
        ("rsa", ["digital signature", "key encipherment", "client auth"]),
        ("ed25519", ["digital signature", "client auth"]),
    ],
)
def test_usages_for(key_type: pki.KeyType, expected: list[str]) -> None:
    key = key_for(key_type, pki.validate_key_spec(key_type, None)[1])
    assert pki.usages_for(key) == expected
    assert pki.usages_for(key.public_key()) == expected


@needs_openssl
@pytest.mark.parametrize(("key_type", "size"), KEY_SPECS)
def test_key_pem_is_pkcs8_and_openssl_agrees_on_public_key(
    key_type: pki.KeyType, size: int | None, tmp_path: Path
) -> None:
    key = key_for(key_type, size)
    pem = pki.key_to_pem(key)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert pem.rstrip().endswith(b"-----END PRIVATE KEY-----")
    loaded = pki.load_key_pem(pem)
    assert type(loaded) is type(key) or isinstance(loaded, type(key))
    assert pki.public_key_fingerprint(loaded) == pki.public_key_fingerprint(key)

    key_file = tmp_path / "key.pem"
    key_file.write_bytes(pem)
    der = subprocess.run(
        [OPENSSL, "pkey", "-in", str(key_file), "-pubout", "-outform", "DER"], capture_output=True, check=True
    ).stdout
    assert hashlib.sha256(der).hexdigest() == pki.public_key_fingerprint(key)


@needs_openssl
@pytest.mark.parametrize(("key_type", "size"), KEY_SPECS)
def test_build_csr_verified_by_openssl(key_type: pki.KeyType, size: int | None, tmp_path: Path) -> None:
    key = key_for(key_type, size)
    groups = ["system:masters", "dev", "team a"]
    csr_pem = pki.build_csr(key, "alice@example.com", groups)
    assert csr_pem.startswith(b"-----BEGIN CERTIFICATE REQUEST-----")
    csr_file = tmp_path / "csr.pem"
    csr_file.write_bytes(csr_pem)

    proc = openssl("req", "-in", str(csr_file), "-noout", "-subject", "-verify", "-nameopt", "multiline,utf8")
    assert "verify OK" in proc.stdout + proc.stderr
    assert "verify failure" not in proc.stdout + proc.stderr
    assert multiline_subject(proc.stdout) == [
        ("commonName", "alice@example.com"),
        *[("organizationName", g) for g in groups],
    ]
    # default (human) format too, as an operator would look at it
    plain = openssl("req", "-in", str(csr_file), "-noout", "-subject").stdout
    assert "CN = alice@example.com" in plain
    for g in groups:
        assert f"O = {g}" in plain

    # the CSR carries exactly the key's public key
    pub_der = subprocess.run(
        [OPENSSL, "req", "-in", str(csr_file), "-noout", "-pubkey"], capture_output=True, check=True
    ).stdout
    spki = serialization.load_pem_public_key(pub_der).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert hashlib.sha256(spki).hexdigest() == pki.public_key_fingerprint(key)

    if key_type == "ed25519":
        text = openssl("req", "-in", str(csr_file), "-noout", "-text").stdout
        assert "ED25519" in text


@needs_openssl
def test_build_csr_tampered_signature_fails_openssl(tmp_path: Path) -> None:
    """Guard against a vacuous verifier: openssl must notice a broken CSR signature."""
    key = key_for("ecdsa", 256)
    csr = x509.load_pem_x509_csr(pki.build_csr(key, "alice", ["dev"]))
    der = bytearray(csr.public_bytes(serialization.Encoding.DER))
    der[-3] ^= 0x01  # inside the signature BIT STRING
    f = tmp_path / "bad.der"
    f.write_bytes(bytes(der))
    proc = openssl("req", "-inform", "DER", "-in", str(f), "-noout", "-verify", check=False)
    assert "verify OK" not in proc.stdout + proc.stderr


@needs_openssl
def test_build_csr_unicode_subject_openssl(tmp_path: Path) -> None:
    key = key_for("ed25519")
    csr_file = tmp_path / "csr.pem"
    csr_file.write_bytes(pki.build_csr(key, "Zoë 日本", ["dev,ops", 'Ünïcødé+="<>']))
    proc = openssl("req", "-in", str(csr_file), "-noout", "-subject", "-verify", "-nameopt", "multiline,-esc_msb,utf8")
    assert "verify OK" in proc.stdout + proc.stderr
    assert multiline_subject(proc.stdout) == [
        ("commonName", "Zoë 日本"),
        ("organizationName", "dev,ops"),
        ("organizationName", 'Ünïcødé+="<>'),
    ]


def test_build_csr_no_groups_and_group_order_kept() -> None:
    key = key_for("ecdsa", 256)
    csr = x509.load_pem_x509_csr(pki.build_csr(key, "bob", []))
    assert csr.subject.rfc4514_string() == "CN=bob"
    csr = x509.load_pem_x509_csr(pki.build_csr(key, "bob", ["z", "a", "m", "a"]))
    assert [a.value for a in csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == [
        "z",
        "a",
        "m",
        "a",
    ]
    assert csr.is_signature_valid


@pytest.mark.parametrize(
    ("cn", "groups"),
    [
        ("", ["dev"]),
        ("x" * 65, []),
        ("alice\n", []),
        ("ali\x00ce", []),
        ("alice", [""]),
        ("alice", ["g" * 65]),
        ("alice", ["dev\tops"]),
    ],
)
def test_build_csr_rejects_bad_subject(cn: str, groups: list[str]) -> None:
    with pytest.raises(UsageError):
        pki.build_csr(key_for("ecdsa", 256), cn, groups)


def test_build_csr_rejects_groups_given_as_string() -> None:
    with pytest.raises(UsageError):
        pki.build_csr(key_for("ecdsa", 256), "alice", "dev")


@pytest.mark.filterwarnings("error")
def test_build_csr_64_multibyte_characters_allowed() -> None:
    """RFC 5280's 64 is characters; cryptography alone would reject >64 UTF-8 bytes."""
    cn = "é" * 64
    key = key_for("ecdsa", 256)
    csr_pem = pki.build_csr(key, cn, ["ü" * 64])
    with pytest.warns(UserWarning):  # cryptography itself complains when parsing it back...
        assert x509.load_pem_x509_csr(csr_pem).subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cn
    ca, ca_key = pki_factory.make_ca()
    cert = pki_factory.issue_client_cert(ca, ca_key, key, cn, ["ü" * 64])
    info = pki.parse_cert(cert)  # ...but kubeuser does not (filterwarnings=error)
    assert info.common_name == cn
    pki.verify_issued(cert, key, common_name=cn, groups=["ü" * 64], ca_pem=pki_factory.cert_pem(ca))


_printable = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=64).filter(str.isprintable)
_HYPO_KEY = pki.generate_key("ecdsa", 256)


@pytest.mark.filterwarnings("ignore:Attribute's length must be:UserWarning")  # cryptography, parsing back
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cn=_printable, groups=st.lists(_printable, max_size=6))
def test_build_csr_roundtrips_printable_unicode(cn: str, groups: list[str]) -> None:
    csr = x509.load_pem_x509_csr(pki.build_csr(_HYPO_KEY, cn, groups))
    assert csr.is_signature_valid
    assert [a.value for a in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == [cn]
    assert [a.value for a in csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == groups
    assert len(csr.subject) == 1 + len(groups)


# --------------------------------------------------------------------------- load_key_pem secrecy


def _error_text(exc: BaseException) -> str:
    """Everything a user or a log could ever see about an exception."""
    parts = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    if isinstance(exc, UsageError):
        parts += [exc.message, exc.hint or ""]
    return "\n".join(parts)


def _secret_fragments(pem: bytes) -> list[str]:
    body = [ln for ln in pem.decode().splitlines() if ln and not ln.startswith("-----")]
    frags = [ln[i : i + 12] for ln in body for i in range(0, max(len(ln) - 12, 1), 12)]
    return [f for f in frags if len(f) == 12]


def _garbage_cases(pem: bytes) -> list[bytes]:
    lines = pem.splitlines(keepends=True)
    body = b"".join(lines[1:-1])
    flipped = bytearray(pem)
    flipped[40] = ord("!")  # invalid base64 inside the key
    der_damaged = bytearray(pem)
    first = len(lines[0])  # first base64 character: the outer SEQUENCE tag
    der_damaged[first] = ord("A") if der_damaged[first] != ord("A") else ord("B")
    return [
        b"garbage " + pem[: len(pem) * 2 // 3],  # truncated, no END line
        pem[: len(pem) // 2] + b"\n-----END PRIVATE KEY-----\n",  # truncated body
        bytes(flipped),
        bytes(der_damaged),
        body,  # base64 body without armour
        b"-----BEGIN RSA PRIVATE KEY-----\n" + body + b"-----END RSA PRIVATE KEY-----\n",  # wrong label
        pem.replace(b"PRIVATE KEY", b"PUBLIC KEY"),
        b"secret=" + body.replace(b"\n", b""),
    ]


@pytest.mark.parametrize("key_type", ["ecdsa", "rsa", "ed25519"])
def test_load_key_pem_garbage_never_echoes_key_material(key_type: pki.KeyType) -> None:
    pem = pki.key_to_pem(key_for(key_type, pki.validate_key_spec(key_type, None)[1]))
    secrets_ = _secret_fragments(pem)
    assert secrets_
    for i, data in enumerate(_garbage_cases(pem)):
        try:
            pki.load_key_pem(data)
        except UsageError as exc:
            text = _error_text(exc)
            assert exc.__cause__ is None
            assert exc.__context__ is None, "the original parser exception must not ride along"
            leaked = [f for f in secrets_ if f in text]
            assert not leaked, f"case {i}: key material leaked into the error"
            assert "cannot load private key" in str(exc)
        else:  # pragma: no cover - a garbage case must not load
            pytest.fail(f"case {i} loaded")


def test_load_key_pem_wrong_things() -> None:
    ca, _ = pki_factory.make_ca("x")
    with pytest.raises(UsageError) as ei:
        pki.load_key_pem(pki_factory.cert_pem(ca))
    assert "certificate" in (ei.value.hint or "")

    enc = key_for("ecdsa", 256).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    with pytest.raises(UsageError) as ei:
        pki.load_key_pem(enc)
    assert "encrypted" in str(ei.value)

    for other in (dsa.generate_private_key(2048), x25519.X25519PrivateKey.generate()):
        other_pem = other.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        with pytest.raises(UsageError) as ei:
            pki.load_key_pem(other_pem)
        assert "unsupported" in str(ei.value)
        assert not [f for f in _secret_fragments(other_pem) if f in _error_text(ei.value)]

    with pytest.raises(UsageError):
        pki.load_key_pem(b"")


def test_load_key_pem_accepts_traditional_formats() -> None:
    for key in (key_for("rsa", 2048), key_for("ecdsa", 384)):
        trad = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        assert pki.public_key_fingerprint(pki.load_key_pem(trad)) == pki.public_key_fingerprint(key)


def test_fingerprint_same_for_every_form_of_the_key() -> None:
    key = key_for("rsa", 2048)
    ca, ca_key = pki_factory.make_ca()
    cert = x509.load_pem_x509_certificate(pki_factory.issue_client_cert(ca, ca_key, key, "a", []))
    csr = x509.load_pem_x509_csr(pki.build_csr(key, "a", []))
    fps = {
        pki.public_key_fingerprint(key),
        pki.public_key_fingerprint(key.public_key()),
        pki.public_key_fingerprint(cert),
        pki.public_key_fingerprint(cert.public_key()),
        pki.public_key_fingerprint(csr),
    }
    assert len(fps) == 1
    fp = fps.pop()
    assert len(fp) == 64 and fp == fp.lower()
    assert pki.public_key_fingerprint(key_for("ecdsa", 256)) != fp


# --------------------------------------------------------------------------- parse_cert


OPENSSL_DATE = "%b %d %H:%M:%S %Y GMT"


@needs_openssl
@pytest.mark.parametrize(
    "serial",
    [1, 0x7F, 0x80, 0xFF, 0x100, 0xABCDEF, 0x0F_FFFF_FFFF, 2**127 + 12345, 2**159 - 1, None],
)
def test_parse_cert_matches_openssl(serial: int | None, tmp_path: Path) -> None:
    ca, ca_key = pki_factory.make_ca("kubernetes-ca")
    key = key_for("ecdsa", 256)
    nb = datetime(2024, 3, 5, 7, 8, 9, tzinfo=timezone.utc)
    na = datetime(2034, 3, 5, 7, 8, 9, tzinfo=timezone.utc)
    pem = pki_factory.issue_client_cert(
        ca, ca_key, pki.build_csr(key, "alice", ["dev", "ops"]), None, None, nb, na, serial=serial
    )
    info = pki.parse_cert(pem)

    f = tmp_path / "cert.pem"
    f.write_bytes(pem)
    out = openssl(
        "x509", "-in", str(f), "-noout", "-serial", "-subject", "-issuer", "-dates", "-nameopt", "RFC2253"
    ).stdout
    fields = dict(line.split("=", 1) for line in out.splitlines())
    assert info.serial == fields["serial"]
    assert info.subject == fields["subject"] == "O=ops,O=dev,CN=alice"
    assert info.issuer == fields["issuer"] == "CN=kubernetes-ca"
    assert info.not_before == datetime.strptime(fields["notBefore"], OPENSSL_DATE).replace(tzinfo=timezone.utc)
    assert info.not_after == datetime.strptime(fields["notAfter"], OPENSSL_DATE).replace(tzinfo=timezone.utc)
    assert info.not_before == nb and info.not_after == na
    assert info.not_before.tzinfo is not None and info.not_before.utcoffset() == timedelta(0)
    assert info.common_name == "alice"
    assert info.groups == ("dev", "ops")
    assert info.public_key_sha256 == pki.public_key_fingerprint(key)
    assert info.lifetime_seconds() == int((na - nb).total_seconds())
    if serial is not None:
        assert int(info.serial, 16) == serial


def test_cert_info_to_dict_is_json() -> None:
    ca, ca_key = pki_factory.make_ca("ca")
    nb = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    pem = pki_factory.issue_client_cert(
        ca, ca_key, key_for("ed25519"), "bob", ["g"], nb, nb + timedelta(hours=1), serial=0x0A
    )
    d = pki.parse_cert(pem).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["not_before"] == "2025-01-02T03:04:05Z"
    assert d["not_after"] == "2025-01-02T04:04:05Z"
    assert d["serial"] == "0A"
    assert d["groups"] == ["g"]
    assert d["lifetime_seconds"] == 3600
    assert d["common_name"] == "bob"
    assert d["issuer"] == "CN=ca"


def test_parse_cert_first_of_bundle_and_bad_input() -> None:
    ca1, k1 = pki_factory.make_ca("one")
    ca2, _ = pki_factory.make_ca("two")
    leaf = pki_factory.issue_client_cert(ca1, k1, key_for("ecdsa", 256), "leaf", [])
    assert pki.parse_cert(leaf + pki_factory.ca_pem(ca1, ca2)).common_name == "leaf"
    for bad in (b"", b"hello", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"):
        with pytest.raises(VerificationError):
            pki.parse_cert(bad)
    with pytest.raises(VerificationError):
        pki.parse_cert(pki.key_to_pem(key_for("ecdsa", 256)))


def test_load_ca_bundle() -> None:
    cas = [pki_factory.make_ca(f"ca{i}")[0] for i in range(3)]
    text = b"# comment\n" + pki_factory.ca_pem(*cas) + b"\n"
    got = pki.load_ca_bundle(text)
    assert [c.subject.rfc4514_string() for c in got] == ["CN=ca0", "CN=ca1", "CN=ca2"]
    with pytest.raises(VerificationError):
        pki.load_ca_bundle(b"not a bundle")
    with pytest.raises(VerificationError):
        pki.load_ca_bundle(b"")


# --------------------------------------------------------------------------- verify_issued


class Signed:
    """A key, a CSR for alice/{dev,ops}, and the cluster CA."""

    def __init__(self, key_type: pki.KeyType = "ecdsa", ca_key_type: str = "ecdsa") -> None:
        self.key = key_for(key_type, pki.validate_key_spec(key_type, None)[1])
        self.csr = pki.build_csr(self.key, "alice", ["dev", "ops"])
        self.ca, self.ca_key = pki_factory.make_ca("kubernetes", key_type=ca_key_type)
        self.ca_pem = pki_factory.cert_pem(self.ca)

    def issue(self, **kw: object) -> bytes:
        return pki_factory.issue_client_cert(self.ca, self.ca_key, kw.pop("csr", self.csr), **kw)  # type: ignore[arg-type]

    def verify(self, cert: bytes, **kw: object) -> pki.CertInfo:
        args: dict[str, object] = {"common_name": "alice", "groups": ["dev", "ops"], "ca_pem": self.ca_pem}
        args.update(kw)
        key = args.pop("key", self.key)
        return pki.verify_issued(cert, key, **args)  # type: ignore[arg-type]


@pytest.fixture
def signed() -> Iterator[Signed]:
    yield Signed()


@pytest.mark.parametrize(
    ("key_type", "ca_key_type"),
    [("ecdsa", "ecdsa"), ("rsa", "rsa"), ("ed25519", "ed25519"), ("rsa", "ed25519"), ("ed25519", "rsa")],
)
def test_verify_issued_accepts_the_right_cert(key_type: pki.KeyType, ca_key_type: str, tmp_path: Path) -> None:
    s = Signed(key_type, ca_key_type)
    cert = s.issue()
    info = s.verify(cert)
    assert info.common_name == "alice"
    assert info.groups == ("dev", "ops")
    assert info.public_key_sha256 == pki.public_key_fingerprint(s.key)
    assert info == pki.parse_cert(cert)
    # groups compare as a multiset; chain check may be skipped
    s.verify(cert, groups=["ops", "dev"])
    s.verify(cert, ca_pem=None)
    if Path(OPENSSL).exists():  # independent check that the fixture really chains
        (tmp_path / "ca.pem").write_bytes(s.ca_pem)
        (tmp_path / "c.pem").write_bytes(cert)
        out = openssl("verify", "-CAfile", str(tmp_path / "ca.pem"), str(tmp_path / "c.pem")).stdout
        assert out.strip().endswith(": OK")


def test_verify_issued_ca_in_multi_cert_bundle(signed: Signed) -> None:
    others = [pki_factory.make_ca(f"other{i}")[0] for i in range(2)]
    bundle = pki_factory.ca_pem(others[0], signed.ca, others[1])
    signed.verify(signed.issue(), ca_pem=bundle)


def test_verify_issued_duplicate_groups_are_a_multiset() -> None:
    s = Signed()
    cert = s.issue(csr=s.key, cn="alice", groups=["dev", "dev"])
    s.verify(cert, groups=["dev", "dev"])
    with pytest.raises(VerificationError, match=r"extra group.*'dev'"):
        s.verify(cert, groups=["dev"])


def _fails(s: Signed, cert: bytes, *must_contain: str, **kw: object) -> VerificationError:
    with pytest.raises(VerificationError) as ei:
        s.verify(cert, **kw)
    err = ei.value
    assert err.exit_code == ExitCode.VERIFICATION
    for text in must_contain:
        assert text in str(err), f"{text!r} not in {str(err)!r}"
    return err


def test_verify_issued_wrong_key(signed: Signed) -> None:
    other = pki.generate_key("ecdsa")
    cert = signed.issue(csr=pki.build_csr(other, "alice", ["dev", "ops"]))
    err = _fails(signed, cert, "public key differs")
    for word in ("CN", "group", "expired", "clientAuth", "issuer"):
        assert word not in str(err)
    # the same cert is fine for the key it was issued to
    signed.verify(cert, key=other)
    assert not pki.cert_matches_key(cert, pki.key_to_pem(signed.key))
    assert pki.cert_matches_key(cert, pki.key_to_pem(other))


def test_verify_issued_wrong_cn(signed: Signed) -> None:
    err = _fails(signed, signed.issue(cn="mallory"), "CN is 'mallory', expected 'alice'")
    assert "group" not in str(err)


def test_verify_issued_missing_group(signed: Signed) -> None:
    _fails(signed, signed.issue(groups=["dev"]), "missing group(s) (O) 'ops'")


def test_verify_issued_extra_group(signed: Signed) -> None:
    err = _fails(signed, signed.issue(groups=["dev", "ops", "system:masters"]), "extra group")
    assert "'system:masters'" in str(err)
    assert "missing" not in str(err)


def test_verify_issued_foreign_ca(signed: Signed) -> None:
    foreign, foreign_key = pki_factory.make_ca("evil-ca")
    cert = pki_factory.issue_client_cert(foreign, foreign_key, signed.csr)
    _fails(signed, cert, "not issued by the cluster CA", "'CN=evil-ca'", "'CN=kubernetes'")
    signed.verify(cert, ca_pem=None)  # without a CA the chain is simply not checked


def test_verify_issued_foreign_ca_with_same_name(signed: Signed, tmp_path: Path) -> None:
    """Same issuer name, different key: only a signature check can tell."""
    impostor, impostor_key = pki_factory.make_ca("kubernetes")
    cert = pki_factory.issue_client_cert(impostor, impostor_key, signed.csr)
    _fails(signed, cert, "not issued by the cluster CA", "signature does not verify")
    if Path(OPENSSL).exists():
        (tmp_path / "ca.pem").write_bytes(signed.ca_pem)
        (tmp_path / "c.pem").write_bytes(cert)
        proc = openssl("verify", "-CAfile", str(tmp_path / "ca.pem"), str(tmp_path / "c.pem"), check=False)
        assert proc.returncode != 0


def test_verify_issued_forged_issuer_name(signed: Signed) -> None:
    other, other_key = pki_factory.make_ca("other")
    cert = pki_factory.issue_client_cert(other, other_key, signed.csr, issuer_name=signed.ca.subject)
    _fails(signed, cert, "signature does not verify")


def test_verify_issued_expired(signed: Signed) -> None:
    now = datetime.now(timezone.utc)
    cert = signed.issue(not_before=now - timedelta(days=2), not_after=now - timedelta(days=1))
    err = _fails(signed, cert, "expired at")
    assert "not yet valid" not in str(err)


def test_verify_issued_not_yet_valid(signed: Signed) -> None:
    now = datetime.now(timezone.utc)
    cert = signed.issue(not_before=now + timedelta(hours=1), not_after=now + timedelta(days=1))
    _fails(signed, cert, "not yet valid")


def test_verify_issued_uses_given_now(signed: Signed) -> None:
    nb = datetime(2030, 1, 1, tzinfo=timezone.utc)
    cert = signed.issue(not_before=nb, not_after=nb + timedelta(hours=1))
    signed.verify(cert, now=nb)
    signed.verify(cert, now=nb + timedelta(hours=1))  # inclusive bounds
    signed.verify(cert, now=datetime(2030, 1, 1, 0, 30))  # naive means UTC
    _fails(signed, cert, "not yet valid", now=nb - timedelta(seconds=1))
    _fails(signed, cert, "expired at 2030-01-01T01:00:00Z", now=nb + timedelta(hours=1, seconds=1))


def test_verify_issued_missing_client_auth(signed: Signed) -> None:
    cert = signed.issue(client_auth=False, extra_eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    _fails(signed, cert, "lacks clientAuth", "serverAuth")


def test_verify_issued_no_eku_extension(signed: Signed) -> None:
    _fails(signed, signed.issue(eku=False), "no extended key usage", "clientAuth")


def test_verify_issued_reports_every_problem_at_once(signed: Signed) -> None:
    now = datetime.now(timezone.utc)
    foreign, fkey = pki_factory.make_ca("evil")
    cert = pki_factory.issue_client_cert(
        foreign,
        fkey,
        pki.generate_key("ed25519"),
        "eve",
        ["dev", "admins"],
        now - timedelta(days=3),
        now - timedelta(days=2),
        client_auth=False,
    )
    _fails(
        signed,
        cert,
        "public key differs",
        "CN is 'eve'",
        "missing group(s) (O) 'ops'",
        "extra group(s) (O) 'admins'",
        "clientAuth",
        "not issued by the cluster CA",
        "expired",
    )


def test_verify_issued_garbage_cert(signed: Signed) -> None:
    with pytest.raises(VerificationError, match="not a readable PEM certificate"):
        signed.verify(b"nope")


def test_cert_matches_key_bad_inputs(signed: Signed) -> None:
    cert = signed.issue()
    assert pki.cert_matches_key(cert, pki.key_to_pem(signed.key))
    with pytest.raises(UsageError):
        pki.cert_matches_key(cert, b"junk")
    with pytest.raises(VerificationError):
        pki.cert_matches_key(b"junk", pki.key_to_pem(signed.key))


# --------------------------------------------------------------------------- files


@pytest.fixture(params=[0, 0o077, 0o022], ids=["umask000", "umask077", "umask022"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_write_private_key_modes(umask: int, tmp_path: Path) -> None:
    base_mode = _mode(tmp_path)
    pem = pki.key_to_pem(key_for("ecdsa", 256))
    target = tmp_path / "a" / "b" / "c" / "alice.key"
    pki.write_private_key(target, pem)
    assert target.read_bytes() == pem
    assert _mode(target) == 0o600
    assert stat.S_ISREG(target.lstat().st_mode)
    for d in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert _mode(d) == 0o700, f"{d} has mode {oct(_mode(d))}"
    assert _mode(tmp_path) == base_mode  # existing directories are not touched
    assert sorted(p.name for p in target.parent.iterdir()) == ["alice.key"]  # no temp leftovers


def test_write_private_key_refuses_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "k.pem"
    target.write_bytes(b"original")
    os.chmod(target, 0o644)
    with pytest.raises(ConflictError) as ei:
        pki.write_private_key(target, pki.key_to_pem(key_for("ed25519")))
    assert ei.value.exit_code == ExitCode.CONFLICT
    assert ei.value.hint and "--force" in ei.value.hint
    assert str(target) in str(ei.value)
    assert target.read_bytes() == b"original"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.pem"]

    new = pki.key_to_pem(key_for("ed25519"))
    pki.write_private_key(target, new, overwrite=True)
    assert target.read_bytes() == new
    assert _mode(target) == 0o600  # tightened, even though the old file was 0644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.pem"]


def test_write_private_key_refuses_dangling_symlink(tmp_path: Path) -> None:
    link = tmp_path / "k.pem"
    link.symlink_to(tmp_path / "elsewhere.pem")
    with pytest.raises(ConflictError):
        pki.write_private_key(link, b"x")
    assert not (tmp_path / "elsewhere.pem").exists()


def test_write_private_key_overwrite_writes_through_a_symlink(tmp_path: Path) -> None:
    # one symlink policy for every file kubeuser writes (kubeuser.files): write the target, keep the link
    real = tmp_path / "keys" / "real.pem"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / "k.pem"
    link.symlink_to(real)
    pki.write_private_key(link, b"KEY", overwrite=True)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() == b"KEY" and _mode(real) == 0o600
    assert sorted(p.name for p in real.parent.iterdir()) == ["real.pem"]  # the temp file was next to the target


def test_write_private_key_path_problems(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        pki.write_private_key(tmp_path, b"x")
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(UsageError):
        pki.write_private_key(blocker / "sub" / "k.pem", b"x")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_write_private_key_unwritable_dir(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    try:
        with pytest.raises(UsageError):
            pki.write_private_key(ro / "k.pem", b"x")
    finally:
        ro.chmod(0o700)


def test_write_private_key_failure_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def no_space(*_a: object, **_k: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("kubeuser.files.os.replace", no_space)
    monkeypatch.setattr("kubeuser.files.os.link", no_space)
    secret = pki.key_to_pem(key_for("ecdsa", 256))
    with pytest.raises(UsageError) as ei:
        pki.write_private_key(tmp_path / "k.pem", secret, overwrite=True)
    assert "No space left" in str(ei.value)
    assert not [f for f in _secret_fragments(secret) if f in _error_text(ei.value)]
    with pytest.raises(UsageError):
        pki.write_private_key(tmp_path / "k.pem", secret)
    assert list(tmp_path.iterdir()) == []  # no temp file left behind


def test_write_private_key_without_hard_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def no_links(*_a: object, **_k: object) -> None:
        raise OSError(errno.EPERM, "hard links not supported")

    monkeypatch.setattr("kubeuser.files.os.link", no_links)
    pki.write_private_key(tmp_path / "k.pem", b"KEY")
    assert (tmp_path / "k.pem").read_bytes() == b"KEY"
    assert _mode(tmp_path / "k.pem") == 0o600
    with pytest.raises(ConflictError):
        pki.write_private_key(tmp_path / "k.pem", b"OTHER")
    assert (tmp_path / "k.pem").read_bytes() == b"KEY"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.pem"]


def test_write_public_file_modes(umask: int, tmp_path: Path) -> None:
    target = tmp_path / "certs" / "alice.crt"
    pki.write_public_file(target, b"CERT1")
    assert target.read_bytes() == b"CERT1"
    assert _mode(target) == 0o644
    assert _mode(target.parent) == 0o700
    pki.write_public_file(target, b"CERT2")  # certificates are replaced atomically
    assert target.read_bytes() == b"CERT2"
    assert _mode(target) == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["alice.crt"]
