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
    headers = ["USER", "AUTH", "GROUPS", "STATUS", "EXPIRES", "DAYS LEFT", "BINDINGS"]
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
            rec.auth,
            ",".join(rec.groups) or "-",
            rec.effective_status(),
            rec.certificate.not_after,
            f"{days:.1f}",
            (",".join(refs) or "-") if wide else str(len(refs)),
        ]
        if wide:
            key = f"{rec.key_type} {rec.key_size}" if rec.key_type and rec.key_size else (rec.key_type or "-")
            if rec.is_token:
                key = f"ServiceAccount {rec.service_account_namespace}/{rec.service_account}"
            row += [
                rec.certificate.serial,
                key,
                rec.delivery or "-",
                "-" if rec.is_token else rec.key_holder or "admin",
            ]
        cells.append(row)
        styles.append([None, None, None, None, None, style, None] + [None] * (len(row) - 7))
    render.table(headers, cells, styles=styles)


def show(res: ShowResult, *, wide: bool = False) -> None:
    from kubeuser.workflows import users as wf

    rec = res.record
    c = rec.certificate
    status = f"status:      {rec.effective_status()}" + (
        f" (revoked {rec.revoked_at} by {rec.revoked_by})" if rec.revoked_at else ""
    )
    left = f"({wf.days_left(rec):.1f} days left)"
    if rec.is_token:
        who, groups = wf.identity_of(rec)
        live = [t for t in rec.token_secrets() if t.serial != c.serial]
        lines = [
            f"user:        {rec.user}",
            f"auth:        token (ServiceAccount {rec.service_account_namespace}/{rec.service_account}: {who})",
            f"groups:      {', '.join(groups)} (fixed by Kubernetes)",
            status,
            f"token:       bound to Secret {c.serial}, {c.not_before} → {c.not_after} {left}",
            f"issued:      {c.issued_at} by {c.issued_by}",
            f"other tokens: {len(live)} not invalidated (sign-in tokens from `kubeuser token`)",
        ]
    else:
        lines = [
            f"user:        {rec.user}",
            f"groups:      {', '.join(rec.groups) or '-'}",
            status,
            f"certificate: serial {c.serial}, {c.not_before} → {c.not_after} {left}",
            f"issued:      {c.issued_at} by {c.issued_by} (CSR {c.csr_name})",
        ]
    lines += [
        f"context:     {rec.context or '-'}",
        f"history:     {len(rec.history)} earlier credential(s)",
        "bindings:" + ("" if res.bindings else " none"),
    ]
    lines += [f"  {b.describe()}" + ("" if b.managed else "  [not made by kubeuser]") for b in res.bindings]
    allowed = [p.text() for p in res.permissions if p.allowed]
    lines.append(f"can (namespace {res.namespace}):" + ("" if allowed else " nothing of the common checks"))
    lines += [f"  {a}" for a in allowed]
    render.out("\n".join(lines) + "\n")
