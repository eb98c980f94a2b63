"""Text of ``kubeuser list`` (a table; ``-o wide`` more columns) and ``kubeuser show``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubeuser import render

if TYPE_CHECKING:
    from kubeuser.workflows.users import ShowResult, UserList


def user_list(res: UserList, *, wide: bool = False) -> None:
    from kubeuser.workflows import users as wf

    if not res.records:
        what = f"no active user's certificate ends within {res.expiring}" if res.expiring is not None else None
        render.console().print(what or "no users (kubeuser create NAME onboards one)", style=None, markup=False)
        return
    headers = ["USER", "GROUPS", "STATUS", "EXPIRES", "DAYS LEFT", "BINDINGS"]
    if wide:
        headers += ["SERIAL", "KEY", "DELIVERY", "KEY HOLDER"]
    cells: list[list[str]] = []
    styles: list[list[str | None]] = []
    for rec in res.records:
        days = round(wf.days_left(rec), 2)  # as -o json says it
        style = "red" if days <= 0 else ("yellow" if days <= wf.NEAR_EXPIRY_DAYS else None)
        refs = [f"{b.kind}/{b.namespace + '/' if b.namespace else ''}{b.name}" for b in rec.bindings]
        row = [
            rec.user,
            ",".join(rec.groups) or "-",
            rec.effective_status(),
            rec.certificate.not_after,
            f"{days:.1f}",
            (",".join(refs) or "-") if wide else str(len(refs)),
        ]
        if wide:
            key = f"{rec.key_type} {rec.key_size}" if rec.key_type and rec.key_size else (rec.key_type or "-")
            row += [rec.certificate.serial, key, rec.delivery or "-", rec.key_holder or "admin"]
        cells.append(row)
        styles.append([None, None, None, None, style, None] + [None] * (len(row) - 6))
    render.table(headers, cells, styles=styles)


def show(res: ShowResult, *, wide: bool = False) -> None:
    from kubeuser.workflows import users as wf

    rec = res.record
    c = rec.certificate
    lines = [
        f"user:        {rec.user}",
        f"groups:      {', '.join(rec.groups) or '-'}",
        f"status:      {rec.effective_status()}"
        + (f" (revoked {rec.revoked_at} by {rec.revoked_by})" if rec.revoked_at else ""),
        f"certificate: serial {c.serial}, {c.not_before} → {c.not_after} ({wf.days_left(rec):.1f} days left)",
        f"issued:      {c.issued_at} by {c.issued_by} (CSR {c.csr_name})",
        f"context:     {rec.context or '-'}",
        f"history:     {len(rec.history)} earlier certificate(s)",
        "bindings:" + ("" if res.bindings else " none"),
    ]
    lines += [f"  {b.describe()}" + ("" if b.managed else "  [not made by kubeuser]") for b in res.bindings]
    allowed = [p.text() for p in res.permissions if p.allowed]
    lines.append(f"can (namespace {res.namespace}):" + ("" if allowed else " nothing of the common checks"))
    lines += [f"  {a}" for a in allowed]
    render.out("\n".join(lines) + "\n")
