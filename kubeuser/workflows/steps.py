"""The steps every workflow shares, written once, and the transaction that runs them.

``create``, ``renew``, ``run``, ``grant``/``ungrant`` and ``apply`` are each a list of named steps
run inside a :class:`Transaction`: every step that changes something registers how to undo it;
the last write (the kubeconfig or handout) is the commit point. A failure or interrupt before the
commit undoes what the run changed, in reverse, and the error says what could not be undone.

The RBAC step is a reconcile: the user's kubeuser-made objects are made exactly what the record's
access says (create, update, delete), and only objects that :mod:`kubeuser.ownership` proves are
kubeuser's for this user in this registry are ever changed. A foreign object in the way is a
conflict found before anything is changed.
"""

from __future__ import annotations

import base64
import contextlib
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from kubeuser import hints, kubeconfig, naming, ownership, rbac, registry, tokens
from kubeuser.connect import Target
from kubeuser.errors import ConflictError, KubeuserError, UnauthenticatedError, UsageError
from kubeuser.gateway import Gateway, Identity, ServerVersion, fresh_copy
from kubeuser.progress import Reporter, Step
from kubeuser.workflows.issue import IssuedCertificate, IssuedToken

if TYPE_CHECKING:  # cryptography loads only when a key or certificate is handled: not for a token identity
    from kubeuser import csrpolicy, pki

RBAC_KINDS = ("Role", "RoleBinding", "ClusterRoleBinding")
DEFAULT_TTL = 30 * 86400
DEFAULT_TIMEOUT = 60.0
NOT_PROVEN = "not proven here: the private key stays with the user (`kubeuser import` proves it)"


# --------------------------------------------------------------------------- the transaction


class Transaction:
    """Named steps with registered undos and one commit point.

    Use as a context manager: leaving it with an exception before :meth:`commit` runs the undos
    in reverse and appends what was undone (or left behind) to the error's hint.
    """

    def __init__(self, reporter: Reporter, *, user: str) -> None:
        self.reporter = reporter
        self.user = user
        self._undo: list[tuple[str, Callable[[], object]]] = []
        self.committed = False
        self.left_behind: list[str] = []

    def step(self, title: str) -> contextlib.AbstractContextManager[Step]:
        return self.reporter.step(title)

    def on_undo(self, what: str, undo: Callable[[], object]) -> None:
        self._undo.append((what, undo))

    def commit(self) -> None:
        """From here on nothing is rolled back: the change is complete."""
        self.committed = True
        self._undo.clear()

    def rollback(self) -> str:
        for what, undo in reversed(self._undo):
            try:
                undo()
            except BaseException:
                if what:
                    self.left_behind.append(what)
        self._undo.clear()
        if self.left_behind:
            return (
                "left behind: " + ", ".join(self.left_behind) + f" (`{hints.kubeuser('cleanup')}` finds them; "
                f"`{hints.kubeuser('revoke', self.user)}` removes what belongs to the user)"
            )
        return "everything this run changed was undone"

    def __enter__(self) -> Transaction:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None or self.committed:
            if exc is not None and isinstance(exc, KubeuserError) and self.committed:
                exc.hint = (exc.hint + "; " if exc.hint else "") + "the change itself was completed"
            return
        sentence = self.rollback()
        if isinstance(exc, KubeuserError):
            exc.hint = (exc.hint + "; " if exc.hint else "") + sentence


# --------------------------------------------------------------------------- RBAC reconcile


@dataclass
class RbacPlan:
    """What to change so that the user's kubeuser-made RBAC objects are exactly ``desired``."""

    desired: list[dict[str, Any]]
    create: list[dict[str, Any]] = field(default_factory=list)
    update: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)  # (wanted, current)
    delete: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[dict[str, Any]] = field(default_factory=list)
    other_registries: list[dict[str, Any]] = field(default_factory=list)  # same user, another registry: untouched

    @property
    def empty(self) -> bool:
        return not (self.create or self.update or self.delete)

    def describe(self) -> list[str]:
        return (
            [f"+ {rbac.describe(o)}" for o in self.create]
            + [f"~ {rbac.describe(o)}" for o, _ in self.update]
            + [f"- {rbac.describe(o)}" for o in self.delete]
        )


def essence(obj: dict[str, Any], *, marks: bool = True) -> dict[str, Any]:
    """The parts of an RBAC object that grant access, plus (with *marks*) kubeuser's ownership marks."""
    meta = obj.get("metadata") or {}
    keys = (naming.REGISTRY_ANNOTATION, naming.USER_ANNOTATION) if marks else ()
    ownership_marks = {k: (meta.get("annotations") or {}).get(k) for k in keys}
    if obj["kind"] == "Role":
        return {"rules": [{k: v for k, v in r.items() if v} for r in obj.get("rules") or []], "marks": ownership_marks}
    ref = obj.get("roleRef") or {}
    return {
        "roleRef": {k: ref.get(k) for k in ("apiGroup", "kind", "name")},
        "subjects": [
            {k: s.get(k) for k in ("kind", "apiGroup", "name", "namespace") if s.get(k)}
            for s in obj.get("subjects") or []
        ],
        "marks": ownership_marks,
    }


def user_objects(gw: Gateway, user: str) -> list[dict[str, Any]]:
    """Every Role/RoleBinding/ClusterRoleBinding kubeuser made for a user of this name, in any registry."""
    found: list[dict[str, Any]] = []
    for kind in RBAC_KINDS:
        for obj in gw.list_objects(kind, label_selector=naming.user_selector(user)):
            if ownership.user_of(obj) == user:
                found.append(obj)
    return found


def recorded_keys(record: registry.UserRecord | None) -> set[tuple[str, str | None, str]]:
    return {(b.kind, b.namespace, b.name) for b in record.bindings} if record else set()


def plan_rbac(
    gw: Gateway,
    *,
    user: str,
    groups: Sequence[str],
    access: rbac.Access,
    registry_ns: str,
    record: registry.UserRecord | None,
    existing: Sequence[dict[str, Any]] | None = None,
    subject_of: dict[str, str] | None = None,
) -> RbacPlan:
    """Compare the desired objects with what exists; raise ConflictError for anything foreign in the way.

    Changes nothing. ``existing``: the user's objects if the caller already listed them. ``subject_of``: the
    bindings' subject when it is not the User *user* (a token identity's ServiceAccount).
    """
    desired = access.objects(user, groups, registry_ns, subject_of)
    objs = user_objects(gw, user) if existing is None else list(existing)
    recorded = recorded_keys(record)
    plan = RbacPlan(desired)
    mine: dict[tuple[str, str | None, str], dict[str, Any]] = {}
    others: dict[tuple[str, str | None, str], dict[str, Any]] = {}
    for obj in objs:
        verdict = ownership.classify(obj, user, registry_ns, recorded)
        (mine if ownership.owned(verdict) else others)[ownership.object_key(obj)] = obj
    plan.other_registries = [o for o in others.values() if ownership.registry_of(o) not in (None, registry_ns)]
    for obj in desired:
        key = ownership.object_key(obj)
        current = mine.get(key)
        if current is None:
            current_any = others.get(key)
            if current_any is None:
                current_any = gw.get_object(key[0], key[2], key[1])
                if current_any is not None:
                    current_any.setdefault("kind", key[0])
                    if ownership.owned(ownership.classify(current_any, user, registry_ns, recorded)):
                        current = current_any  # kubeuser's own (e.g. left by an interrupted run): reuse it
            if current is None and current_any is not None:
                raise ConflictError(
                    f"{rbac.describe(obj).split(' → ')[0]} already exists and is not kubeuser's for "
                    f"{user!r} in registry {registry_ns} ({ownership.describe_owner(current_any)})",
                    hint="kubeuser never takes over objects it did not make for this user; rename or remove "
                    "that object, or onboard the user in the registry that owns it (--registry-namespace)",
                )
            if current is None:
                plan.create.append(obj)
                continue
        if essence(current) != essence(obj):
            plan.update.append((obj, current))
        else:
            plan.unchanged.append(obj)
    wanted = {ownership.object_key(o) for o in desired}
    plan.delete = [o for k, o in mine.items() if k not in wanted]
    # delete bindings before the Roles they point at
    plan.delete.sort(key=lambda o: RBAC_KINDS.index(o["kind"]) if o["kind"] in RBAC_KINDS else 9, reverse=True)
    return plan


def apply_rbac(tx: Transaction, gw: Gateway, plan: RbacPlan) -> None:
    """Carry out an RbacPlan, registering the undo of every change."""
    for obj in plan.create:
        gw.create_object(obj)
        meta = obj["metadata"]
        tx.on_undo(rbac.describe(obj), partial(gw.delete_object, obj["kind"], meta["name"], meta.get("namespace")))
    for obj, current in plan.update:
        gw.apply_object(obj)
        tx.on_undo(f"the previous {rbac.describe(current)}", partial(gw.apply_object, fresh_copy(current)))
    for current in plan.delete:
        meta = current["metadata"]
        gw.delete_object(current["kind"], meta["name"], meta.get("namespace"))
        tx.on_undo(f"the deleted {rbac.describe(current)}", partial(gw.create_object, fresh_copy(current)))


def binding_refs(objs: Sequence[dict[str, Any]]) -> list[registry.BindingRef]:
    return [registry.BindingRef.of(o) for o in objs]


# --------------------------------------------------------------------------- issuing and proving a certificate


def issue_and_prove(
    tx: Transaction,
    gw: Gateway,
    target: Target,
    *,
    user: str,
    groups: Sequence[str],
    ttl_seconds: int,
    key: pki.PrivateKey | pki.PublicKey,
    timeout: float,
    version: ServerVersion,
    registry_ns: str,
    csr_pem: bytes | None = None,
) -> tuple[IssuedCertificate, Identity, Gateway | None]:
    """Submit, approve, wait, verify (the CSR's deletion registered as undo), then prove the certificate
    authenticates. Returns the certificate, the server's view of it, and the new identity's gateway.

    With *csr_pem* (bring your own key) there is no private key here, so nothing can be proven: the
    user's ``kubeuser import`` proves it; the identity says so and the gateway is None.
    """
    from kubeuser.workflows.issue import issue

    issued = issue(
        gw,
        user=user,
        groups=list(groups),
        ttl_seconds=ttl_seconds,
        key=key,
        ca_pem=target.ctx.ca_pem(),
        timeout=timeout,
        reporter=tx.reporter,
        version=version,
        registry_ns=registry_ns,
        csr_pem=csr_pem,
    )
    tx.on_undo(f"CSR {issued.csr_name}", partial(gw.delete_csr, issued.csr_name))
    if csr_pem is not None:
        return issued, Identity(None, (), NOT_PROVEN), None
    with tx.step("Prove the new identity authenticates") as s:
        identity, user_gw = prove(gw, issued.cert_pem, issued.key_pem, user)
        tx.on_undo("", user_gw.close)
        s.detail = identity_text(identity, user, version)
    return issued, identity, user_gw


def prove(gw: Gateway, cert_pem: bytes, key_pem: bytes, user: str) -> tuple[Identity, Gateway]:
    """Authenticate with a fresh certificate; returns the server's view and the new identity's gateway."""
    user_gw = gw.as_certificate(cert_pem, key_pem)
    try:
        try:
            identity = user_gw.whoami()
        except UnauthenticatedError as exc:
            raise UnauthenticatedError(
                "the API server does not accept the new certificate (401)",
                hint="the signer's CA is not in the API server's --client-ca-file",
            ) from exc
        if identity.username is not None and identity.username != user:
            raise KubeuserError(f"the server sees the new certificate as {identity.username!r}, not {user!r}")
    except BaseException:
        user_gw.close()
        raise
    return identity, user_gw


def identity_text(identity: Identity, user: str, version: ServerVersion) -> str:
    if identity.username is not None:
        groups = ", ".join(g for g in identity.groups if g != "system:authenticated")
        return f"server says: {identity.username}" + (f" (groups {groups})" if groups else "")
    return (
        f"authenticated (SelfSubjectAccessReview); {version.git_version} has no SelfSubjectReview, "
        f"so the name {user!r} comes from the " + ("token" if user.startswith(tokens.SA_PREFIX) else "certificate")
    )


def certificate_entry(issued: IssuedCertificate) -> dict[str, Any]:
    """The kubeconfig user entry of a certificate: with its key, or (bring your own key) without it."""
    if issued.key_pem:
        return kubeconfig.user_entry(issued.cert_pem, issued.key_pem)
    return kubeconfig.certificate_only_entry(issued.cert_pem)  # the key stays with the user


# --------------------------------------------------------------------------- ServiceAccount token identities


def principal(record: registry.UserRecord) -> str:
    """Who the API server sees for the record's current credential: the certificate's CN, or the
    ServiceAccount's user name for a token identity."""
    if record.is_token and record.service_account and record.service_account_namespace:
        return tokens.username(record.service_account_namespace, record.service_account)
    return record.user


def subject_of(record: registry.UserRecord | None) -> dict[str, str] | None:
    """The RBAC subject of a token identity's bindings (None: the User, as for certificates)."""
    if record is not None and record.is_token and record.service_account and record.service_account_namespace:
        return tokens.subject(record.service_account_namespace, record.service_account)
    return None


def entry_is_ours(body: dict[str, Any] | None, record: registry.UserRecord) -> bool:
    """A kubeconfig user entry holds a credential the record says kubeuser issued (certificate or token; a user
    moved from one kind to the other by ``create --force`` may have both)."""
    serials = record.serials() | {t.serial.lower() for t in record.sign_in_tokens}
    return any(ownership.user_entry_is_ours(body, who, serials) for who in principals(record))


def principals(record: registry.UserRecord | None) -> list[str]:
    """Every name the record's credentials carry: the user (certificates) and its ServiceAccount (tokens)."""
    if record is None:
        return []
    return list(dict.fromkeys([record.user, principal(record)]))


def ensure_service_account(
    tx: Transaction, gw: Gateway, *, user: str, namespace: str, registry_ns: str
) -> tuple[str, bool]:
    """The user's ServiceAccount: created (undo registered), or kubeuser's own already. Anything else of the
    name is a conflict. Returns (name, created)."""
    manifest = tokens.service_account_manifest(user, namespace, registry_ns)
    name = manifest["metadata"]["name"]
    if check_service_account(gw, user=user, namespace=namespace, registry_ns=registry_ns) is not None:
        return name, False
    gw.create_object(manifest)
    tx.on_undo(f"ServiceAccount {namespace}/{name}", partial(gw.delete_object, "ServiceAccount", name, namespace))
    return name, True


def check_service_account(gw: Gateway, *, user: str, namespace: str, registry_ns: str) -> dict[str, Any] | None:
    """ConflictError when the ServiceAccount name for *user* is taken by something that is not kubeuser's for
    this user in this registry. Changes nothing. Returns kubeuser's ServiceAccount if it exists, else None."""
    name = tokens.service_account_name(user)
    current = gw.get_object("ServiceAccount", name, namespace)
    if current is None or ownership.classify(current, user, registry_ns) == ownership.OURS:
        return current
    raise ConflictError(
        f"ServiceAccount {namespace}/{name} already exists and is not kubeuser's for {user!r} in registry "
        f"{registry_ns} ({ownership.describe_owner(current)})",
        hint="kubeuser never takes over a ServiceAccount it did not make; pick another user name, or "
        "put token users in another namespace with --service-account-namespace",
    )


def prove_token(gw: Gateway, issued: IssuedToken) -> tuple[Identity, Gateway]:
    """Authenticate with the fresh token; returns the server's view and the new identity's gateway."""
    user_gw = gw.as_token(issued.token)
    try:
        try:
            identity = user_gw.whoami()
        except UnauthenticatedError as exc:
            raise UnauthenticatedError(
                "the API server does not accept the new ServiceAccount token (401)",
                hint="check that kube-apiserver's --service-account-key-file matches its "
                "--service-account-signing-key-file, and that --api-audiences includes the default audience",
            ) from exc
        if identity.username is not None and identity.username != issued.username:
            raise KubeuserError(f"the server sees the new token as {identity.username!r}, not {issued.username!r}")
    except BaseException:
        user_gw.close()
        raise
    return identity, user_gw


def issue_and_prove_token(
    tx: Transaction,
    gw: Gateway,
    *,
    user: str,
    namespace: str,
    ttl_seconds: int,
    registry_ns: str,
    purpose: str,
    version: ServerVersion,
) -> tuple[IssuedToken, Identity, Gateway]:
    """The ServiceAccount (made if missing), a token bound to a new Secret (deleted on undo), and the proof."""
    from kubeuser.workflows.issue import issue_token

    with tx.step("ServiceAccount") as s:
        sa, created = ensure_service_account(tx, gw, user=user, namespace=namespace, registry_ns=registry_ns)
        s.detail = f"{namespace}/{sa}" + (" (created)" if created else " (kubeuser's, kept)")
    if created and not version.at_least(1, 24):
        tx.reporter.warn(
            f"Kubernetes {version.git_version} (< 1.24) also makes a non-expiring token Secret for every "
            f"ServiceAccount: whoever may read Secrets in {namespace} can use it; "
            f"`{hints.kubeuser('revoke', user)}` kills it with the ServiceAccount"
        )
    issued = issue_token(
        gw,
        user=user,
        namespace=namespace,
        service_account=sa,
        ttl_seconds=ttl_seconds,
        registry_ns=registry_ns,
        purpose=purpose,
        reporter=tx.reporter,
    )
    tx.on_undo(f"Secret {namespace}/{issued.secret_name}", partial(gw.delete_object, "Secret", issued.secret_name,
                                                                   namespace))  # fmt: skip
    with tx.step("Prove the new identity authenticates") as s:
        identity, user_gw = prove_token(gw, issued)
        tx.on_undo("", user_gw.close)
        s.detail = identity_text(identity, issued.username, version)
    return issued, identity, user_gw


def invalidate_tokens(
    gw: Gateway, record: registry.UserRecord, registry_ns: str, *, keep: str | None = None
) -> tuple[list[str], list[str]]:
    """Delete the Secrets the record's tokens are bound to (each token then gets 401 within ~10 s, the API
    server's authentication cache), except *keep*. Marks them invalidated in the record. Returns (deleted
    Secret names, failures as text)."""
    ns = record.service_account_namespace
    deleted: list[str] = []
    failed: list[str] = []
    if not ns:
        return deleted, failed
    now = registry.now_iso()
    for cred in record.token_secrets():
        if cred.serial == keep:
            continue
        current = gw.get_object("Secret", cred.serial, ns)
        try:
            if current is not None and ownership.classify(current, record.user, registry_ns) == ownership.OURS:
                gw.delete_object("Secret", cred.serial, ns)
            elif current is not None:
                failed.append(f"Secret {ns}/{cred.serial} is not kubeuser's; not deleted")
                continue
        except KubeuserError as exc:
            failed.append(f"Secret {ns}/{cred.serial}: {exc.message}")
            continue
        cred.invalidated_at = now
        deleted.append(cred.serial)
    return deleted, failed


@dataclass
class RetiredTokens:
    """What ``create --force`` did to the tokens of the credential it replaced."""

    invalidated: list[str] = field(default_factory=list)  # bound Secrets deleted: those tokens get 401
    service_account_deleted: str | None = None  # NAMESPACE/NAME, when the identity stopped being that ServiceAccount
    failed: list[str] = field(default_factory=list)


def retire_tokens(
    gw: Gateway, previous: registry.UserRecord | None, new: registry.UserRecord, registry_ns: str, *, keep: str | None
) -> RetiredTokens:
    """After ``create --force`` replaced a token identity's credential: unlike a certificate, its tokens can be
    killed, so they are: the Secrets of every earlier token are deleted (*keep*: the new token's), and the
    ServiceAccount too when the new credential is not one of its tokens (a certificate, or another
    ServiceAccount). The tokens marked invalidated are the ones *new*'s history shares with *previous*."""
    done = RetiredTokens()
    if previous is None or not previous.service_account_namespace:
        return done
    done.invalidated, done.failed = invalidate_tokens(gw, previous, registry_ns, keep=keep)
    ns, sa = previous.service_account_namespace, previous.service_account
    same_sa = new.is_token and new.service_account == sa and new.service_account_namespace == ns
    if sa and not same_sa:
        try:
            current = gw.get_object("ServiceAccount", sa, ns)
            if current is not None and ownership.classify(current, previous.user, registry_ns) == ownership.OURS:
                gw.delete_object("ServiceAccount", sa, ns)
                done.service_account_deleted = f"{ns}/{sa}"
            elif current is not None:
                done.failed.append(f"ServiceAccount {ns}/{sa} is not kubeuser's; not deleted")
        except KubeuserError as exc:
            done.failed.append(f"ServiceAccount {ns}/{sa}: {exc.message}")
    return done


def delete_service_account(gw: Gateway, record: registry.UserRecord, registry_ns: str) -> bool:
    """Delete the record's ServiceAccount, which kills every token it has (≤ ~10 s: the API server's
    authentication cache). False: it was gone already. ConflictError: it is not kubeuser's for the user."""
    ns = record.service_account_namespace or registry_ns
    name = record.service_account
    sa = gw.get_object("ServiceAccount", name, ns) if name else None
    if sa is None or name is None:
        return False
    if ownership.classify(sa, record.user, registry_ns) != ownership.OURS:
        raise ConflictError(
            f"ServiceAccount {ns}/{name} is not kubeuser's for {record.user!r} ({ownership.describe_owner(sa)}); "
            "not deleted",
            hint="its tokens may still work; inspect it with kubectl",
        )
    return gw.delete_object("ServiceAccount", name, ns)


# --------------------------------------------------------------------------- registry


def write_record(
    tx: Transaction,
    reg: registry.Registry,
    record: registry.UserRecord,
    cert_pem: bytes | None,
    previous: tuple[registry.UserRecord, bytes | None] | None,
) -> None:
    if previous is not None and previous[0].migrated:
        tx.reporter.note(
            f"the registry record of {record.user} was written by kubeuser 0.1.0 (format {previous[0].format}); "
            f"it is now stored in format {registry.FORMAT_VERSION}"
        )
    reg.put(record, cert_pem)
    if previous is not None:
        tx.on_undo(f"the previous registry record of {record.user}", lambda: reg.put(*previous))
    else:
        tx.on_undo(
            f"registry record {reg.namespace}/{registry.object_name(record.user)}", lambda: reg.delete(record.user)
        )


def migrate_access(gw: Gateway, record: registry.UserRecord, registry_ns: str) -> rbac.Access:
    """The record's access; for a format-1 record, what its recorded objects grant today."""
    if record.access is not None:
        return record.access
    recorded = recorded_keys(record)
    objs = [o for o in user_objects(gw, record.user) if ownership.object_key(o) in recorded]
    return rbac.Access.from_objects(objs)


# --------------------------------------------------------------------------- kubeconfig entries


@dataclass
class KubeconfigPlan:
    destination: Path
    user_entry: str
    context: str
    replaces: list[str] = field(default_factory=list)  # our own entries that will be rewritten


def entry_names(user: str, cluster: str, context_name: str | None) -> tuple[str, str]:
    """(kubeconfig user entry name, context name): ``USER@CLUSTER`` by default; ``--context-name`` names both."""
    if context_name:
        return context_name, context_name
    entry = f"{user}@{cluster}"
    return entry, entry


def plan_kubeconfig(
    target: Target,
    *,
    user: str,
    serials: set[str],
    user_entry: str,
    context: str,
    may_replace: bool,
    replace_hint: str,
    also: Sequence[str] = (),
) -> KubeconfigPlan:
    """Where the entries go, after proving the names are free or kubeuser's own for this user.

    A foreign entry of either name is a conflict whose way out is another name (never --force);
    kubeuser's own entries are replaced only when *may_replace*.
    """
    loaded = target.loaded
    destination = loaded.destination(names=[("users", user_entry), ("contexts", context)])
    u = ownership.judge_user_entry(loaded.entry("users", user_entry), user_entry, user, serials, also)
    c = ownership.judge_context(loaded.entry("contexts", context), context, user_entry, u.ours)
    for verdict in (u, c):
        if verdict.foreign:
            where = loaded.origin.get((verdict.kind, verdict.name), destination)
            raise ConflictError(
                f"kubeconfig {where} already has {verdict.kind[:-1]} {verdict.name!r}, which kubeuser did not write "
                f"for {user!r} (it {verdict.why})",
                hint="kubeuser changes only entries it wrote for this user; choose another name with "
                "--context-name NAME (it names the context and the user entry), or write a standalone file "
                "with --out FILE",
            )
    plan = KubeconfigPlan(destination, user_entry, context)
    plan.replaces = [f"{v.kind[:-1]} {v.name}" for v in (u, c) if v.exists]
    if plan.replaces and not may_replace:
        raise ConflictError(
            f"kubeconfig {destination} already has kubeuser's {' and '.join(plan.replaces)} for {user!r}",
            hint=replace_hint,
        )
    return plan


def merge_kubeconfig(
    target: Target,
    plan: KubeconfigPlan,
    *,
    namespace: str,
    user_body: dict[str, Any],
    set_current: bool,
    user: str,
    serials: set[str],
    also: Sequence[str] = (),
) -> list[str]:
    """Write the user (*user_body*: a certificate and key, or a token) + context (locked, atomic), re-checking
    ownership under the lock (*user*: who the credential names, see :func:`principal`). Returns notes."""
    cluster = target.ctx.cluster_name
    ctx_body = kubeconfig.context_entry(cluster, plan.user_entry, namespace)
    cluster_elsewhere = target.loaded.origin.get(("clusters", cluster)) not in (None, plan.destination)

    def mutate(doc: dict[str, Any]) -> None:
        # someone (kubectl, another admin's script) may have written the file since it was read
        u = ownership.judge_user_entry(_entry(doc, "users", plan.user_entry), plan.user_entry, user, serials, also)
        c = ownership.judge_context(_entry(doc, "contexts", plan.context), plan.context, plan.user_entry, u.ours)
        for verdict in (u, c):
            if verdict.foreign:
                raise ConflictError(
                    f"kubeconfig {plan.destination}: {verdict.kind[:-1]} {verdict.name!r} was written meanwhile "
                    f"by someone else (it {verdict.why}); kubeuser did not change the file",
                    hint="choose another name with --context-name",
                )
        if not cluster_elsewhere and not kubeconfig.has_entry(doc, "clusters", cluster):
            kubeconfig.set_entry(doc, "clusters", cluster, target.ctx.embedded_cluster())
        kubeconfig.set_entry(doc, "users", plan.user_entry, user_body)
        kubeconfig.set_entry(doc, "contexts", plan.context, ctx_body)
        if set_current:
            doc["current-context"] = plan.context

    return kubeconfig.update_file(plan.destination, mutate)  # notes: mode bits kubeuser had to tighten


def _entry(doc: dict[str, Any], kind: str, name: str) -> dict[str, Any] | None:
    inner = kubeconfig.INNER_KEYS[kind]
    for e in doc.get(kind) or []:
        if isinstance(e, dict) and e.get("name") == name:
            body = e.get(inner)
            return body if isinstance(body, dict) else {}
    return None


@dataclass
class RemovedEntries:
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # entries that refer to the user but are not kubeuser's
    current_cleared: str | None = None
    notes: list[str] = field(default_factory=list)  # e.g. mode bits tightened on a world-readable kubeconfig


def remove_kubeconfig_entries(target: Target, record: registry.UserRecord) -> RemovedEntries:
    """Remove the user's kubeconfig entries that kubeuser proves its own; report (and keep) the rest."""
    loaded = target.loaded
    result = RemovedEntries()
    ours_users = [n for n in loaded.names("users") if entry_is_ours(loaded.entry("users", n), record)]
    context_names = {record.context, *entry_names(record.user, record.cluster or target.ctx.cluster_name, None)}
    ours_contexts: list[str] = []
    for n in loaded.names("contexts"):
        body = loaded.entry("contexts", n) or {}
        if body.get("user") in ours_users:
            if n in context_names:
                ours_contexts.append(n)
            else:
                result.kept.append(
                    f"context {n} (not written by kubeuser; it refers to the removed user entry {body.get('user')})"
                )
        elif n in context_names:
            uses = body.get("user")
            result.kept.append(f"context {n} (kubeuser's name for {record.user}, but it uses user {uses!r})")
    files: dict[Path, list[tuple[str, str]]] = {}
    for kind, name in [*[("users", u) for u in ours_users], *[("contexts", c) for c in ours_contexts]]:
        origin = loaded.origin.get((kind, name))
        if origin is not None:
            files.setdefault(origin, []).append((kind, name))
    for path, entries in files.items():

        def mutate(doc: dict[str, Any], entries: list[tuple[str, str]] = entries) -> None:
            for kind, name in entries:
                body = _entry(doc, kind, name)
                if kind == "users" and not entry_is_ours(body, record):
                    continue  # changed since it was read: no longer provably ours
                if kind == "contexts" and (body or {}).get("user") not in ours_users:
                    continue
                removed = kubeconfig.remove_entry(doc, kind, name)
                if removed and kind == "contexts" and doc.get("current-context") == name:
                    doc["current-context"] = ""
                    result.current_cleared = name

        result.notes += kubeconfig.update_file(path, mutate)
        result.removed += [f"{kind[:-1]} {name} ({path})" for kind, name in entries]
    return result


# --------------------------------------------------------------------------- changing access only


@dataclass
class AccessChange:
    user: str
    access: rbac.Access
    plan: RbacPlan
    record: registry.UserRecord


def change_access(
    gw: Gateway,
    reg: registry.Registry,
    found: tuple[registry.UserRecord, bytes | None],
    access: rbac.Access,
    reporter: Reporter,
    *,
    dry_run: bool = False,
) -> AccessChange:
    """Make the user's RBAC exactly *access* and record it; the certificate is kept. Shared by grant,
    ungrant and apply's ``update``."""
    record, cert_pem = found
    with reporter.step("Check ownership") as s:
        plan = plan_rbac(gw, user=record.user, groups=record.groups, access=access, registry_ns=reg.namespace,
                         record=record, subject_of=subject_of(record))  # fmt: skip
        s.detail = "; ".join(plan.describe()) or "nothing to change"
    new = registry.UserRecord.from_dict(record.to_dict())
    new.access = access
    new.bindings = binding_refs(plan.desired)
    if access.namespaces and new.namespace not in {n.namespace for n in access.namespaces}:
        new.namespace = access.namespaces[0].namespace
    if dry_run:
        return AccessChange(record.user, access, plan, new)
    with Transaction(reporter, user=record.user) as tx:
        with tx.step("Change access (RBAC)") as s:
            apply_rbac(tx, gw, plan)
            s.detail = "; ".join(plan.describe()) or "already as asked"
        with tx.step("Record in registry") as s:
            write_record(tx, reg, new, cert_pem, found)
            s.detail = f"{reg.namespace}/{registry.object_name(record.user)}"
        tx.commit()
    return AccessChange(record.user, access, plan, new)


# --------------------------------------------------------------------------- shared by create, renew, revoke


def check_timeout(seconds: float) -> float:
    if not math.isfinite(seconds) or seconds <= 0:
        raise UsageError("--timeout must be a positive number of seconds", hint="e.g. --timeout 60")
    return seconds


def kubeuser_home(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    if env.get("KUBEUSER_HOME"):
        return Path(env["KUBEUSER_HOME"]).expanduser()
    return Path(env.get("HOME") or Path.home()) / ".kube" / "kubeuser"


def key_dir_for(cluster: str, user: str) -> Path:
    return kubeuser_home() / naming.safe_id(cluster) / naming.safe_id(user)


def admin_identity(gw: Gateway, target: Target, version: ServerVersion) -> str:
    """Who is issuing: the server's word where it has SelfSubjectReview, else the admin cert's CN."""
    try:
        if version.at_least(1, 27):
            ident = gw.whoami()
            if ident.username:
                return ident.username
    except KubeuserError:
        pass
    cert_pem = target.ctx.client_certificate_pem()
    if cert_pem:
        from kubeuser import certname

        name = certname.common_name(cert_pem)  # without importing cryptography, in the plain case
        if name is not None:
            return name
        try:
            from kubeuser import pki

            return pki.parse_cert(cert_pem).common_name
        except KubeuserError:
            pass
    return f"kubeconfig user {target.ctx.user_name}"


def still_valid_warning(user: str, c: registry.CertRecord) -> str:
    if c.is_token:
        return (
            f"an earlier token of {user} (bound to Secret {c.serial}) still authenticates until {c.not_after}: "
            f"`{hints.kubeuser('revoke', user)}` or deleting that Secret kills it"
        )
    return (
        f"an earlier certificate of {user} (serial {c.serial}) still authenticates until {c.not_after}: "
        "Kubernetes cannot revoke a client certificate; whoever holds its key keeps the access its name and "
        "groups are granted"
    )


ROOT_CA_CONFIGMAP = ("default", "kube-root-ca.crt")  # published in every namespace since Kubernetes 1.20


def handout_cluster(target: Target, gw: Gateway, reporter: Reporter) -> dict[str, Any]:
    """The cluster entry for a handout. The admin's ``insecure-skip-tls-verify`` is not passed on silently:
    the cluster CA (ConfigMap ``kube-root-ca.crt``) replaces it when it verifies the server's certificate;
    otherwise the handout keeps it, with a warning."""
    cluster = target.ctx.embedded_cluster()
    if cluster.get("insecure-skip-tls-verify") is not True:
        return cluster
    name = target.ctx.cluster_name
    ca_pem = b""
    with contextlib.suppress(KubeuserError):
        cm = gw.get_object("ConfigMap", ROOT_CA_CONFIGMAP[1], ROOT_CA_CONFIGMAP[0])
        ca_pem = str(((cm or {}).get("data") or {}).get("ca.crt") or "").encode()
    if ca_pem and gw.verifies_server(ca_pem):
        cluster.pop("insecure-skip-tls-verify")
        cluster.pop("certificate-authority", None)
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
        reporter.note(
            f"your cluster {name!r} skips TLS verification; the handout verifies the server instead, with the "
            f"cluster CA of ConfigMap {'/'.join(ROOT_CA_CONFIGMAP)} (read over that unverified connection)"
        )
        return cluster
    reporter.warn(
        f"the handout inherits insecure-skip-tls-verify from cluster {name!r}: its user will not verify the API "
        f"server either (no cluster CA that verifies the server was found in ConfigMap {'/'.join(ROOT_CA_CONFIGMAP)}); "
        "set the CA in the handout: kubectl --kubeconfig FILE config set-cluster "
        f"{name} --insecure-skip-tls-verify=false --certificate-authority=ca.crt --embed-certs=true"
    )
    return cluster


def write_handout(
    target: Target,
    out: str,
    user: str,
    context_name: str,
    namespace: str,
    user_body: dict[str, Any],
    force: bool,
    *,
    gw: Gateway,
    reporter: Reporter,
) -> tuple[str | None, str]:
    """A standalone kubeconfig (cluster, user, context) to hand to the user. Returns (yaml for stdout, detail).
    *user_body*: :func:`certificate_entry` or a token entry."""
    doc = kubeconfig.standalone(
        cluster_name=target.ctx.cluster_name,
        cluster=handout_cluster(target, gw, reporter),
        user_name=user,
        user=user_body,
        context_name=context_name,
        namespace=namespace,
    )
    if out == "-":
        return kubeconfig.dump(doc), "standalone kubeconfig on stdout"
    kubeconfig.write_new(Path(out).expanduser(), doc, force=force)
    return None, f"standalone kubeconfig {out}"


def build_record(
    *,
    user: str,
    groups: list[str],
    ttl_seconds: int,
    namespace: str,
    cluster: str,
    issued: IssuedCertificate | IssuedToken,
    bindings: list[registry.BindingRef],
    context_name: str,
    issued_by: str,
    existing: tuple[registry.UserRecord, bytes | None] | None,
    access: rbac.Access | None = None,
    key_type: str | None = None,
    key_size: int | None = None,
    delivery: str | None = None,
    out: str | None = None,
    kubeconfig_user: str | None = None,
    kubeconfig_file: str | None = None,
    key_holder: str | None = None,
) -> registry.UserRecord:
    """The registry record for a freshly issued certificate or token; an existing record's credential moves to
    history (with its sign-in tokens, for a token identity)."""
    cert = credential_record(issued, ttl_seconds, issued_by)
    history: list[registry.CertRecord] = []
    created_at, created_by = cert.issued_at, issued_by
    if existing is not None:
        old = existing[0]
        old.certificate.replaced_at = cert.issued_at
        history = [*old.history, old.certificate]
        created_at, created_by = old.created_at or created_at, old.created_by or created_by
    record = registry.UserRecord(
        user=user,
        groups=groups,
        status="active",
        cluster=cluster,
        context=context_name,
        namespace=namespace,
        certificate=cert,
        bindings=bindings,
        history=history,
        created_at=created_at,
        created_by=created_by,
        access=access,
        key_type=key_type,
        key_size=key_size,
        delivery=delivery,
        out=out,
        kubeconfig_user=kubeconfig_user,
        kubeconfig_file=kubeconfig_file,
        key_holder=key_holder,
    )
    if existing is not None:  # a token identity's ServiceAccount and sign-in tokens stay known, also when it
        old = existing[0]  # becomes a certificate user (create --force): so they can be deleted
        record.service_account, record.service_account_namespace = old.service_account, old.service_account_namespace
        record.sign_in_tokens = list(old.sign_in_tokens)
    if isinstance(issued, IssuedToken):
        record.auth = tokens.AUTH_TOKEN
        record.service_account, record.service_account_namespace = issued.service_account, issued.namespace
        record.groups = []  # a ServiceAccount's groups are Kubernetes' to decide
    if existing is not None:
        record.sign_in_tokens = list(existing[0].sign_in_tokens)  # kept (invalidated or not) whatever the new kind
    return record


def credential_record(
    issued: IssuedCertificate | IssuedToken, ttl_seconds: int, issued_by: str, *, purpose: str | None = None
) -> registry.CertRecord:
    """What the registry keeps about one issued credential (never the credential itself)."""
    if isinstance(issued, IssuedToken):
        return registry.CertRecord(
            serial=issued.secret_name,
            not_before=issued.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            not_after=issued.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            issued_at=registry.now_iso(),
            issued_by=issued_by,
            csr_name="",
            requested_seconds=ttl_seconds,
            kind=tokens.AUTH_TOKEN,
            bound_secret_uid=issued.secret_uid,
        )
    info = issued.info.to_dict()
    return registry.CertRecord(
        serial=issued.info.serial,
        not_before=info["not_before"],
        not_after=info["not_after"],
        issued_at=registry.now_iso(),
        issued_by=issued_by,
        csr_name=issued.csr_name,
        requested_seconds=ttl_seconds,
        public_key_sha256=issued.info.public_key_sha256,
    )


def check_request(
    pem: bytes, user: str, groups: list[str] | None, allow_system_names: bool, source: str = "--csr"
) -> csrpolicy.Request:
    """A user's certificate request, checked against kubeuser's policy: UsageError naming the field if not."""
    from kubeuser import csrpolicy

    request = csrpolicy.read(pem, source)
    violations = csrpolicy.check(request, user=user, groups=groups, allow_system_names=allow_system_names)
    if violations:
        more = "; ".join(str(x) for x in violations[1:])
        raise UsageError(
            f"{source}: {violations[0]}",
            hint=(f"also: {more}; " if more else "") + "nothing was created; ask for a new request "
            f"(`{hints.kubeuser('request', user, connection=hints.Connection())}` on the user's machine)",
        )
    return request
