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

  kubeuser cleanup                      # list what interrupted runs left behind

  kubeuser cleanup --delete             # delete those older than 10 minutes

  kubeuser cleanup --delete --min-age 0 -o json   # all of them: no other run is in progress
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
    """Find CSRs and RBAC objects that interrupted runs left behind (label app.kubernetes.io/managed-by=kubeuser).

    Leftovers are CSRs without a certificate, and CSRs, Roles, RoleBindings and ClusterRoleBindings whose
    user (annotation kubeuser.io/user) has no active registry record. Lists them; --delete removes them.
    """
    from kubeuser import render
    from kubeuser.connect import connected
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
        res = wf.cleanup(opts, gw, render.ConsoleReporter(quiet=fmt != "text"))
    if fmt != "text":
        render.out(render.dump(res.to_dict(), fmt))
        return
    lines: list[str] = []
    if not res.orphans:
        lines.append("nothing to clean up: no orphaned CSRs or RBAC objects")
    for o in res.orphans:
        state = "deleted" if o.deleted else ("NOT deleted: " + o.error if o.error else "")
        if delete and not o.deleted and not o.error:
            state = "kept: the user's record became active"
        lines.append(f"{o.describe()}  ({o.reason})" + (f"  [{state}]" if state else ""))
    if res.too_young:
        lines.append(
            f"{res.too_young} object(s) younger than --min-age {min_age} were left alone"
            + (" (--min-age 0 includes them, if no run is in progress)" if delete else "")
        )
    for what in res.other_registries:
        lines.append(f"{what}: another registry's, not touched (run cleanup with its --registry-namespace)")
    for what in res.unprovable:
        lines.append(f"{what}: kept")
    if res.orphans and not delete:
        lines.append("remove them with: kubeuser cleanup --delete")
    render.out("\n".join(lines) + "\n")
