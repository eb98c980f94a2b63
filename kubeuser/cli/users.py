"""``kubeuser list`` and ``kubeuser show``."""

from __future__ import annotations

from typing import Annotated

import typer

from kubeuser.cli.app import (
    ContextOpt,
    DebugOpt,
    KubeconfigOpt,
    NamespaceOpt,
    OutputOpt,
    RegistryNsOpt,
    app,
    check_output,
)


@app.command("list")
def list_(
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    output: OutputOpt = "text",
    registry_namespace: RegistryNsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """List users kubeuser manages: groups, expiry, days left, bindings, status."""
    from kubeuser import registry, render
    from kubeuser.connect import connected
    from kubeuser.workflows import users as wf

    fmt = check_output(output)
    with connected(kubeconfig, context) as (_target, gw):
        reg = registry.Registry(gw, registry.namespace_from(registry_namespace))
        records = reg.list()
        if not records and reg.namespace != registry.DEFAULT_NAMESPACE:
            wf.require_registry_namespace(gw, reg.namespace)  # a chosen registry that is not there: say so
        existing = wf.existing_objects(gw, records, reg.namespace)
    for problem in reg.unreadable:
        render.ConsoleReporter().warn(problem)
    for rec in records:
        rec.bindings = existing.get(rec.user, [])  # what exists, not what the record once said
    rows = [wf.summary(r) for r in records]
    if fmt != "text":
        render.out(render.dump({"users": rows}, fmt))
        return
    from rich.table import Table

    console = render.console()
    if not rows:
        console.print("no users (kubeuser create NAME onboards one)", style=None, markup=False)
        return
    table = Table(box=None, pad_edge=False, header_style="bold" if console.is_terminal else None)
    for col in ("USER", "GROUPS", "STATUS", "EXPIRES", "DAYS LEFT", "BINDINGS"):
        table.add_column(col)
    for r, rec in zip(rows, records, strict=True):
        days = r["daysLeft"]
        style = "red" if days <= 0 else ("yellow" if days <= wf.NEAR_EXPIRY_DAYS else "")
        status = r["effectiveStatus"]
        table.add_row(
            rec.user,
            ",".join(rec.groups) or "-",
            status,
            rec.certificate.not_after,
            f"[{style}]{days:.1f}[/{style}]" if style and console.is_terminal else f"{days:.1f}",
            ", ".join(f"{b.kind}/{b.namespace + '/' if b.namespace else ''}{b.name}" for b in rec.bindings) or "-",
        )
    console.print(table)


@app.command()
def show(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The user.")],
    namespace: NamespaceOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    output: OutputOpt = "text",
    registry_namespace: RegistryNsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Show a user's record and effective access: bindings naming the user or its groups, and a can-i summary."""
    from kubeuser import registry, render
    from kubeuser.connect import connected
    from kubeuser.workflows import users as wf

    fmt = check_output(output)
    with connected(kubeconfig, context) as (_target, gw):
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
