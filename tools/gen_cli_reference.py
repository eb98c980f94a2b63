#!/usr/bin/env python3
"""Generate docs/reference/cli.md from the kubeuser CLI itself.

Walks the click command tree that typer builds (``typer.main.get_command(app)``): every command
and sub-command, its usage, help, arguments and options with defaults, plus the exit-code table
from :class:`kubeuser.errors.ExitCode`. New commands appear without touching this script.

    python tools/gen_cli_reference.py           # (re)write docs/reference/cli.md and kubeuser/cli/roothelp.py
    python tools/gen_cli_reference.py --check   # exit 1 if the committed file is stale
    python tools/gen_cli_reference.py --stdout  # print instead of writing

The output depends only on what the commands declare (names, help strings, defaults, Python
types), never on the terminal width or on how a typer/click version formats ``--help``, so the
same source gives the same file on every supported Python.
"""

from __future__ import annotations

import argparse
import enum
import inspect
import pathlib
import re
import sys
import textwrap
import types
import typing
from collections.abc import Iterator
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "reference" / "cli.md"
ROOT_HELP = ROOT / "kubeuser" / "cli" / "roothelp.py"
ROOT_HELP_WIDTH = 78  # what click formats to on any terminal ≥ 80 columns, and when not a terminal
PROG = "kubeuser"
REGENERATE = "python tools/gen_cli_reference.py"

# typer adds these two to the root command; their wording depends on the typer version and on
# shell detection, so the reference states them in fixed words.
_FIXED_HELP = {
    "install_completion": "Install completion for the current shell (bash, zsh, fish, PowerShell).",
    "show_completion": "Show completion for the current shell, to copy it or customize the installation.",
}

# click ParamType names and Python annotations → one vocabulary
# click's type names, and the short ones some typer versions give the same types (0.28: str, int, bool)
_CLICK_TYPES = {"text": "TEXT", "string": "TEXT", "str": "TEXT", "integer": "INTEGER", "int": "INTEGER",
                "float": "FLOAT", "path": "PATH", "file": "FILE", "boolean": "BOOLEAN", "bool": "BOOLEAN",
                "uuid": "UUID", "datetime": "DATETIME"}  # fmt: skip
_PY_TYPES: dict[Any, str] = {str: "TEXT", int: "INTEGER", float: "FLOAT", bool: "BOOLEAN", pathlib.Path: "PATH"}


def _import_app() -> Any:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from kubeuser.cli.app import app

    return app


def root_command() -> Any:
    import typer.main

    return typer.main.get_command(_import_app())


# --------------------------------------------------------------------------------------- params
def _is_argument(param: Any) -> bool:
    return getattr(param, "param_type_name", "") == "argument" or type(param).__name__.endswith("Argument")


def _unwrap(annotation: Any) -> Any:
    """``list[str] | None`` → ``str``; ``Optional[int]`` → ``int``."""
    while True:
        origin = typing.get_origin(annotation)
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = origin in (typing.Union, types.UnionType) and len(args) == 1
        container = origin in (list, tuple, set, frozenset, typing.Annotated) and bool(args)
        if not (optional or container):
            return annotation
        annotation = args[0]


def type_name(param: Any) -> str:
    descriptor = getattr(param, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", None)
    if annotation is not None:
        t = _unwrap(annotation)
        if isinstance(t, type) and issubclass(t, enum.Enum):
            return "|".join(str(m.value) for m in t)
        if typing.get_origin(t) is typing.Literal:
            return "|".join(str(a) for a in typing.get_args(t))
        if t in _PY_TYPES:
            return _PY_TYPES[t]
        return getattr(t, "__name__", str(t)).upper()
    ptype = getattr(param, "type", None)
    if ptype is None:
        return "TEXT"
    choices = getattr(ptype, "choices", None)
    if choices:
        return "|".join(str(getattr(c, "value", c)) for c in choices)
    name = str(getattr(ptype, "name", "text")).lower()
    return _CLICK_TYPES.get(name, name.upper())


def _is_flag(param: Any) -> bool:
    return bool(getattr(param, "is_flag", False)) and not bool(getattr(param, "count", False))


def default_text(param: Any) -> str:
    if getattr(param, "required", False):
        return "required"
    default = getattr(param, "default", None)
    if callable(default):
        return "(computed)"
    if _is_flag(param):
        return "on" if default is True else "off"
    if default is None or (isinstance(default, (list, tuple)) and not default) or default == "":
        return "—"
    if isinstance(default, enum.Enum):
        default = default.value
    if isinstance(default, (list, tuple)):
        return ", ".join(f"`{d}`" for d in default)
    return f"`{default}`"


_ESCAPES = str.maketrans({"|": r"\|", "*": r"\*", "_": r"\_", "<": "&lt;", ">": "&gt;", "[": r"\[", "]": r"\]"})


def md(text: str) -> str:
    """Plain help text → safe inside a Markdown table cell (one line, nothing interpreted)."""
    return " ".join(text.split()).translate(_ESCAPES)


def param_help(param: Any) -> str:
    text = _FIXED_HELP.get(param.name) or getattr(param, "help", None) or ""
    extra = []
    if getattr(param, "multiple", False) and "repeatable" not in text.lower():
        extra.append("Repeatable.")
    envvar = getattr(param, "envvar", None)
    if envvar:
        names = [envvar] if isinstance(envvar, str) else list(envvar)
        extra.append("Environment: " + ", ".join(f"${n}" for n in names) + ".")
    if getattr(param, "deprecated", False):
        extra.append("Deprecated.")
    cell = md(text)
    if extra:
        cell = (cell + " " if cell else "") + md(" ".join(extra))
    return cell


def option_names(param: Any) -> str:
    names = [*param.opts, *getattr(param, "secondary_opts", [])]
    return ", ".join(f"`{n}`" for n in names)


def argument_metavar(param: Any) -> str:
    name = getattr(param, "metavar", None) or param.name.upper()
    name = str(name).strip("{}<>[]")
    if (getattr(param, "nargs", 1) == -1 or getattr(param, "multiple", False)) and not name.endswith("..."):
        name += "..."
    return name if getattr(param, "required", False) else f"[{name}]"


# ------------------------------------------------------------------------------------- commands
def _visible(params: list[Any]) -> list[Any]:
    return [p for p in params if not getattr(p, "hidden", False)]


def _subcommands(cmd: Any) -> list[tuple[str, Any]]:
    """A group's commands, asked as click asks a group (the root builds each one lazily)."""
    if not hasattr(cmd, "list_commands"):
        return []
    import typer

    ctx = typer.Context(cmd, info_name=cmd.name)
    found = ((n, cmd.get_command(ctx, n)) for n in cmd.list_commands(ctx))
    return sorted(((n, c) for n, c in found if c is not None and not getattr(c, "hidden", False)), key=lambda nc: nc[0])


def walk(cmd: Any, path: tuple[str, ...] = (PROG,)) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command below ``cmd`` (depth first, alphabetical), with its full name."""
    for name, sub in _subcommands(cmd):
        yield (*path, name), sub
        yield from walk(sub, (*path, name))


def usage(path: tuple[str, ...], cmd: Any) -> str:
    pieces = [" ".join(path), "[OPTIONS]"]  # -h/--help at least
    pieces += [argument_metavar(p) for p in _visible(cmd.params) if _is_argument(p)]
    if _subcommands(cmd):
        pieces.append("COMMAND [ARGS]...")
    return " ".join(pieces)


def short_help(cmd: Any) -> str:
    text = getattr(cmd, "short_help", None) or getattr(cmd, "help", None) or ""
    first = inspect.cleandoc(text).split("\n\n")[0]
    return " ".join(first.split())


def _help_body(cmd: Any) -> str:
    text = inspect.cleandoc(getattr(cmd, "help", None) or "")
    return text.split("\f")[0].strip()


def command_section(path: tuple[str, ...], cmd: Any, level: int) -> list[str]:
    out = [f"{'#' * level} `{' '.join(path)}`", ""]
    if getattr(cmd, "deprecated", False):
        out += ['!!! warning "Deprecated"', "", "    This command is deprecated.", ""]
    for paragraph in _help_body(cmd).split("\n\n"):
        if paragraph.strip():
            out += [md(paragraph), ""]
    out += ["```text", usage(path, cmd), "```", ""]
    params = _visible(cmd.params)
    args = [p for p in params if _is_argument(p)]
    opts = [p for p in params if not _is_argument(p)]
    if args:
        out += ["**Arguments**", "", "| Argument | Type | Required | Description |", "| --- | --- | --- | --- |"]
        for p in args:
            req = "yes" if getattr(p, "required", False) else "no"
            out.append(f"| `{argument_metavar(p).strip('[]')}` | {md(type_name(p))} | {req} | {param_help(p)} |")
        out.append("")
    out += ["**Options**", "", "| Option | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for p in opts:
        kind = "flag" if _is_flag(p) else md(type_name(p))
        out.append(f"| {option_names(p)} | {kind} | {default_text(p)} | {param_help(p)} |")
    out.append("| `-h`, `--help` | flag | off | Show the help and exit. |")
    out.append("")
    out += epilog_markdown(getattr(cmd, "epilog", None) or "")
    subs = _subcommands(cmd)
    if subs:
        out += ["**Commands**", "", "| Command | Summary |", "| --- | --- |"]
        for name, sub in subs:
            out.append(f"| [`{name}`](#{_anchor((*path, name))}) | {md(short_help(sub))} |")
        out.append("")
    return out


def _is_code(block: list[str]) -> bool:
    return all(ln[:1].isspace() or ln.lstrip().startswith(("$ ", PROG + " ", "kubectl ")) for ln in block)


def epilog_markdown(epilog: str) -> list[str]:
    """An epilog such as ``Examples:`` + indented command lines + notes → a bold title, code, text.

    Blank-line-separated blocks whose lines are indented (or are commands) become one ``text``
    code block; other blocks become paragraphs.
    """
    lines = [ln for ln in epilog.strip("\n").splitlines() if ln.strip() != "\b"]  # click's "keep as is" marks
    if not lines:
        return []
    out: list[str] = []
    first = lines[0].strip()
    if first.endswith(":") and len(lines) > 1:
        out += [f"**{md(first.rstrip(':'))}**", ""]
        lines = lines[1:]
    blocks: list[list[str]] = [[]]
    for ln in lines:
        if ln.strip():
            blocks[-1].append(ln.rstrip())
        elif blocks[-1]:
            blocks.append([])
    code: list[str] = []

    def flush() -> None:
        if code:
            out.extend(["```text", *textwrap.dedent("\n".join(code)).splitlines(), "```", ""])
            code.clear()

    for block in (b for b in blocks if b):
        if _is_code(block):
            if code:
                code.append("")
            code.extend(block)
        else:
            flush()
            out += [md(" ".join(ln.strip() for ln in block)), ""]
    flush()
    return out


def _anchor(path: tuple[str, ...]) -> str:
    return "-".join(path)


# ----------------------------------------------------------------------------------- exit codes
def exit_codes() -> list[tuple[int, str, str]]:
    """(value, NAME, meaning) for every ExitCode; the meaning is the member's trailing comment."""
    _import_app()
    from kubeuser import errors

    comments: dict[str, str] = {}
    for m in re.finditer(r"^\s+([A-Z_]+)\s*=\s*\d+\s*#\s*(.+?)\s*$", inspect.getsource(errors.ExitCode), re.M):
        comments[m.group(1)] = m.group(2)
    fallback = {"OK": "success"}
    return [(int(c), c.name, comments.get(c.name) or fallback.get(c.name, "")) for c in errors.ExitCode]


# ----------------------------------------------------------------------------------------- page
def render() -> str:
    root = root_command()
    lines = [
        "<!-- GENERATED FILE, do not edit. Source: the kubeuser CLI itself.",
        f"     Regenerate with: {REGENERATE} -->",
        "",
        "# Command reference",
        "",
        "Generated from the command definitions by `tools/gen_cli_reference.py`, so it always matches",
        "`kubeuser COMMAND --help`. Everything here works the same as a kubectl plugin: replace",
        "`kubeuser` with `kubectl user`.",
        "",
        "All commands accept `-h`/`--help`. Options shared by most commands (`--kubeconfig`, `--context`,",
        "`-n/--namespace`, `-o/--output`, `--request-timeout`, `--debug`) follow kubectl's meaning.",
        "",
    ]
    tree = list(walk(root))
    lines += command_section((PROG,), root, 2)
    for path, cmd in tree:
        lines += command_section(path, cmd, min(len(path), 4))
    lines += [
        "## Exit codes",
        "",
        "Every command exits with one of these (from `kubeuser.errors.ExitCode`). Errors print",
        "`error: …` and usually `hint: …` on stderr; `--debug` adds a traceback.",
        "",
        "| Code | Name | Meaning |",
        "| --- | --- | --- |",
    ]
    for value, name, meaning in exit_codes():
        lines.append(f"| {value} | `{name}` | {md(meaning)} |")
    lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ root help
def root_help_text(prog: str = PROG, width: int = ROOT_HELP_WIDTH) -> str:
    """``PROG --help`` exactly as typer/click print it at ``width`` (what the user would see)."""
    import typer

    root = root_command()
    with typer.Context(root, info_name=prog, terminal_width=width, **root.context_settings) as ctx:
        return str(root.get_help(ctx)) + "\n"


def render_root_help() -> str:
    text = root_help_text()
    assert '"""' not in text and "\\" not in text, "the root help needs escaping in roothelp.py"
    return "\n".join(
        [
            "# GENERATED FILE, do not edit. Source: the kubeuser CLI itself (typer's rendering of the root help).",
            f"# Regenerate with: {REGENERATE}",
            '"""``kubeuser --help``, pre-rendered so that it prints without importing typer (issue 8: start time).',
            "",
            "Used by :func:`kubeuser.cli.root_help` when the help width is :data:`WIDTH`; tests/unit/test_cli_table.py",
            "checks it equals what typer prints.",
            '"""',
            "",
            f'PROG = "{PROG}"',
            f"WIDTH = {ROOT_HELP_WIDTH}",
            f'TEXT = """\\\n{text}"""',
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--check", action="store_true", help="exit 1 if the output file is out of date")
    ap.add_argument("--stdout", action="store_true", help="print to stdout instead of writing the file")
    ap.add_argument("-o", "--output", type=pathlib.Path, default=OUTPUT, help=f"default: {OUTPUT.relative_to(ROOT)}")
    ns = ap.parse_args(argv)
    outputs = [(ns.output, render()), (ROOT_HELP, render_root_help())]
    if ns.stdout:
        sys.stdout.write(outputs[0][1])
        return 0
    if ns.check:
        stale = [path for path, text in outputs if (path.read_text(encoding="utf-8") if path.exists() else "") != text]
        for path in stale:
            sys.stderr.write(f"{path} is out of date: run `{REGENERATE}` and commit the result\n")
        return 1 if stale else 0
    for path, text in outputs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        sys.stderr.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
