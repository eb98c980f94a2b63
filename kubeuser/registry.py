"""The in-cluster record of users kubeuser issued certificates to.

CSR objects are garbage-collected about an hour after approval, so they cannot be the
record. Each user gets one ConfigMap ``user-<id>`` in the registry namespace (default
``kubeuser-system``; ``--registry-namespace`` or ``KUBEUSER_REGISTRY_NAMESPACE``). It holds
the public certificate, validity, bindings made, who issued it and when, status, and the
history of earlier certificates. It lives in the cluster, so a second admin on another
machine sees the same users. No private key is ever stored there.

The record is the source of truth about what kubeuser made for a user (format 2): the access
granted (from which the RBAC objects are derived), the kubeconfig entry names, how the
credentials were delivered (merged into a kubeconfig, or handed out as a file), the key spec,
and every certificate issued (current + history, each with its serial and notAfter). Records of
format 1 (kubeuser 0.1.0) are migrated on read: what they lack is derived from the cluster (the
access from kubeuser's own objects, listed in the record's bindings) and written back in format
2 the next time a command changes the record.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from kubeuser import naming, rbac
from kubeuser.errors import ConflictError, KubeuserError
from kubeuser.gateway import Gateway

DEFAULT_NAMESPACE = "kubeuser-system"
RECORD_KEY = "record.json"
CERT_KEY = "certificate.pem"
STATUS_LABEL = "kubeuser.io/status"
FORMAT_VERSION = 2

DELIVERY_KUBECONFIG = "kubeconfig"  # merged into the issuing admin's kubeconfig
DELIVERY_HANDOUT = "handout"  # a standalone kubeconfig file (--out / apply --out-dir)
DELIVERY_EPHEMERAL = "ephemeral"  # kubeuser run
KEY_HOLDER_USER = "user"  # bring your own key: the private key never left the user's machine


def namespace_from(value: str | None, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return value or env.get("KUBEUSER_REGISTRY_NAMESPACE") or DEFAULT_NAMESPACE


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_name(user: str) -> str:
    return f"user-{naming.safe_id(user, 58)}"


@dataclass
class BindingRef:
    kind: str
    name: str
    namespace: str | None = None
    role_kind: str | None = None
    role_name: str | None = None

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> BindingRef:
        meta = obj["metadata"]
        ref = obj.get("roleRef") or {}
        return cls(obj["kind"], meta["name"], meta.get("namespace"), ref.get("kind"), ref.get("name"))


@dataclass
class CertRecord:
    serial: str
    not_before: str
    not_after: str
    issued_at: str
    issued_by: str
    csr_name: str
    requested_seconds: int | None = None
    replaced_at: str | None = None
    public_key_sha256: str | None = None  # which key the certificate is for (apply: is a request new?)
    # a ServiceAccount token instead of a certificate (auth "token"): serial is then the name of the Secret the
    # token is bound to, notAfter the token's expirationTimestamp, and the token dies when that Secret is deleted
    kind: str = "x509"  # x509 | token
    bound_secret_uid: str | None = None
    invalidated_at: str | None = None  # when kubeuser deleted the token's Secret (the token no longer works)

    @property
    def is_token(self) -> bool:
        return self.kind == "token"


@dataclass
class UserRecord:
    user: str
    groups: list[str]
    status: str  # active | revoked  (expired is derived from not_after)
    cluster: str
    context: str | None
    namespace: str
    certificate: CertRecord
    bindings: list[BindingRef] = field(default_factory=list)  # the RBAC objects that exist for the user
    history: list[CertRecord] = field(default_factory=list)
    created_at: str = field(default_factory=now_iso)
    created_by: str = ""
    revoked_at: str | None = None
    revoked_by: str | None = None
    format: int = FORMAT_VERSION
    # format 2
    access: rbac.Access | None = None  # what is granted; None: a format-1 record not yet migrated
    key_type: str | None = None
    key_size: int | None = None
    delivery: str | None = None  # kubeconfig | handout | ephemeral; None: unknown (format 1)
    out: str | None = None  # where a handout was written ("-" = stdout)
    kubeconfig_user: str | None = None  # the kubeconfig user entry name (delivery kubeconfig)
    kubeconfig_file: str | None = None  # the file it was merged into, on the issuing admin's machine
    key_holder: str | None = None  # "user": bring your own key (the admin never had it); else the admin made it
    # ServiceAccount token identities (auth "token"): the ServiceAccount kubeuser owns for the user
    auth: str = "x509"  # x509 | token
    service_account: str | None = None
    service_account_namespace: str | None = None
    sign_in_tokens: list[CertRecord] = field(default_factory=list)  # extra tokens from `kubeuser token`

    def effective_status(self, now: datetime | None = None) -> str:
        if self.status == "revoked":
            return "revoked"
        now = now or datetime.now(timezone.utc)
        return "expired" if parse_time(self.certificate.not_after) <= now else "active"

    @property
    def migrated(self) -> bool:
        """True for a record read in an older format (it is rewritten in the current one on the next change)."""
        return self.format < FORMAT_VERSION

    def certificates(self) -> list[CertRecord]:
        """Every certificate issued to the user: the current one first, then the earlier ones, newest first."""
        return [self.certificate, *reversed(self.history)]

    def serials(self) -> set[str]:
        return {c.serial.lower() for c in self.certificates()}

    @property
    def is_token(self) -> bool:
        return self.auth == "token"

    def token_secrets(self) -> list[CertRecord]:
        """Every token issued to the user whose Secret kubeuser has not deleted yet (current, earlier, sign-in)."""
        return [c for c in [*self.certificates(), *self.sign_in_tokens] if c.is_token and not c.invalidated_at]

    def still_valid_earlier(self, now: datetime | None = None) -> list[CertRecord]:
        """Earlier credentials that still authenticate: certificates until notAfter (Kubernetes cannot revoke
        them), tokens until expiry unless kubeuser deleted the Secret they are bound to."""
        now = now or datetime.now(timezone.utc)
        return [c for c in reversed(self.history) if _valid_at(c, now)]

    def still_valid(self, now: datetime | None = None) -> list[CertRecord]:
        now = now or datetime.now(timezone.utc)
        return [c for c in [*self.certificates(), *self.sign_in_tokens] if _valid_at(c, now)]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["access"] = self.access.to_dict() if self.access is not None else None
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> UserRecord:
        access = d.get("access")
        key_size = d.get("key_size")
        return cls(
            user=d["user"],
            groups=list(d.get("groups") or []),
            status=d.get("status", "active"),
            cluster=d.get("cluster", ""),
            context=d.get("context"),
            namespace=d.get("namespace", "default"),
            certificate=CertRecord(**d["certificate"]),
            bindings=[BindingRef(**b) for b in d.get("bindings") or []],
            history=[CertRecord(**h) for h in d.get("history") or []],
            created_at=d.get("created_at", ""),
            created_by=d.get("created_by", ""),
            revoked_at=d.get("revoked_at"),
            revoked_by=d.get("revoked_by"),
            format=int(d.get("format", 1)),
            access=rbac.Access.from_dict(access) if access is not None else None,
            key_type=d.get("key_type"),
            key_size=int(key_size) if key_size is not None else None,
            delivery=d.get("delivery"),
            out=d.get("out"),
            kubeconfig_user=d.get("kubeconfig_user"),
            kubeconfig_file=d.get("kubeconfig_file"),
            key_holder=d.get("key_holder"),
            auth=d.get("auth") or "x509",
            service_account=d.get("service_account"),
            service_account_namespace=d.get("service_account_namespace"),
            sign_in_tokens=[CertRecord(**t) for t in d.get("sign_in_tokens") or []],
        )


def _valid_at(c: CertRecord, now: datetime) -> bool:
    if c.invalidated_at:
        return False  # a token whose Secret kubeuser deleted
    try:
        return parse_time(c.not_after) > now
    except ValueError:
        return True  # unreadable: assume it may still work (never claim access is gone when unsure)


def parse_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def to_configmap(record: UserRecord, namespace: str, cert_pem: bytes | None) -> dict[str, Any]:
    labels = naming.managed_labels(record.user, namespace)
    labels[STATUS_LABEL] = record.status
    record.format = FORMAT_VERSION  # what is written is always the current format
    data = {RECORD_KEY: json.dumps(record.to_dict(), indent=1, sort_keys=True)}
    if cert_pem is not None:
        data[CERT_KEY] = cert_pem.decode("ascii")
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": object_name(record.user),
            "namespace": namespace,
            "labels": labels,
            "annotations": naming.managed_annotations(record.user, record.groups, namespace),
        },
        "data": data,
    }


def from_configmap(cm: Mapping[str, Any]) -> UserRecord:
    """The record a ConfigMap holds; a damaged one is a KubeuserError naming it, never a crash."""
    meta = cm.get("metadata") or {}
    where = f"{meta.get('namespace', '?')}/{meta.get('name', '?')}"
    try:
        raw = (cm.get("data") or {}).get(RECORD_KEY) or "{}"
        return UserRecord.from_dict(json.loads(raw))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise KubeuserError(
            f"registry record {where} is unreadable ({type(exc).__name__})",
            hint=f"inspect it with `kubectl get configmap -n {meta.get('namespace', '?')} {meta.get('name', '?')} "
            "-o yaml`; `kubeuser create NAME --force` rewrites it",
        ) from None


class Registry:
    """Reads and writes user records through a gateway."""

    def __init__(self, gateway: Gateway, namespace: str) -> None:
        self.gw = gateway
        self.namespace = namespace
        self.unreadable: list[str] = []  # messages about damaged records the last list() skipped

    def get(self, user: str) -> tuple[UserRecord, bytes | None] | None:
        cm = self.gw.get_object("ConfigMap", object_name(user), self.namespace)
        if cm is None:
            return None
        cert = (cm.get("data") or {}).get(CERT_KEY)
        return from_configmap(cm), cert.encode("ascii") if cert else None

    def list(self) -> list[UserRecord]:
        cms = self.gw.list_objects("ConfigMap", self.namespace, naming.MANAGED_SELECTOR)
        records: list[UserRecord] = []
        self.unreadable = []
        for cm in cms:
            if RECORD_KEY not in (cm.get("data") or {}):
                continue
            try:
                records.append(from_configmap(cm))
            except KubeuserError as exc:
                self.unreadable.append(exc.message)  # one damaged record must not hide the others
        return sorted(records, key=lambda r: r.user)

    def ensure_namespace(self) -> None:
        if self.gw.get_object("Namespace", self.namespace) is None:
            with contextlib.suppress(ConflictError):  # created concurrently by another admin
                self.gw.create_object(
                    {
                        "apiVersion": "v1",
                        "kind": "Namespace",
                        "metadata": {
                            "name": self.namespace,
                            "labels": {naming.MANAGED_BY_LABEL: naming.MANAGED_BY},
                        },
                    }
                )

    def put(self, record: UserRecord, cert_pem: bytes | None) -> str:
        self.ensure_namespace()
        return self.gw.apply_object(to_configmap(record, self.namespace, cert_pem))

    def delete(self, user: str) -> bool:
        return self.gw.delete_object("ConfigMap", object_name(user), self.namespace)
