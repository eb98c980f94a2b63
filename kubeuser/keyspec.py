"""Key types and sizes, and the check of a ``--key-type``/``--key-size`` pair.

Apart from :mod:`kubeuser.pki` so that checking options needs no :mod:`cryptography` (a token identity
makes no key, and importing it is a noticeable part of a short command's start); :mod:`kubeuser.pki`
re-exports everything here.
"""

from __future__ import annotations

from typing import Final, Literal

from kubeuser.errors import UsageError

KeyType = Literal["ecdsa", "rsa", "ed25519"]
KEY_TYPES: Final[tuple[KeyType, ...]] = ("ecdsa", "rsa", "ed25519")
#: Allowed sizes per key type (bits; for ECDSA the curve size). Ed25519 takes no size.
KEY_SIZES: Final[dict[KeyType, tuple[int, ...]]] = {
    "ecdsa": (256, 384),
    "rsa": (2048, 3072, 4096),
    "ed25519": (),
}
DEFAULT_KEY_SIZES: Final[dict[KeyType, int | None]] = {"ecdsa": 256, "rsa": 2048, "ed25519": None}


def validate_key_spec(key_type: str, key_size: int | None) -> tuple[KeyType, int | None]:
    """Normalise and check a ``--key-type``/``--key-size`` pair.

    Returns ``(key_type, size)`` with the default size filled in (ECDSA 256, RSA
    2048, Ed25519 ``None``). Raises :class:`UsageError` for anything else.
    """
    kt = key_type.strip().lower() if isinstance(key_type, str) else key_type
    if kt not in KEY_TYPES:
        raise UsageError(
            f"unsupported key type {key_type!r}",
            hint="use one of: " + ", ".join(KEY_TYPES),
        )
    checked: KeyType = kt
    if key_size is not None and (isinstance(key_size, bool) or not isinstance(key_size, int)):
        raise UsageError(f"key size must be an integer, got {key_size!r}")
    allowed = KEY_SIZES[checked]
    if checked == "ed25519":
        if key_size is not None:
            raise UsageError(
                f"ed25519 keys have a fixed size; --key-size {key_size} is not allowed",
                hint="omit --key-size for ed25519 (or use --key-type ecdsa / rsa)",
            )
        return checked, None
    if key_size is None:
        return checked, DEFAULT_KEY_SIZES[checked]
    if key_size not in allowed:
        what = "curve size" if checked == "ecdsa" else "key size"
        raise UsageError(
            f"unsupported {checked} {what} {key_size}",
            hint=f"allowed {checked} sizes: "
            + ", ".join(str(s) for s in allowed)
            + f" (default {DEFAULT_KEY_SIZES[checked]})",
        )
    return checked, key_size
