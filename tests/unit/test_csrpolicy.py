"""kubeuser.csrpolicy: every rule of the policy for certificate requests kubeuser did not build, and hostile input.

Requests are built with cryptography directly (so invalid ones can be made), or assembled from DER by hand
where cryptography refuses to build them (duplicate extensions, unknown key types, an 8192-bit RSA key
without the cost of generating one). Every unreadable input must be one single-line UsageError (exit 2),
never a traceback; every readable but unacceptable one a Violation naming the field.
"""

from __future__ import annotations

import base64
import functools
import warnings
from collections.abc import Sequence
from typing import Any

import pki_factory
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubeuser import csrpolicy
from kubeuser.errors import ExitCode, UsageError

Key = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
EC_USAGES = ["client auth", "digital signature"]
RSA_USAGES = ["client auth", "digital signature", "key encipherment"]


@functools.cache
def _rsa(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@functools.cache
def _ec(curve: str) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key({"p256": ec.SECP256R1(), "p384": ec.SECP384R1(), "p521": ec.SECP521R1()}[curve])


def _attr(oid: x509.ObjectIdentifier, value: str) -> x509.NameAttribute[str]:
    with warnings.catch_warnings():  # cryptography warns about a CN over 64 characters: we want those too
        warnings.simplefilter("ignore")
        return x509.NameAttribute(oid, value, _validate=False)


def build(
    key: Key | None = None,
    *,
    cns: Sequence[str] = ("alice",),
    orgs: Sequence[str] = ("dev",),
    extra: Sequence[x509.NameAttribute[str]] = (),
    extensions: Sequence[x509.ExtensionType] = (),
) -> x509.CertificateSigningRequest:
    key = key if key is not None else _ec("p256")
    names = [_attr(NameOID.COMMON_NAME, cn) for cn in cns] + [_attr(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([*names, *extra]))
    for ext in extensions:
        builder = builder.add_extension(ext, critical=False)
    return builder.sign(key, None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256())


def pem(csr: x509.CertificateSigningRequest) -> bytes:
    return csr.public_bytes(serialization.Encoding.PEM)


def der(csr: x509.CertificateSigningRequest) -> bytes:
    return csr.public_bytes(serialization.Encoding.DER)


def to_pem(der_bytes: bytes) -> bytes:
    body = base64.encodebytes(der_bytes)
    return b"-----BEGIN CERTIFICATE REQUEST-----\n" + body + b"-----END CERTIFICATE REQUEST-----\n"


def violations(data: bytes, **kw: Any) -> list[csrpolicy.Violation]:
    return csrpolicy.check(csrpolicy.read(data), **kw)


def fields(vs: Sequence[csrpolicy.Violation]) -> list[str]:
    return [v.field for v in vs]


def single_line_usage_error(data: bytes) -> UsageError:
    with pytest.raises(UsageError) as ei:
        csrpolicy.read(data, source="req.pem")
    err = ei.value
    assert err.exit_code == ExitCode.USAGE
    assert "\n" not in err.message and "\r" not in err.message, err.message
    assert err.message.startswith("req.pem "), err.message
    assert err.hint is None or "\n" not in err.hint
    return err


# --- minimal DER, for requests cryptography will not build -----------------------------------------------


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _seq(*parts: bytes) -> bytes:
    return _tlv(0x30, b"".join(parts))


def _set(*parts: bytes) -> bytes:
    return _tlv(0x31, b"".join(parts))


def _oid(dotted: str) -> bytes:
    nums = [int(p) for p in dotted.split(".")]
    body = bytes([nums[0] * 40 + nums[1]])
    for n in nums[2:]:
        chunk = [n & 0x7F]
        n >>= 7
        while n:
            chunk.append(0x80 | (n & 0x7F))
            n >>= 7
        body += bytes(reversed(chunk))
    return _tlv(0x06, body)


ECDSA_SHA256 = "1.2.840.10045.4.3.2"
EXTENSION_REQUEST = "1.2.840.113549.1.9.14"


def raw_csr(spki: bytes, *, cn: str = "alice", attributes: bytes = b"") -> bytes:
    """A PKCS#10 request in DER with the given SubjectPublicKeyInfo; its signature is junk (never valid)."""
    subject = _seq(_set(_seq(_oid("2.5.4.3"), _tlv(0x0C, cn.encode()))))
    info = _seq(_tlv(0x02, b"\x00"), subject, spki, _tlv(0xA0, attributes))
    signature = _tlv(0x03, b"\x00" + _seq(_tlv(0x02, b"\x01"), _tlv(0x02, b"\x01")))
    return _seq(info, _seq(_oid(ECDSA_SHA256)), signature)


def spki_of(key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


# --- a good request ---------------------------------------------------------------------------------------


def test_a_good_request_is_read_and_passes_every_rule() -> None:
    req = csrpolicy.read(pem(build(orgs=["dev", "ops"])))
    assert (req.user, req.organizations, req.key_type, req.key_size) == ("alice", ["dev", "ops"], "ecdsa", 256)
    assert req.signature_valid and req.extensions == []
    assert req.to_dict()["commonName"] == "alice"
    got = csrpolicy.check(
        req, user="alice", groups=["ops", "dev"], usages=EC_USAGES, requested_seconds=3600, max_ttl=7200,
        check_lifetime=True,
    )  # fmt: skip
    assert got == []


def test_der_is_read_as_well_as_pem() -> None:
    req = csrpolicy.read(der(build()))
    assert req.user == "alice" and req.signature_valid
    assert req.pem.startswith(b"-----BEGIN CERTIFICATE REQUEST-----")


# --- signature --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["ecdsa", "rsa"])
def test_a_flipped_byte_in_the_signature_is_an_invalid_signature(key: str) -> None:
    data = bytearray(der(build(_ec("p256") if key == "ecdsa" else _rsa(2048))))
    data[-1] ^= 0x01  # the last byte of the DER is inside the signature BIT STRING
    got = violations(to_pem(bytes(data)))
    assert fields(got) == ["signature"]
    assert "self-signature is invalid" in got[0].message


def test_an_altered_subject_breaks_the_signature() -> None:
    data = der(build(cns=["alice"]))
    assert data.count(b"alice") == 1
    tampered = data.replace(b"alice", b"admin")  # same length: still parses, no longer signed
    got = violations(to_pem(tampered), user="admin")
    assert fields(got) == ["signature"]


def test_a_request_signed_by_another_key_is_an_invalid_signature() -> None:
    spki = spki_of(_ec("p256").public_key())
    got = violations(to_pem(raw_csr(spki)))
    assert "signature" in fields(got)


# --- subject: CN and O -------------------------------------------------------------------------------------


def test_cn_missing() -> None:
    got = violations(pem(build(cns=[])))
    assert fields(got) == ["CN"]
    assert "exactly one CN" in got[0].message and "it has 0" in got[0].message


def test_two_cns() -> None:
    got = violations(pem(build(cns=["alice", "admin"])))
    assert fields(got) == ["CN"]
    assert "it has 2" in got[0].message


def test_cn_must_be_the_expected_user() -> None:
    got = violations(pem(build(cns=["mallory"])), user="alice")
    assert fields(got) == ["CN"]
    assert "'mallory', not 'alice'" in got[0].message
    assert violations(pem(build(cns=["alice"])), user="alice") == []


def test_o_must_be_the_expected_groups() -> None:
    got = violations(pem(build(orgs=["dev", "admins"])), groups=["dev"])
    assert fields(got) == ["O"]
    assert "[dev, admins], not [dev]" in got[0].message
    assert violations(pem(build(orgs=[])), groups=[]) == []
    assert fields(violations(pem(build(orgs=[])), groups=["dev"])) == ["O"]


def test_only_cn_and_o_in_the_subject() -> None:
    extra = [_attr(NameOID.ORGANIZATIONAL_UNIT_NAME, "x"), _attr(x509.ObjectIdentifier("1.2.3.4"), "y")]
    got = violations(pem(build(extra=extra)))
    assert fields(got) == ["subject"]
    assert "organizationalUnitName" in got[0].message and "1.2.3.4" in got[0].message  # an unknown OID by number


@pytest.mark.parametrize("value", ["", " dev", "dev\n", "de\u200bv", "a\x00b"])
def test_empty_padded_or_invisible_group_names(value: str) -> None:
    got = violations(pem(build(orgs=[value])))
    assert fields(got) == ["O"]
    assert "\n" not in got[0].message and "\x00" not in got[0].message


def test_a_cn_with_a_newline_is_reported_on_one_line() -> None:
    got = violations(pem(build(cns=["alice\nadmin"])))
    assert fields(got) == ["CN"]
    assert got[0].message.startswith("'alice\\nadmin' is empty, padded")  # escaped once, on one line


# --- system: names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("allow", [False, True])
@pytest.mark.parametrize("masters", ["system:masters", "System:Masters"])
def test_system_masters_is_never_allowed(allow: bool, masters: str) -> None:
    got = violations(pem(build(orgs=["dev", masters])), allow_system_names=allow)
    assert fields(got) == ["O"]
    assert "system:masters is never allowed" in got[0].message


def test_a_node_identity_needs_allow_system_names() -> None:
    data = pem(build(cns=["system:node:worker-1"], orgs=["system:nodes"]))
    got = violations(data)
    assert sorted(fields(got)) == ["CN", "O"]
    assert all("--allow-system-names" in v.message for v in got)
    assert violations(data, allow_system_names=True) == []


def test_allow_system_names_never_lets_masters_through_with_a_node_identity() -> None:
    data = pem(build(cns=["system:node:worker-1"], orgs=["system:nodes", "system:masters"]))
    got = violations(data, allow_system_names=True)
    assert fields(got) == ["O"] and "system:masters" in got[0].message


# --- key -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [2048, 3072, 4096])
def test_rsa_sizes_kubeuser_generates_are_accepted(bits: int) -> None:
    req = csrpolicy.read(pem(build(_rsa(bits))))
    assert (req.key_type, req.key_size) == ("rsa", bits)
    assert csrpolicy.check(req, usages=RSA_USAGES) == []


def test_rsa_1024_is_refused() -> None:
    got = violations(pem(build(_rsa(1024))))
    assert fields(got) == ["key"]
    assert "RSA 1024 bits" in got[0].message


def test_rsa_8192_is_refused() -> None:
    # an 8192-bit public key without generating one (seconds): any odd modulus of that size will do
    n = (1 << 8191) | (0xC0FFEE << 64) | 1
    spki = spki_of(rsa.RSAPublicNumbers(65537, n).public_key())
    req = csrpolicy.read(to_pem(raw_csr(spki)))
    assert (req.key_type, req.key_size) == ("rsa", 8192)
    got = csrpolicy.check(req)
    assert "RSA 8192 bits" in next(v.message for v in got if v.field == "key")


@pytest.mark.parametrize(("curve", "size"), [("p256", 256), ("p384", 384)])
def test_ecdsa_p256_and_p384_are_accepted(curve: str, size: int) -> None:
    req = csrpolicy.read(pem(build(_ec(curve))))
    assert (req.key_type, req.key_size, req.key_text) == ("ecdsa", size, f"ecdsa {size}")
    assert csrpolicy.check(req, usages=EC_USAGES) == []


def test_ecdsa_p521_is_refused() -> None:
    req = csrpolicy.read(pem(build(_ec("p521"))))
    assert req.key_type == "ecdsa-secp521r1"
    got = csrpolicy.check(req)
    assert fields(got) == ["key"]
    assert "ecdsa-secp521r1 keys are not accepted" in got[0].message


def test_ed25519_is_accepted() -> None:
    req = csrpolicy.read(pem(build(ed25519.Ed25519PrivateKey.generate())))
    assert (req.key_type, req.key_size) == ("ed25519", None)
    assert csrpolicy.check(req, usages=EC_USAGES) == []


# --- extensions ------------------------------------------------------------------------------------------------


def test_subject_alternative_names_are_refused() -> None:
    san = x509.SubjectAlternativeName([x509.DNSName("kubernetes.default")])
    got = violations(pem(build(extensions=[san])))
    assert fields(got) == ["extensions"]
    assert "subjectAltName is not allowed" in got[0].message


def test_basic_constraints_are_refused() -> None:
    got = violations(pem(build(extensions=[x509.BasicConstraints(ca=True, path_length=None)])))
    assert fields(got) == ["extensions"]
    assert "basicConstraints is not allowed" in got[0].message


def test_extended_key_usage_server_auth_is_refused() -> None:
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
    got = violations(pem(build(extensions=[eku])))
    assert fields(got) == ["extensions"]
    assert "clientAuth only" in got[0].message
    both = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH])
    assert fields(violations(pem(build(extensions=[both])))) == ["extensions"]


def test_extended_key_usage_client_auth_and_key_usage_are_accepted() -> None:
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    ku = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    req = csrpolicy.read(pem(build(extensions=[eku, ku])))
    assert req.extensions == ["extendedKeyUsage", "keyUsage"]
    assert csrpolicy.check(req) == []


# --- spec.usages ------------------------------------------------------------------------------------------------


def test_usages_exact_set_for_ecdsa_and_ed25519() -> None:
    for key in (_ec("p256"), ed25519.Ed25519PrivateKey.generate()):
        data = pem(build(key))
        assert violations(data, usages=["digital signature", "client auth"]) == []
        got = violations(data, usages=RSA_USAGES)
        assert fields(got) == ["usages"] and "not allowed: key encipherment" in got[0].message


def test_usages_exact_set_for_rsa() -> None:
    data = pem(build(_rsa(2048)))
    assert violations(data, usages=["key encipherment", "client auth", "digital signature"]) == []
    got = violations(data, usages=EC_USAGES)
    assert fields(got) == ["usages"] and "missing: key encipherment" in got[0].message


def test_usages_server_auth_or_missing_client_auth_are_refused() -> None:
    got = violations(pem(build()), usages=["server auth", "digital signature"])
    assert fields(got) == ["usages"]
    assert "not allowed: server auth" in got[0].message and "missing: client auth" in got[0].message
    assert fields(violations(pem(build()), usages=[])) == ["usages"]


def test_usages_are_not_checked_when_not_given() -> None:
    assert violations(pem(build())) == []


# --- lifetime ----------------------------------------------------------------------------------------------------


def test_lifetime_within_max_ttl_passes_and_beyond_fails() -> None:
    data = pem(build())
    assert violations(data, requested_seconds=3600, max_ttl=3600, check_lifetime=True) == []
    got = violations(data, requested_seconds=7200, max_ttl=3600, check_lifetime=True)
    assert fields(got) == ["lifetime"]
    assert got[0].message == "asks for 2h, more than --max-ttl 1h"


def test_no_expiration_seconds_fails_a_max_ttl_and_says_the_signer_default_applies() -> None:
    got = violations(pem(build()), requested_seconds=None, max_ttl=3600, check_lifetime=True)
    assert fields(got) == ["lifetime"]
    assert "no expirationSeconds" in got[0].message and "signer's default" in got[0].message


def test_lifetime_is_only_judged_when_asked_and_with_a_max_ttl() -> None:
    data = pem(build())
    assert violations(data, requested_seconds=10**8, max_ttl=3600) == []  # check_lifetime False
    assert violations(data, requested_seconds=None, max_ttl=None, check_lifetime=True) == []


def test_every_violation_is_reported_at_once() -> None:
    san = x509.SubjectAlternativeName([x509.DNSName("x")])
    data = pem(build(_rsa(1024), cns=["system:node:x"], orgs=["system:masters"], extensions=[san]))
    got = violations(data, usages=["server auth"], requested_seconds=None, max_ttl=600, check_lifetime=True)
    assert sorted(set(fields(got))) == ["CN", "O", "extensions", "key", "lifetime", "usages"]
    assert all(str(v) == f"{v.field}: {v.message}" for v in got)


# --- hostile input -----------------------------------------------------------------------------------------------


def test_garbage_bytes() -> None:
    err = single_line_usage_error(b"\x00\x01garbage\xff" * 10)
    assert "not a readable certificate request" in err.message
    assert err.hint is not None and "BEGIN CERTIFICATE REQUEST" in err.hint


def test_an_empty_file() -> None:
    assert "not a readable certificate request" in single_line_usage_error(b"").message


def test_non_utf8_bytes() -> None:
    assert "not a readable" in single_line_usage_error(bytes(range(128, 256)) * 4).message


def test_a_certificate_instead_of_a_request() -> None:
    ca, _key = pki_factory.make_ca("not-a-csr")
    assert "not a readable" in single_line_usage_error(pki_factory.cert_pem(ca)).message
    assert "not a readable" in single_line_usage_error(ca.public_bytes(serialization.Encoding.DER)).message


def test_a_pem_with_junk_base64() -> None:
    data = b"-----BEGIN CERTIFICATE REQUEST-----\n!!!not*base64$$$\n\x01\x02\n-----END CERTIFICATE REQUEST-----\n"
    assert "not a readable" in single_line_usage_error(data).message


def test_a_truncated_request() -> None:
    assert "not a readable" in single_line_usage_error(der(build())[:-20]).message


def test_more_than_64_kib_is_refused_before_parsing() -> None:
    err = single_line_usage_error(b"A" * (csrpolicy.MAX_CSR_BYTES + 1))
    assert f"at most {csrpolicy.MAX_CSR_BYTES}" in err.message


def test_a_huge_subject_is_a_violation_on_one_short_line() -> None:
    data = pem(build(cns=["a" * 1000], orgs=["o" * 1000]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no Python warning reaches the user's stderr either
        got = csrpolicy.check(csrpolicy.read(data))
    assert sorted(fields(got)) == ["CN", "O"]
    for v in got:
        assert "longer than 64 characters" in v.message
        assert len(v.message) < 120 and "\n" not in v.message


def test_a_hundred_groups() -> None:
    got = violations(pem(build(orgs=[f"g{i}" for i in range(100)])))
    assert fields(got) == ["O"]
    assert got[0].message == f"100 groups; at most {csrpolicy.MAX_GROUPS} are accepted"


def test_duplicate_extensions_are_unreadable_not_a_traceback() -> None:
    basic = _seq(_oid("2.5.29.19"), _tlv(0x04, _seq()))
    attrs = _seq(_oid(EXTENSION_REQUEST), _set(_seq(basic, basic)))
    err = single_line_usage_error(to_pem(raw_csr(spki_of(_ec("p256").public_key()), attributes=attrs)))
    assert "malformed subject or extension" in err.message and "Duplicate" in err.message


def test_an_unknown_key_algorithm_is_unreadable_not_a_traceback() -> None:
    spki = _seq(_seq(_oid("1.2.3.4")), _tlv(0x03, b"\x00\x01\x02"))
    err = single_line_usage_error(raw_csr(spki))
    assert "public key kubeuser cannot read" in err.message


def test_an_unknown_curve_or_a_broken_rsa_key_is_unreadable_not_a_traceback() -> None:
    unknown_curve = _seq(_seq(_oid("1.2.840.10045.2.1"), _oid("1.2.3")), _tlv(0x03, b"\x00\x04"))
    rsa_zero = _seq(
        _seq(_oid("1.2.840.113549.1.1.1"), _tlv(0x05, b"")),
        _tlv(0x03, b"\x00" + _seq(_tlv(0x02, b"\x00"), _tlv(0x02, b"\x01"))),
    )
    for spki in (unknown_curve, rsa_zero):
        assert "public key kubeuser cannot read" in single_line_usage_error(to_pem(raw_csr(spki))).message


def test_a_malformed_extension_value_is_unreadable() -> None:
    bad_san = _seq(_oid("2.5.29.17"), _tlv(0x04, b"\x30\x03\x99\x01\x00"))
    attrs = _seq(_oid(EXTENSION_REQUEST), _set(_seq(bad_san)))
    err = single_line_usage_error(raw_csr(spki_of(_ec("p256").public_key()), attributes=attrs))
    assert "malformed subject or extension" in err.message


def test_spec_request_that_is_not_base64() -> None:
    with pytest.raises(UsageError) as ei:
        csrpolicy.from_manifest_request("not base64 ☃")
    assert ei.value.message == "spec.request is not base64"
    assert csrpolicy.from_manifest_request(base64.b64encode(b"x").decode()) == b"x"
