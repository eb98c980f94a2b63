"""Text of ``kubeuser doctor`` and ``kubeuser preflight``: the checks as a table, a result line below it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from kubeuser.workflows.doctor import DoctorReport
    from kubeuser.workflows.preflight import PreflightReport

MARKS_TTY = {"pass": "[green]✓[/green]", "fail": "[red]✗[/red]", "warn": "[yellow]![/yellow]", "skip": "[dim]-[/dim]"}
MARKS = {"pass": "✓", "fail": "✗", "warn": "!", "skip": "-"}


class _CheckLike(Protocol):
    id: str
    title: str
    status: str
    detail: str
    fix: str | None


def doctor(report: DoctorReport, *, wide: bool = False) -> None:
    head = [
        f"context {report.context or '?'} (cluster {report.cluster or '?'}, user {report.user or '?'})",
        f"server {report.server or '?'}, namespace {report.namespace or '?'}",
    ]
    if report.authenticated:
        who = report.identity.username if report.identity and report.identity.username else None
        tail = "authenticated" + (f" as {who}" if who else "")
    else:
        tail = "NOT authenticated"
    tail += _counts(report.checks)
    _table("kubeuser doctor", head, report.checks, tail)


def preflight(report: PreflightReport, *, wide: bool = False) -> None:
    head = [
        f"context {report.context} ({report.server}, {report.server_version or 'version unknown'})"
        + (f" as {report.identity}" if report.identity else ""),
        f"namespace {report.namespace}, registry namespace {report.registry_namespace}",
    ]
    tail = ("ready to onboard users" if report.ok else "NOT ready to onboard users") + _counts(report.checks)
    _table("kubeuser preflight", head, report.checks, tail)


def _counts(checks: Sequence[Any]) -> str:
    n = {s: sum(1 for c in checks if c.status == s) for s in ("pass", "fail", "warn", "skip")}
    parts = [f"{n['fail']} failed"] if n["fail"] else []
    parts += [f"{n['warn']} warning(s)"] if n["warn"] else []
    parts += [f"{n['pass']} passed"]
    parts += [f"{n['skip']} skipped"] if n["skip"] else []
    return " — " + ", ".join(parts)


def _table(title: str, head: list[str], checks: Sequence[_CheckLike], tail: str) -> None:
    """A rich table on a terminal; aligned plain lines (no colour, no box) otherwise."""
    from rich.markup import escape
    from rich.table import Table

    from kubeuser import render

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
