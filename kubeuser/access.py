"""Effective access of a user: which bindings reach it (directly or through its groups) and what it may do.

Used by ``show`` and by ``revoke``'s residual-access report. Bindings are found by reading every
RoleBinding and ClusterRoleBinding (two list calls); "what it may do" is a fixed set of
SubjectAccessReviews run in parallel, so the answer comes from the cluster's own authorizer.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from kubeuser import naming
from kubeuser.gateway import Gateway

EVERYONE = "system:authenticated"

# (verb, resource, api group, namespaced)
COMMON_CHECKS: tuple[tuple[str, str, str, bool], ...] = (
    ("get", "pods", "", True),
    ("list", "pods", "", True),
    ("create", "pods", "", True),
    ("delete", "pods", "", True),
    ("create", "pods/exec", "", True),
    ("list", "deployments", "apps", True),
    ("create", "deployments", "apps", True),
    ("list", "services", "", True),
    ("list", "configmaps", "", True),
    ("get", "secrets", "", True),
    ("list", "secrets", "", True),
    ("create", "rolebindings", "rbac.authorization.k8s.io", True),
    ("list", "namespaces", "", False),
    ("list", "nodes", "", False),
    ("create", "clusterrolebindings", "rbac.authorization.k8s.io", False),
    ("approve", "signers", "certificates.k8s.io", False),
)


@dataclass(frozen=True)
class BindingMatch:
    kind: str
    name: str
    namespace: str | None
    role_kind: str
    role_name: str
    via: str  # "user" or "group:<name>"
    managed: bool  # made by kubeuser

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
            "roleRef": {"kind": self.role_kind, "name": self.role_name},
            "via": self.via,
            "managedByKubeuser": self.managed,
        }

    def describe(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name} → {self.role_kind} {self.role_name} (via {self.via})"


SA_USER = "system:serviceaccount:"  # a ServiceAccount subject is the user system:serviceaccount:NS:NAME


def bindings_for(gw: Gateway, user: str, groups: list[str], *, include_everyone: bool = False) -> list[BindingMatch]:
    """Every RoleBinding/ClusterRoleBinding whose subjects name ``user`` or one of ``groups``."""
    wanted_groups = set(groups) | ({EVERYONE} if include_everyone else set())
    out: list[BindingMatch] = []
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        for b in gw.list_objects(kind):
            meta = b.get("metadata") or {}
            managed = (meta.get("labels") or {}).get(naming.MANAGED_BY_LABEL) == naming.MANAGED_BY
            ref = b.get("roleRef") or {}
            for s in b.get("subjects") or []:
                via = None
                if s.get("kind") == "User" and s.get("name") == user:
                    via = "user"
                elif s.get("kind") == "ServiceAccount" and f"{SA_USER}{s.get('namespace')}:{s.get('name')}" == user:
                    via = "serviceaccount"
                elif s.get("kind") == "Group" and s.get("name") in wanted_groups:
                    via = f"group:{s['name']}"
                if via is not None:
                    out.append(
                        BindingMatch(
                            kind=kind,
                            name=meta.get("name", ""),
                            namespace=meta.get("namespace"),
                            role_kind=ref.get("kind", ""),
                            role_name=ref.get("name", ""),
                            via=via,
                            managed=managed,
                        )
                    )
    return sorted(out, key=lambda m: (m.kind, m.namespace or "", m.name, m.via))


@dataclass(frozen=True)
class Permission:
    verb: str
    resource: str
    group: str
    namespace: str | None
    allowed: bool

    def text(self) -> str:
        res = f"{self.resource}.{self.group}" if self.group else self.resource
        where = f" in {self.namespace}" if self.namespace else " cluster-wide"
        return f"{self.verb} {res}{where}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "verb": self.verb,
            "resource": self.resource,
            "group": self.group,
            "namespace": self.namespace,
            "allowed": self.allowed,
        }


def can_i_summary(gw: Gateway, user: str, groups: list[str], namespace: str) -> list[Permission]:
    """SubjectAccessReviews for COMMON_CHECKS as user+groups (what the authorizer says, not a guess)."""

    def check(c: tuple[str, str, str, bool]) -> Permission:
        verb, resource, group, namespaced = c
        ns = namespace if namespaced else None
        res, _, sub = resource.partition("/")
        allowed = gw.subject_can_i(user, list(groups), verb, resource, group=group, namespace=ns)
        return Permission(verb, res + (f"/{sub}" if sub else ""), group, ns, allowed)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(check, COMMON_CHECKS))
