"""Text of the commands that change a user: create (and its --dry-run manifests), renew, revoke, grant and
ungrant, cleanup."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubeuser import render

if TYPE_CHECKING:
    from kubeuser.workflows.cleanup import CleanupResult
    from kubeuser.workflows.create import CreateResult, Manifests
    from kubeuser.workflows.grant import GrantResult
    from kubeuser.workflows.renew import RenewResult
    from kubeuser.workflows.revoke import RevokeResult
    from kubeuser.workflows.token import TokenResult


def create(result: CreateResult, *, wide: bool = False) -> None:
    """The handout (``--out -``) on stdout, then the summary: on stdout, or stderr when the handout is there."""
    if result.standalone_yaml is not None:
        render.out(result.standalone_yaml)
    _create_summary(result, to_stderr=result.standalone_yaml is not None)


def manifests(result: Manifests, *, wide: bool = False) -> None:
    render.out(render.yaml_documents(result.items))


def access_line(result: CreateResult) -> str:
    """The access in one readable line: verbs grouped, resources counted, roles named (all rules: -o json)."""
    from kubeuser import naming, rbac

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


def _create_summary(result: CreateResult, *, to_stderr: bool) -> None:
    from rich.markup import escape

    from kubeuser import durations, hints
    from kubeuser.workflows.issue import IssuedToken

    c = render.console(stderr=to_stderr)
    issued = result.issued
    lt = issued.lifetime
    asked = f" ({durations.format(lt.granted_seconds)}; asked {durations.format(lt.requested_seconds)}: {lt.verdict})"
    if isinstance(issued, IssuedToken):
        lines = [
            f"user        {result.user}  (ServiceAccount {issued.namespace}/{issued.service_account}: "
            f"{issued.username})",
            f"token       bound to Secret {issued.secret_name}, valid {issued.issued_at:%Y-%m-%d %H:%M} → "
            f"{issued.expires_at:%Y-%m-%d %H:%M} UTC{asked}; `{hints.kubeuser('revoke', result.user)}` kills it",
        ]
    else:
        info = issued.info
        lines = [
            f"user        {result.user}" + (f"  groups: {', '.join(result.groups)}" if result.groups else ""),
            f"certificate serial {info.serial}, valid {info.not_before:%Y-%m-%d %H:%M} → "
            f"{info.not_after:%Y-%m-%d %H:%M} UTC{asked}",
        ]
    lines.append(f"context     {result.context}" + (f"  in {result.kubeconfig}" if result.kubeconfig else ""))
    if result.out and result.out != "-":
        lines.append(f"kubeconfig  {result.out}")
    if result.key_file:
        lines.append(f"key         {result.key_file} (0600)")
    lines.append("access      " + access_line(result))
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


def renew(res: RenewResult, *, wide: bool = False) -> None:
    """The new handout (``--out -``) on stdout, and what changed: on stdout, or stderr when the handout is there."""
    from kubeuser.workflows.issue import IssuedToken

    if isinstance(res.issued, IssuedToken):
        text = (
            f"renewed {res.user}: new token bound to Secret {res.issued.secret_name}, valid until {res.not_after}"
            f" ({res.issued.lifetime.verdict})\n"
        )
        if res.invalidated:
            text += (
                f"invalidated: {len(res.invalidated)} earlier token(s) (Secrets deleted: "
                f"{', '.join(res.invalidated)}); they get 401 within about 10 s\n"
            )
    else:
        info = res.issued.info
        text = (
            f"renewed {res.user}: serial {res.previous_serial} → {info.serial}, valid until {res.not_after}"
            f" ({res.issued.lifetime.verdict}; {res.key_type}{' ' + str(res.key_size) if res.key_size else ''} key)\n"
        )
    for c in res.earlier_valid:
        if any(c.serial in w for w in res.warnings if "stale" in w):
            continue  # said in the warning about the stale handout
        what = "token bound to Secret" if c.is_token else "certificate"
        text += f"still valid: earlier {what} {c.serial} authenticates until {c.not_after}\n"
    if res.standalone_yaml is not None:
        render.out(res.standalone_yaml)
    if res.out == "-":
        render.stderr_console().print(text.rstrip(), markup=False)
    else:
        render.out(text)


def revoke(res: RevokeResult, *, wide: bool = False) -> None:
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
    if res.auth == "token":
        lines += ["", "Residual access (a token identity: its tokens can be killed, and were):"]
        lines.append(
            f"  - {len(res.tokens_killed)} token Secret(s)"
            + (f" and ServiceAccount {res.service_account}" if res.service_account_deleted else "")
            + " deleted: every token of the user gets 401 Unauthorized within about 10 s (the API server's "
            "authentication cache)"
        )
    else:
        lines += ["", "Residual access (Kubernetes cannot revoke a client certificate):"]
    if res.auth == "token" and not res.still_valid:
        pass
    elif res.still_valid:
        for c in res.still_valid:
            what = f"token bound to Secret {c.serial}" if c.is_token else f"certificate {c.serial}"
            lines.append(f"  - {what} still AUTHENTICATES until {c.not_after}")
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
    render.out("\n".join(lines) + "\n")


def token(res: TokenResult, *, wide: bool = False) -> None:
    """The token alone on stdout (for `$(kubeuser token NAME)` and sign-in forms); what it is goes to stderr."""
    render.out(res.issued.token + "\n")


def grant(res: GrantResult, *, wide: bool = False) -> None:
    head = ("would change" if res.dry_run else "changed") if res.changes else "nothing to change"
    lines = [f"{head} {res.user}'s access" + (":" if res.changes else "")]
    lines += [f"  {c}" for c in res.changes]
    lines.append("access now:" if not res.dry_run else "access after the change:")
    lines += [f"  {g}" for g in res.access.describe()] or ["  none (the user can authenticate but do nothing)"]
    render.out("\n".join(lines) + "\n")


def cleanup(res: CleanupResult, *, wide: bool = False) -> None:
    from kubeuser import durations

    lines: list[str] = []
    if not res.orphans:
        lines.append("nothing to clean up: no orphaned CSRs, RBAC objects, ServiceAccounts or token Secrets")
    for o in res.orphans:
        state = "deleted" if o.deleted else ("NOT deleted: " + o.error if o.error else "")
        if res.delete and not o.deleted and not o.error:
            state = "kept: the user's record became active (or now uses it)"
        lines.append(f"{o.describe()}  ({o.reason})" + (f"  [{state}]" if state else ""))
    if res.too_young:
        lines.append(
            f"{res.too_young} object(s) younger than --min-age {durations.format(res.min_age_seconds)} were left alone"
            + (" (--min-age 0 includes them, if no run is in progress)" if res.delete else "")
        )
    for what in res.other_registries:
        lines.append(f"{what}: another registry's, not touched (run cleanup with its --registry-namespace)")
    for what in res.unprovable:
        lines.append(f"{what}: kept")
    for what in res.unread:
        lines.append(f"not checked: {what}")
    if res.orphans and not res.delete:
        lines.append("remove them with: kubeuser cleanup --delete")
    render.out("\n".join(lines) + "\n")
