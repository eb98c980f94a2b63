"""click's own usage errors (bad value, unknown option, missing argument, option without its value,
unknown command) look like kubeuser's: one ``error:`` line, one ``hint:`` line, exit 2, stdout empty."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kubeuser.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]

# (argv, words of the error line, words of the hint line)
CASES: list[tuple[list[str], str, str]] = [
    (["create", "x", "--days", "abc"], "invalid value for '--days'", "see `kubeuser create --help`"),
    (["create", "x", "--nope"], "no such option: --nope", "see `kubeuser create --help`"),
    (["create", "x", "--tim", "3"], "no such option: --tim", "--timeout"),
    (["create"], "missing argument 'NAME'", "see `kubeuser create --help`"),
    (["create", "x", "-o"], "option '-o' requires an argument", "see `kubeuser create --help`"),
    (["create", "x", "-o", "xml"], "unknown output format 'xml'", "-o json"),  # the bad choice of a format
    (["renew"], "missing argument 'NAME'", "see `kubeuser renew --help`"),
    (["renew", "x", "--timeout", "soon"], "invalid value for '--timeout'", "see `kubeuser renew --help`"),
    (["revoke", "x", "--nope"], "no such option: --nope", "see `kubeuser revoke --help`"),
    (["apply"], "missing option '-f' / '--filename'", "see `kubeuser apply --help`"),
    (["run"], "missing argument 'NAME'", "see `kubeuser run --help`"),
    (["doctor", "--timeout", "abc"], "invalid value for '--timeout'", "see `kubeuser doctor --help`"),
    (["list", "-o"], "option '-o' requires an argument", "see `kubeuser list --help`"),
    (["grant", "x", "--nope"], "no such option: --nope", "did you mean --role? see `kubeuser grant --help`"),
    (["approve", "--max-ttl"], "option '--max-ttl' requires an argument", "see `kubeuser approve --help`"),
    (["request"], "missing argument 'NAME'", "see `kubeuser request --help`"),
    (["import"], "missing argument 'FILE'", "see `kubeuser import --help`"),
    (["nosuchcmd"], "no such command 'nosuchcmd'", "see `kubeuser --help`"),
    (["creat", "x"], "no such command 'creat'", "did you mean 'create'"),
    (["--nope"], "no such option: --nope", "see `kubeuser --help`"),
]


def _one_error(code: int, out: str, err: str, message: str, hint: str) -> None:
    lines = err.splitlines()
    assert code == ExitCode.USAGE, err
    assert out == ""
    assert [line for line in lines if line.startswith("error:")] == lines[:1] and len(lines) == 2, err
    assert message in lines[0], err
    assert lines[1].startswith("hint: ") and hint in lines[1], err
    assert "Usage:" not in err and "Traceback" not in err and "Error:" not in err


@pytest.mark.parametrize(("args", "message", "hint"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_click_usage_errors_are_kubeuser_errors(cli: Any, args: list[str], message: str, hint: str) -> None:
    code, out, err = cli(*args)
    _one_error(code, out, err, message, hint)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KUBEUSER_DEBUG", "COLUMNS")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


@pytest.mark.parametrize(
    ("args", "message", "hint"), CASES[::3] + CASES[1::6], ids=[" ".join(c[0]) for c in CASES[::3] + CASES[1::6]]
)
def test_usage_errors_of_a_real_process(args: list[str], message: str, hint: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kubeuser", *args], capture_output=True, text=True, timeout=60, env=_env(), cwd=ROOT
    )
    _one_error(proc.returncode, proc.stdout, proc.stderr, message, hint)


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["create", "x", "--days", "abc"], "see `kubectl user create --help`"),
        (["create", "x", "-o"], "see `kubectl user create --help`"),
        (["grant", "x", "--nope"], "did you mean --role? see `kubectl user grant --help`"),
        (["nosuchcmd"], "see `kubectl user --help`"),
    ],
)
def test_the_kubectl_plugin_names_itself_in_the_hint(args: list[str], hint: str) -> None:
    code = "import sys; sys.argv[0] = '/usr/local/bin/kubectl-user'; from kubeuser.entry import main; main()"
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60, env=_env(), cwd=ROOT
    )
    assert proc.returncode == ExitCode.USAGE and proc.stdout == ""
    assert proc.stderr.splitlines()[1] == f"hint: {hint}", proc.stderr


def test_no_arguments_still_shows_the_help(cli: Any) -> None:
    code, out, err = cli()
    assert code == ExitCode.USAGE and "Commands:" in out + err and "error:" not in err
