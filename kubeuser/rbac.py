"""RBAC: ``--rule`` strings → PolicyRules, and the Role / RoleBinding / ClusterRoleBinding objects."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kubeuser import naming
from kubeuser.errors import UsageError

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
            f"cannot read rule {text[:60]!r}",
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
            f"unknown verb {bad[0]!r} in rule {text[:60]!r}",
            hint="verbs: " + ", ".join(sorted(KNOWN_VERBS - {"*"})) + ", or *",
        )
    for r in resources:
        if not _RESOURCE.match(r):
            raise UsageError(
                f"bad resource {r[:40]!r} in rule {text[:60]!r}",
                hint="resources are plural lowercase names such as pods, deployments, pods/log",
            )
    if group and not _GROUP.match(group):
        raise UsageError(f"bad API group {group[:40]!r} in rule {text[:60]!r}", hint="e.g. apps, batch")
    return {"apiGroups": [group], "resources": _dedupe(resources), "verbs": _dedupe(verbs)}


def _dedupe(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def check_ref_name(kind: str, name: str) -> str:
    if not name or _NAME_FORBIDDEN.search(name) or name in (".", ".."):
        raise UsageError(f"invalid {kind} name {name!r}", hint=f"give the name of an existing {kind}")
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


def _meta(name: str, user: str, groups: Sequence[str], namespace: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "labels": naming.managed_labels(user),
        "annotations": naming.managed_annotations(user, groups),
    }
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def user_subject(user: str) -> dict[str, str]:
    return {"kind": "User", "apiGroup": RBAC_GROUP, "name": user}


def objects_for(user: str, groups: Sequence[str], req: RbacRequest) -> list[dict[str, Any]]:
    """Every RBAC object to create, in creation order (a Role before the binding naming it)."""
    objs: list[dict[str, Any]] = []
    ns = req.namespace
    subject = [user_subject(user)]
    if req.rules:
        name = naming.rbac_name(user)
        objs.append({"apiVersion": RBAC_API, "kind": "Role", "metadata": _meta(name, user, groups, ns),
                     "rules": req.rules})  # fmt: skip
        objs.append(_binding("RoleBinding", name, user, groups, ns, "Role", name, subject))
    for role in req.roles:
        objs.append(_binding("RoleBinding", naming.rbac_name(user, "role", role), user, groups, ns, "Role",
                             role, subject))  # fmt: skip
    for cr in req.cluster_roles:
        if req.cluster_wide:
            objs.append(_binding("ClusterRoleBinding", naming.rbac_name(user, cr), user, groups, None,
                                 "ClusterRole", cr, subject))  # fmt: skip
        else:
            objs.append(_binding("RoleBinding", naming.rbac_name(user, "clusterrole", cr), user, groups, ns,
                                 "ClusterRole", cr, subject))  # fmt: skip
    return objs


def _binding(
    kind: str,
    name: str,
    user: str,
    groups: Sequence[str],
    namespace: str | None,
    ref_kind: str,
    ref_name: str,
    subjects: list[dict[str, str]],
) -> dict[str, Any]:
    return {
        "apiVersion": RBAC_API,
        "kind": kind,
        "metadata": _meta(name, user, groups, namespace),
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": ref_kind, "name": ref_name},
        "subjects": subjects,
    }


def describe(obj: dict[str, Any]) -> str:
    """``RoleBinding dev/kubeuser:alice → ClusterRole view`` — one line for humans."""
    meta = obj["metadata"]
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    text = f"{obj['kind']} {where}{meta['name']}"
    if "roleRef" in obj:
        text += f" → {obj['roleRef']['kind']} {obj['roleRef']['name']}"
    return text


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
