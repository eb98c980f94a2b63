"""RBAC: ``--rule`` strings → PolicyRules, and the Role / RoleBinding / ClusterRoleBinding objects."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubeuser import naming
from kubeuser.errors import UsageError, shown

RBAC_API = "rbac.authorization.k8s.io/v1"
RBAC_GROUP = "rbac.authorization.k8s.io"

KNOWN_VERBS = frozenset(
    {
        "get", "list", "watch", "create", "update", "patch", "delete", "deletecollection",
        "use", "bind", "escalate", "impersonate", "approve", "sign", "proxy", "*",
    }
)  # fmt: skip
_RESOURCE = re.compile(r"^(\*|[a-z0-9]([-a-z0-9.]*[a-z0-9])?)(/(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?))?$")
_GROUP = re.compile(r"^(\*|[a-z0-9]([-a-z0-9.]*[a-z0-9])?)$")
_NAME_FORBIDDEN = re.compile(r"[/%]")


def parse_rule(text: str) -> dict[str, Any]:
    """``get,list,watch:pods,pods/log[:apps]`` → a PolicyRule dict. ``core`` or empty group = core API."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise UsageError(
            f"cannot read rule {shown(text, 60)!r}",
            hint="use VERBS:RESOURCES[:APIGROUP], e.g. --rule get,list,watch:pods or --rule get,list:deployments:apps",
        )
    verbs = [v.strip().lower() for v in parts[0].split(",")]
    resources = [r.strip().lower() for r in parts[1].split(",")]
    group = parts[2].strip().lower() if len(parts) == 3 else ""
    if group == "core":
        group = ""
    bad = [v for v in verbs if v not in KNOWN_VERBS]
    if bad:
        raise UsageError(
            f"unknown verb {shown(bad[0])!r} in rule {shown(text, 60)!r}",
            hint="verbs: " + ", ".join(sorted(KNOWN_VERBS - {"*"})) + ", or *",
        )
    for r in resources:
        if not _RESOURCE.match(r):
            raise UsageError(
                f"bad resource {shown(r)!r} in rule {shown(text, 60)!r}",
                hint="resources are plural lowercase names such as pods, deployments, pods/log",
            )
    if group and not _GROUP.match(group):
        raise UsageError(f"bad API group {shown(group)!r} in rule {shown(text, 60)!r}", hint="e.g. apps, batch")
    return {"apiGroups": [group], "resources": _dedupe(resources), "verbs": _dedupe(verbs)}


def _dedupe(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def check_ref_name(kind: str, name: str) -> str:
    if not name or _NAME_FORBIDDEN.search(name) or name in (".", ".."):
        raise UsageError(f"invalid {kind} name {shown(name, 60)!r}", hint=f"give the name of an existing {kind}")
    return name


@dataclass
class RbacRequest:
    """What access to grant. Empty → the user can authenticate but do nothing."""

    namespace: str
    rules: list[dict[str, Any]] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    cluster_roles: list[str] = field(default_factory=list)
    cluster_wide: bool = False

    @property
    def empty(self) -> bool:
        return not (self.rules or self.roles or self.cluster_roles)


def build_request(
    namespace: str,
    rules: Sequence[str] = (),
    roles: Sequence[str] = (),
    cluster_roles: Sequence[str] = (),
    cluster_wide: bool = False,
) -> RbacRequest:
    if cluster_wide and (rules or roles):
        raise UsageError(
            "--cluster-wide applies to --clusterrole only",
            hint="--rule/--role bindings are namespaced; use --clusterrole NAME --cluster-wide",
        )
    if cluster_wide and not cluster_roles:
        raise UsageError("--cluster-wide needs --clusterrole", hint="e.g. --clusterrole view --cluster-wide")
    return RbacRequest(
        namespace=namespace,
        rules=[parse_rule(r) for r in rules],
        roles=_dedupe([check_ref_name("Role", r) for r in roles]),
        cluster_roles=_dedupe([check_ref_name("ClusterRole", c) for c in cluster_roles]),
        cluster_wide=cluster_wide,
    )


def _meta(name: str, user: str, groups: Sequence[str], namespace: str | None, registry: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "labels": naming.managed_labels(user, registry),
        "annotations": naming.managed_annotations(user, groups, registry),
    }
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def user_subject(user: str) -> dict[str, str]:
    return {"kind": "User", "apiGroup": RBAC_GROUP, "name": user}


@dataclass
class NamespaceGrants:
    """What a user is granted in one namespace: its own rules (one Role), Roles and ClusterRoles bound there."""

    namespace: str
    rules: list[dict[str, Any]] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    cluster_roles: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.rules or self.roles or self.cluster_roles)


@dataclass
class Access:
    """Everything kubeuser grants one user: per-namespace grants plus cluster-wide ClusterRoles.

    This is what the registry record stores; the RBAC objects are derived from it
    (:meth:`objects`), so "the user's bindings are exactly what the record says" is checkable.
    """

    namespaces: list[NamespaceGrants] = field(default_factory=list)
    cluster_roles: list[str] = field(default_factory=list)  # bound cluster-wide (ClusterRoleBindings)

    @property
    def empty(self) -> bool:
        return not self.cluster_roles and all(n.empty for n in self.namespaces)

    def grants_in(self, namespace: str) -> NamespaceGrants:
        for n in self.namespaces:
            if n.namespace == namespace:
                return n
        n = NamespaceGrants(namespace)
        self.namespaces.append(n)
        return n

    @classmethod
    def of(cls, *requests: RbacRequest) -> Access:
        acc = cls()
        for req in requests:
            acc.add(req)
        return acc

    def add(self, req: RbacRequest) -> None:
        """Grant what *req* asks for (idempotent)."""
        if req.cluster_wide:
            self.cluster_roles = _dedupe([*self.cluster_roles, *req.cluster_roles])
            return
        if req.empty:
            return
        n = self.grants_in(req.namespace)
        n.rules = _merge_rules(n.rules, req.rules)
        n.roles = _dedupe([*n.roles, *req.roles])
        n.cluster_roles = _dedupe([*n.cluster_roles, *req.cluster_roles])

    def remove(self, req: RbacRequest) -> list[str]:
        """Take away what *req* names; return descriptions of what was asked but not granted (nothing removed)."""
        missing: list[str] = []
        if req.cluster_wide:
            for cr in req.cluster_roles:
                if cr in self.cluster_roles:
                    self.cluster_roles.remove(cr)
                else:
                    missing.append(f"ClusterRole {cr} cluster-wide")
            return missing
        n = next((g for g in self.namespaces if g.namespace == req.namespace), None)
        have = n or NamespaceGrants(req.namespace)
        for rule in req.rules:
            if rule in have.rules:
                have.rules.remove(rule)
            else:
                missing.append(f"rule {summarize_rule(rule)} in {req.namespace}")
        for r in req.roles:
            if r in have.roles:
                have.roles.remove(r)
            else:
                missing.append(f"Role {r} in {req.namespace}")
        for cr in req.cluster_roles:
            if cr in have.cluster_roles:
                have.cluster_roles.remove(cr)
            else:
                missing.append(f"ClusterRole {cr} in {req.namespace}")
        self.namespaces = [g for g in self.namespaces if not g.empty]
        return missing

    def objects(
        self,
        user: str,
        groups: Sequence[str],
        registry: str | None = None,
        subject_of: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Every RBAC object to create, in creation order (a Role before the binding naming it). The bindings'
        subject is the User *user*, or *subject_of* (a ServiceAccount, for token identities)."""
        objs: list[dict[str, Any]] = []
        subject = [dict(subject_of) if subject_of is not None else user_subject(user)]
        for n in self.namespaces:
            ns = n.namespace
            if n.rules:
                name = naming.rbac_name(user)
                objs.append({"apiVersion": RBAC_API, "kind": "Role",
                             "metadata": _meta(name, user, groups, ns, registry), "rules": n.rules})  # fmt: skip
                objs.append(_binding("RoleBinding", name, user, groups, ns, "Role", name, subject, registry))
            for role in n.roles:
                objs.append(_binding("RoleBinding", naming.rbac_name(user, "role", role), user, groups, ns,
                                     "Role", role, subject, registry))  # fmt: skip
            for cr in n.cluster_roles:
                objs.append(_binding("RoleBinding", naming.rbac_name(user, "clusterrole", cr), user, groups, ns,
                                     "ClusterRole", cr, subject, registry))  # fmt: skip
        for cr in self.cluster_roles:
            objs.append(_binding("ClusterRoleBinding", naming.rbac_name(user, cr), user, groups, None,
                                 "ClusterRole", cr, subject, registry))  # fmt: skip
        return objs

    def to_dict(self) -> dict[str, Any]:
        return {
            "namespaces": [
                {"namespace": n.namespace, "rules": n.rules, "roles": n.roles, "clusterRoles": n.cluster_roles}
                for n in self.namespaces
            ],
            "clusterRoles": self.cluster_roles,
        }

    def grants(self, user: str) -> list[dict[str, Any]]:
        """The access as ``-o json|yaml`` shows it: one object per grant, each with its ``namespace`` (null:
        cluster-wide) and ``roleRef`` (the Role or ClusterRole bound). A rule kubeuser made a Role of (``--rule``)
        also has that rule's ``verbs``, ``resources`` and ``apiGroups`` (and ``resourceNames``/``nonResourceURLs``
        if it has them); for any other role the record holds only its name. (:meth:`to_dict` is the stored form.)
        """
        out: list[dict[str, Any]] = []
        for n in self.namespaces:
            own = {"kind": "Role", "name": naming.rbac_name(user)}
            for r in n.rules:
                rule = {k: list(r.get(k) or []) for k in ("verbs", "resources", "apiGroups")}
                rule |= {k: list(r[k]) for k in ("resourceNames", "nonResourceURLs") if r.get(k)}
                out.append({"namespace": n.namespace, **rule, "roleRef": own})
            out += [{"namespace": n.namespace, "roleRef": {"kind": "Role", "name": r}} for r in n.roles]
            out += [{"namespace": n.namespace, "roleRef": {"kind": "ClusterRole", "name": c}} for c in n.cluster_roles]
        out += [{"namespace": None, "roleRef": {"kind": "ClusterRole", "name": c}} for c in self.cluster_roles]
        return out

    @classmethod
    def from_dict(cls, d: Any) -> Access:
        if not isinstance(d, dict):
            raise TypeError("access must be a mapping")
        return cls(
            namespaces=[
                NamespaceGrants(
                    str(n["namespace"]),
                    [dict(r) for r in n.get("rules") or []],
                    [str(r) for r in n.get("roles") or []],
                    [str(c) for c in n.get("clusterRoles") or []],
                )
                for n in d.get("namespaces") or []
            ],
            cluster_roles=[str(c) for c in d.get("clusterRoles") or []],
        )

    @classmethod
    def from_objects(cls, objs: Sequence[dict[str, Any]]) -> Access:
        """The access that kubeuser-made objects grant (to migrate records written before access was stored)."""
        acc = cls()
        for obj in objs:
            meta = obj.get("metadata") or {}
            ns = meta.get("namespace")
            ref = obj.get("roleRef") or {}
            if obj.get("kind") == "Role" and ns:
                acc.grants_in(ns).rules = _merge_rules(acc.grants_in(ns).rules, list(obj.get("rules") or []))
            elif obj.get("kind") == "RoleBinding" and ns:
                if ref.get("kind") == "ClusterRole":
                    acc.grants_in(ns).cluster_roles.append(str(ref.get("name")))
                elif ref.get("kind") == "Role" and ref.get("name") != meta.get("name"):
                    acc.grants_in(ns).roles.append(str(ref.get("name")))
            elif obj.get("kind") == "ClusterRoleBinding" and ref.get("kind") == "ClusterRole":
                acc.cluster_roles.append(str(ref.get("name")))
        acc.namespaces = [n for n in acc.namespaces if not n.empty]
        return acc

    def describe(self) -> list[str]:
        """One line per grant, for humans."""
        out: list[str] = []
        for n in self.namespaces:
            out += [f"rule {summarize_rule(r)} in {n.namespace}" for r in n.rules]
            out += [f"Role {r} in {n.namespace}" for r in n.roles]
            out += [f"ClusterRole {c} in {n.namespace}" for c in n.cluster_roles]
        out += [f"ClusterRole {c} cluster-wide" for c in self.cluster_roles]
        return out


def _merge_rules(have: list[dict[str, Any]], more: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out = list(have)
    for r in more:
        if r not in out:
            out.append(r)
    return out


def objects_for(
    user: str, groups: Sequence[str], req: RbacRequest, registry: str | None = None
) -> list[dict[str, Any]]:
    """Every RBAC object one request asks for, in creation order (a Role before the binding naming it)."""
    return Access.of(req).objects(user, groups, registry)


def _binding(
    kind: str,
    name: str,
    user: str,
    groups: Sequence[str],
    namespace: str | None,
    ref_kind: str,
    ref_name: str,
    subjects: list[dict[str, str]],
    registry: str | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": RBAC_API,
        "kind": kind,
        "metadata": _meta(name, user, groups, namespace, registry),
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": ref_kind, "name": ref_name},
        "subjects": subjects,
    }


def object_ref(
    kind: str, name: str, namespace: str | None, role_kind: str | None, role_name: str | None
) -> dict[str, Any]:
    """An RBAC object as ``-o json|yaml`` names it: ``kind``, ``name``, ``namespace`` (null: cluster-scoped) and
    ``roleRef`` (``kind``, ``name``; null for a Role)."""
    role = {"kind": role_kind, "name": role_name} if role_kind and role_name else None
    return {"kind": kind, "name": name, "namespace": namespace, "roleRef": role}


def ref_of(obj: dict[str, Any]) -> dict[str, Any]:
    """:func:`object_ref` of an RBAC object (a manifest)."""
    meta, ref = obj["metadata"], obj.get("roleRef") or {}
    return object_ref(obj["kind"], meta["name"], meta.get("namespace"), ref.get("kind"), ref.get("name"))


def describe(obj: dict[str, Any]) -> str:
    """``RoleBinding dev/kubeuser:alice → ClusterRole view`` — one line for humans."""
    meta = obj["metadata"]
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    text = f"{obj['kind']} {where}{meta['name']}"
    if "roleRef" in obj:
        text += f" → {obj['roleRef']['kind']} {obj['roleRef']['name']}"
    return text


def summarize_rules(rules: Sequence[dict[str, Any]], roles: Sequence[str] = (), limit: int = 160) -> str:
    """One short line for many rules: grouped by verbs, resources counted, the bound roles named.

    ``get,list,watch on 38 resources; create,delete on pods,secrets (ClusterRole view, Role kubeuser:a)``.
    Up to three resources are named, more are counted; verb groups beyond ``limit`` characters are
    counted too (``+2 more verb sets``). Every rule is still in ``-o json`` and ``kubeuser show``.
    """
    by_verbs: dict[str, list[str]] = {}
    for r in rules:
        verbs = ",".join(r.get("verbs") or []) or "-"
        groups = [g for g in r.get("apiGroups") or [""]] or [""]
        targets = [f"{res}.{g}" if g else res for res in r.get("resources") or [] for g in groups]
        targets += list(r.get("nonResourceURLs") or [])
        if r.get("resourceNames"):
            targets = [f"{t}[{','.join(r['resourceNames'])}]" for t in targets]
        seen = by_verbs.setdefault(verbs, [])
        seen += [t for t in targets if t not in seen]
    parts = [
        f"{verbs} on {','.join(targets)}" if len(targets) <= 3 else f"{verbs} on {len(targets)} resources"
        for verbs, targets in by_verbs.items()
    ]
    shown: list[str] = []
    for i, part in enumerate(parts):
        if shown and len("; ".join([*shown, part])) > limit:
            shown.append(f"+{len(parts) - i} more verb set(s)")
            break
        shown.append(part)
    text = "; ".join(shown)
    named = ", ".join([*roles[:3], f"+{len(roles) - 3} more"] if len(roles) > 3 else roles)
    return f"{text} ({named})" if named and text else text or named


def summarize_rule(rule: dict[str, Any]) -> str:
    verbs = ",".join(rule.get("verbs") or [])
    res = ",".join(rule.get("resources") or rule.get("nonResourceURLs") or [])
    groups = [g for g in rule.get("apiGroups") or [] if g]
    names = rule.get("resourceNames") or []
    text = f"{verbs} {res}"
    if groups:
        text += f" ({','.join(groups)})"
    if names:
        text += f" [{','.join(names)}]"
    return text
