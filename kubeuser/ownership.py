"""What kubeuser may change: proofs that a cluster object or kubeconfig entry is its own, for one user.

kubeuser changes only what it can prove it made for that user; anything else with the same name
is a conflict, never something ``--force`` takes over. The proofs:

Cluster objects (Roles, RoleBindings, ClusterRoleBindings, CSRs, registry ConfigMaps) carry the label
``app.kubernetes.io/managed-by=kubeuser`` and the annotations ``kubeuser.io/user`` (the real user
name) and ``kubeuser.io/registry`` (the namespace of the registry whose record owns the object).

* **ours** — managed by kubeuser, made for this user, owned by this registry;
* **ours (0.1.0)** — made by kubeuser 0.1.0 for this user (no registry annotation) *and* listed in
  this registry's record of the user: the record proves it; the registry annotation is added on
  the next change;
* **another registry's** — made by kubeuser for a user of the same name in another registry:
  reported, never touched;
* **foreign** — anything else: never touched.

Kubeconfig entries cannot carry annotations that survive every tool, so their proof is the
credential itself: a **user entry** is kubeuser's for user U when its ``client-certificate-data``
is a certificate with CN=U whose serial is one the registry record says kubeuser issued to U
(current or earlier). A **context** is kubeuser's when its name is the one the record names (or
the default ``U@CLUSTER``) and it points at such a user entry. **Cluster entries** are shared by
every context of the cluster: kubeuser adds one when it is missing and never changes or removes one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kubeuser import naming

OURS = "ours"
OURS_LEGACY = "ours (kubeuser 0.1.0)"
OTHER_REGISTRY = "another registry"
FOREIGN = "foreign"


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def annotation(obj: Mapping[str, Any], key: str) -> str | None:
    value = (_meta(obj).get("annotations") or {}).get(key)
    return value if isinstance(value, str) and value else None


def is_managed(obj: Mapping[str, Any]) -> bool:
    return (_meta(obj).get("labels") or {}).get(naming.MANAGED_BY_LABEL) == naming.MANAGED_BY


def user_of(obj: Mapping[str, Any]) -> str | None:
    """The user a kubeuser-managed object was made for (None for anything else)."""
    return annotation(obj, naming.USER_ANNOTATION) if is_managed(obj) else None


def registry_of(obj: Mapping[str, Any]) -> str | None:
    """The registry namespace that owns a kubeuser-managed object (None: made by 0.1.0, or not kubeuser's)."""
    return annotation(obj, naming.REGISTRY_ANNOTATION) if is_managed(obj) else None


def object_key(obj: Mapping[str, Any]) -> tuple[str, str | None, str]:
    meta = _meta(obj)
    return str(obj.get("kind", "")), meta.get("namespace"), str(meta.get("name", ""))


def classify(
    obj: Mapping[str, Any],
    user: str,
    registry: str,
    recorded: Iterable[tuple[str, str | None, str]] = (),
) -> str:
    """How *obj* relates to *user* of *registry*; *recorded*: the (kind, namespace, name) keys the record lists."""
    if user_of(obj) != user:
        return FOREIGN
    owner = registry_of(obj)
    if owner == registry:
        return OURS
    if owner is None:
        return OURS_LEGACY if object_key(obj) in set(recorded) else FOREIGN
    return OTHER_REGISTRY


def owned(kind: str) -> bool:
    return kind in (OURS, OURS_LEGACY)


def describe_owner(obj: Mapping[str, Any]) -> str:
    """Who an object belongs to, in words (for conflict messages)."""
    user = user_of(obj)
    if user is None:
        return "not made by kubeuser"
    owner = registry_of(obj)
    where = f"registry {owner}" if owner else "a registry kubeuser 0.1.0 did not record"
    return f"made by kubeuser for user {user!r} of {where}"


# --------------------------------------------------------------------------- kubeconfig entries


def certificate_of(user_body: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """(CN, serial hex) of a kubeconfig user entry's embedded client certificate, or None."""
    if not isinstance(user_body, Mapping):
        return None
    data = user_body.get("client-certificate-data")
    if not isinstance(data, str) or not data:
        return None
    try:
        pem = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None
    from kubeuser import pki

    try:
        info = pki.parse_cert(pem)
    except Exception:
        return None
    return info.common_name, info.serial.lower()


def token_credential_of(user_body: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """(subject, bound Secret name) of a kubeconfig user entry's ServiceAccount token, or None."""
    from kubeuser import tokens

    token = tokens.token_of(user_body)
    claims = tokens.read_claims(token) if token else None
    if claims is None or claims.subject is None or claims.bound_kind != "Secret" or not claims.bound_name:
        return None
    return claims.subject, claims.bound_name.lower()


def credential_of(user_body: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """(who, which) of the credential in a kubeconfig user entry: (CN, serial) of a client certificate, or
    (ServiceAccount user name, bound Secret name) of a token kubeuser requested."""
    return certificate_of(user_body) or token_credential_of(user_body)


def user_entry_is_ours(user_body: Mapping[str, Any] | None, user: str, serials: set[str]) -> bool:
    """A kubeconfig user entry is kubeuser's for *user* when it holds a credential kubeuser issued to *user*:
    a certificate with CN=*user* and a recorded serial, or (token identities, *user* is then the
    ServiceAccount's user name) a token bound to a Secret the record names."""
    found = credential_of(user_body)
    return found is not None and found[0] == user and found[1] in {s.lower() for s in serials}


@dataclass(frozen=True)
class EntryVerdict:
    kind: str  # users | contexts
    name: str
    exists: bool
    ours: bool
    why: str  # for messages: what the entry is

    @property
    def foreign(self) -> bool:
        return self.exists and not self.ours


def judge_user_entry(
    body: Mapping[str, Any] | None, name: str, user: str, serials: set[str], also: Iterable[str] = ()
) -> EntryVerdict:
    """*also*: other names the user's credentials carry (a token identity's ServiceAccount user name)."""
    if body is None:
        return EntryVerdict("users", name, False, False, "absent")
    if any(user_entry_is_ours(body, who, serials) for who in (user, *also)):
        return EntryVerdict("users", name, True, True, f"holds a credential kubeuser issued to {user}")
    found = certificate_of(body)
    token = token_credential_of(body)
    if token is not None:
        why = (
            f"holds a token of {token[0]!r}"
            if token[0] != user
            else f"holds a token of {user!r} bound to Secret {token[1]}, which this registry did not issue"
        )
    elif found is None:
        why = "holds no credential kubeuser issued (a token it did not request, exec plugin, or file reference)"
    elif found[0] != user:
        why = f"holds a certificate of {found[0]!r}"
    else:
        why = f"holds a certificate of {user!r} (serial {found[1].upper()}) that this registry did not issue"
    return EntryVerdict("users", name, True, False, why)


def judge_context(body: Mapping[str, Any] | None, name: str, user_entry: str, user_entry_ours: bool) -> EntryVerdict:
    if body is None:
        return EntryVerdict("contexts", name, False, False, "absent")
    points_at = body.get("user")
    if points_at == user_entry and user_entry_ours:
        return EntryVerdict("contexts", name, True, True, f"uses kubeuser's user entry {user_entry}")
    return EntryVerdict("contexts", name, True, False, f"uses user {points_at!r}, not kubeuser's {user_entry!r}")
