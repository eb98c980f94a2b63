"""The permissions kubeuser needs, checked with SelfSubjectAccessReviews (all in parallel).

Shared by ``create``, ``apply`` (before anything is touched) and ``preflight`` (which reports them),
so every command speaks with the same messages: a missing permission names the exact RBAC rule.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from kubeuser.errors import ForbiddenError
from kubeuser.gateway import SIGNER, Gateway

CERTIFICATES_GROUP = "certificates.k8s.io"
RBAC_GROUP = "rbac.authorization.k8s.io"
#: resources that exist for RBAC only (no API endpoint): kubectl create role refuses to name them
VIRTUAL_RESOURCES = frozenset({"signers"})


# --------------------------------------------------------------------------- permissions


@dataclass(frozen=True)
class Permission:
    """One permission kubeuser needs, checked with a SelfSubjectAccessReview."""

    id: str
    verb: str
    resource: str
    group: str = ""
    namespace: str | None = None
    subresource: str | None = None
    name: str | None = None
    purpose: str = ""

    @property
    def title(self) -> str:
        res = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        text = f"may {self.verb} {res}"
        if self.name:
            text += f" {self.name}"
        if self.namespace:
            text += f" in {self.namespace}"
        return text

    @property
    def needs(self) -> str:
        """What is missing, as ``create`` and ``preflight`` both word it."""
        res = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        text = f"`{self.verb}` on {res}"
        if self.group:
            text += f" ({self.group})"
        if self.name:
            text += f" with resourceName {self.name}"
        if self.namespace:
            text += f" in namespace {self.namespace}"
        if self.purpose:
            text += f" ({self.purpose})"
        return text

    def rule_dict(self) -> dict[str, list[str]]:
        res = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        rule = {"apiGroups": [self.group], "resources": [res]}
        if self.name:
            rule["resourceNames"] = [self.name]
        rule["verbs"] = [self.verb]
        return rule

    def rule(self) -> str:
        """The RBAC rule granting exactly this permission (YAML flow style, ready to paste)."""
        return "{" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in self.rule_dict().items()) + "}"

    def grant(self) -> str:
        """A kubectl command that creates a role with exactly this rule."""
        role = f"kubeuser-{self.id}"
        if self.resource in VIRTUAL_RESOURCES:  # `kubectl create role` checks discovery and cannot name these
            meta: dict[str, str] = {"name": role}
            if self.namespace:
                meta["namespace"] = self.namespace
            doc = {
                "apiVersion": f"{RBAC_GROUP}/v1",
                "kind": "Role" if self.namespace else "ClusterRole",
                "metadata": meta,
                "rules": [self.rule_dict()],
            }
            return f"echo '{json.dumps(doc, separators=(',', ':'))}' | kubectl apply -f -"
        res = self.resource + (f".{self.group}" if self.group else "")
        if self.subresource:
            res += f"/{self.subresource}"
        extra = f" --resource-name={self.name}" if self.name else ""
        if self.namespace:
            return f"kubectl create role {role} -n {self.namespace} --verb={self.verb} --resource={res}{extra}"
        return f"kubectl create clusterrole {role} --verb={self.verb} --resource={res}{extra}"

    def fix(self) -> str:
        scope = f"a Role in namespace {self.namespace} (or a ClusterRole)" if self.namespace else "a ClusterRole"
        return f"grant the rule {self.rule()} through {scope} bound to this identity, e.g. `{self.grant()}`"

    def allowed(self, gw: Gateway) -> bool:
        return gw.can_i(
            self.verb,
            self.resource,
            group=self.group,
            namespace=self.namespace,
            subresource=self.subresource,
            name=self.name,
        )


def csr_permissions() -> list[Permission]:
    """Submitting and approving a CSR for the kube-apiserver-client signer."""
    return [
        Permission("csr-create", "create", "certificatesigningrequests", CERTIFICATES_GROUP),
        Permission("csr-approval", "update", "certificatesigningrequests", CERTIFICATES_GROUP, subresource="approval"),
        Permission("signer-approve", "approve", "signers", CERTIFICATES_GROUP, name=SIGNER),
    ]


def token_permissions(namespace: str) -> list[Permission]:
    """Making a token identity: its ServiceAccount, a Secret per token, and TokenRequest."""
    return [
        Permission("serviceaccount-create", "create", "serviceaccounts", namespace=namespace),
        Permission("secret-create", "create", "secrets", namespace=namespace, purpose="the object a token is bound to"),
        Permission("token-create", "create", "serviceaccounts", namespace=namespace, subresource="token"),
    ]


def registry_permission(registry_ns: str) -> Permission:
    return Permission("registry", "create", "configmaps", namespace=registry_ns, purpose="the kubeuser registry")


def rbac_permission(kind: str, namespace: str | None) -> Permission:
    plural = kind.lower() + "s"
    return Permission(plural, "create", plural, RBAC_GROUP, namespace=namespace)


def onboarding_permissions(
    registry_ns: str,
    rbac_objects: Sequence[dict[str, Any]],
    token_namespace: str | None = None,
    *,
    certificates: bool | None = None,
) -> list[Permission]:
    """What ``create`` needs for this plan: CSRs and approval (or, for a token identity, the ServiceAccount,
    Secrets and TokenRequest in *token_namespace*), the registry, and its RBAC objects. *certificates*: CSRs
    too, besides tokens (``apply`` with both kinds); default: only when there is no *token_namespace*."""
    with_csrs = token_namespace is None if certificates is None else certificates
    creds = (csr_permissions() if with_csrs else []) + (
        token_permissions(token_namespace) if token_namespace is not None else []
    )
    perms = [*creds, registry_permission(registry_ns)]
    seen: set[tuple[str, str | None]] = set()
    for obj in rbac_objects:
        key = (obj["kind"], obj["metadata"].get("namespace"))
        if key not in seen:
            seen.add(key)
            perms.append(rbac_permission(*key))
    return perms


def check_permissions(gw: Gateway, perms: Sequence[Permission]) -> list[bool]:
    """Ask the server about every permission at once (one SSAR each, in parallel)."""
    if not perms:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(perms))) as pool:
        return list(pool.map(lambda p: p.allowed(gw), perms))


def missing_error(missing: Sequence[Permission]) -> ForbiddenError:
    return ForbiddenError(
        f"this kubeconfig's identity may not onboard users: it lacks {missing[0].needs}",
        hint="missing: " + "; ".join(p.needs for p in missing) + " (kubeuser preflight lists every check)",
    )


def require_onboarding_permissions(
    gw: Gateway,
    registry_ns: str,
    rbac_objects: Sequence[dict[str, Any]],
    token_namespace: str | None = None,
    *,
    certificates: bool | None = None,
) -> None:
    """``create``'s preflight: raise ForbiddenError naming the first missing permission (hint: all of them)."""
    perms = onboarding_permissions(registry_ns, rbac_objects, token_namespace, certificates=certificates)
    missing = [p for p, ok in zip(perms, check_permissions(gw, perms), strict=True) if not ok]
    if missing:
        raise missing_error(missing)
