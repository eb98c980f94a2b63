"""``kubeuser cleanup``."""

from __future__ import annotations

from typing import Annotated

import typer

from kubeuser.cli.app import (
    ContextOpt,
    DebugOpt,
    KubeconfigOpt,
    OutputOpt,
    RegistryNsOpt,
    RequestTimeoutOpt,
    app,
    check_output,
)

DELETE_MIN_AGE = "10m"  # a create takes seconds; older leftovers are not some other admin's run in progress

EPILOG = """Examples:

\b
  # list what interrupted runs left behind
  kubeuser cleanup

\b
  # delete those older than 10 minutes
  kubeuser cleanup --delete

\b
  # all of them: no other run is in progress
  kubeuser cleanup --delete --min-age 0 -o json
"""


@app.command(epilog=EPILOG)
def cleanup(
    delete: Annotated[bool, typer.Option("--delete", help="Delete the leftovers found (default: only list).")] = False,
    user: Annotated[
        list[str] | None,
        typer.Option("--user", metavar="NAME", help="Only objects of this user; repeatable.", show_default=False),
    ] = None,
    min_age: Annotated[
        str | None,
        typer.Option(
            "--min-age",
            metavar="DURATION",
            help="Leave objects younger than this alone: a run in progress elsewhere may still need them "
            "(default: 10m with --delete, 0 when listing; more if runs use a long --timeout).",
            show_default=False,
        ),
    ] = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = None,
    output: OutputOpt = "text",
    registry_namespace: RegistryNsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Find CSRs, RBAC and token objects that interrupted runs left behind (managed-by=kubeuser labels).

    Leftovers are CSRs without a certificate, and CSRs, Roles, RoleBindings, ClusterRoleBindings, ServiceAccounts
    and token-binding Secrets whose user (annotation kubeuser.io/user) has no active registry record; also
    token-binding Secrets whose token the record says expired or was invalidated. Lists them; --delete removes them
    (deleting a token-binding Secret kills the token bound to it).
    """
    from kubeuser.connect import connected
    from kubeuser.output import emit, progress_reporter
    from kubeuser.workflows import cleanup as wf

    fmt = check_output(output)
    if min_age is None:
        min_age = DELETE_MIN_AGE if delete else "0"
    opts = wf.CleanupOptions(
        delete=delete,
        users=list(user or []),
        min_age_seconds=wf.parse_age(min_age),
        registry_namespace=registry_namespace,
    )
    with connected(kubeconfig, context, request_timeout) as (_target, gw):
        res = wf.cleanup(opts, gw, progress_reporter(fmt))
    emit(res, fmt)
