"""``kubeuser COMMAND --help`` reads like a manual, for every command of the table and with every supported typer
(CI's floors job runs this module with the lowest typer, the other jobs with the newest):

- no Python types as placeholders (``<int>``, ``<list[str]>``, ``{NAME}``, ``TEXT``, ``INTEGER``, ``FLOAT``);
- every option that takes a value shows the metavar it declares (``--days DAYS``), flags show none;
- an ``Examples:`` section, whose commands are never broken across lines (a long one continues with `` \\``),
  fit the width click formats to, and parse as a real invocation of the command.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kubeuser.cli import main
from kubeuser.cli.commands import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
NAMES = [c.name for c in COMMANDS]
# COLUMNS → the width click formats help to: min(columns, 80) - 2
WIDTHS = {"80": 78, "60": 58}
# typer 0.29's type labels (<int>, <list[str]>, <float range>, …), {NAME} for a required argument, click's names
PLACEHOLDERS = re.compile(
    r"<(?:list\[|tuple\[)*(?:str|int|float|bool|path|datetime|uuid|file|text)\b[^>]*>|\{[A-Za-z_.]+\}"
    r"|\b(?:TEXT|INTEGER|FLOAT|BOOLEAN)\b"
)
METAVAR = re.compile(r"[A-Z][A-Z0-9_]*")


def _help(name: str, columns: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.setenv("COLUMNS", columns)
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    out, err = capsys.readouterr()
    assert (exc.value.code, err) in ((0, ""), (None, "")), err
    return out


def _command(name: str) -> Any:
    import typer
    import typer.main

    from kubeuser.cli.app import app

    group = typer.main.get_command(app)
    return group.get_command(typer.Context(group, info_name="kubeuser"), name)  # type: ignore[attr-defined]


def _options(name: str) -> list[Any]:
    return [p for p in _command(name).params if p.param_type_name == "option" and not p.hidden]


def examples(text: str) -> list[tuple[str, list[str]]]:
    """The ``Examples:`` section of a help text: (command line as one string, its rendered lines) for each
    example, continuation lines (after a trailing ``\\``) joined. Prose after the examples ends the section."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == "Examples:")
    indent = len(lines[start]) - len(lines[start].lstrip())
    found: list[tuple[str, list[str]]] = []
    for line in lines[start + 1 :]:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if len(line) - len(line.lstrip()) <= indent:  # back at the epilog's own indentation: prose
            break
        if found and found[-1][0].endswith("\\"):
            command, rendered = found[-1]
            found[-1] = (command[:-1].rstrip() + " " + line.strip(), [*rendered, line])
        else:
            found.append((line.strip(), [line]))
    return found


@pytest.fixture(params=[(n, c) for n in NAMES for c in sorted(WIDTHS)], ids=lambda p: f"{p[0]}-{p[1]}")
def rendered(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[str, str, str]:
    """(command, COLUMNS, ``kubeuser COMMAND --help`` at that width), for every command and both widths."""
    name, columns = request.param
    return name, columns, _help(name, columns, monkeypatch, capsys)


def test_help_has_no_python_type_placeholders(rendered: tuple[str, str, str]) -> None:
    name, _, text = rendered
    assert text.startswith(f"Usage: kubeuser {name} [OPTIONS]")
    found = [m.group(0) for m in PLACEHOLDERS.finditer(text)]
    assert not found, f"`kubeuser {name} --help` shows placeholders {found}:\n{text}"


@pytest.mark.parametrize("name", NAMES)
def test_every_option_that_takes_a_value_shows_its_metavar(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help(name, "80", monkeypatch, capsys)
    section = text.split("\nOptions:\n", 1)[1].split("\n\n", 1)[0]
    rows = [ln for ln in section.splitlines() if re.match(r"  -", ln)]  # a row's first line names its option
    for param in _options(name):
        longest = max(param.opts, key=len)
        (row,) = [r for r in rows if re.search(rf"(^  |, ){re.escape(longest)}( |$)", r)]
        label = re.split(r"\s{2,}", row.strip())[0]
        after = label.split(longest, 1)[1].strip()
        if param.is_flag or param.count:
            assert after == "", f"`kubeuser {name}`: the flag {longest} shows a value {after!r}"
        else:
            assert param.metavar and METAVAR.fullmatch(param.metavar), f"{name} {longest}: metavar {param.metavar!r}"
            assert after == param.metavar, f"`kubeuser {name} --help`: {row.strip()!r} lacks {param.metavar}"


def test_examples_are_whole_commands_within_the_width(rendered: tuple[str, str, str]) -> None:
    name, columns, text = rendered
    width = WIDTHS[columns]
    assert "\nExamples:" in "\n" + "\n".join(ln.strip() for ln in text.splitlines()), f"{name}: no examples"
    found = examples(text)
    assert found, f"`kubeuser {name} --help` has an Examples: section without a command"
    for command, lines in found:
        # a line of an example that neither starts a command nor continues one is a command broken by wrapping
        assert command.startswith(f"kubeuser {name}"), f"{name} --help: broken example line {lines[0]!r}"
        assert not command.endswith("\\"), f"{name} --help: {command!r} continues into nothing"
        for line in lines:
            assert len(line) <= width, f"`kubeuser {name} --help` at {columns} columns: {line!r} is wider"
    long_lines = [ln for ln in text.splitlines() if len(ln) > width]
    assert not long_lines, f"`kubeuser {name} --help` at {columns} columns: lines wider than {width}: {long_lines}"


@pytest.mark.parametrize("name", NAMES)
def test_examples_parse_as_the_command(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each example is a real invocation: its options exist and its values convert (nothing runs)."""
    command = _command(name)
    for line, _ in examples(_help(name, "80", monkeypatch, capsys)):
        words = shlex.split(line)
        args = words[2 : words.index("|")] if "|" in words else words[2:]
        ctx = command.make_context(name, args)  # raises click's UsageError on an unknown option or a bad value
        assert not ctx.args or name == "run", f"{line!r}: left over {ctx.args}"


def test_examples_parser_sees_a_wrapped_command() -> None:
    """The check above fails for what click does to an epilog paragraph without ``\\b``: it rewraps it."""
    wrapped = "Usage: x\n\n  Examples:\n\n    kubeuser create user01 --group dev --days 30 --rule\n    get,list:pods\n"
    (first, second) = examples(wrapped)
    assert first[0].startswith("kubeuser create") and not second[0].startswith("kubeuser ")


def test_a_real_process_prints_the_same_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("KUBEUSER_DEBUG",)}
    env.update(COLUMNS="80", PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    proc = subprocess.run(
        [sys.executable, "-m", "kubeuser", "create", "--help"], capture_output=True, text=True, timeout=60, env=env
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == _help("create", "80", monkeypatch, capsys)
