"""``kubeuser revoke``: take access away, and tell the truth about what remains.

Kubernetes cannot revoke a client certificate. Revoking removes what kubeuser made — RBAC
objects, pending/approved CSRs, kubeconfig user + context (and local key files with
``--purge-local``) — marks the registry record revoked, then reports the residual access: the
certificate keeps authenticating until notAfter, and its groups (O) keep whatever bindings
those groups have. Idempotent: revoking twice changes nothing the second time.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kubeuser import access, kubeconfig, naming, registry
from kubeuser.connect import Target
from kubeuser.errors import KubeuserError, NotFoundError
from kubeuser.gateway import Gateway
from kubeuser.progress import Reporter
from kubeuser.workflows import create as createwf


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
    deleted: list[str] = field(default_factory=list)
    deleted_csrs: list[str] = field(default_factory=list)
    kubeconfig_removed: list[str] = field(default_factory=list)
    local_removed: list[str] = field(default_factory=list)
    foreign_removed: list[str] = field(default_factory=list)
    not_after: str | None = None
    residual_bindings: list[access.BindingMatch] = field(default_factory=list)
    still_allowed: list[access.Permission] = field(default_factory=list)
    namespace: str = "default"

    @property
    def still_authenticates(self) -> bool:
        if self.not_after is None:
            return False
        return registry.parse_time(self.not_after) > datetime.now(timezone.utc)

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "groups": self.groups,
            "recordFound": self.record_found,
            "alreadyRevoked": self.already_revoked,
            "removed": {
                "rbac": self.deleted,
                "csrs": self.deleted_csrs,
                "kubeconfig": self.kubeconfig_removed,
                "localFiles": self.local_removed,
                "foreignBindings": self.foreign_removed,
            },
            "residual": {
                "certificateStillAuthenticates": self.still_authenticates,
                "notAfter": self.not_after,
                "why": "Kubernetes cannot revoke a client certificate; it authenticates until notAfter",
                "bindings": [b.to_dict() for b in self.residual_bindings],
                "namespace": self.namespace,
                "stillAllowed": [p.to_dict() for p in self.still_allowed],
            },
        }


def revoke(opts: RevokeOptions, target: Target, gw: Gateway, reporter: Reporter) -> RevokeResult:
    user = naming.check_user_name(opts.name)
    reg = registry.Registry(gw, registry.namespace_from(opts.registry_namespace))
    with reporter.step("Read registry") as s:
        found = reg.get(user)
        record = found[0] if found else None
        s.detail = f"status {record.status}" if record else "no record"
    groups = list(record.groups) if record else []
    res = RevokeResult(
        user=user,
        groups=groups,
        record_found=record is not None,
        already_revoked=bool(record and record.status == "revoked"),
        not_after=record.certificate.not_after if record else None,
        namespace=opts.namespace or (record.namespace if record else target.namespace),
    )
    selector = naming.user_selector(user)

    with reporter.step("Delete RBAC objects kubeuser made") as s:
        for kind in ("ClusterRoleBinding", "RoleBinding", "Role"):
            for obj in gw.list_objects(kind, label_selector=selector):
                meta = obj["metadata"]
                if (meta.get("annotations") or {}).get(naming.USER_ANNOTATION, user) != user:
                    continue  # label collision of two names with the same safe label: not ours
                if not groups:
                    with contextlib.suppress(ValueError, TypeError):
                        groups = json.loads((meta.get("annotations") or {}).get(naming.GROUPS_ANNOTATION, "[]"))
                if gw.delete_object(kind, meta["name"], meta.get("namespace")):
                    ns = meta.get("namespace")
                    res.deleted.append(f"{kind} {ns + '/' if ns else ''}{meta['name']}")
        s.detail = ", ".join(res.deleted) or "none left"
    res.groups = groups

    with reporter.step("Delete CSRs") as s:
        for csr in gw.list_csrs(selector):
            name = csr["metadata"]["name"]
            if (csr["metadata"].get("annotations") or {}).get(naming.USER_ANNOTATION, user) == user and gw.delete_csr(
                name
            ):
                res.deleted_csrs.append(name)
        s.detail = ", ".join(res.deleted_csrs) or "none left"

    with reporter.step("Remove kubeconfig entries") as s:
        res.kubeconfig_removed = _remove_kubeconfig_entries(target, user, record)
        s.detail = ", ".join(res.kubeconfig_removed) or "none"

    if opts.purge_local:
        with reporter.step("Remove local key files") as s:
            kdir = createwf.key_dir_for(target.ctx.cluster_name, user)
            for f in ("client.key", "client.crt"):
                p = kdir / f
                if p.exists():
                    p.unlink()
                    res.local_removed.append(str(p))
            with contextlib.suppress(OSError):
                kdir.rmdir()
            s.detail = ", ".join(res.local_removed) or "none"

    if record is None and not (res.deleted or res.deleted_csrs or res.kubeconfig_removed or res.local_removed):
        raise NotFoundError(
            f"kubeuser knows no user {user!r}: no record, bindings, CSRs or kubeconfig entries",
            hint="`kubeuser list` shows known users",
        )

    if record is not None and record.status != "revoked":
        with reporter.step("Mark the record revoked") as s:
            record.status = "revoked"
            record.revoked_at = registry.now_iso()
            record.revoked_by = opts.revoked_by or createwf.admin_identity(gw, target, gw.version())
            reg.put(record, found[1] if found else None)
            s.detail = f"{reg.namespace}/{registry.object_name(user)}"

    with reporter.step("Residual access") as s:
        residual = access.bindings_for(gw, user, groups)
        if opts.all_bindings:
            for b in [b for b in residual if b.via == "user"]:
                _remove_subject(gw, b, user)
                res.foreign_removed.append(b.describe())
            residual = access.bindings_for(gw, user, groups)
        res.residual_bindings = residual
        res.still_allowed = [p for p in access.can_i_summary(gw, user, groups, res.namespace) if p.allowed]
        s.detail = f"{len(residual)} binding(s), {len(res.still_allowed)} allowed check(s)"
    return res


def _remove_kubeconfig_entries(target: Target, user: str, record: registry.UserRecord | None) -> list[str]:
    entry = f"{user}@{target.ctx.cluster_name}"
    loaded = target.loaded
    contexts = [
        n
        for n in loaded.names("contexts")
        if (loaded.entry("contexts", n) or {}).get("user") == entry or (record is not None and n == record.context)
    ]
    removed: list[str] = []
    files: dict[Path, list[tuple[str, str]]] = {}
    for kind, name in [("users", entry), *[("contexts", c) for c in contexts]]:
        origin = loaded.origin.get((kind, name))
        if origin is not None:
            files.setdefault(origin, []).append((kind, name))
    for path, entries in files.items():

        def mutate(doc: dict[str, Any], entries: list[tuple[str, str]] = entries) -> None:
            for kind, name in entries:
                if (
                    kubeconfig.remove_entry(doc, kind, name)
                    and kind == "contexts"
                    and doc.get("current-context") == name
                ):
                    doc["current-context"] = ""

        kubeconfig.update_file(path, mutate)
        removed += [f"{kind[:-1]} {name} ({path})" for kind, name in entries]
    return removed


def _remove_subject(gw: Gateway, b: access.BindingMatch, user: str) -> None:
    obj = gw.get_object(b.kind, b.name, b.namespace)
    if obj is None:
        return
    subjects = [s for s in obj.get("subjects") or [] if not (s.get("kind") == "User" and s.get("name") == user)]
    if not subjects:
        gw.delete_object(b.kind, b.name, b.namespace)
        return
    obj["subjects"] = subjects
    try:
        gw.apply_object(obj)
    except KubeuserError as exc:
        exc.hint = f"could not remove {user} from {b.describe()}"
        raise
