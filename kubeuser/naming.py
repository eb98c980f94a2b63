"""Names: validation of user and group names, and the cluster-object names derived from them.

A user name becomes the certificate's CN and each group an O. X.509 caps both at 64
characters (ub-common-name / ub-organization-name). Kubernetes object names and label
values are far stricter than user names (no ``@``, ``:``, at most 63 characters for a
label value), so object names and labels use a safe slug plus a short hash, and the real
name always travels in an annotation.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kubeuser.errors import UsageError

MAX_NAME = 64
SYSTEM_PREFIX = "system:"
MASTERS = "system:masters"

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "kubeuser"
USER_LABEL = "kubeuser.io/user"
USER_ANNOTATION = "kubeuser.io/user"
GROUPS_ANNOTATION = "kubeuser.io/groups"
CONTEXT_ANNOTATION = "kubeuser.io/context"
# which registry (namespace) holds the record that owns an object; a namespace name is a legal label value
REGISTRY_LABEL = "kubeuser.io/registry"
REGISTRY_ANNOTATION = "kubeuser.io/registry"

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@dataclass
class Validated:
    """A validated identity request plus the warnings validation produced."""

    user: str
    groups: list[str]
    warnings: list[str] = field(default_factory=list)


def _check_text(kind: str, value: str) -> None:
    if value == "":
        raise UsageError(f"{kind} name is empty", hint=f"give a non-empty {kind} name")
    if value != value.strip():
        raise UsageError(
            f"{kind} name {value.strip()[:40]!r} has leading or trailing white space",
            hint="remove the surrounding spaces",
        )
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            raise UsageError(
                f"{kind} name contains a control or invisible character (U+{ord(ch):04X})",
                hint="use printable characters only",
            )
    if len(value) > MAX_NAME:
        raise UsageError(
            f"{kind} name is {len(value)} characters long; a certificate allows at most {MAX_NAME}",
            hint=f"use a shorter {kind} name",
        )
    if "," in value and kind == "group":
        raise UsageError(
            f"group name {value!r} contains a comma",
            hint="pass each group with its own -g/--group flag",
        )


def check_user_name(user: str) -> str:
    """Validate a NAME given to show/renew/revoke/run the same way create validates it (no system: rule)."""
    _check_text("user", user)
    return user


def validate_identity(user: str, groups: Sequence[str], *, allow_system_names: bool = False) -> Validated:
    """Validate a user name and its groups; refuse ``system:masters`` always."""
    warnings: list[str] = []
    _check_text("user", user)
    if user.startswith("-"):
        raise UsageError(
            f"user name {user[:40]!r} starts with '-'",
            hint="every command would read it as an option; choose a name that starts with a letter or digit",
        )
    if user.lower().startswith(SYSTEM_PREFIX):
        if not allow_system_names:
            raise UsageError(
                f"user name {user!r} is in the reserved 'system:' namespace",
                hint="Kubernetes reserves system: names for its components; pass --allow-system-names "
                "if you really mean it",
            )
        warnings.append(f"user name {user!r} is a reserved 'system:' name")
    seen: set[str] = set()
    out: list[str] = []
    for g in groups:
        _check_text("group", g)
        if g.lower() == MASTERS:
            raise UsageError(
                "refusing group 'system:masters': it bypasses RBAC entirely and cannot be revoked",
                hint="grant what the user needs with --rule/--role/--clusterrole "
                "(e.g. --clusterrole cluster-admin --cluster-wide, which can be revoked)",
            )
        if g.lower().startswith(SYSTEM_PREFIX):
            if not allow_system_names:
                raise UsageError(
                    f"group {g!r} is in the reserved 'system:' namespace",
                    hint="bindings to system: groups grant access you may not expect; pass "
                    "--allow-system-names if you really mean it",
                )
            warnings.append(f"group {g!r} is a reserved 'system:' name")
        if g not in seen:
            seen.add(g)
            out.append(g)
    return Validated(user=user, groups=out, warnings=warnings)


def _digest(value: str, n: int = 8) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:n]


def slug(value: str, max_len: int = 40) -> str:
    """A lowercase DNS-1123-label-safe rendering of ``value`` (may be lossy)."""
    norm = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii").lower()
    s = re.sub(r"[^a-z0-9]+", "-", norm).strip("-")
    return s[:max_len].strip("-") or "user"


def safe_id(value: str, max_len: int = 63) -> str:
    """A DNS-1123 label unique to ``value``: the slug itself when lossless, else slug + hash."""
    s = slug(value, max_len)
    if s == value and len(s) <= max_len:
        return s
    h = _digest(value)
    return f"{slug(value, max_len - len(h) - 1)}-{h}"


def label_value(value: str) -> str:
    """``value`` when it is a legal label value, else a unique legal stand-in."""
    if len(value) <= 63 and _LABEL_VALUE.match(value):
        return value
    return safe_id(value, 63)


def csr_name(user: str) -> str:
    """A fresh, globally unique CSR name. CSR names are cluster-wide and immutable."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    return f"kubeuser-{slug(user, 30)}-{stamp}-{secrets.token_hex(3)}"


def is_dns_subdomain(value: str) -> bool:
    return len(value) <= 253 and bool(_DNS1123_SUBDOMAIN.match(value))


def rbac_name(user: str, *suffix: str) -> str:
    """Role/binding names: ``kubeuser:USER[:suffix…]``; RBAC names only forbid '/', '%' and '.'/'..'."""
    base = user if ("/" not in user and "%" not in user and len(user) <= 200) else safe_id(user)
    return ":".join(["kubeuser", base, *suffix])


def managed_labels(user: str, registry: str | None = None) -> dict[str, str]:
    labels = {MANAGED_BY_LABEL: MANAGED_BY, USER_LABEL: label_value(user)}
    if registry:
        labels[REGISTRY_LABEL] = label_value(registry)
    return labels


def managed_annotations(user: str, groups: Iterable[str], registry: str | None = None) -> dict[str, str]:
    import json

    annotations = {USER_ANNOTATION: user, GROUPS_ANNOTATION: json.dumps(list(groups))}
    if registry:
        annotations[REGISTRY_ANNOTATION] = registry
    return annotations


def user_selector(user: str) -> str:
    return f"{MANAGED_BY_LABEL}={MANAGED_BY},{USER_LABEL}={label_value(user)}"


MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY}"
