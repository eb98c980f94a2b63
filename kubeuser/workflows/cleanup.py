"""``kubeuser cleanup``: find (and with ``--delete`` remove) what interrupted runs left in the cluster.

A run killed at the wrong moment (SIGKILL, OOM, a lost laptop) cannot roll back. Everything
kubeuser creates carries the label ``app.kubernetes.io/managed-by=kubeuser`` and the annotation
``kubeuser.io/user``, so the leftovers can be found:

* CertificateSigningRequests that carry no certificate (pending, approved but never issued,
  denied, failed), or whose user has no active registry record;
* Roles, RoleBindings and ClusterRoleBindings whose user has no active registry record;
* token identities' ServiceAccounts and token-binding Secrets (type ``kubeuser.io/token-binding``)
  whose user has no active record; Secrets whose token the record says expired or was invalidated
  (or that the record does not know: an interrupted create, renew or ``kubeuser token``); the
  ServiceAccount of a user who is a certificate user now. Deleting such a Secret kills the one
  token bound to it. These must carry this registry's annotation: unmarked ones are never touched.

"Active" is the record's stored status (not revoked); an expired user keeps its objects until
it is renewed or revoked. Objects whose user annotation is missing cannot be attributed and are
reported too. Nothing else is touched: registry records, kubeconfigs and local files stay as
they are (``kubeuser revoke`` removes those).

Ownership: every object carries the registry (namespace) whose record owns it. cleanup judges
only objects of its own registry (``--registry-namespace``); objects of other registries are
reported and never touched. Objects made by kubeuser 0.1.0 carry no registry: they count as
orphans only when no registry in the cluster holds an active record of their user (one
cluster-wide list of kubeuser's ConfigMaps); if that cannot be read, they are reported and kept.

A ``create`` running right now (on another machine) has objects but no record yet: ``--min-age``
leaves young objects alone, and before deleting, each user's record is read once more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from kubeuser import naming, ownership, registry
from kubeuser.errors import KubeuserError, UsageError
from kubeuser.gateway import Gateway
from kubeuser.progress import Reporter

# deletion order: what grants access first, then what it points at, then the requests
RBAC_KINDS = ("ClusterRoleBinding", "RoleBinding", "Role")
CSR_KIND = "CertificateSigningRequest"
TOKEN_KINDS = ("Secret", "ServiceAccount")  # each Secret kills one token, the ServiceAccount all of them


def parse_age(text: str) -> int:
    """``0``, ``90s``, ``10m``, ``1h30m`` → seconds: :func:`kubeuser.durations.parse` with no minimum."""
    from kubeuser import durations

    try:
        return durations.parse(text, minimum=0)
    except UsageError as exc:
        raise UsageError(f"--min-age: {exc.message}", hint="use a duration such as 0, 90s, 10m or 1h") from None


@dataclass
class CleanupOptions:
    delete: bool = False
    users: list[str] = field(default_factory=list)  # empty: every user
    min_age_seconds: int = 0
    registry_namespace: str | None = None


@dataclass
class Orphan:
    kind: str
    name: str
    namespace: str | None
    user: str | None
    reason: str
    created: str | None = None
    deleted: bool = False
    error: str | None = None
    no_certificate: bool = False  # a CSR that never got (or was refused) a certificate

    def describe(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
            "user": self.user,
            "reason": self.reason,
            "created": self.created,
            "deleted": self.deleted,
            **({"error": self.error} if self.error else {}),
        }


@dataclass
class CleanupResult:
    orphans: list[Orphan]
    delete: bool
    registry_namespace: str
    active_users: int
    too_young: int = 0
    kept: list[str] = field(default_factory=list)  # users whose record turned active before deletion
    other_registries: list[str] = field(default_factory=list)  # objects owned by another registry: untouched
    unprovable: list[str] = field(default_factory=list)  # 0.1.0 objects whose owner cannot be checked: kept
    min_age_seconds: int = 0  # objects younger than this were left alone (too_young counts them)
    unread: list[str] = field(default_factory=list)  # kinds that could not be listed (forbidden): not checked

    @property
    def deleted(self) -> list[Orphan]:
        return [o for o in self.orphans if o.deleted]

    @property
    def failed(self) -> list[Orphan]:
        return [o for o in self.orphans if o.error]

    def to_dict(self) -> dict[str, Any]:
        return {
            "registryNamespace": self.registry_namespace,
            "activeUsers": self.active_users,
            "delete": self.delete,
            "orphans": [o.to_dict() for o in self.orphans],
            "deletedCount": len(self.deleted),
            "skippedTooYoung": self.too_young,
            "minAgeSeconds": self.min_age_seconds,
            "keptUsers": self.kept,
            "otherRegistries": self.other_registries,
            "keptUnprovable": self.unprovable,
            "notChecked": self.unread,
        }


def _user_of(obj: dict[str, Any]) -> str | None:
    user = ((obj.get("metadata") or {}).get("annotations") or {}).get(naming.USER_ANNOTATION)
    return user if isinstance(user, str) and user else None


def _age_seconds(obj: dict[str, Any], now: datetime) -> float | None:
    stamp = (obj.get("metadata") or {}).get("creationTimestamp")
    if not isinstance(stamp, str):
        return None
    try:
        return (now - registry.parse_time(stamp)).total_seconds()
    except ValueError:
        return None


def record_statuses(
    gw: Gateway, registry_namespace: str, records: dict[str, registry.UserRecord] | None = None
) -> tuple[dict[str, str], list[str]]:
    """user → stored record status, plus warnings for records that cannot be read; *records* (if given)
    gets the readable records.

    An unreadable record counts as active (its user's objects are never called orphans): better to
    leave something behind than to remove a working user's access.
    """
    statuses: dict[str, str] = {}
    warnings: list[str] = []
    for cm in gw.list_objects("ConfigMap", registry_namespace, naming.MANAGED_SELECTOR):
        data = cm.get("data") or {}
        if registry.RECORD_KEY not in data:
            continue
        name = (cm.get("metadata") or {}).get("name", "?")
        try:
            rec = registry.from_configmap(cm)
            statuses[rec.user] = rec.status
            if records is not None:
                records[rec.user] = rec
        except (KubeuserError, ValueError, KeyError, TypeError, AttributeError):
            user = _user_of(cm)
            if user is not None:
                statuses[user] = "active"
            warnings.append(
                f"registry record {registry_namespace}/{name} is unreadable; treating user {user!r} as active"
                if user
                else f"registry record {registry_namespace}/{name} is unreadable"
            )
    return statuses, warnings


def _missing_record(user: str | None, statuses: dict[str, str]) -> str | None:
    """Why *user*'s objects are orphans, or None if the user has an active record."""
    if user is None:
        return f"no {naming.USER_ANNOTATION} annotation: no kubeuser user owns it"
    status = statuses.get(user)
    if status == "active":
        return None
    if status is None:
        return f"user {user!r} has no kubeuser record"
    return f"user {user!r} is {status}"


def _csr_problem(csr: dict[str, Any]) -> str | None:
    status = csr.get("status") or {}
    conds = status.get("conditions") or []
    for c in conds:
        if c.get("type") in ("Denied", "Failed") and c.get("status", "True") == "True":
            return f"{c['type'].lower()} by the cluster, no certificate"
    if status.get("certificate"):
        return None
    if any(c.get("type") == "Approved" for c in conds):
        return "approved but no certificate was issued"
    return "pending: never approved, no certificate"


def token_problem(
    kind: str, name: str, namespace: str | None, record: registry.UserRecord | None, now: datetime
) -> str | None:
    """Why a token object of a user with an active *record* is a leftover, or None while it is in use."""
    if record is None:
        return None  # unreadable: counts as active, its objects are kept
    user = record.user
    if kind == "ServiceAccount":
        if not record.is_token:
            return f"user {user!r} is a certificate user now"
        if (namespace, name) != (record.service_account_namespace, record.service_account):
            current = f"{record.service_account_namespace}/{record.service_account}"
            return f"not the ServiceAccount of user {user!r} ({current})"
        return None
    creds = [*record.certificates(), *record.sign_in_tokens]
    cred = next((c for c in creds if c.is_token and c.serial == name), None)
    if cred is None or namespace != record.service_account_namespace:
        return f"no token of user {user!r} the record knows is bound to it (left by an interrupted run)"
    if cred.invalidated_at:
        return f"its token was invalidated at {cred.invalidated_at}"
    try:
        if registry.parse_time(cred.not_after) <= now:
            return f"its token expired at {cred.not_after}"
    except ValueError:
        return None  # unreadable expiry: it may still work
    return None


def active_anywhere(gw: Gateway) -> set[str] | None:
    """Users with an active record in any registry of the cluster; None if that cannot be read."""
    try:
        cms = gw.list_objects("ConfigMap", None, naming.MANAGED_SELECTOR)
    except KubeuserError:
        return None
    users: set[str] = set()
    for cm in cms:
        if registry.RECORD_KEY not in (cm.get("data") or {}):
            continue
        try:
            rec = registry.from_configmap(cm)
        except KubeuserError:
            user = _user_of(cm)
            if user:
                users.add(user)  # unreadable counts as active
            continue
        if rec.status == "active":
            users.add(rec.user)
    return users


def find_orphans(
    gw: Gateway,
    statuses: dict[str, str],
    *,
    users: Iterable[str] = (),
    min_age_seconds: int = 0,
    now: datetime | None = None,
    registry_namespace: str | None = None,
    result: CleanupResult | None = None,
    records: dict[str, registry.UserRecord] | None = None,
) -> tuple[list[Orphan], int]:
    """(orphans in deletion order, how many candidates were left alone for being younger than min_age).

    With *registry_namespace*, objects owned by another registry are reported in *result* and never
    called orphans; objects of kubeuser 0.1.0 (no registry) only when no registry has their user active.
    Token objects (ServiceAccounts, token-binding Secrets) are judged only with *registry_namespace*, and
    only when they carry it; with *records* (user → record) also the stale ones of active users.
    """
    now = now or datetime.now(timezone.utc)
    only = set(users)
    found: list[Orphan] = []
    too_young = 0
    anywhere: set[str] | bool | None = False  # not read yet

    def owner_verdict(obj: dict[str, Any], reason: str | None, stuck: bool = False) -> str | None:
        """*stuck*: a CSR that never got a certificate (it grants nothing: garbage whoever made it)."""
        nonlocal anywhere
        if registry_namespace is None or _user_of(obj) is None:
            return reason
        owner = ownership.registry_of(obj)
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace")
        what = f"{obj.get('kind', '?')} {str(ns) + '/' if ns else ''}{meta.get('name')}"
        if owner == registry_namespace:
            return reason
        if owner is not None:
            if result is not None and (not only or _user_of(obj) in only):
                result.other_registries.append(f"{what} (user {_user_of(obj)!r} of registry {owner})")
            return None
        if reason is None:
            return None
        if stuck:
            return reason
        if anywhere is False:
            anywhere = active_anywhere(gw)
        if anywhere is None:
            if result is not None and (not only or _user_of(obj) in only):
                result.unprovable.append(f"{what} (made by kubeuser 0.1.0; registries could not be read)")
            return None
        assert isinstance(anywhere, set)
        if _user_of(obj) in anywhere:
            return None
        return f"{reason} (made by kubeuser 0.1.0; no registry has an active record of the user)"

    def consider(kind: str, obj: dict[str, Any], reason: str | None, no_certificate: bool = False) -> None:
        nonlocal too_young
        if reason is None:
            return
        meta = obj.get("metadata") or {}
        user = _user_of(obj)
        if only and user not in only:
            return
        age = _age_seconds(obj, now)
        if min_age_seconds and age is not None and age < min_age_seconds:
            too_young += 1
            return
        created = meta.get("creationTimestamp")
        found.append(Orphan(kind, meta.get("name", "?"), meta.get("namespace"), user, reason, created,
                            no_certificate=no_certificate))  # fmt: skip

    for kind in RBAC_KINDS:
        for obj in gw.list_objects(kind, label_selector=naming.MANAGED_SELECTOR):
            obj.setdefault("kind", kind)
            consider(kind, obj, owner_verdict(obj, _missing_record(_user_of(obj), statuses)))
    for csr in gw.list_csrs(naming.MANAGED_SELECTOR):
        csr.setdefault("kind", CSR_KIND)
        no_record = _missing_record(_user_of(csr), statuses)
        problem = _csr_problem(csr)
        reasons = [r for r in (problem, no_record) if r]
        verdict = owner_verdict(csr, "; ".join(reasons) if reasons else None, stuck=problem is not None)
        consider(CSR_KIND, csr, verdict, no_certificate=problem is not None and verdict is not None)
    if registry_namespace is not None:
        for kind, obj in _token_objects(gw, result):
            user = _user_of(obj)
            owner = ownership.registry_of(obj)
            if user is None or owner is None:
                continue  # unmarked: kubeuser cannot prove it made it (and 0.1.0 made no token objects)
            meta = obj.get("metadata") or {}
            if owner != registry_namespace:
                owner_verdict(obj, None)  # reported as another registry's, never touched
                continue
            reason = _missing_record(user, statuses)
            if reason is None and records is not None:
                reason = token_problem(kind, meta.get("name", ""), meta.get("namespace"), records.get(user), now)
            consider(kind, obj, reason)
    return found, too_young


def _token_objects(gw: Gateway, result: CleanupResult | None) -> list[tuple[str, dict[str, Any]]]:
    """kubeuser's token-binding Secrets, then its ServiceAccounts, in every namespace; a kind this identity may
    not list is noted in *result* (not checked) instead of stopping cleanup."""
    from kubeuser import tokens
    from kubeuser.errors import ForbiddenError

    found: list[tuple[str, dict[str, Any]]] = []
    for kind in TOKEN_KINDS:
        try:
            objs = gw.list_objects(kind, label_selector=naming.MANAGED_SELECTOR)
        except ForbiddenError as exc:
            if result is not None:
                result.unread.append(f"{kind}s: {exc.message}")
            continue
        for obj in objs:
            obj.setdefault("kind", kind)
            if kind == "Secret" and obj.get("type") != tokens.BINDING_SECRET_TYPE:
                continue  # only the Secrets tokens are bound to
            found.append((kind, obj))
    return found


def cleanup(opts: CleanupOptions, gw: Gateway, reporter: Reporter) -> CleanupResult:
    reg_ns = registry.namespace_from(opts.registry_namespace)
    records: dict[str, registry.UserRecord] = {}
    with reporter.step("Read registry") as s:
        statuses, warnings = record_statuses(gw, reg_ns, records)
        active = sum(1 for v in statuses.values() if v == "active")
        s.detail = f"{reg_ns}: {len(statuses)} record(s), {active} active"
    for w in warnings:
        reporter.warn(w)
    res = CleanupResult([], opts.delete, reg_ns, active, min_age_seconds=opts.min_age_seconds)
    with reporter.step("Find leftovers") as s:
        orphans, too_young = find_orphans(
            gw,
            statuses,
            users=opts.users,
            min_age_seconds=opts.min_age_seconds,
            registry_namespace=reg_ns,
            result=res,
            records=records,
        )
        res.orphans, res.too_young = orphans, too_young
        s.detail = f"{len(orphans)} orphaned object(s)" + (
            f", {too_young} younger than --min-age left alone" if too_young else ""
        )
        if res.other_registries:
            s.detail += f"; {len(res.other_registries)} of other registries not touched"
    if not opts.delete or not orphans:
        return res

    first_error: KubeuserError | None = None
    with reporter.step("Delete leftovers") as s:
        reg = registry.Registry(gw, reg_ns)
        active_now: dict[str, registry.UserRecord | None] = {}
        now = datetime.now(timezone.utc)
        for o in orphans:
            if o.user is not None and not o.no_certificate:
                # a create, renew or `token` elsewhere may have finished meanwhile: judge it by the record as it
                # is now (a token object of an active user only while the record still says it is stale)
                if o.user not in active_now:
                    found = reg.get(o.user)
                    active_now[o.user] = found[0] if found is not None and found[0].status == "active" else None
                current = active_now[o.user]
                if current is not None and (
                    o.kind not in TOKEN_KINDS or token_problem(o.kind, o.name, o.namespace, current, now) is None
                ):
                    if o.user not in res.kept:
                        res.kept.append(o.user)
                    continue
            try:
                if o.kind == CSR_KIND:
                    gw.delete_csr(o.name)
                else:
                    gw.delete_object(o.kind, o.name, o.namespace)
                o.deleted = True
            except KubeuserError as exc:
                o.error = exc.message
                first_error = first_error or exc
        s.detail = f"deleted {len(res.deleted)} of {len(orphans)}"
    if first_error is not None:
        failed = res.failed
        raise type(first_error)(
            f"could not delete {len(failed)} of {len(orphans)} leftover object(s); first: "
            f"{failed[0].describe()}: {failed[0].error}",
            hint=(first_error.hint + "; " if first_error.hint else "") + "run `kubeuser cleanup --delete` again",
            exit_code=first_error.exit_code,
        )
    return res
