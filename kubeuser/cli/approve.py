"""``kubeuser approve``: list pending client-certificate requests with the policy's verdict; approve or deny them."""

from __future__ import annotations

from typing import Annotated

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

EPILOG = """Examples:

\b
  kubeuser approve
  kubeuser approve csr-alice --max-ttl 24h
  kubeuser approve --all-pending --deny-failing \\
      --dry-run

Without names or --all-pending it only lists the pending kubernetes.io/kube-apiserver-client requests: what
each really asks for (CN, O, key, usages, lifetime, requestor) and kubeuser's verdict. Requests that pass
are approved (reason KubeuserApprove); those that fail are left pending, or denied with --deny-failing
(reason KubeuserPolicy). O=system:masters is never approved. kubeuser's own requests, other signers' and
decided ones are left alone. Exit status: 0 when every request passes, 12 when any fails the policy, 10
when no named request exists.
"""


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
            metavar="DURATION",
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
    from kubeuser import durations
    from kubeuser.connect import connected
    from kubeuser.errors import CheckFailedError, UsageError
    from kubeuser.output import emit, progress_reporter
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
        res = wf.run(gw, opts, progress_reporter(fmt))
    emit(res, fmt)
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
