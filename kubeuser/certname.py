"""The subject common name of a PEM certificate, read from its DER without :mod:`cryptography`.

``create`` records who issued a user (``issued_by``); where the server has no SelfSubjectReview (before
1.27) that is the CN of the admin's client certificate. Importing cryptography for that one field costs
about 0.1 s, as much as the rest of a token identity's API work, so this reads it directly. It answers
only for the plain case (one certificate structure as RFC 5280 lays it out, exactly one CN, a UTF8String,
PrintableString or IA5String); for anything else it returns None and the caller asks :mod:`kubeuser.pki`.
"""

from __future__ import annotations

import base64
import binascii

_CN_OID = b"\x06\x03\x55\x04\x03"  # 2.5.4.3
_STRINGS = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii"}  # UTF8String, PrintableString, IA5String


def _tlv(der: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the element at *pos*; ValueError when it does not fit."""
    if pos + 2 > end:
        raise ValueError("truncated")
    tag, first = der[pos], der[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if not 1 <= n <= 4 or pos + n > end:
            raise ValueError("bad length")
        length = int.from_bytes(der[pos : pos + n], "big")
        pos += n
    if pos + length > end:
        raise ValueError("truncated")
    return tag, pos, pos + length


def _children(der: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out = []
    while start < end:
        tag, v0, v1 = _tlv(der, start, end)
        out.append((tag, v0, v1))
        start = v1
    return out


def common_name(pem: bytes) -> str | None:
    """The subject CN of the first certificate in *pem*, or None when this reader does not answer."""
    text = pem.decode("ascii", "replace")
    begin, end_marker = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    start = text.find(begin)
    stop = text.find(end_marker, start + 1)
    if start < 0 or stop < 0:
        return None
    try:
        der = base64.b64decode("".join(text[start + len(begin) : stop].split()), validate=True)
        tag, c0, c1 = _tlv(der, 0, len(der))
        if tag != 0x30 or c1 != len(der):
            return None
        parts = _children(der, c0, c1)
        if len(parts) != 3 or parts[0][0] != 0x30:
            return None
        tbs = _children(der, parts[0][1], parts[0][2])
        if tbs and tbs[0][0] == 0xA0:  # [0] EXPLICIT version
            tbs = tbs[1:]
        # serialNumber, signature, issuer, validity, subject
        if len(tbs) < 5 or [t for t, _s, _e in tbs[:5]] != [0x02, 0x30, 0x30, 0x30, 0x30]:
            return None
        names = []
        for rdn_tag, r0, r1 in _children(der, tbs[4][1], tbs[4][2]):
            if rdn_tag != 0x31:
                return None
            for atv_tag, a0, a1 in _children(der, r0, r1):
                if atv_tag != 0x30:
                    return None
                if der[a0 : a0 + len(_CN_OID)] != _CN_OID:
                    continue
                value = _children(der, a0 + len(_CN_OID), a1)
                if len(value) != 1 or value[0][0] not in _STRINGS:
                    return None
                vtag, v0, v1 = value[0]
                names.append(der[v0:v1].decode(_STRINGS[vtag]))
    except (ValueError, binascii.Error):  # UnicodeDecodeError is a ValueError
        return None
    return names[0] if len(names) == 1 else None
