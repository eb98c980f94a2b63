"""``kubeuser approve``: list pending client-certificate requests with the policy's verdict; approve or deny them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from kubeuser.cli.app import (
    ContextOpt,
    DebugOpt,
    KubeconfigOpt,
    OutputOpt,
    RequestTimeoutOpt,
    app,
    check_output,
)

if TYPE_CHECKING:
    from kubeuser.workflows.approve import ApproveResult, Judged

EPILOG = """Examples:

  kubeuser approve

  kubeuser approve csr-alice --max-ttl 24h

  kubeuser approve --all-pending --deny-failing --dry-run

Without names or --all-pending it only lists the pending kubernetes.io/kube-apiserver-client requests: what
each really asks for (CN, O, key, usages, lifetime, requestor) and kubeuser's verdict. Requests that pass
are approved (reason KubeuserApprove); those that fail are left pending, or denied with --deny-failing
(reason KubeuserPolicy). O=system:masters is never approved. kubeuser's own requests, other signers' and
decided ones are left alone. Exit status: 0 when every request passes, 12 when any fails the policy, 10
when no named request exists.
"""

COLUMNS = ("NAME", "CN", "O", "KEY", "USAGES", "LIFETIME", "REQUESTOR", "VERDICT")
CELL_LIMIT = 128  # longer (hostile) subject values are cut in text output; -o json|yaml has them whole


@app.command(epilog=EPILOG)
def approve(
    names: Annotated[
        list[str] | None,
        typer.Argument(metavar="[CSR_NAME...]", help="CertificateSigningRequests to approve.", show_default=False),
    ] = None,
    all_pending: Annotated[
        bool, typer.Option("--all-pending", help="Approve every pending request that passes the policy.")
    ] = False,
    max_ttl: Annotated[
        str | None,
        typer.Option(
            "--max-ttl",
            help="Refuse requests for a longer lifetime, or for the signer's default (no expirationSeconds): "
            "10m, 2h, 7d (at least 10m).",
            show_default=False,
        ),
    ] = None,
    deny_failing: Annotated[
        bool, typer.Option("--deny-failing", help="Deny the requests that fail the policy (reason KubeuserPolicy).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be approved or denied; change nothing.")
    ] = False,
    allow_system_names: Annotated[
        bool,
        typer.Option("--allow-system-names", help="Allow reserved system: user/group names (never system:masters)."),
    ] = False,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = None,
    output: OutputOpt = "text",
    debug: DebugOpt = False,
) -> None:
    """Approve client-certificate requests others submitted, if they pass kubeuser's policy (or list them)."""
    from kubeuser import durations, render
    from kubeuser.connect import connected
    from kubeuser.errors import CheckFailedError, UsageError
    from kubeuser.workflows import approve as wf

    fmt = check_output(output)
    max_ttl_seconds = None
    if max_ttl is not None:
        try:
            max_ttl_seconds = durations.parse(max_ttl)
        except UsageError as exc:
            raise UsageError(f"--max-ttl: {exc.message}", hint="e.g. --max-ttl 24h (at least 10m)") from None
    opts = wf.ApproveOptions(
        names=list(names or []),
        all_pending=all_pending,
        max_ttl=max_ttl_seconds,
        deny_failing=deny_failing,
        dry_run=dry_run,
        allow_system_names=allow_system_names,
    )
    with connected(kubeconfig, context, request_timeout) as (_target, gw):
        res = wf.run(gw, opts, render.ConsoleReporter(quiet=fmt != "text"))
    if fmt != "text":
        render.out(render.dump(res.to_dict(), fmt))
    else:
        _render_text(res)
    failed = res.failed
    if failed:
        which = ", ".join(f"{j.name} ({', '.join(dict.fromkeys(v.field for v in j.violations or []))})" for j in failed)
        if not res.acting:
            hint = "`kubeuser approve NAME` approves a request that passes; add --deny-failing to deny failing ones"
        elif any(j.action in (wf.DENIED, wf.WOULD_DENY) for j in failed):
            hint = f"they {'would be' if res.dry_run else 'were'} denied (reason {wf.DENIAL_REASON})"
        else:
            hint = f"they {'would be' if res.dry_run else 'were'} left pending; --deny-failing denies them"
        where = "the output above" if fmt == "text" else "each request's violations"
        raise CheckFailedError(
            f"{len(failed)} request(s) fail kubeuser's policy: {which}", hint=f"{hint}; {where} lists the reasons"
        )


# rendering -------------------------------------------------------------------------------------


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


def _render_text(res: ApproveResult) -> None:
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
