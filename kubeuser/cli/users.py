"""``kubeuser list`` and ``kubeuser show``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from kubeuser.cli.app import (
    ContextOpt,
    DebugOpt,
    KubeconfigOpt,
    NamespaceOpt,
    OutputOpt,
    RegistryNsOpt,
    RequestTimeoutOpt,
    app,
    check_output,
)

if TYPE_CHECKING:
    from kubeuser.registry import UserRecord


ListOutputOpt = Annotated[
    str,
    typer.Option(
        "-o", "--output", help="Output format: text, wide (more columns), json or yaml.", case_sensitive=False
    ),
]
ExpiringOpt = Annotated[
    str | None,
    typer.Option(
        "--expiring",
        metavar="DURATION",
        help="Only users not revoked whose certificate ends within DURATION (e.g. 7d), expired ones included; "
        "exit 13 if any, 0 if none.",
        show_default=False,
    ),
]


@app.command("list")
def list_(
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = None,
    output: ListOutputOpt = "text",
    expiring: ExpiringOpt = None,
    registry_namespace: RegistryNsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """List users kubeuser manages: groups, status, expiry, days left, bindings (-o wide: more)."""
    from kubeuser import durations, registry, render
    from kubeuser.connect import connected
    from kubeuser.errors import ExitCode, UsageError
    from kubeuser.workflows import users as wf

    wide = output.lower() == "wide"
    if not wide and output.lower() not in render.OUTPUT_FORMATS:
        raise UsageError(f"unknown output format {output!r}", hint="use -o text, -o wide, -o json or -o yaml")
    fmt = "text" if wide else check_output(output)
    window = durations.parse_window(expiring, "--expiring") if expiring is not None else None
    with connected(kubeconfig, context, request_timeout) as (_target, gw):
        reg = registry.Registry(gw, registry.namespace_from(registry_namespace))
        records = reg.list()
        if not records and reg.namespace != registry.DEFAULT_NAMESPACE:
            wf.require_registry_namespace(gw, reg.namespace)  # a chosen registry that is not there: say so
        existing = wf.existing_objects(gw, records, reg.namespace)
    for problem in reg.unreadable:
        render.ConsoleReporter().warn(problem)
    for rec in records:
        rec.bindings = existing.get(rec.user, [])  # what exists, not what the record once said
    if window is not None:
        records = wf.expiring(records, window)
    rows = [wf.summary(r) for r in records]
    if fmt != "text":
        render.out(render.dump({"users": rows}, fmt))
    elif not rows:
        what = f"no active user's certificate ends within {expiring}" if window is not None else None
        render.console().print(what or "no users (kubeuser create NAME onboards one)", style=None, markup=False)
    else:
        _table(records, rows, wide=wide)
    if window is not None and rows:
        raise typer.Exit(int(ExitCode.EXPIRING))


def _table(records: list[UserRecord], rows: list[dict[str, Any]], *, wide: bool) -> None:
    from kubeuser import render
    from kubeuser.workflows import users as wf

    headers = ["USER", "GROUPS", "STATUS", "EXPIRES", "DAYS LEFT", "BINDINGS"]
    if wide:
        headers += ["SERIAL", "KEY", "DELIVERY", "KEY HOLDER"]
    cells: list[list[str]] = []
    styles: list[list[str | None]] = []
    for rec, r in zip(records, rows, strict=True):
        days = float(r["daysLeft"])
        style = "red" if days <= 0 else ("yellow" if days <= wf.NEAR_EXPIRY_DAYS else None)
        refs = [f"{b.kind}/{b.namespace + '/' if b.namespace else ''}{b.name}" for b in rec.bindings]
        row = [
            rec.user,
            ",".join(rec.groups) or "-",
            str(r["effectiveStatus"]),
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


@app.command()
def show(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The user.")],
    namespace: NamespaceOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = None,
    output: OutputOpt = "text",
    registry_namespace: RegistryNsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Show a user's record and effective access: bindings naming the user or its groups, and a can-i summary."""
    from kubeuser import registry, render
    from kubeuser.connect import connected
    from kubeuser.workflows import users as wf

    fmt = check_output(output)
    with connected(kubeconfig, context, request_timeout) as (_target, gw):
        res = wf.show(gw, registry.namespace_from(registry_namespace), name, namespace)
    if fmt != "text":
        render.out(render.dump(res.to_dict(), fmt))
        return
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
