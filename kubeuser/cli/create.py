"""``kubeuser create``: parse flags, run the onboarding workflow, render the result."""

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
    OutputOpt,
    PrintKeyOpt,
    RegistryNsOpt,
    RequestTimeoutOpt,
    RoleOpt,
    RuleOpt,
    TimeoutOpt,
    app,
    check_key_to_terminal,
    check_output,
)

EPILOG = """Examples:

  kubeuser create user01 --group dev --days 30 --rule get,list,watch:pods -n dev

  kubeuser create ci-bot --ttl 30m --clusterrole view --cluster-wide --out ci.kubeconfig -o json

  kubeuser create alice -g dev -g ops --role deployer -n prod --dry-run

  kubeuser create bob --csr bob.csr --clusterrole view -n dev --out bob.kubeconfig
"""


@app.command(epilog=EPILOG)
def create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="User name: the certificate's CN and the RBAC subject.")],
    group: GroupOpt = None,
    days: Annotated[
        int | None, typer.Option("--days", help="Certificate lifetime in days (default 30).", show_default=False)
    ] = None,
    ttl: Annotated[
        str | None,
        typer.Option(
            "--ttl", help="Certificate lifetime as a duration: 10m, 2h, 7d (at least 10m).", show_default=False
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
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
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
        str | None, typer.Option("--context-name", help="Context name (default NAME@CLUSTER).", show_default=False)
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
    """Create a user: key → CSR → approve → certificate → kubeconfig → RBAC → proof."""
    from kubeuser import durations, render
    from kubeuser.errors import UsageError
    from kubeuser.workflows import create as wf

    fmt = check_output(output)
    if days is not None and ttl is not None:
        raise UsageError("--days and --ttl are mutually exclusive", hint="give one lifetime")
    ttl_seconds = durations.parse(ttl) if ttl is not None else durations.from_days(days if days is not None else 30)
    if out == "-" and fmt != "text":
        raise UsageError(
            "--out - and -o json|yaml both want stdout", hint="write the kubeconfig to a file with --out PATH"
        )
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
    )
    if csr is not None:
        from kubeuser.cli.app import read_input

        opts.csr_pem = read_input(csr, "--csr")
        opts.key_spec_given = key_size is not None or key_type.lower() != "ecdsa"
    wf.plan(opts, namespace or "default")  # validate all input before touching any file or cluster
    if dry_run:
        _dry_run(opts, kubeconfig, context, fmt)
        return

    from kubeuser.connect import open_gateway, resolve

    target = resolve(kubeconfig, context, request_timeout)
    reporter = render.ConsoleReporter(quiet=fmt != "text")
    gw = open_gateway(target)
    try:
        result = wf.create(opts, target, gw, reporter)
    finally:
        gw.close()
    if fmt != "text":
        render.out(render.dump(result.to_dict(), fmt))
        return
    if result.standalone_yaml is not None:
        render.out(result.standalone_yaml)
    _summary(result, to_stderr=result.standalone_yaml is not None)


def _dry_run(opts: object, kubeconfig: str | None, context: str | None, fmt: str) -> None:
    from kubeuser import render
    from kubeuser.connect import resolve
    from kubeuser.workflows import create as wf

    assert isinstance(opts, wf.CreateOptions)
    try:
        default_ns = resolve(kubeconfig, context).namespace
    except Exception:
        default_ns = "default"
    p = wf.plan(opts, default_ns)
    from kubeuser import registry

    objs = wf.dry_run_manifests(p, registry.namespace_from(opts.registry_namespace))
    if fmt == "json":
        render.out(render.dump({"apiVersion": "v1", "kind": "List", "items": objs}, "json"))
    else:
        render.out(render.yaml_documents(objs))


def _access_line(result: object) -> str:
    """The access in one readable line: verbs grouped, resources counted, roles named (all rules: -o json)."""
    from kubeuser import naming, rbac
    from kubeuser.workflows.create import CreateResult

    assert isinstance(result, CreateResult)
    if not result.access:
        return f"none in namespace {result.namespace}"
    if not result.access_rules:  # the grants as recorded (bring your own key): already one short item each
        return "; ".join(result.access)
    own = naming.rbac_name(result.user)  # the Role kubeuser made from --rule: said as "--rule", not by its long name
    roles = [
        "--rule" if ref == {"kind": "Role", "name": own} else f"{ref['kind']} {ref['name']}"
        for ref in ({"kind": o["roleRef"]["kind"], "name": o["roleRef"]["name"]} for o in result.rbac_objects
                    if "roleRef" in o)
    ]  # fmt: skip
    text = rbac.summarize_rules(result.access_rules, list(dict.fromkeys(roles)), limit=110)
    return f"{text} in namespace {result.namespace}" + (" (-o json lists every rule)" if len(result.access) > 1 else "")


def _summary(result: object, *, to_stderr: bool) -> None:
    from rich.markup import escape

    from kubeuser import durations, hints, render
    from kubeuser.workflows.create import CreateResult

    assert isinstance(result, CreateResult)
    c = render.console(stderr=to_stderr)
    info = result.issued.info
    lt = result.issued.lifetime
    lines = [
        f"user        {result.user}" + (f"  groups: {', '.join(result.groups)}" if result.groups else ""),
        f"certificate serial {info.serial}, valid {info.not_before:%Y-%m-%d %H:%M} → "
        f"{info.not_after:%Y-%m-%d %H:%M} UTC"
        f" ({durations.format(lt.granted_seconds)}; asked {durations.format(lt.requested_seconds)}: {lt.verdict})",
        f"context     {result.context}" + (f"  in {result.kubeconfig}" if result.kubeconfig else ""),
    ]
    if result.out and result.out != "-":
        lines.append(f"kubeconfig  {result.out}")
    if result.key_file:
        lines.append(f"key         {result.key_file} (0600)")
    lines.append("access      " + _access_line(result))
    if result.removed_grants:
        lines.append("removed     " + "; ".join(result.removed_grants) + " (no longer asked for)")
    for ln in lines:
        c.print(escape(ln))
    if result.kubeconfig:
        try_it = hints.kubectl(
            "--context", result.context, "auth", "can-i", "--list", "-n", result.namespace,
            kubeconfig=result.kubeconfig if hints.current().kubeconfig else None,
        )  # fmt: skip
        c.print(escape(f"try it:     {try_it}"))
