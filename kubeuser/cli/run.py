"""``kubeuser run NAME -- CMD``: an ephemeral user for one command (CI jobs, scripts)."""

from __future__ import annotations

from typing import Annotated

import typer

from kubeuser.cli.app import (
    AllowMissingRolesOpt,
    ClusterRoleOpt,
    ClusterWideOpt,
    ContextOpt,
    DebugOpt,
    GroupOpt,
    KeySizeOpt,
    KeyTypeOpt,
    KubeconfigOpt,
    NamespaceOpt,
    RegistryNsOpt,
    RequestTimeoutOpt,
    RoleOpt,
    RuleOpt,
    TimeoutOpt,
    app,
)

EPILOG = """Examples:

\b
  kubeuser run ci-smoke --rule get,list:pods \\
      -n staging -- kubectl get pods

\b
  kubeuser run deployer --ttl 30m --role deployer \\
      -n prod -- ./deploy.sh v1.2.3

\b
  kubeuser run auditor --clusterrole view \\
      --cluster-wide -- kubectl get deploy -A

\b
  kubeuser run ci-token --auth token --rule get:pods \\
      -n staging -- kubectl get pods

The user exists only while CMD runs: afterwards its bindings, CSRs and registry record are
revoked and the temporary kubeconfig is deleted (also when CMD fails, or on SIGINT/SIGTERM).
With --auth token the user is a ServiceAccount with one token; its ServiceAccount and the
token's Secret are deleted too, so the token is dead the moment run ends (within ~10 s).
Put the command after --. The exit code is CMD's.
"""
RUN_AUTH_KINDS = ("x509", "token")  # no auto: run makes its user without a probe of the cluster


@app.command(epilog=EPILOG)
def run(
    name: Annotated[str, typer.Argument(metavar="NAME", help="User name for the duration of the command.")],
    command: Annotated[
        list[str] | None,
        typer.Argument(metavar="CMD", help="The command and its arguments, after --.", show_default=False),
    ] = None,
    group: GroupOpt = None,
    ttl: Annotated[
        str,
        typer.Option(
            "--ttl",
            metavar="DURATION",
            help="Certificate or token lifetime (at least 10m); the user is revoked when CMD ends.",
        ),
    ] = "15m",
    namespace: NamespaceOpt = None,
    rule: RuleOpt = None,
    role: RoleOpt = None,
    clusterrole: ClusterRoleOpt = None,
    cluster_wide: ClusterWideOpt = False,
    allow_missing_roles: AllowMissingRolesOpt = False,
    key_type: KeyTypeOpt = "ecdsa",
    key_size: KeySizeOpt = None,
    auth: Annotated[
        str,
        typer.Option(
            "--auth",
            metavar="KIND",
            help="x509: a client certificate (default); token: a ServiceAccount with one short-lived token, "
            "deleted with its ServiceAccount when CMD ends (for clusters that do not issue or trust client "
            "certificates).",
        ),
    ] = "x509",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = None,
    timeout: TimeoutOpt = 60.0,
    registry_namespace: RegistryNsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Run a command as a short-lived user: create it, run CMD with KUBECONFIG set, then revoke it."""
    from kubeuser import durations, hints, render
    from kubeuser.errors import UsageError
    from kubeuser.workflows import create as createwf
    from kubeuser.workflows import run as wf

    auth = auth.lower()
    if auth not in RUN_AUTH_KINDS:
        raise UsageError(
            f"--auth must be x509 or token for run, not {auth!r}",
            hint="--auth token where the cluster does not issue or accept client certificates, else x509",
        )
    ttl_seconds = durations.parse(ttl)
    if not command:
        example = f"{hints.kubeuser('run', name)} -- kubectl get pods"
        raise UsageError("no command to run", hint=f"put it after --, e.g. {example}")
    opts = createwf.CreateOptions(
        name=name,
        groups=list(group or []),
        ttl_seconds=ttl_seconds,
        namespace=namespace,
        rules=list(rule or []),
        roles=list(role or []),
        cluster_roles=list(clusterrole or []),
        cluster_wide=cluster_wide,
        allow_missing_roles=allow_missing_roles,
        key_type=key_type.lower(),
        key_size=key_size,
        timeout=durations.timeout(timeout, "--timeout"),
        registry_namespace=registry_namespace,
        write_key_files=False,
        auth=auth,
        key_spec_given=key_size is not None or key_type.lower() != "ecdsa",
    )
    createwf.plan(opts, namespace or "default")  # validate all input before touching any file or cluster

    from kubeuser.connect import open_gateway, resolve

    target = resolve(kubeconfig, context, request_timeout)
    reporter = render.ConsoleReporter()  # stderr: stdout belongs to CMD
    try:
        res = wf.run(wf.RunOptions(opts, list(command)), target, lambda: open_gateway(target), reporter)
    except wf.CommandError as exc:  # CMD could not start (we cleaned up): the shell's 127/126
        render.error(exc)
        raise typer.Exit(exc.returncode) from None
    if res.cleanup_error is not None:
        if res.exit_code == 0:
            raise res.cleanup_error
        render.error(res.cleanup_error)  # CMD's own failure decides the exit code
    if res.exit_code:
        raise typer.Exit(res.exit_code)
