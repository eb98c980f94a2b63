"""``kubeuser create``: parse flags, run the onboarding workflow, render the result."""

from __future__ import annotations

from typing import Annotated

import typer

from kubeuser.cli.app import (
    AllowMissingRolesOpt,
    AuthOpt,
    ClusterRoleOpt,
    ClusterWideOpt,
    ContextOpt,
    DebugOpt,
    GroupOpt,
    KeySizeOpt,
    KeyTypeOpt,
    KubeconfigOpt,
    NamespaceOpt,
    OutputOpt,
    PrintKeyOpt,
    RegistryNsOpt,
    RequestTimeoutOpt,
    RoleOpt,
    RuleOpt,
    ServiceAccountNsOpt,
    TimeoutOpt,
    app,
    check_key_to_terminal,
    check_output,
)

EPILOG = """Examples:

\b
  # a developer for 30 days, who may read pods in dev
  kubeuser create user01 --group dev --days 30 \\
      --rule get,list,watch:pods -n dev

\b
  # a CI identity for 30 minutes, in a kubeconfig file
  kubeuser create ci-bot --ttl 30m --clusterrole view \\
      --cluster-wide --out ci.kubeconfig -o json

\b
  # the objects it would make; nothing changes
  kubeuser create alice -g dev -g ops --role deployer \\
      -n prod --dry-run

\b
  # for a key that stays with bob (kubeuser request)
  kubeuser create bob --csr bob.csr --clusterrole view \\
      -n dev --out bob.kubeconfig

\b
  # a token identity (EKS, proxies, Dashboard sign-in)
  kubeuser create dash-ro --auth token --ttl 8h \\
      --clusterrole view -n apps --out dash.kubeconfig
"""


@app.command(epilog=EPILOG)
def create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="User name: the certificate's CN and the RBAC subject.")],
    group: GroupOpt = None,
    days: Annotated[
        int | None,
        typer.Option("--days", metavar="DAYS", help="Certificate lifetime in days (default 30).", show_default=False),
    ] = None,
    ttl: Annotated[
        str | None,
        typer.Option(
            "--ttl",
            metavar="DURATION",
            help="Certificate lifetime as a duration: 10m, 2h, 7d (at least 10m).",
            show_default=False,
        ),
    ] = None,
    namespace: NamespaceOpt = None,
    rule: RuleOpt = None,
    role: RoleOpt = None,
    clusterrole: ClusterRoleOpt = None,
    cluster_wide: ClusterWideOpt = False,
    allow_missing_roles: AllowMissingRolesOpt = False,
    key_type: KeyTypeOpt = "ecdsa",
    key_size: KeySizeOpt = None,
    auth: AuthOpt = "x509",
    service_account_namespace: ServiceAccountNsOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Write a standalone kubeconfig for the user to this file ('-' = stdout) "
            "instead of merging into yours.",
            show_default=False,
        ),
    ] = None,
    print_key: PrintKeyOpt = False,
    csr: Annotated[
        str | None,
        typer.Option(
            "--csr",
            metavar="FILE",
            help="Bring your own key: issue for this certificate request (from `kubeuser request`; '-' = stdin) "
            "instead of generating a key. Needs --out; the handout holds no key.",
            show_default=False,
        ),
    ] = None,
    context_name: Annotated[
        str | None,
        typer.Option("--context-name", metavar="NAME", help="Context name (default NAME@CLUSTER).", show_default=False),
    ] = None,
    set_current: Annotated[bool, typer.Option("--set-current", help="Make the new context current.")] = False,
    allow_system_names: Annotated[
        bool,
        typer.Option("--allow-system-names", help="Allow reserved system: user/group names (never system:masters)."),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Reissue for an existing user; overwrite --out.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the CSR and RBAC manifests; change nothing.")
    ] = False,
    output: OutputOpt = "text",
    timeout: TimeoutOpt = 60.0,
    registry_namespace: RegistryNsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Create a user: key → CSR → approve → certificate (or ServiceAccount → token) → kubeconfig → RBAC → proof."""
    from kubeuser import durations
    from kubeuser.errors import UsageError
    from kubeuser.output import emit, progress_reporter
    from kubeuser.workflows import create as wf

    fmt = check_output(output)
    if days is not None and ttl is not None:
        raise UsageError("--days and --ttl are mutually exclusive", hint="give one lifetime")
    ttl_seconds = durations.parse(ttl) if ttl is not None else durations.from_days(days if days is not None else 30)
    if out == "-" and fmt != "text":
        raise UsageError(
            "--out - and -o json|yaml both want stdout", hint="write the kubeconfig to a file with --out PATH"
        )
    auth = auth.lower()
    if auth not in ("x509", "token", "auto"):
        raise UsageError(f"--auth must be x509, token or auto, not {auth!r}", hint="see `kubeuser create --help`")
    if service_account_namespace is not None and auth == "x509":
        raise UsageError("--service-account-namespace goes with --auth token (or auto)")
    if csr is None:  # bring your own key: the handout holds no key
        check_key_to_terminal(out, print_key)
    opts = wf.CreateOptions(
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
        out=out,
        context_name=context_name,
        set_current=set_current,
        allow_system_names=allow_system_names,
        force=force,
        timeout=durations.timeout(timeout, "--timeout"),
        registry_namespace=registry_namespace,
        auth=auth,
        service_account_namespace=service_account_namespace,
        key_spec_given=key_size is not None or key_type.lower() != "ecdsa",
    )
    if csr is not None:
        from kubeuser.cli.app import read_input

        opts.csr_pem = read_input(csr, "--csr")
    wf.plan(opts, namespace or "default")  # validate all input before touching any file or cluster
    if dry_run:
        from kubeuser import registry
        from kubeuser.connect import resolve

        try:
            default_ns = resolve(kubeconfig, context).namespace
        except Exception:
            default_ns = "default"
        objs = wf.dry_run_manifests(wf.plan(opts, default_ns), registry.namespace_from(opts.registry_namespace))
        emit(wf.Manifests(objs), fmt)
        return

    from kubeuser.connect import open_gateway, resolve

    target = resolve(kubeconfig, context, request_timeout)
    reporter = progress_reporter(fmt)
    gw = open_gateway(target)
    try:
        result = wf.create(opts, target, gw, reporter)
    finally:
        gw.close()
    emit(result, fmt)
