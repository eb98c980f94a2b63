"""The cluster gateway: everything the workflows need from a Kubernetes API server.

Workflows receive a :class:`Gateway`; ``kubeuser.k8s`` implements it over urllib3 (loaded
lazily, one connection pool per identity), and tests swap in a fake. Objects are plain
dicts in their API shape, so manifests printed by ``--dry-run`` are exactly what is sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

SIGNER = "kubernetes.io/kube-apiserver-client"
CSR_API = "certificates.k8s.io/v1"


@dataclass(frozen=True)
class ServerVersion:
    git_version: str
    major: int
    minor: int

    def at_least(self, major: int, minor: int) -> bool:
        return (self.major, self.minor) >= (major, minor)


@dataclass(frozen=True)
class Identity:
    """Who the server says we are.

    ``method`` is ``SelfSubjectReview`` (1.27+: the server names user and groups) or
    ``SelfSubjectAccessReview`` (older clusters: proves the credentials authenticate; the
    username then comes from a server message when one names it, else it is None).
    """

    username: str | None
    groups: tuple[str, ...]
    method: str


@dataclass(frozen=True)
class Issued:
    """The outcome of waiting on a CSR."""

    certificate: bytes
    approved_by_us: bool = True


class Gateway(Protocol):
    """What kubeuser needs from a cluster. Every method raises KubeuserError subclasses only."""

    @property
    def server(self) -> str: ...

    def version(self) -> ServerVersion: ...

    # certificates.k8s.io/v1 CertificateSigningRequests
    def create_csr(self, manifest: dict[str, Any]) -> dict[str, Any]: ...
    def approve_csr(self, name: str, *, reason: str, message: str) -> dict[str, Any]: ...
    def deny_csr(self, name: str, *, reason: str, message: str) -> dict[str, Any]: ...
    def wait_for_certificate(self, name: str, timeout: float) -> bytes: ...
    def get_csr(self, name: str) -> dict[str, Any] | None: ...
    def delete_csr(self, name: str) -> bool: ...
    def list_csrs(self, label_selector: str) -> list[dict[str, Any]]: ...

    # generic objects (Namespace, ConfigMap, Secret, ServiceAccount, Role, RoleBinding, ClusterRole, …)
    def create_object(self, obj: dict[str, Any]) -> dict[str, Any]: ...
    def apply_object(self, obj: dict[str, Any]) -> str: ...  # "created" | "updated"
    # PUT an object read from the server (with its resourceVersion): optimistic concurrency, 409 on a race
    def replace_object(self, obj: dict[str, Any]) -> dict[str, Any]: ...
    def get_object(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None: ...
    def list_objects(
        self, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]: ...
    def delete_object(self, kind: str, name: str, namespace: str | None = None) -> bool: ...

    # reviews
    def whoami(self) -> Identity: ...
    def can_i(
        self,
        verb: str,
        resource: str,
        *,
        group: str = "",
        namespace: str | None = None,
        subresource: str | None = None,
        name: str | None = None,
    ) -> bool: ...
    def rules_review(self, namespace: str) -> list[dict[str, Any]]: ...
    def subject_can_i(
        self,
        user: str,
        groups: list[str],
        verb: str,
        resource: str,
        *,
        group: str = "",
        namespace: str | None = None,
    ) -> bool: ...

    # authentication.k8s.io/v1 TokenRequest: a token for a ServiceAccount (the response, with status.token)
    def request_token(self, namespace: str, service_account: str, body: dict[str, Any]) -> dict[str, Any]: ...

    # another identity on the same server (same CA), for proving a freshly minted certificate or token
    def as_certificate(self, cert_pem: bytes, key_pem: bytes) -> Gateway: ...
    def as_token(self, token: str) -> Gateway: ...

    # whether a CA bundle verifies the server's certificate (a TLS handshake; no credentials are sent)
    def verifies_server(self, ca_pem: bytes) -> bool: ...

    def close(self) -> None: ...


_SERVER_FIELDS = ("resourceVersion", "uid", "creationTimestamp", "managedFields", "selfLink", "generation")


def fresh_copy(obj: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of *obj* without the metadata the server sets (so it can be created again)."""
    body: dict[str, Any] = json.loads(json.dumps(obj))
    meta = body.get("metadata") or {}
    for key in _SERVER_FIELDS:
        meta.pop(key, None)
    body.pop("status", None)
    return body
