"""Timeouts are numbers of seconds and durations have one grammar: NaN, inf, negatives and half-written
durations are one ``error:`` line and exit 2 for every option that takes them."""

from __future__ import annotations

from typing import Any

import pytest

from kubeuser import durations, files
from kubeuser.errors import ExitCode, UsageError
from kubeuser.workflows import cleanup as cleanupwf

# every command with a --timeout, and what else it needs to get that far
TIMEOUT_COMMANDS = [
    ["create", "x"],
    ["renew", "x"],
    ["run", "x", "{timeout}", "--", "true"],
    ["apply", "-f", "users.yaml"],
    ["doctor"],
    ["preflight"],
]


def _with_timeout(base: list[str], value: str) -> list[str]:
    if "{timeout}" in base:
        i = base.index("{timeout}")
        return [*base[:i], "--timeout", value, *base[i + 1 :]]
    return [*base, "--timeout", value]


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "-1", "0", "1e9"])
@pytest.mark.parametrize("base", TIMEOUT_COMMANDS, ids=[c[0] for c in TIMEOUT_COMMANDS])
def test_every_timeout_refuses_what_is_not_a_wait(cli: Any, env: dict[str, Any], base: list[str], value: str) -> None:
    code, out, err = cli(*_with_timeout(base, value))
    assert code == ExitCode.USAGE, err
    assert out == "" and err.splitlines()[0].startswith("error: --timeout must be a number of seconds"), err
    assert len([ln for ln in err.splitlines() if ln.startswith("error:")]) == 1 and "within" not in err
    assert sum(env["gw"].calls.values()) == 0  # refused before any API call


def test_doctor_timeout_nan_is_not_a_report(cli: Any) -> None:
    code, out, err = cli("doctor", "--timeout", "nan")
    assert code == ExitCode.USAGE and out == ""
    assert err == (
        "error: --timeout must be a number of seconds, more than 0 and at most 86400, not nan\n"
        "hint: e.g. --timeout 30\n"
    )


@pytest.mark.parametrize("value", [0.5, 3, 86400])
def test_a_sane_timeout_passes(value: float) -> None:
    assert durations.timeout(value, "--timeout") == value


@pytest.mark.parametrize(
    ("raw", "ok"), [("0", 0.0), ("2.5", 2.5), ("nan", None), ("inf", None), ("-1", None), ("x", None)]
)
def test_lock_timeout_env(monkeypatch: pytest.MonkeyPatch, raw: str, ok: float | None) -> None:
    monkeypatch.setenv(files.LOCK_TIMEOUT_ENV, raw)
    if ok is not None:
        assert files.lock_timeout() == ok  # 0: try once, do not wait
        return
    with pytest.raises(UsageError) as ei:
        files.lock_timeout()
    assert ei.value.exit_code == ExitCode.USAGE and files.LOCK_TIMEOUT_ENV in ei.value.message


@pytest.mark.parametrize("text", ["1h30", "30m1", "1h 30", "h", "-5m", "nan", "inf", "1.5h", ""])
def test_one_grammar_for_ttl_and_min_age(text: str) -> None:
    with pytest.raises(UsageError):
        durations.parse(text)
    with pytest.raises(UsageError):
        cleanupwf.parse_age(text)


@pytest.mark.parametrize(("text", "seconds"), [("1h30m", 5400), ("90", 90), ("0", 0), ("5m", 300), ("2w", 1209600)])
def test_min_age_is_the_duration_parser_with_no_minimum(text: str, seconds: int) -> None:
    assert cleanupwf.parse_age(text) == seconds
    if seconds >= durations.MIN_SECONDS:
        assert durations.parse(text) == seconds
    else:
        with pytest.raises(UsageError, match="10-minute minimum"):
            durations.parse(text)


def test_each_caller_passes_its_minimum() -> None:
    assert durations.parse("5m", minimum=60) == 300
    with pytest.raises(UsageError, match="shorter than 2m"):
        durations.parse("90s", minimum=120)


@pytest.mark.parametrize(
    "args",
    [
        ["cleanup", "--min-age", "1h30"],
        ["create", "x", "--ttl", "1h30"],
        ["run", "x", "--ttl", "1h30", "--", "true"],
        ["approve", "--max-ttl", "1h30"],
    ],
)
def test_half_written_durations_are_refused_everywhere(cli: Any, args: list[str]) -> None:
    code, out, err = cli(*args)
    assert code == ExitCode.USAGE and out == "", err
    assert "cannot read duration '1h30'" in err.splitlines()[0]
