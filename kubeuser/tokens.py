"""ServiceAccount token identities: names, manifests, and reading a token's claims.

Where client certificates cannot work (no signer that issues them, an API server or proxy that does
not trust them, a Dashboard that signs in with a bearer token), kubeuser onboards a user as a
ServiceAccount it owns, with short-lived tokens from the TokenRequest API. Each token is bound
(``boundObjectRef``) to a Secret made for that one issuance, so deleting the Secret kills that token
(the API server caches a successful token authentication for about 10 s), and deleting the
ServiceAccount kills every token it has.

The user's identity is fixed by Kubernetes: ``system:serviceaccount:NAMESPACE:NAME`` in the groups
``system:serviceaccounts`` and ``system:serviceaccounts:NAMESPACE``; no other group can be added.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from kubeuser import naming

AUTH_X509 = "x509"
AUTH_TOKEN = "token"
AUTH_AUTO = "auto"
AUTH_KINDS = (AUTH_X509, AUTH_TOKEN)
# the Secret type of the objects tokens are bound to: no controller fills it (unlike service-account-token)
BINDING_SECRET_TYPE = "kubeuser.io/token-binding"
SA_PREFIX = "system:serviceaccount:"


def service_account_name(user: str) -> str:
    """The ServiceAccount for *user*: the name itself when it is a valid object name, else a safe stand-in
    (the real name is in the ``kubeuser.io/user`` annotation)."""
    if naming.is_dns_subdomain(user) and len(user) <= 200:
        return user
    return naming.safe_id(user)


def username(namespace: str, name: str) -> str:
    """The user name Kubernetes gives a ServiceAccount's tokens."""
    return f"{SA_PREFIX}{namespace}:{name}"


def groups(namespace: str) -> list[str]:
    """The groups Kubernetes gives a ServiceAccount's tokens (besides system:authenticated)."""
    return ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]


def subject(namespace: str, name: str) -> dict[str, str]:
    """The RBAC subject of a ServiceAccount."""
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


def service_account_manifest(user: str, namespace: str, registry: str) -> dict[str, Any]:
    """The ServiceAccount kubeuser owns for *user*: managed-by label, user and registry annotations."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": service_account_name(user),
            "namespace": namespace,
            "labels": naming.managed_labels(user, registry),
            "annotations": naming.managed_annotations(user, [], registry),
        },
        # no Secret of type service-account-token is mounted or made for it: tokens come from TokenRequest only
        "automountServiceAccountToken": False,
    }


def binding_secret_manifest(user: str, namespace: str, registry: str, purpose: str) -> dict[str, Any]:
    """A Secret made for one token issuance: the token dies with it. It holds no data."""
    sa = service_account_name(user)
    name = f"{sa[:200]}-token-{secrets.token_hex(4)}"
    labels = naming.managed_labels(user, registry)
    annotations = naming.managed_annotations(user, [], registry)
    annotations[PURPOSE_ANNOTATION] = purpose
    annotations[SA_ANNOTATION] = sa
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": BINDING_SECRET_TYPE,
        "metadata": {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations},
    }


PURPOSE_ANNOTATION = "kubeuser.io/token-purpose"  # kubeconfig | handout | sign-in | ephemeral
SA_ANNOTATION = "kubeuser.io/service-account"


def token_request(expiration_seconds: int, secret_name: str, secret_uid: str | None) -> dict[str, Any]:
    ref: dict[str, Any] = {"kind": "Secret", "apiVersion": "v1", "name": secret_name}
    if secret_uid:
        ref["uid"] = secret_uid
    return {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": int(expiration_seconds), "boundObjectRef": ref},
    }


# --------------------------------------------------------------------------- reading a token (never trusted)


@dataclass(frozen=True)
class Claims:
    """What a ServiceAccount token says about itself, read without verifying its signature.

    Good for telling a person what a token is (doctor, show) and for recognising kubeuser's own
    kubeconfig entries; never for deciding whether it is valid: only the API server knows that.
    """

    subject: str | None
    namespace: str | None
    service_account: str | None
    service_account_uid: str | None
    bound_kind: str | None  # Secret | Pod | None
    bound_name: str | None
    bound_uid: str | None
    audiences: tuple[str, ...] = ()
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    issuer: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def expired(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(timezone.utc)
        return self.expires_at is not None and self.expires_at <= now


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _time(value: Any) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def read_claims(token: str) -> Claims | None:
    """The claims of a JWT ServiceAccount token, or None when *token* is not one (opaque, damaged)."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(_b64url(parts[1]))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict):
        return None
    k8s = payload.get("kubernetes.io")
    k8s = k8s if isinstance(k8s, dict) else {}
    found_sa = k8s.get("serviceaccount")
    sa: dict[str, Any] = found_sa if isinstance(found_sa, dict) else {}
    bound_kind = next((k for k in ("secret", "pod") if isinstance(k8s.get(k), dict)), None)
    found = k8s.get(bound_kind) if bound_kind else None
    bound: dict[str, Any] = found if isinstance(found, dict) else {}
    aud = payload.get("aud")
    audiences = tuple(str(a) for a in aud) if isinstance(aud, list) else ((str(aud),) if aud else ())
    sub = payload.get("sub")
    return Claims(
        subject=sub if isinstance(sub, str) else None,
        namespace=k8s.get("namespace") if isinstance(k8s.get("namespace"), str) else None,
        service_account=sa.get("name") if isinstance(sa.get("name"), str) else None,
        service_account_uid=sa.get("uid") if isinstance(sa.get("uid"), str) else None,
        bound_kind=bound_kind.capitalize() if bound_kind else None,
        bound_name=bound.get("name") if isinstance(bound.get("name"), str) else None,
        bound_uid=bound.get("uid") if isinstance(bound.get("uid"), str) else None,
        audiences=audiences,
        issued_at=_time(payload.get("iat")),
        expires_at=_time(payload.get("exp")),
        issuer=payload.get("iss") if isinstance(payload.get("iss"), str) else None,
        raw=payload,
    )


def token_of(user_body: Mapping[str, Any] | None) -> str | None:
    """The bearer token of a kubeconfig user entry (``token:``), or None."""
    if not isinstance(user_body, Mapping):
        return None
    token = user_body.get("token")
    return token if isinstance(token, str) and token else None


def user_entry(token: str) -> dict[str, Any]:
    """A kubeconfig user entry that authenticates with *token*."""
    return {"token": token}


def describe_identity(namespace: str, name: str) -> str:
    return f"{username(namespace, name)} (groups {', '.join(groups(namespace))})"


def sign_in_hint(namespaces: Sequence[str]) -> str:
    where = f" in {', '.join(namespaces)}" if namespaces else ""
    return f"paste it into Kubernetes Dashboard or Headlamp as a bearer token{where}"
