"""Text of ``kubeuser doctor`` and ``kubeuser preflight``: the checks as a table, a result line below it.

Both commands' reports are :class:`kubeuser.checks.Report`: one renderer shows either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kubeuser.checks import Report

MARKS_TTY = {"pass": "[green]✓[/green]", "fail": "[red]✗[/red]", "warn": "[yellow]![/yellow]", "skip": "[dim]-[/dim]"}
MARKS = {"pass": "✓", "fail": "✗", "warn": "!", "skip": "-"}


def report(report: Report, *, wide: bool = False) -> None:
    """A rich table on a terminal; aligned plain lines (no colour, no box) otherwise."""
    from rich.markup import escape
    from rich.table import Table

    from kubeuser import render

    title, head, checks = report.title, report.heading(), report.checks
    tail = f"{report.verdict()} — {report.counts()}"
    console = render.console(soft_wrap=False)
    if not console.is_terminal:
        width = max((len(c.id) for c in checks), default=0)
        lines = [f"{title}: {h}" if i == 0 else f"{' ' * len(title)}  {h}" for i, h in enumerate(head)]
        lines.append("")
        for c in checks:
            lines.append(f"{MARKS[c.status]} {c.id:<{width}}  {c.title}: {c.detail}")
            if c.fix and c.status in ("fail", "warn"):
                lines.append(f"  {'':<{width}}  fix: {c.fix}")
        lines += ["", f"result: {tail}"]
        render.out("\n".join(lines) + "\n")
        return
    table = Table(title=escape(title), caption=escape(" · ".join(head)), show_lines=False, expand=False)
    table.add_column("", no_wrap=True)
    table.add_column("check", style="bold", overflow="fold")
    table.add_column("result", overflow="fold")
    for c in checks:
        cell = escape(c.detail)
        if c.fix and c.status in ("fail", "warn"):
            cell += f"\n[cyan]fix:[/cyan] {escape(c.fix)}"
        style = "dim" if c.status == "skip" else None
        table.add_row(MARKS_TTY[c.status], escape(c.title), cell, style=style)
    console.print(table)
    console.print(escape(tail))
