"""Durations: ``10m`` / ``2h`` / ``30d`` / ``1h30m`` ⇄ seconds, with the API's 600 s floor."""

from __future__ import annotations

import re

from kubeuser.errors import UsageError

MIN_SECONDS = 600  # certificates.k8s.io/v1 spec.expirationSeconds minimum
MAX_SECONDS = 10 * 365 * 86400

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+)([smhdw])")


def parse(text: str) -> int:
    """Seconds for ``text``: units s, m, h, d, w, combinable (``1h30m``); a bare number is seconds."""
    return check(_seconds(text), _shown(text))


def parse_window(text: str, flag: str) -> int:
    """A look-ahead window such as ``list --expiring 7d``: like :func:`parse`, without the certificate bounds."""
    seconds = _seconds(text)
    if seconds > MAX_SECONDS:
        raise UsageError(f"{flag}: duration {_shown(text)} is longer than 10 years", hint="use a shorter duration")
    return seconds


def _seconds(text: str) -> int:
    t = text.strip().lower()
    shown = _shown(text)
    if len(t) > 40:
        raise UsageError(f"cannot read duration {shown!r}: too long", hint="use e.g. 10m, 2h, 7d, 1h30m")
    if t.isascii() and t.isdigit():
        seconds = int(t)
    else:
        pos = 0
        seconds = 0
        for m in _PART.finditer(t):
            if m.start() != pos:
                break
            seconds += int(m.group(1)) * _UNITS[m.group(2)]
            pos = m.end()
        if pos != len(t) or not t:
            raise UsageError(
                f"cannot read duration {shown!r}",
                hint="use a number with a unit: 10m, 2h, 7d, 1h30m (units s, m, h, d, w)",
            )
    return seconds


def _shown(text: str) -> str:
    """The input as it may appear in a one-line message: stripped, control characters escaped, bounded."""
    s = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text.strip())
    return s if len(s) <= 40 else s[:40] + "…"


def check(seconds: int, shown: str | None = None) -> int:
    shown = shown if shown is not None else format(seconds)
    if seconds < MIN_SECONDS:
        raise UsageError(
            f"duration {shown} is shorter than the 10-minute minimum Kubernetes accepts",
            hint="use --ttl 10m or longer",
        )
    if seconds > MAX_SECONDS:
        raise UsageError(f"duration {shown} is longer than 10 years", hint="use a shorter duration")
    return seconds


def from_days(days: int) -> int:
    if days <= 0:
        raise UsageError(f"--days must be positive, got {days}", hint="e.g. --days 30")
    return check(days * 86400, f"{days}d")


def format(seconds: float) -> str:
    """Compact human rendering: 2592000 → ``30d``, 5400 → ``1h30m``, 0 → ``0s``."""
    s = round(seconds)
    neg = s < 0
    s = abs(s)
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= size:
            n, s = divmod(s, size)
            parts.append(f"{n}{unit}")
    text = "".join(parts[:2]) or "0s"
    return f"-{text}" if neg else text
