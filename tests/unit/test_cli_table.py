"""The command table and the fast start it allows (issue 8).

- ``kubeuser --help`` prints the pre-rendered text of :mod:`kubeuser.cli.roothelp` without importing
  typer, and that text is exactly what typer prints (checked at several widths and for both names;
  that the generated file is current is checked in test_docs.py);
- the table and the command modules agree (a command missing from either side fails here);
- a run builds and imports only the command it invokes.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import kubeuser.cli
from kubeuser.cli.commands import BY_NAME, COMMANDS

ROOT = Path(__file__).resolve().parents[2]
NOT_COMMAND_MODULES = {"app", "commands", "roothelp"}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "KUBEUSER_DEBUG")}
    env.update(extra)
    return env


def _python(code: str, *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=120, env=env or _env(), cwd=ROOT,
    )  # fmt: skip


# What typer itself prints for `PROG --help`, bypassing kubeuser's fast path.
_TYPER_HELP = """
    from kubeuser.cli.app import app
    try:
        app(args=["--help"], prog_name={prog!r})
    except SystemExit as exc:
        assert exc.code in (0, None), exc.code
"""

# kubeuser's main(): the fast path; reports whether typer was imported.
_FAST_HELP = """
    import sys
    sys.argv[0] = {argv0!r}
    from kubeuser.cli import main
    try:
        main([{flag!r}])
    except SystemExit as exc:
        code = exc.code
    sys.stderr.write(repr((code, "typer" in sys.modules, "kubeuser.cli.app" in sys.modules)))
"""


def _typer_help(prog: str, columns: str) -> str:
    proc = _python(_TYPER_HELP.format(prog=prog), env=_env(COLUMNS=columns))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _fast_help(argv0: str, flag: str, **env: str) -> tuple[str, tuple[int, bool, bool]]:
    proc = _python(_FAST_HELP.format(argv0=argv0, flag=flag), env=_env(**env))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, eval(proc.stderr.strip().splitlines()[-1])  # a repr of (int, bool, bool)


@pytest.mark.parametrize("columns", ["80", "132", ""])
@pytest.mark.parametrize(("argv0", "prog"), [("/usr/bin/kubeuser", "kubeuser"), ("kubectl-user", "kubectl user")])
def test_root_help_is_typers_text_without_importing_typer(columns: str, argv0: str, prog: str) -> None:
    env = {"COLUMNS": columns} if columns else {}  # "" = not a terminal and no $COLUMNS: click uses 80
    for flag in ("--help", "-h"):
        out, (code, typer_loaded, app_loaded) = _fast_help(argv0, flag, **env)
        assert (code, typer_loaded, app_loaded) == (0, False, False)
        assert out == _typer_help(prog, columns or "80")
        assert out.startswith(f"Usage: {prog} [OPTIONS] COMMAND [ARGS]...\n")
        column = max(len(c.name) for c in COMMANDS) + 2
        for command in COMMANDS:
            assert f"\n  {command.name.ljust(column)}{command.summary}\n" in out


def test_narrow_terminal_falls_back_to_typer_and_lists_every_command() -> None:
    out, (code, typer_loaded, _) = _fast_help("kubeuser", "--help", COLUMNS="60")
    assert (code, typer_loaded) == (0, True)
    assert out == _typer_help("kubeuser", "60")
    assert max(len(line) for line in out.splitlines()) <= 58
    for command in COMMANDS:
        assert f"\n  {command.name}" in out


def test_table_and_command_modules_agree() -> None:
    """Every row names a module that defines that command; every command a module defines has a row."""
    from kubeuser.cli.app import app

    modules = sorted(m.name for m in pkgutil.iter_modules(kubeuser.cli.__path__) if m.name not in NOT_COMMAND_MODULES)
    for name in modules:
        importlib.import_module(f"kubeuser.cli.{name}")
    defined = {}
    for info in app.registered_commands:
        assert info.callback is not None
        module = info.callback.__module__.rsplit(".", 1)[-1]
        defined[info.name or info.callback.__name__.replace("_", "-")] = module
    assert defined == {c.name: c.module for c in COMMANDS}
    assert sorted({c.module for c in COMMANDS}) == modules
    assert len(BY_NAME) == len(COMMANDS), "duplicate command names in the table"
    for c in COMMANDS:
        assert c.summary.endswith(".") and len(c.summary) <= 62 and "\n" not in c.summary, c


def test_a_run_builds_only_its_command() -> None:
    proc = _python(
        """
        import contextlib, io, json, sys
        from kubeuser.cli import main
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                main(["show", "--help"])
            except SystemExit as exc:
                code = exc.code
        print(json.dumps({
            "code": code,
            "usage": out.getvalue().splitlines()[0],
            "modules": sorted(m for m in sys.modules if m.startswith("kubeuser.cli.")),
        }))
        """
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["code"] == 0
    assert report["usage"].startswith("Usage: kubeuser show [OPTIONS]") and "NAME" in report["usage"]
    # users.py (list, show) was imported; no other command module was
    assert report["modules"] == ["kubeuser.cli.app", "kubeuser.cli.commands", "kubeuser.cli.users"]


def test_lazy_group_lists_the_table_and_builds_a_command_once() -> None:
    """click's lazy group: list_commands is the table; get_command builds (once) the command asked for."""
    proc = _python(
        """
        import json, sys
        import typer, typer.main
        from kubeuser.cli.app import KubeuserCommand, app

        group = typer.main.get_command(app)
        ctx = typer.Context(group, info_name="kubeuser")
        listed = group.list_commands(ctx)
        before = sorted(m for m in sys.modules if m.startswith("kubeuser.cli."))
        create = group.get_command(ctx, "create")
        print(json.dumps({
            "listed": listed,
            "before": before,
            "built": sorted(group.commands),
            "again": group.get_command(ctx, "create") is create,
            "unknown": group.get_command(ctx, "nope") is None,
            "name": create.name,
            "short_help": create.short_help,
            "days": [p.name for p in create.params if p.name == "days"],
            "class": isinstance(create, KubeuserCommand),
        }))
        """
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["listed"] == [c.name for c in COMMANDS]
    assert report["before"] == ["kubeuser.cli.app", "kubeuser.cli.commands"]  # listing imports no command module
    assert report["built"] == ["create"] and report["again"] and report["unknown"]
    assert (report["name"], report["short_help"], report["days"]) == ("create", BY_NAME["create"].summary, ["days"])
    assert report["class"]


def test_unknown_command_suggests_the_close_one(capsys: pytest.CaptureFixture[str]) -> None:
    from kubeuser.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["revok", "x"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines() == ["error: no such command 'revok'", "hint: did you mean 'revoke'? see `kubeuser --help`"]


@pytest.mark.parametrize(
    "args", [["--help"], ["-h"], ["--version"], ["create", "--help"]], ids=["help", "h", "version", "create-help"]
)
@pytest.mark.parametrize("columns", ["80", "60"])  # 60: the root help through typer
def test_a_closed_stdout_ends_quietly(args: list[str], columns: str) -> None:
    """`kubeuser … | head -1`: when the reader is gone, exit 1 without a traceback (like kubectl)."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read: the first write fails with EPIPE
    try:
        proc = subprocess.run(
            [sys.executable, "-c", "import sys; from kubeuser.entry import main; sys.argv[0] = 'kubeuser'; main()",
             *args],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60, env=_env(COLUMNS=columns), cwd=ROOT,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (1, "")


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["create", "--help"]], ids=["help", "version", "create"])
def test_a_closed_stdout_at_start_is_not_a_crash(args: list[str]) -> None:
    """`kubeuser --help >&-`: Python starts with sys.stdout = None; the output is discarded, exit 0."""
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from kubeuser.entry import main; sys.argv[0] = 'kubeuser'; main()", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60, env=_env(), cwd=ROOT,
        preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    assert (proc.returncode, proc.stderr) == (0, "")
