"""Text of ``kubeuser apply``: a line per user on stderr as each is done, then the summary table on stdout."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kubeuser import render

if TYPE_CHECKING:
    from kubeuser.render import ConsoleReporter
    from kubeuser.workflows.apply import ApplyResult, UserOutcome


def progress_line(reporter: ConsoleReporter, o: UserOutcome) -> None:
    """One line on stderr as each user is done (text output only)."""
    from rich.markup import escape

    live = reporter.live
    if o.failed:
        mark = "[red]✗[/red]" if live else escape("[FAIL]")
        reporter.console.print(f"{mark} {escape(o.user)}: {o.action} failed — {escape(o.error or '')}")
        return
    mark = "[green]✓[/green]" if live else escape("[ok]")
    bits = [f"{mark} {escape(o.user)}: {done_word(o.action)}"]
    if o.serial and o.action in ("create", "renew", "reissue"):
        bits.append(f" — serial {o.serial}, until {o.not_after}")
    bits.append(f" ({o.seconds:.1f}s)")
    reporter.console.print("".join(bits))
    for w in o.warnings:
        reporter.warn(f"{o.user}: {w}")


_DONE = {
    "create": "created",
    "renew": "renewed",
    "reissue": "reissued",
    "update": "updated",
    "unchanged": "unchanged",
    "prune": "pruned",
}


def done_word(action: str) -> str:
    return _DONE.get(action, action)


def apply(result: ApplyResult, *, wide: bool = False) -> None:
    """The summary table (stdout): user, action, serial/expiry, kubeconfig file; errors below it."""
    lines: list[str] = []
    if result.dry_run:
        rows: list[tuple[str, ...]] = [("USER", "PLAN", "REASON")]
        rows += [(o.user, o.action, o.reason) for o in result.outcomes]
        lines += _table(rows)
        for o in result.outcomes:
            if o.rbac and o.action != "create":
                lines.append(f"  {o.user}: " + "; ".join(o.rbac))
            if o.kubeconfig:
                lines.append(f"  {o.user}: would write {o.kubeconfig}")
            lines += [f"  {o.user}: warning: {w}" for w in o.warnings]
            if o.failed:
                lines.append(f"  {o.user}: error: {o.error}")
                if o.hint:
                    lines.append(f"    hint: {o.hint}")
        counts = result.counts()
        lines.append("")
        pc = result.prune_check
        if pc is not None and pc.refused:
            lines.append(f"refused: {pc.summary()}; applying would change nothing (--allow-mass-prune confirms it)")
        plan = _counts(counts).replace("FAILED", "would fail")
        lines.append(f"dry run: nothing was changed. Plan: {plan}")
        render.out("\n".join(lines) + "\n")
        return
    table: list[tuple[str, ...]] = [("USER", "ACTION", "STATUS", "SERIAL", "EXPIRES", "KUBECONFIG")]
    for o in result.outcomes:
        status = "FAILED" if o.failed else "ok"
        if o.failed:
            kc = "-"
        elif o.kubeconfig:
            kc = o.kubeconfig + (f" (context {o.context})" if o.context and result.out_dir is None else "")
        elif o.action in ("unchanged", "update"):
            kc = "- (unchanged: no new key, no file)"
        else:
            kc = "-"
        table.append((o.user, done_word(o.action) if not o.failed else o.action, status, o.serial or "-",
                     o.not_after or "-", kc))  # fmt: skip
    lines += _table(table)
    notes = [(o.user, o.note) for o in result.outcomes if o.note and o.action in ("prune", "reissue")]
    if notes:
        lines.append("")
        lines += [f"{u}: {n}" for u, n in notes]
    failed = [o for o in result.outcomes if o.failed]
    if failed:
        lines.append("")
        lines.append(f"{len(failed)} user(s) failed:")
        for o in failed:
            lines.append(f"  {o.user} ({o.action}): {o.error}")
            if o.hint:
                lines.append(f"    hint: {o.hint}")
    lines.append("")
    lines.append(f"{len(result.outcomes)} user(s): {_counts(result.counts())} in {result.seconds:.1f}s")
    render.out("\n".join(lines) + "\n")


def _counts(counts: dict[str, int]) -> str:
    parts = [f"{n} {a}" for a, n in counts.items() if n and a != "failed"]
    text = ", ".join(parts) or "nothing to do"
    if counts.get("failed"):
        text += f"; {counts['failed']} FAILED"
    return text


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def interrupted_text(finished: Sequence[UserOutcome], filename: str) -> str:
    """What an interrupted apply did before it stopped (users in flight finished or rolled back first)."""
    from kubeuser import hints

    done = [o for o in finished if not o.failed]
    lines = [f"interrupted: {len(done)} user(s) done before the interrupt" + (":" if done else "")]
    for o in done:
        made = f", kubeconfig {o.kubeconfig}" if o.kubeconfig else ""
        lines.append(f"  {o.user}: {done_word(o.action)}{made}")
    for o in finished:
        if o.failed:
            lines.append(f"  {o.user}: {o.action} failed — {o.error or ''}")
    lines.append(f"the rest was not changed; `{hints.kubeuser('apply', options=('-f', filename))}` carries on")
    return "\n".join(lines)
