"""``kubeuser grant`` and ``kubeuser ungrant``: change a user's RBAC, keep the certificate."""

from __future__ import annotations

from typing import Annotated

import typer

from kubeuser.cli.app import (
    ClusterRoleOpt,
    ClusterWideOpt,
    ContextOpt,
    DebugOpt,
    KubeconfigOpt,
    NamespaceOpt,
    OutputOpt,
    RegistryNsOpt,
    RequestTimeoutOpt,
    RoleOpt,
    RuleOpt,
    UserArg,
    app,
    check_output,
)

GRANT_EPILOG = """Examples:

\b
  kubeuser grant alice --clusterrole view -n dev
  kubeuser grant alice -n prod \\
      --rule get,list:deployments:apps
  kubeuser grant ci-bot --clusterrole view \\
      --cluster-wide --dry-run
"""

UNGRANT_EPILOG = """Examples:

\b
  kubeuser ungrant alice --clusterrole view -n dev
  kubeuser ungrant alice --all
"""

DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")]


@app.command(epilog=GRANT_EPILOG)
def grant(
    name: UserArg,
    namespace: NamespaceOpt = None,
    rule: RuleOpt = None,
    role: RoleOpt = None,
    clusterrole: ClusterRoleOpt = None,
    cluster_wide: ClusterWideOpt = False,
    dry_run: DryRunOpt = False,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = None,
    output: OutputOpt = "text",
    registry_namespace: RegistryNsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Grant a user more access (RBAC only: the certificate is kept). -n defaults to the user's namespace."""
    _run(name, namespace, rule, role, clusterrole, cluster_wide, False, dry_run, kubeconfig, context, output,
         registry_namespace, request_timeout, remove=False)  # fmt: skip


@app.command(epilog=UNGRANT_EPILOG)
def ungrant(
    name: UserArg,
    namespace: NamespaceOpt = None,
    rule: RuleOpt = None,
    role: RoleOpt = None,
    clusterrole: ClusterRoleOpt = None,
    cluster_wide: ClusterWideOpt = False,
    all_: Annotated[bool, typer.Option("--all", help="Take away everything kubeuser granted the user.")] = False,
    dry_run: DryRunOpt = False,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = None,
    output: OutputOpt = "text",
    registry_namespace: RegistryNsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Take access away from a user (RBAC only: the certificate keeps authenticating until it expires)."""
    _run(name, namespace, rule, role, clusterrole, cluster_wide, all_, dry_run, kubeconfig, context, output,
         registry_namespace, request_timeout, remove=True)  # fmt: skip


def _run(
    name: str,
    namespace: str | None,
    rule: list[str] | None,
    role: list[str] | None,
    clusterrole: list[str] | None,
    cluster_wide: bool,
    all_: bool,
    dry_run: bool,
    kubeconfig: str | None,
    context: str | None,
    output: str,
    registry_namespace: str | None,
    request_timeout: str | None,
    *,
    remove: bool,
) -> None:
    from kubeuser.connect import connected
    from kubeuser.output import emit, progress_reporter
    from kubeuser.workflows import grant as wf

    fmt = check_output(output)
    opts = wf.GrantOptions(
        name=name,
        namespace=namespace,
        rules=list(rule or []),
        roles=list(role or []),
        cluster_roles=list(clusterrole or []),
        cluster_wide=cluster_wide,
        all=all_,
        registry_namespace=registry_namespace,
        dry_run=dry_run,
    )
    with connected(kubeconfig, context, request_timeout) as (_target, gw):
        res = wf.change(opts, gw, progress_reporter(fmt), remove=remove)
    emit(res, fmt)
