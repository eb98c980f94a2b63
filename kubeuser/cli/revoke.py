"""``kubeuser revoke``."""

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

EPILOG = """Examples:

\b
  kubeuser revoke alice
  kubeuser revoke alice --purge-local -o json

\b
  # also take the user out of bindings made by others
  kubeuser revoke bob --all-bindings -n dev
"""


@app.command(epilog=EPILOG)
def revoke(
    name: UserArg,
    purge_local: Annotated[
        bool, typer.Option("--purge-local", help="Also delete the local key and cert files.")
    ] = False,
    all_bindings: Annotated[
        bool, typer.Option("--all-bindings", help="Also remove the user from bindings kubeuser did not make.")
    ] = False,
    namespace: NamespaceOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = None,
    output: OutputOpt = "text",
    registry_namespace: RegistryNsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Remove a user's access (bindings, CSRs, kubeconfig entries) and report what access remains.

    Kubernetes cannot revoke a client certificate: it authenticates until it expires, and its groups keep
    whatever their bindings grant. The report says exactly that.
    """
    from kubeuser import hints
    from kubeuser.connect import connected
    from kubeuser.output import emit, progress_reporter
    from kubeuser.workflows import revoke as wf

    fmt = check_output(output)
    opts = wf.RevokeOptions(
        name=name,
        purge_local=purge_local,
        all_bindings=all_bindings,
        registry_namespace=registry_namespace,
        namespace=namespace,
    )
    with connected(kubeconfig, context, request_timeout) as (target, gw):
        res = wf.revoke(opts, target, gw, progress_reporter(fmt))
    emit(res, fmt)
    if res.errors:
        first = res.errors[0]
        state = (
            "the record was NOT marked revoked: kubeuser's access is not fully gone"
            if res.record_found and not res.marked_revoked
            else "see the report above"
        )
        first.hint = (
            first.hint + "; " if first.hint else ""
        ) + f"{state}; run `{hints.kubeuser('revoke', res.user)}` again"
        raise first
