"""The command line: parse, call a workflow, render. Errors become exit codes at one place: :func:`main`.

Importing this package is cheap (no typer): ``kubeuser --help`` is answered from
:mod:`kubeuser.cli.roothelp`, and :mod:`kubeuser.cli.app` builds only the command that runs. Command
modules import heavy dependencies (cryptography, yaml, kubernetes) inside the command function.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, NoReturn

__all__ = ["main", "stdout_gone"]


def _safe(text: str) -> str:
    """One short line of an unexpected exception's text, never key material."""
    line = " ".join(text.split())
    if "PRIVATE KEY" in line:
        return "(message withheld: it contained key material)"
    return line if len(line) <= 200 else line[:199] + "…"


def _debug(argv: list[str]) -> bool:
    """``--debug``/``--traceback`` among kubeuser's own arguments (those before ``--``: what follows is
    ``run``'s CMD and its arguments), or ``$KUBEUSER_DEBUG``."""
    own = argv[: argv.index("--")] if "--" in argv else argv
    return "--debug" in own or "--traceback" in own or os.environ.get("KUBEUSER_DEBUG", "") not in ("", "0")


def usage_error(exc: Any, args: list[str]) -> Any:
    """click's own usage error (bad value, unknown option, missing argument, …) as a kubeuser
    :class:`~kubeuser.errors.UsageError`: one ``error:`` line, a ``hint:`` naming the command's ``--help``
    (and click's "did you mean" suggestion), exit 2."""
    from kubeuser.cli.commands import BY_NAME
    from kubeuser.errors import UsageError

    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        command = ctx.command_path
    else:  # click raises "option requires an argument" without a context: the root takes no valued options
        named = next((a for a in args if not a.startswith("-")), None)
        command = f"{prog_name()} {named}" if named in BY_NAME else prog_name()
    possibilities = getattr(exc, "possibilities", None)
    message = exc.message if possibilities else exc.format_message()
    suggestion = ""
    head, sep, tail = message.partition(". Did you mean ")  # typer's suggestion for an unknown command
    if sep:
        message, suggestion = head, "did you mean " + tail.rstrip("?").strip()
    elif possibilities:
        names = sorted(possibilities)
        suggestion = f"did you mean {names[0]}" if len(names) == 1 else "did you mean one of " + ", ".join(names)
    message = " ".join(message.split()).rstrip(".")
    # click 8.5 says "No such option '--x'", the click typer vendors "No such option: --x": one wording
    message = re.sub(r"^(no such option) '(.+)'$", r"\1: \2", message, flags=re.IGNORECASE)
    if message[:2].istitle():  # "Missing argument 'NAME'" → "missing argument 'NAME'"; keep "NAME …" as is
        message = message[0].lower() + message[1:]
    see = f"see `{command} --help`"
    return UsageError(message, hint=f"{suggestion}? {see}" if suggestion else see)


def prog_name() -> str:
    """``kubectl user`` when run as the kubectl plugin, else ``kubeuser``."""
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "kubeuser"
    return "kubectl user" if prog == "kubectl-user" else "kubeuser"


def _help_width() -> int:
    """The width click formats help to: ``min(columns, 80) - 2``, columns as :func:`shutil.get_terminal_size`."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return max(min(columns or 80, 80) - 2, 50)


def root_help(prog: str) -> str | None:
    """The root ``--help`` pre-rendered by typer itself (see :mod:`kubeuser.cli.roothelp`), or None when this
    terminal needs a different width and typer must render it."""
    from kubeuser.cli import roothelp

    if _help_width() != roothelp.WIDTH or os.environ.get("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION"):
        return None  # typer words the completion options differently then
    return roothelp.TEXT.replace(roothelp.PROG, prog, 1)


def stdout_gone() -> NoReturn:
    """The reader of stdout went away (``kubeuser list | head -1``): stop quietly, exit 1, no traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the final flush at exit cannot fail again
    except (OSError, ValueError):
        pass
    sys.exit(1)  # ExitCode.ERROR


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``kubeuser`` and ``kubectl-user``: the one boundary that maps errors to exit codes."""
    try:
        _main(argv)
    except BrokenPipeError:
        stdout_gone()


def _main(argv: list[str] | None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    prog = prog_name()
    if args in (["--help"], ["-h"]) and (text := root_help(prog)) is not None:
        sys.stdout.write(text)  # without importing typer: the fast path of issue 8
        sys.stdout.flush()
        sys.exit(0)

    import typer

    from kubeuser.cli.app import app
    from kubeuser.errors import ExitCode, KubeuserError

    try:  # typer ≥ 0.20 vendors click
        from typer._click.exceptions import (  # type: ignore[import-not-found,unused-ignore]
            ClickException,
            NoArgsIsHelpError,
        )
        from typer._click.exceptions import UsageError as ClickUsageError  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # pragma: no cover
        from click.exceptions import (  # type: ignore[import-not-found,no-redef,assignment,unused-ignore]
            ClickException,
            NoArgsIsHelpError,
        )
        from click.exceptions import (  # type: ignore[import-not-found,no-redef,assignment,unused-ignore]
            UsageError as ClickUsageError,
        )

    debug = _debug(args)
    try:
        try:
            rv = app(args=args, prog_name=prog, standalone_mode=False)
        except NoArgsIsHelpError:
            raise  # `kubeuser` alone: the help, as click shows it
        except ClickUsageError as exc:
            raise usage_error(exc, args) from None
        code = int(rv) if isinstance(rv, int) else 0
        if code == ExitCode.INTERRUPTED:  # typer reports Ctrl-C as a returned 130, not as an exception
            sys.stderr.write("interrupted\n")
    except KubeuserError as exc:
        from kubeuser import render

        if debug:
            import traceback

            traceback.print_exc()
        render.error(exc)
        code = int(exc.exit_code)
    except NoArgsIsHelpError as exc:
        exc.show()
        code = int(exc.exit_code)
    except ClickException as exc:  # not a usage error (a FILE argument click could not open): one line too
        from kubeuser import render

        render.error(KubeuserError(" ".join(exc.format_message().split())))
        code = int(exc.exit_code)
    except typer.Exit as exc:
        code = int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("interrupted\n")
        code = int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        raise  # not a bug: see stdout_gone()
    except Exception as exc:  # a bug: say so briefly unless --debug (never print locals)
        if debug:
            import traceback

            traceback.print_exc()
        sys.stderr.write(f"error: internal error: {type(exc).__name__}: {_safe(str(exc))}\n")
        sys.stderr.write("hint: run again with --debug for a traceback and report it\n")
        code = int(ExitCode.ERROR)
    sys.stdout.flush()
    sys.exit(code)
