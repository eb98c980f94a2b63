"""Rendering: progress and diagnostics on stderr (rich), data on stdout (text, json or yaml).

On a terminal, steps show with a spinner and ✓/✗ marks; otherwise (CI logs, pipes) as plain
lines. ``-o json|yaml`` prints exactly one document on stdout and nothing else there.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape

from kubeuser import faults
from kubeuser.errors import KubeuserError
from kubeuser.progress import Step

OUTPUT_FORMATS = ("text", "json", "yaml")


def console(*, stderr: bool = False, soft_wrap: bool = True) -> Console:
    """The one way kubeuser makes a rich Console: no highlighting, no :emoji: codes (text is printed verbatim)."""
    return Console(stderr=stderr, highlight=False, soft_wrap=soft_wrap, emoji=False)


def stderr_console() -> Console:
    return console(stderr=True)


class Elapsed:
    """A running step's spinner text: its title, and the seconds it has waited once that is a second or more
    (re-rendered at every refresh of the spinner, so a step hanging on the network counts up)."""

    def __init__(self, title: str, clock: Any = time.monotonic) -> None:
        self.title = title
        self._clock = clock
        self._t0 = clock()

    def __rich__(self) -> str:
        waited = self._clock() - self._t0
        return escape(self.title) + (f" [dim]({waited:.0f}s)[/dim]" if waited >= 1 else "")


class ConsoleReporter:
    """Shows workflow steps as they run. ``quiet`` keeps only warnings (for -o json|yaml)."""

    def __init__(self, console: Console | None = None, *, quiet: bool = False) -> None:
        self.console = console or stderr_console()
        self.quiet = quiet
        self.live = self.console.is_terminal and not quiet

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[Step]:
        s = Step(title)
        t0 = time.monotonic()
        status = self.console.status(Elapsed(title)) if self.live else contextlib.nullcontext()
        try:
            with status:
                yield s
        except BaseException:
            if not self.quiet:
                mark = "[red]✗[/red]" if self.live else escape("[FAIL]")
                self.console.print(f"{mark} {escape(title)}")
            raise
        if self.quiet:
            faults.after_step(title)  # test-only fault injection; a no-op unless KUBEUSER_FAULT_AFTER_STEP
            return
        took = time.monotonic() - t0
        detail = f" — {escape(s.detail)}" if s.detail else ""
        timing = f" [dim]({took:.2f}s)[/dim]" if self.live else f" ({took:.2f}s)"
        if s.failed:
            mark = "[red]✗[/red]" if self.live else escape("[FAIL]")
        elif s.skipped:
            mark = "[dim]-[/dim]" if self.live else escape("[skip]")
        else:
            mark = "[green]✓[/green]" if self.live else escape("[ok]")
        self.console.print(f"{mark} {escape(title)}{detail}{timing}")
        faults.after_step(title)

    def warn(self, message: str) -> None:
        prefix = "[yellow]![/yellow] warning:" if self.live else "warning:"
        self.console.print(f"{prefix} {escape(message)}")

    def note(self, message: str) -> None:
        if not self.quiet:
            prefix = "[cyan]i[/cyan]" if self.live else "note:"
            self.console.print(f"{prefix} {escape(message)}")


def error(exc: KubeuserError, console: Console | None = None) -> None:
    console = console or stderr_console()
    console.print(
        f"[red]error:[/red] {escape(exc.message)}" if console.is_terminal else f"error: {escape(exc.message)}"
    )
    if exc.hint:
        console.print(f"hint: {escape(exc.hint)}")


def dump(data: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"
    if fmt == "yaml":
        import yaml

        return str(yaml.safe_dump(data, default_flow_style=False, sort_keys=False))
    raise ValueError(fmt)


def out(text: str) -> None:
    """Write data to stdout exactly as given."""
    sys.stdout.write(text)
    sys.stdout.flush()


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain aligned columns with whole values and no width limit (kubectl's way when stdout is not a terminal)."""
    all_rows = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in all_rows) for i in range(len(headers))]
    return "".join("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n" for r in all_rows)


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, styles: Sequence[Sequence[str | None]] | None = None
) -> None:
    """Print a table on stdout; never cut a value.

    Not a terminal (a pipe, a file): :func:`plain_table`. On a terminal: a rich table whose headers stay
    whole (when they fit at all) and whose long values fold onto more lines (no ellipsis). ``styles``
    (per row, per cell) only colour a terminal.
    """
    from rich.markup import escape
    from rich.table import Table

    con = console(soft_wrap=False)
    if not con.is_terminal:
        out(plain_table(headers, rows))
        return
    t = Table(box=None, pad_edge=False, show_lines=False, expand=False, header_style="bold")
    for i, h in enumerate(headers):
        short = all(len(r[i]) <= len(h) for r in rows)  # never narrowed: its header stays whole
        t.add_column(h, overflow="fold", no_wrap=short, min_width=len(h))
    for i, r in enumerate(rows):
        cells = []
        for j, c in enumerate(r):
            style = styles[i][j] if styles else None
            cells.append(f"[{style}]{escape(c)}[/{style}]" if style else escape(c))
        t.add_row(*cells)
    con.print(t)


def yaml_documents(objs: list[dict[str, Any]]) -> str:
    import yaml

    return "---\n".join(yaml.safe_dump(o, default_flow_style=False, sort_keys=False) for o in objs)
