"""Text of ``kubeuser approve``: the pending requests as a table, the policy's reasons below it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kubeuser.workflows.approve import ApproveResult, Judged

COLUMNS = ("NAME", "CN", "O", "KEY", "USAGES", "LIFETIME", "REQUESTOR", "VERDICT")
CELL_LIMIT = 128  # longer (hostile) subject values are cut in text output; -o json|yaml has them whole


def _shown(value: str, limit: int | None = CELL_LIMIT) -> str:
    """A value fit for one table cell: control characters escaped; cut only past *limit* (hostile input)."""
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in value)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def _verdict(j: Judged, res: ApproveResult) -> str:
    from kubeuser.workflows import approve as wf

    fields = ", ".join(dict.fromkeys(v.field for v in j.violations or []))
    failing = f" ({fields})" if fields else ""
    if j.action == wf.KUBEUSERS:
        return f"{j.verdict}{failing}, kubeuser's own"
    return {
        wf.LISTED: f"{j.verdict}{failing}",
        wf.APPROVED: "approved",
        wf.WOULD_APPROVE: "would approve",
        wf.DENIED: f"denied{failing}",
        wf.WOULD_DENY: f"would deny{failing}",
        wf.FAILED_POLICY: f"fail{failing}, left pending",
    }.get(j.action, j.action)


def _row(j: Judged, res: ApproveResult) -> list[str]:
    req = j.request
    requestor = _shown(j.username or "?", None) + (f" [{', '.join(j.groups)}]" if j.groups else "")
    return [
        _shown(j.name, None),
        _shown(req.user) if req and req.common_names else "-",
        _shown(",".join(req.organizations)) if req and req.organizations else "-",
        req.key_text if req else "?",
        _shown(", ".join(j.usages)) or "-",
        j.lifetime_text,
        requestor,
        _verdict(j, res),
    ]


def _below(res: ApproveResult) -> list[str]:
    """The reasons under the table: every violation, the requests left alone, notes, a summary."""
    from kubeuser.gateway import SIGNER
    from kubeuser.workflows import approve as wf

    lines: list[str] = []
    for j in res.judged:
        if j.violations and not j.managed:
            what = {
                wf.DENIED: "denied",
                wf.WOULD_DENY: "would be denied",
                wf.FAILED_POLICY: "left pending",
            }.get(j.action, "not approved")
            lines.append(f"{_shown(j.name, None)} fails kubeuser's policy ({what}):")
            lines += [f"  {v.field}: {v.message}" for v in j.violations]
    for j in res.csrs:
        if j.detail:
            lines.append(f"{_shown(j.name, None)}: {j.detail}")
    lines += [f"note: {n}" for n in res.notes]
    judged = res.judged
    if not judged:
        lines.append(f"no pending requests for {SIGNER}")
    elif not res.acting:
        passing = sum(1 for j in judged if j.verdict == "pass")
        lines.append(f"{len(judged)} pending request(s): {passing} pass, {len(judged) - passing} fail the policy")
    else:
        counts = [
            (wf.APPROVED, "approved"),
            (wf.WOULD_APPROVE, "would approve"),
            (wf.DENIED, "denied"),
            (wf.WOULD_DENY, "would deny"),
            (wf.FAILED_POLICY, "left pending (failed policy)"),
        ]
        parts = [f"{label} {res.count(a)}" for a, label in counts if res.count(a)]
        lines.append(("dry run, nothing changed: " if res.dry_run else "") + (", ".join(parts) or "nothing to do"))
    return lines


def approve(res: ApproveResult, *, wide: bool = False) -> None:
    """The requests as a table (whole values when stdout is not a terminal), the reasons below it."""
    from rich.markup import escape
    from rich.table import Table

    from kubeuser import render

    rows = [_row(j, res) for j in res.judged]
    below = _below(res)
    console = render.console(soft_wrap=False)
    if not console.is_terminal:  # plain aligned columns, whole values (nothing cut to a width)
        lines: list[str] = []
        if rows:
            widths = [max(len(r[i]) for r in [list(COLUMNS), *rows]) for i in range(len(COLUMNS))]
            for r in [list(COLUMNS), *rows]:
                lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
            lines.append("")
        render.out("\n".join(lines + below) + "\n")
        return
    if rows:
        table = Table(show_lines=False, expand=False, box=None, pad_edge=False)
        for col in COLUMNS:
            table.add_column(col, overflow="fold", no_wrap=False, min_width=len(col))
        for r in rows:
            table.add_row(*(escape(c) for c in r))
        console.print(table)
        console.print()
    for line in below:
        console.print(escape(line))
