"""Durations: ``10m`` / ``2h`` / ``30d`` / ``1h30m`` ⇄ seconds: one grammar for every duration option
(``--ttl``, ``--max-ttl``, ``--renew-before``, ``--min-age``, ``ttl:`` in users files), each caller passing
its minimum (the API's 600 s floor by default); :func:`timeout` for plain seconds (``--timeout``) and
:func:`request_timeout` for kubectl's ``--request-timeout``."""

from __future__ import annotations

import re

from kubeuser import errors
from kubeuser.errors import UsageError

MIN_SECONDS = 600  # certificates.k8s.io/v1 spec.expirationSeconds minimum
MAX_SECONDS = 10 * 365 * 86400

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+)([smhdw])")


def parse(text: str, *, minimum: int = MIN_SECONDS) -> int:
    """Seconds for ``text``: units s, m, h, d, w, combinable (``1h30m``); a bare number is seconds, but a
    number without a unit after one with (``1h30``) is refused. UsageError below *minimum* or above 10 years."""
    t = text.strip().lower()
    shown = errors.shown(text)
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
    return check(seconds, shown, minimum=minimum)


def parse_window(text: str, flag: str) -> int:
    """A look-ahead window such as ``list --expiring 7d``: any duration from 0 up to 10 years."""
    try:
        return parse(text, minimum=0)
    except UsageError as exc:
        exc.message = f"{flag}: {exc.message}"
        raise


def check(seconds: int, shown: str | None = None, *, minimum: int = MIN_SECONDS) -> int:
    shown = shown if shown is not None else format(seconds)
    if seconds < minimum:
        if minimum == MIN_SECONDS:
            raise UsageError(
                f"duration {shown} is shorter than the 10-minute minimum Kubernetes accepts",
                hint="use --ttl 10m or longer",
            )
        raise UsageError(f"duration {shown} is shorter than {format(minimum)}", hint=f"use {format(minimum)} or longer")
    if seconds > MAX_SECONDS:
        raise UsageError(f"duration {shown} is longer than 10 years", hint="use a shorter duration")
    return seconds


def from_days(days: int) -> int:
    if days <= 0:
        raise UsageError(f"--days must be positive, got {days}", hint="e.g. --days 30")
    return check(days * 86400, f"{days}d")


MAX_TIMEOUT = 86400.0  # a day: no wait kubeuser does (signer, probe, lock) needs more


def timeout(value: float, flag: str, *, zero: bool = False) -> float:
    """*value* if it is a usable number of seconds to wait: finite, positive (or 0 when *zero* allows it),
    at most a day; else UsageError (exit 2) naming *flag*. NaN, inf and negatives never pass."""
    import math

    low_ok = value >= 0 if zero else value > 0
    if not (math.isfinite(value) and low_ok and value <= MAX_TIMEOUT):
        shown = f"{value:g}"
        what = "0 or more" if zero else "more than 0"
        raise UsageError(
            f"{flag} must be a number of seconds, {what} and at most {int(MAX_TIMEOUT)}, not {shown}",
            hint=f"e.g. {flag} 30",
        )
    return value


def request_timeout(text: str, flag: str = "--request-timeout") -> float:
    """kubectl's ``--request-timeout``: a duration (``30s``, ``1m``, ``1m30s``) or plain seconds, at most a
    day; ``0`` means no timeout. UsageError (exit 2) naming *flag* otherwise."""
    return timeout(float(parse_window(text, flag)), flag, zero=True)


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


def rough(seconds: float) -> str:
    """A measured duration for people: whole hours past a day, whole minutes past a minute.

    ``364d23h59m`` → ``365d``, ``9m59s`` → ``10m``, ``1d5s`` → ``1d`` (clocks and issuance take a moment).
    """
    if abs(seconds) >= 86400:
        seconds = round(seconds / 3600) * 3600
    elif abs(seconds) >= 60:
        seconds = round(seconds / 60) * 60
    return format(seconds)
