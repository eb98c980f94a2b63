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
    RequestTimeoutOpt,
    UserArg,
    app,
    check_output,
)
from kubeuser.completion import list_output_formats

ListOutputOpt = Annotated[
    str,
    typer.Option(
        "-o",
        "--output",
        metavar="FORMAT",
        help="Output format: text, wide (more columns), json or yaml.",
        case_sensitive=False,
        autocompletion=list_output_formats,
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


LIST_EPILOG = """Examples:

\b
  kubeuser list
  kubeuser list -o wide

\b
  # users whose certificate ends within 7 days (exit 13)
  kubeuser list --expiring 7d -o json
"""

SHOW_EPILOG = """Examples:

\b
  kubeuser show alice
  kubeuser show alice -n prod
  kubeuser show ci-bot -o yaml
"""


@app.command("list", epilog=LIST_EPILOG)
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
    from kubeuser.output import emit
    from kubeuser.workflows import users as wf

    wide = output.lower() == "wide"
    if not wide and output.lower() not in render.OUTPUT_FORMATS:
        raise UsageError(f"unknown output format {output!r}", hint="use -o text, -o wide, -o json or -o yaml")
    fmt = "wide" if wide else check_output(output)
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
    emit(wf.UserList(records, expiring), fmt)
    if window is not None and records:
        raise typer.Exit(int(ExitCode.EXPIRING))


@app.command(epilog=SHOW_EPILOG)
def show(
    name: UserArg,
    namespace: NamespaceOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = None,
    output: OutputOpt = "text",
    registry_namespace: RegistryNsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Show a user's record and effective access: bindings naming the user or its groups, and a can-i summary."""
    from kubeuser import registry
    from kubeuser.connect import connected
    from kubeuser.output import emit
    from kubeuser.workflows import users as wf

    fmt = check_output(output)
    with connected(kubeconfig, context, request_timeout) as (_target, gw):
        res = wf.show(gw, registry.namespace_from(registry_namespace), name, namespace)
    emit(res, fmt)
