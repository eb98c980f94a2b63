"""``kubeuser list`` and ``kubeuser show``: read the registry, and the user's effective access."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from kubeuser import access, naming, ownership, rbac, registry, tokens
from kubeuser.errors import ForbiddenError, NotFoundError
from kubeuser.gateway import Gateway

NEAR_EXPIRY_DAYS = 7


def days_left(record: registry.UserRecord, now: datetime | None = None) -> float:
    now = now or datetime.now(timezone.utc)
    return (registry.parse_time(record.certificate.not_after) - now).total_seconds() / 86400


def certificate_view(c: registry.CertRecord) -> dict[str, Any]:
    """One certificate of the record as ``-o json|yaml`` shows it (camelCase; the stored keys are snake_case)."""
    return {
        "serial": c.serial,
        "notBefore": c.not_before,
        "notAfter": c.not_after,
        "issuedAt": c.issued_at,
        "issuedBy": c.issued_by,
        "csrName": c.csr_name,
        "requestedSeconds": c.requested_seconds,
        "replacedAt": c.replaced_at,
        "publicKeySha256": c.public_key_sha256,
        "kind": c.kind,
        "boundSecretUid": c.bound_secret_uid,
        "invalidatedAt": c.invalidated_at,
    }


def identity_of(record: registry.UserRecord) -> tuple[str, list[str]]:
    """(user name, groups) the API server sees for the record's credential."""
    if record.is_token and record.service_account and record.service_account_namespace:
        ns = record.service_account_namespace
        return tokens.username(ns, record.service_account), tokens.groups(ns)
    return record.user, list(record.groups)


def summary(record: registry.UserRecord, now: datetime | None = None) -> dict[str, Any]:
    """The machine-readable list row: the record (in the output's camelCase, not its stored form), the derived
    status and days left, and the access as one object per grant."""
    return {
        "user": record.user,
        "auth": record.auth,
        "serviceAccount": {"namespace": record.service_account_namespace, "name": record.service_account}
        if record.is_token
        else None,
        "groups": list(record.groups),
        "status": record.status,
        "effectiveStatus": record.effective_status(now),
        "daysLeft": round(days_left(record, now), 2),
        "cluster": record.cluster,
        "context": record.context,
        "namespace": record.namespace,
        "certificate": certificate_view(record.certificate),
        "history": [certificate_view(c) for c in record.history],
        "signInTokens": [certificate_view(c) for c in record.sign_in_tokens],
        "bindings": [rbac.object_ref(b.kind, b.name, b.namespace, b.role_kind, b.role_name) for b in record.bindings],
        "access": record.access.grants(record.user) if record.access is not None else None,
        "createdAt": record.created_at,
        "createdBy": record.created_by,
        "revokedAt": record.revoked_at,
        "revokedBy": record.revoked_by,
        "format": record.format,
        "keyType": record.key_type,
        "keySize": record.key_size,
        "keyHolder": record.key_holder or "admin",  # None: the admin made the key (as `list -o wide` says)
        "delivery": record.delivery,
        "out": record.out,
        "kubeconfigUser": record.kubeconfig_user,
        "kubeconfigFile": record.kubeconfig_file,
    }


@dataclass
class UserList:
    """``kubeuser list``: the users (bindings as they exist now), and the ``--expiring`` window if one was given."""

    records: list[registry.UserRecord]
    expiring: str | None = None  # the --expiring DURATION as given

    def to_dict(self) -> dict[str, Any]:
        return {"users": [summary(r) for r in self.records]}


def expiring(
    records: list[registry.UserRecord], window_seconds: float, now: datetime | None = None
) -> list[registry.UserRecord]:
    """``list --expiring``: users not revoked whose current certificate ends within the window from now.

    Already expired ones are included (their users need a renewal just as much); revoked ones are not.
    """
    now = now or datetime.now(timezone.utc)
    return [r for r in records if r.status != "revoked" and days_left(r, now) * 86400 <= window_seconds]


def list_users(gw: Gateway, registry_namespace: str) -> list[registry.UserRecord]:
    return registry.Registry(gw, registry_namespace).list()


def require_registry_namespace(gw: Gateway, registry_namespace: str) -> None:
    """NotFoundError (exit 10) if the registry namespace does not exist; an admin who may not read
    namespaces is not stopped (the empty list stands)."""
    try:
        found = gw.get_object("Namespace", registry_namespace)
    except ForbiddenError:
        return
    if found is None:
        raise NotFoundError(
            f"registry namespace {registry_namespace!r} does not exist",
            hint="check --registry-namespace / $KUBEUSER_REGISTRY_NAMESPACE (kubeuser creates it with the first user)",
        )


RBAC_KINDS = ("Role", "RoleBinding", "ClusterRoleBinding")


def existing_objects(
    gw: Gateway, records: list[registry.UserRecord], registry_namespace: str
) -> dict[str, list[registry.BindingRef]]:
    """user → the RBAC objects that exist today and are kubeuser's for that user in this registry.

    Three list calls, whatever the number of users; what is shown is what exists, never only what
    the record once said.
    """
    by_user = {r.user: r for r in records}
    out: dict[str, list[registry.BindingRef]] = {u: [] for u in by_user}
    for kind in RBAC_KINDS:
        for obj in gw.list_objects(kind, label_selector=naming.MANAGED_SELECTOR):
            obj.setdefault("kind", kind)
            user = ownership.user_of(obj)
            rec = by_user.get(user or "")
            if rec is None:
                continue
            recorded = {(b.kind, b.namespace, b.name) for b in rec.bindings}
            if ownership.owned(ownership.classify(obj, rec.user, registry_namespace, recorded)):
                out[rec.user].append(registry.BindingRef.of(obj))
    for refs in out.values():
        refs.sort(key=lambda b: (b.namespace or "", b.kind, b.name))
    return out


@dataclass
class ShowResult:
    record: registry.UserRecord
    certificate_pem: bytes | None
    bindings: list[access.BindingMatch]
    permissions: list[access.Permission]
    namespace: str

    def to_dict(self) -> dict[str, Any]:
        return {
            **summary(self.record),
            "effectiveAccess": {
                "namespace": self.namespace,
                "bindings": [b.to_dict() for b in self.bindings],
                "canI": [p.to_dict() for p in self.permissions],
            },
        }


def show(gw: Gateway, registry_namespace: str, user: str, namespace: str | None = None) -> ShowResult:
    naming.check_user_name(user)
    found = registry.Registry(gw, registry_namespace).get(user)
    if found is None:
        raise NotFoundError(
            f"no kubeuser record for user {user!r} in namespace {registry_namespace}",
            hint="`kubeuser list` shows known users (use --registry-namespace if yours differs)",
        )
    record, cert = found
    ns = namespace or record.namespace
    who, groups = identity_of(record)
    bindings = access.bindings_for(gw, who, groups)
    perms = access.can_i_summary(gw, who, groups, ns)
    return ShowResult(record, cert, bindings, perms, ns)
