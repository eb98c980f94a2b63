"""Command lines in hints and "try it" lines, runnable exactly as printed.

:func:`kubeuser` builds ``kubeuser CMD …`` (``kubectl user CMD …`` under the kubectl plugin) and
:func:`kubectl` builds ``kubectl …``: every word shell-quoted (``'john smith'``), ``--kubeconfig``/``--context``
added when this run did not use the defaults, and ``--`` before the arguments when one of them starts
with ``-`` (a user named ``-x``), so that it is not read as an option.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Connection:
    """The ``--kubeconfig`` and ``--context`` this run was given (None: the default was used)."""

    kubeconfig: str | None = None
    context: str | None = None

    def flags(self) -> list[str]:
        flags: list[str] = []
        if self.kubeconfig:
            flags += ["--kubeconfig", str(Path(self.kubeconfig).expanduser().absolute())]
        if self.context:
            flags += ["--context", self.context]
        return flags


_current = Connection()


def use(kubeconfig: str | None, context: str | None) -> None:
    """Remember this run's ``--kubeconfig``/``--context`` (:func:`kubeuser.connect.resolve` calls it)."""
    global _current
    _current = Connection(kubeconfig or None, context or None)


def current() -> Connection:
    return _current


def prog() -> str:
    from kubeuser.cli import prog_name

    return prog_name()


def _line(head: list[str], args: tuple[str, ...], options: tuple[str, ...], flags: list[str]) -> str:
    words = [*options, *flags]
    if any(a.startswith("-") for a in args):
        words += ["--", *args]  # after `--` nothing is an option: every option goes before it
    else:
        words = [*args, *words]
    return " ".join([*head, *(shlex.quote(w) for w in words)])


def kubeuser(command: str, *args: str, options: tuple[str, ...] = (), connection: Connection | None = None) -> str:
    """``kubeuser COMMAND ARGS OPTIONS`` with this run's --kubeconfig/--context, e.g.
    ``kubeuser("create", "john smith", options=("--force",))`` → ``kubeuser create 'john smith' --force``."""
    return _line([*prog().split(), command], args, options, (connection or _current).flags())


def kubectl(*words: str, kubeconfig: str | Path | None = None) -> str:
    """``kubectl WORDS``, quoted; ``--kubeconfig FILE`` first when *kubeconfig* is given."""
    head = ["kubectl"] + (["--kubeconfig", shlex.quote(str(kubeconfig))] if kubeconfig else [])
    return " ".join([*head, *(shlex.quote(w) for w in words)])
