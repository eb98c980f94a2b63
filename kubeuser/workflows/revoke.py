"""``kubeuser revoke``: take access away, and tell the truth about what remains.

Kubernetes cannot revoke a client certificate. Revoking removes what kubeuser provably made for
the user (:mod:`kubeuser.ownership`) — RBAC objects of this registry, its CSRs, the kubeconfig
user + context holding a certificate kubeuser issued to the user (and local key files with
``--purge-local``) — then marks the registry record revoked, and reports the residual access:
every certificate issued to the user keeps authenticating until its notAfter, and its groups (O)
keep whatever bindings those groups have. The record is marked revoked only once kubeuser's
access is really gone; a failure still ends with the report of what remains. Objects of the same
user name owned by another registry, and kubeconfig entries kubeuser cannot prove it wrote, are
reported and never touched. Idempotent: revoking twice changes nothing the second time.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from kubeuser import access, naming, ownership, pki, registry
from kubeuser.connect import Target
from kubeuser.errors import ConflictError, KubeuserError, NotFoundError
from kubeuser.gateway import Gateway
from kubeuser.progress import Reporter
from kubeuser.workflows import steps


@dataclass
class RevokeOptions:
    name: str
    purge_local: bool = False
    all_bindings: bool = False
    registry_namespace: str | None = None
    namespace: str | None = None  # for the can-i summary; default: the record's namespace
    revoked_by: str | None = None  # default: asked from the server


@dataclass
class RevokeResult:
    user: str
    groups: list[str]
    record_found: bool
    already_revoked: bool
    registry_namespace: str = registry.DEFAULT_NAMESPACE
    deleted: list[str] = field(default_factory=list)
    deleted_csrs: list[str] = field(default_factory=list)
    kubeconfig_removed: list[str] = field(default_factory=list)
    kubeconfig_kept: list[str] = field(default_factory=list)
    current_context_cleared: str | None = None
    local_removed: list[str] = field(default_factory=list)
    local_kept: list[str] = field(default_factory=list)
    local_left: list[str] = field(default_factory=list)  # key files kept because --purge-local was not given
    foreign_removed: list[str] = field(default_factory=list)
    other_registries: list[str] = field(default_factory=list)  # same user name, another registry: untouched
    not_after: str | None = None
    still_valid: list[registry.CertRecord] = field(default_factory=list)  # every certificate that still works
    residual_bindings: list[access.BindingMatch] = field(default_factory=list)
    still_allowed: list[access.Permission] = field(default_factory=list)
    namespace: str = "default"
    marked_revoked: bool = False
    errors: list[KubeuserError] = field(default_factory=list)
    auth: str = "x509"
    service_account: str | None = None  # token identities: NAMESPACE/NAME
    tokens_killed: list[str] = field(default_factory=list)  # Secrets deleted: their tokens get 401 (≤ ~10 s)
    service_account_deleted: bool = False

    @property
    def still_authenticates(self) -> bool:
        if self.still_valid:
            return True
        if self.not_after is None or self.auth == "token":
            return False  # a token identity's tokens die with its Secrets and ServiceAccount
        return registry.parse_time(self.not_after) > datetime.now(timezone.utc)

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "groups": self.groups,
            "registryNamespace": self.registry_namespace,
            "recordFound": self.record_found,
            "alreadyRevoked": self.already_revoked,
            "markedRevoked": self.marked_revoked,
            "removed": {
                "rbac": self.deleted,
                "csrs": self.deleted_csrs,
                "kubeconfig": self.kubeconfig_removed,
                "localFiles": self.local_removed,
                "foreignBindings": self.foreign_removed,
            },
            "notTouched": {
                "otherRegistries": self.other_registries,
                "kubeconfig": self.kubeconfig_kept,
                "localFiles": self.local_kept,
                "localFilesWithoutPurge": self.local_left,
            },
            "currentContextCleared": self.current_context_cleared,
            "auth": self.auth,
            "serviceAccount": self.service_account,
            "serviceAccountDeleted": self.service_account_deleted,
            "tokensInvalidated": self.tokens_killed,
            "residual": {
                "certificateStillAuthenticates": self.still_authenticates,
                "credentialStillAuthenticates": self.still_authenticates,
                "notAfter": self.not_after,
                "certificatesStillValid": [
                    {"serial": c.serial, "notAfter": c.not_after} for c in self.still_valid if not c.is_token
                ],
                "why": TOKEN_WHY
                if self.auth == "token" and not self.still_valid
                else "Kubernetes cannot revoke a client certificate; it authenticates until notAfter",
                "bindings": [b.to_dict() for b in self.residual_bindings],
                "namespace": self.namespace,
                "stillAllowed": [p.to_dict() for p in self.still_allowed],
            },
            "errors": [{"message": e.message, "hint": e.hint, "exitCode": int(e.exit_code)} for e in self.errors],
        }


def _attempt(res: RevokeResult, fn: Any) -> None:
    """Run one removal step; a failure is kept (the report still follows) instead of ending revoke."""
    try:
        fn()
    except KubeuserError as exc:
        res.errors.append(exc)


def revoke(opts: RevokeOptions, target: Target, gw: Gateway, reporter: Reporter) -> RevokeResult:
    user = naming.check_user_name(opts.name)
    reg = registry.Registry(gw, registry.namespace_from(opts.registry_namespace))
    with reporter.step("Read registry") as s:
        found = reg.get(user)
        record = found[0] if found else None
        s.detail = f"{reg.namespace}: status {record.status}" if record else f"{reg.namespace}: no record"
    groups = list(record.groups) if record else []
    res = RevokeResult(
        user=user,
        groups=groups,
        record_found=record is not None,
        already_revoked=bool(record and record.status == "revoked"),
        registry_namespace=reg.namespace,
        not_after=record.certificate.not_after if record else None,
        still_valid=record.still_valid() if record else [],
        namespace=opts.namespace or (record.namespace if record else target.namespace),
    )
    if record is not None and record.is_token:
        res.auth = "token"
        res.service_account = f"{record.service_account_namespace}/{record.service_account}"
    recorded = steps.recorded_keys(record)

    def delete_rbac() -> None:
        with reporter.step("Delete RBAC objects kubeuser made") as s:
            for obj in sorted(steps.user_objects(gw, user), key=_deletion_order):
                verdict = ownership.classify(obj, user, reg.namespace, recorded)
                meta = obj["metadata"]
                ns = meta.get("namespace")
                what = f"{obj['kind']} {ns + '/' if ns else ''}{meta['name']}"
                if verdict == ownership.OTHER_REGISTRY:
                    res.other_registries.append(f"{what} (registry {ownership.registry_of(obj)})")
                    continue
                if not ownership.owned(verdict):
                    continue
                if not groups:
                    with contextlib.suppress(ValueError, TypeError):
                        res.groups = json.loads(ownership.annotation(obj, naming.GROUPS_ANNOTATION) or "[]")
                if gw.delete_object(obj["kind"], meta["name"], ns):
                    res.deleted.append(what)
            s.detail = ", ".join(res.deleted) or "none left"

    def delete_csrs() -> None:
        csr_names = {c.csr_name for c in record.certificates()} if record else set()
        with reporter.step("Delete CSRs") as s:
            for csr in gw.list_csrs(naming.user_selector(user)):
                name = csr["metadata"]["name"]
                owner = ownership.registry_of(csr)
                if ownership.user_of(csr) != user:
                    continue
                if owner not in (reg.namespace, None) or (owner is None and name not in csr_names):
                    continue
                if gw.delete_csr(name):
                    res.deleted_csrs.append(name)
            s.detail = ", ".join(res.deleted_csrs) or "none left"

    def remove_entries() -> None:
        with reporter.step("Remove kubeconfig entries") as s:
            if record is None:
                s.detail = "none: without a registry record kubeuser cannot prove any entry is its own"
                return
            removed = steps.remove_kubeconfig_entries(target, record)
            res.kubeconfig_removed, res.kubeconfig_kept = removed.removed, removed.kept
            res.current_context_cleared = removed.current_cleared
            for note in removed.notes:
                reporter.warn(note)
            s.detail = ", ".join(res.kubeconfig_removed) or "none"

    _attempt(res, delete_rbac)
    res.groups = res.groups or groups
    if record is not None and (record.service_account or record.token_secrets()):
        _attempt(res, lambda: _kill_tokens(gw, record, reg.namespace, res, reporter))
        res.still_valid = record.still_valid()
    _attempt(res, delete_csrs)
    _attempt(res, remove_entries)
    if opts.purge_local:
        _attempt(res, lambda: _purge_local(target, user, record, res, reporter))
    else:
        kdir = steps.key_dir_for(target.ctx.cluster_name, user)
        res.local_left = [str(p) for p in (kdir / "client.key", kdir / "client.crt") if p.exists()]

    nothing = not (res.deleted or res.deleted_csrs or res.kubeconfig_removed or res.local_removed or res.tokens_killed)
    if record is None and nothing and not res.errors:
        raise NotFoundError(
            f"kubeuser knows no user {user!r} in registry {reg.namespace}: no record, and no bindings, CSRs or "
            "kubeconfig entries it made",
            hint="`kubeuser list` shows known users (--registry-namespace if yours differs)"
            + (f"; not touched, as they belong to other registries: {', '.join(res.other_registries)}"
               if res.other_registries else ""),
        )  # fmt: skip

    if opts.all_bindings:
        _attempt(res, lambda: _remove_from_foreign_bindings(gw, user, res, reporter))

    if record is not None and not res.errors:

        def mark() -> None:
            with reporter.step("Mark the record revoked") as s:
                assert record is not None
                if record.status != "revoked":
                    record.status = "revoked"
                    record.revoked_at = registry.now_iso()
                    record.revoked_by = opts.revoked_by or steps.admin_identity(gw, target, gw.version())
                record.bindings = []  # nothing kubeuser made for the user exists any more
                if record.access is None:
                    record.access = steps.migrate_access(gw, record, reg.namespace)
                reg.put(record, found[1] if found else None)
                res.marked_revoked = True
                s.detail = f"{reg.namespace}/{registry.object_name(user)}"

        _attempt(res, mark)

    with reporter.step("Residual access") as s:
        try:
            who, groups = (user, res.groups)
            if record is not None and record.is_token:  # bindings naming the ServiceAccount itself (its groups are
                from kubeuser.workflows.users import identity_of  # every ServiceAccount's: not this user's access)

                who, groups = identity_of(record)[0], []
            res.residual_bindings = access.bindings_for(gw, who, groups)
            res.still_allowed = [p for p in access.can_i_summary(gw, who, groups, res.namespace) if p.allowed]
            s.detail = f"{len(res.residual_bindings)} binding(s), {len(res.still_allowed)} allowed check(s)"
        except KubeuserError as exc:
            res.errors.append(exc)
            s.detail = f"could not be read: {exc.message}"
    return res


TOKEN_WHY = (
    "a ServiceAccount token stops authenticating once its bound Secret or its ServiceAccount is deleted; the API "
    "server may accept a token it accepted in the last ~10 s until its authentication cache expires"
)


def _kill_tokens(
    gw: Gateway, record: registry.UserRecord, registry_ns: str, res: RevokeResult, reporter: Reporter
) -> None:
    """Delete the Secrets the user's tokens are bound to, then the ServiceAccount (which kills any token it has,
    including the non-expiring one clusters before 1.24 make for every ServiceAccount)."""
    ns = record.service_account_namespace or registry_ns
    with reporter.step("Delete the ServiceAccount and its token Secrets") as s:
        recorded = {c.serial for c in record.token_secrets()}
        for secret in gw.list_objects("Secret", ns, naming.user_selector(record.user)):
            name = secret["metadata"]["name"]
            if ownership.classify(secret, record.user, registry_ns) != ownership.OURS and name not in recorded:
                continue
            if ownership.user_of(secret) != record.user:
                continue
            if gw.delete_object("Secret", name, ns):
                res.tokens_killed.append(name)
        now = registry.now_iso()
        for c in record.token_secrets():
            c.invalidated_at = now  # deleted now, or gone before
        try:
            if steps.delete_service_account(gw, record, registry_ns):
                res.service_account_deleted = True
                res.deleted.append(f"ServiceAccount {ns}/{record.service_account}")
        except ConflictError as exc:
            res.errors.append(exc)
        s.detail = (
            f"{len(res.tokens_killed)} token Secret(s)"
            + (f", ServiceAccount {ns}/{record.service_account}" if res.service_account_deleted else "")
            + ": those tokens get 401 within about 10 s"
        )


def _deletion_order(obj: dict[str, Any]) -> int:
    """Bindings before the Roles they point at: access goes first."""
    return {"ClusterRoleBinding": 0, "RoleBinding": 1, "Role": 2}.get(obj.get("kind", ""), 3)


def _purge_local(
    target: Target, user: str, record: registry.UserRecord | None, res: RevokeResult, reporter: Reporter
) -> None:
    with reporter.step("Remove local key files") as s:
        kdir = steps.key_dir_for(target.ctx.cluster_name, user)
        crt, key = kdir / "client.crt", kdir / "client.key"
        serials = record.serials() if record else set()
        ours = False
        if crt.is_file():
            with contextlib.suppress(OSError, KubeuserError, ValueError):
                info = pki.parse_cert(crt.read_bytes())
                ours = info.common_name == user and info.serial.lower() in serials
        if not ours:
            res.local_kept += [str(p) for p in (key, crt) if p.exists()]
            s.detail = "none" + (" (not provably kubeuser's for this user: kept)" if res.local_kept else "")
            return
        for p in (key, crt):
            if p.exists():
                p.unlink()
                res.local_removed.append(str(p))
        with contextlib.suppress(OSError):
            kdir.rmdir()
        s.detail = ", ".join(res.local_removed) or "none"


def _remove_from_foreign_bindings(gw: Gateway, user: str, res: RevokeResult, reporter: Reporter) -> None:
    with reporter.step("Remove the user from other bindings") as s:
        for b in [b for b in access.bindings_for(gw, user, []) if b.via == "user"]:
            remove_subject(gw, b, user)
            res.foreign_removed.append(b.describe())
        s.detail = ", ".join(res.foreign_removed) or "none"


def remove_subject(gw: Gateway, b: access.BindingMatch, user: str, attempts: int = 5) -> None:
    """Take *user* out of a binding's subjects; delete the binding only if no subject is left.

    An update (PUT with the resourceVersion read), retried when someone else changed it meanwhile.
    """
    for _ in range(attempts):
        obj = gw.get_object(b.kind, b.name, b.namespace)
        if obj is None:
            return
        subjects = obj.get("subjects") or []
        kept = [s for s in subjects if not (s.get("kind") == "User" and s.get("name") == user)]
        if len(kept) == len(subjects):
            return
        try:
            if not kept:
                gw.delete_object(b.kind, b.name, b.namespace)
            else:
                obj["subjects"] = kept
                gw.replace_object(obj)
            return
        except ConflictError:
            continue  # changed meanwhile: read it again
        except KubeuserError as exc:
            exc.message = f"could not remove {user} from {b.describe()}: {exc.message}"
            raise
    raise ConflictError(
        f"could not remove {user} from {b.describe()}: it kept changing", hint="run `kubeuser revoke` again"
    )
