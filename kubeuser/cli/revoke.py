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
    app,
    check_output,
)


@app.command()
def revoke(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The user.")],
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
    from kubeuser import hints, render
    from kubeuser.connect import connected
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
        res = wf.revoke(opts, target, gw, render.ConsoleReporter(quiet=fmt != "text"))
    if fmt != "text":
        render.out(render.dump(res.to_dict(), fmt))
    else:
        render.out(_report(res))
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


def _report(res: object) -> str:
    from kubeuser.workflows.revoke import RevokeResult

    assert isinstance(res, RevokeResult)
    done = "revoked" if res.marked_revoked or res.already_revoked else "revoke INCOMPLETE for"
    lines = [
        f"{done} {res.user}" + (" (it was already revoked)" if res.already_revoked else ""),
        "removed: " + ("; ".join(res.deleted + res.deleted_csrs + res.kubeconfig_removed + res.local_removed
                                 + [f"{res.user} from {b}" for b in res.foreign_removed]) or "nothing left to remove"),
    ]  # fmt: skip
    if res.current_context_cleared:
        lines.append(f"current-context was {res.current_context_cleared} (removed): no context is current now")
    for what in res.other_registries:
        lines.append(f"not touched (another registry's user of the same name): {what}")
    for what in res.kubeconfig_kept + res.local_kept:
        lines.append(f"not touched (kubeuser cannot prove it wrote it): {what}")
    if res.local_left:
        lines.append(f"kept on this machine: {', '.join(res.local_left)} (--purge-local deletes them)")
    lines += ["", "Residual access (Kubernetes cannot revoke a client certificate):"]
    if res.still_valid:
        for c in res.still_valid:
            lines.append(f"  - certificate {c.serial} still AUTHENTICATES until {c.not_after}")
    elif res.not_after:
        lines.append(f"  - the certificate expired at {res.not_after}: it no longer authenticates")
    else:
        lines.append(
            "  - no certificate on record: any certificate issued for this name authenticates until it expires"
        )
    group_bound = {b.via.removeprefix("group:") for b in res.residual_bindings if b.via.startswith("group:")}
    for g in res.groups:
        if g not in group_bound:
            lines.append(f"  - group {g} (certificate O): no binding names it today; any binding made later applies")
    for b in res.residual_bindings:
        note = "" if b.via != "user" else ("  (names the user; not made by kubeuser: --all-bindings removes it)")
        lines.append(f"  - still bound: {b.describe()}{note}")
    if res.still_allowed:
        lines.append(
            f"  - still allowed (namespace {res.namespace}): " + ", ".join(p.text() for p in res.still_allowed)
        )
    else:
        lines.append(f"  - of the common checks in namespace {res.namespace}, nothing is allowed any more")
    return "\n".join(lines) + "\n"
