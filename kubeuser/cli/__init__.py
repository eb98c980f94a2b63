"""The command line: parse, call a workflow, render. Errors become exit codes at one place: :func:`main`.

Command modules import heavy dependencies (cryptography, yaml, kubernetes) inside the command
function, so ``kubeuser --help`` and ``--version`` stay fast.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

from kubeuser.cli.app import app
from kubeuser.errors import ExitCode, KubeuserError

# Each module of this package (but app) registers its command(s) on `app` when imported.
for _mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _mod != "app":
        importlib.import_module(f"{__name__}.{_mod}")

try:  # typer ≥ 0.20 vendors click
    from typer._click.exceptions import ClickException  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException  # type: ignore[import-not-found,no-redef,assignment,unused-ignore]

__all__ = ["app", "main"]


def _safe(text: str) -> str:
    """One short line of an unexpected exception's text, never key material."""
    line = " ".join(text.split())
    if "PRIVATE KEY" in line:
        return "(message withheld: it contained key material)"
    return line if len(line) <= 200 else line[:199] + "…"


def _debug(argv: list[str]) -> bool:
    return "--debug" in argv or "--traceback" in argv or os.environ.get("KUBEUSER_DEBUG", "") not in ("", "0")


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``kubeuser`` and ``kubectl-user``: the one boundary that maps errors to exit codes."""
    import typer

    args = list(sys.argv[1:] if argv is None else argv)
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "kubeuser"
    prog = "kubectl user" if prog == "kubectl-user" else "kubeuser"
    debug = _debug(args)
    try:
        rv = app(args=args, prog_name=prog, standalone_mode=False)
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
    except ClickException as exc:
        exc.show()
        code = int(exc.exit_code)
    except typer.Exit as exc:
        code = int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("interrupted\n")
        code = int(ExitCode.INTERRUPTED)
    except Exception as exc:  # a bug: say so briefly unless --debug (never print locals)
        if debug:
            import traceback

            traceback.print_exc()
        sys.stderr.write(f"error: internal error: {type(exc).__name__}: {_safe(str(exc))}\n")
        sys.stderr.write("hint: run again with --debug for a traceback and report it\n")
        code = int(ExitCode.ERROR)
    sys.stdout.flush()
    sys.exit(code)
