"""An in-memory Gateway for unit tests: a small but honest model of the parts of Kubernetes kubeuser uses.

- CSRs are signed by an in-memory CA (tests/pki_factory.py) when approved, if ``signer`` is on.
- ``version`` decides whether ``expirationSeconds`` is honoured (≥ 1.22) and SelfSubjectReview exists (≥ 1.27).
- ``max_duration`` models the signer's --cluster-signing-duration cap.
- ``trusts_signer=False`` models an API server whose --client-ca-file does not hold the signer's CA (Canonical
  k8s-snap), or a proxy in front of it that drops client certificates: the signer issues, and every
  certificate it issued gets 401.
- ``deny`` holds "verb resource" strings the admin may not do (SSAR says no; the call gets 403), e.g.
  ``create configmaps`` or ``list clusterroles`` (get_object/list_objects check ``get``/``list`` KINDs).
- ClusterRoles: the built-in ones in CLUSTER_ROLES are always there (get/list), besides stored ones.
- RBAC is evaluated for the identity of a certificate: rules of Roles/ClusterRoles bound to its user or groups.
- Every call is counted in ``calls``.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import pki_factory
from cryptography import x509
from cryptography.x509.oid import NameOID

from kubeuser.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    SignerTimeoutError,
    UnauthenticatedError,
    UnreachableError,
)
from kubeuser.gateway import Gateway, Identity, ServerVersion

CLUSTER_ROLES: dict[str, list[dict[str, Any]]] = {
    "view": [{"apiGroups": [""], "resources": ["pods", "services", "configmaps"], "verbs": ["get", "list", "watch"]}],
    "edit": [{"apiGroups": [""], "resources": ["pods", "services", "configmaps"], "verbs": ["*"]}],
    "cluster-admin": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
}


class FakeGateway:
    def __init__(
        self,
        *,
        version: tuple[int, int] = (1, 30),
        signer: bool = True,
        max_duration: int = 365 * 86400,
        deny: set[str] | None = None,
        admin_user: str = "admin",
        server: str = "https://127.0.0.1:6443",
        namespaces: tuple[str, ...] = ("default", "kube-system", "dev"),
        trusts_signer: bool = True,
    ) -> None:
        self.base_namespaces = set(namespaces)
        self._server = server
        self.ver = ServerVersion(f"v{version[0]}.{version[1]}.0", version[0], version[1])
        self.signer = signer
        self.max_duration = max_duration
        self.deny = deny or set()
        self.admin_user = admin_user
        self.trusts_signer = trusts_signer
        self.ca, self.ca_key = pki_factory.make_ca("fake-cluster-ca")
        self.csrs: dict[str, dict[str, Any]] = {}
        self.objects: dict[tuple[str, str | None, str], dict[str, Any]] = {}
        self.calls: Counter[str] = Counter()
        self.fail: dict[str, Exception] = {}  # method name -> exception to raise once
        self.closed = 0
        self.max_token_seconds: int | None = None  # --service-account-max-token-expiration (None: no cap)
        self.tokens: dict[str, tuple[str, str, str, str, datetime]] = {}  # token -> (ns, sa, secret, uid, exp)
        self.as_user: str | None = None  # set on views created by as_certificate / as_token
        self.as_groups: list[str] = []
        self.rejected = False  # set on views for credentials the server does not accept (401 on every call)
        self._root: FakeGateway = self

    # plumbing ---------------------------------------------------------------------------
    @property
    def ca_pem(self) -> bytes:
        return pki_factory.cert_pem(self.ca)

    @property
    def server(self) -> str:
        return self._server

    def _call(self, name: str, check: str | None = None) -> None:
        if self.rejected:
            raise UnauthenticatedError("401 Unauthorized")
        root = self._root
        root.calls[name] += 1
        exc = root.fail.pop(name, None)
        if exc is not None:
            raise exc
        if check and self.as_user is None and check in root.deny:
            raise ForbiddenError(f"{name}: forbidden: User {root.admin_user!r} cannot {check}")

    def close(self) -> None:
        self._root.closed += 1

    def version(self) -> ServerVersion:
        self._call("version")
        return self._root.ver

    # CSRs -------------------------------------------------------------------------------
    def create_csr(self, manifest: dict[str, Any]) -> dict[str, Any]:
        self._call("create_csr", "create certificatesigningrequests")
        name = manifest["metadata"]["name"]
        if name in self.csrs:
            raise ConflictError(f"CSR {name} exists")
        obj = copy.deepcopy(manifest)
        if not self.ver.at_least(1, 22):
            obj["spec"].pop("expirationSeconds", None)  # dropped by old servers
        obj["status"] = {}
        self.csrs[name] = obj
        return copy.deepcopy(obj)

    def approve_csr(self, name: str, *, reason: str, message: str) -> dict[str, Any]:
        self._call("approve_csr", "update certificatesigningrequests/approval")
        csr = self.csrs.get(name)
        if csr is None:
            raise NotFoundError(f"CSR {name} not found")
        csr["status"].setdefault("conditions", []).append(
            {"type": "Approved", "status": "True", "reason": reason, "message": message}
        )
        if self.signer:
            self._sign(csr)
        return copy.deepcopy(csr)

    def deny_csr(self, name: str, *, reason: str, message: str) -> dict[str, Any]:
        self._call("deny_csr", "update certificatesigningrequests/approval")
        csr = self.csrs.get(name)
        if csr is None:
            raise NotFoundError(f"CSR {name} not found")
        conds = csr["status"].setdefault("conditions", [])
        if any(c["type"] == "Approved" for c in conds):  # the API server refuses both conditions at once
            raise ConflictError(f"CSR {name} is approved; it cannot be denied")
        if not any(c["type"] == "Denied" for c in conds):
            conds.append({"type": "Denied", "status": "True", "reason": reason, "message": message})
        return copy.deepcopy(csr)

    def _sign(self, csr: dict[str, Any]) -> None:
        req = x509.load_pem_x509_csr(base64.b64decode(csr["spec"]["request"]))
        cn = req.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        groups = [str(a.value) for a in req.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        seconds = csr["spec"].get("expirationSeconds") or 365 * 86400
        seconds = min(seconds, self.max_duration)
        now = datetime.now(timezone.utc)
        pem = pki_factory.issue_client_cert(
            self.ca,
            self.ca_key,
            req.public_key(),
            str(cn),
            groups,
            now - timedelta(minutes=5),
            now + timedelta(seconds=seconds),
        )
        csr["status"]["certificate"] = base64.b64encode(pem).decode()

    def wait_for_certificate(self, name: str, timeout: float) -> bytes:
        self._call("wait_for_certificate")
        csr = self.csrs.get(name)
        if csr is None:
            raise NotFoundError(f"CSR {name} was deleted")
        cert = csr["status"].get("certificate")
        if not cert:
            raise SignerTimeoutError(f"CSR {name} was approved but no certificate was issued within {timeout:g}s")
        return base64.b64decode(cert)

    def get_csr(self, name: str) -> dict[str, Any] | None:
        self._call("get_csr")
        return copy.deepcopy(self.csrs.get(name))

    def delete_csr(self, name: str) -> bool:
        self._call("delete_csr", "delete certificatesigningrequests")
        return self.csrs.pop(name, None) is not None

    def list_csrs(self, label_selector: str) -> list[dict[str, Any]]:
        self._call("list_csrs")
        return [copy.deepcopy(c) for c in self.csrs.values() if _matches(c, label_selector)]

    # objects ----------------------------------------------------------------------------
    def _key(self, obj: dict[str, Any]) -> tuple[str, str | None, str]:
        return (obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])

    def create_object(self, obj: dict[str, Any]) -> dict[str, Any]:
        self._call("create_object", f"create {obj['kind'].lower()}s")
        key = self._key(obj)
        if obj["metadata"].get("resourceVersion"):  # what a real API server answers (HTTP 500)
            raise UnreachableError("resourceVersion should not be set on objects to be created")
        if key in self.objects:
            raise ConflictError(f"{obj['kind']} {key[2]} already exists")
        ns = obj["metadata"].get("namespace")
        if ns and obj["kind"] != "Namespace" and ns not in self.namespaces():
            raise NotFoundError(f'namespaces "{ns}" not found')
        stored = copy.deepcopy(obj)
        stored["metadata"]["resourceVersion"] = "1"
        stored["metadata"]["uid"] = str(uuid.uuid4())
        self.objects[key] = stored
        return copy.deepcopy(stored)

    def namespaces(self) -> set[str]:
        return self.base_namespaces | {k[2] for k in self.objects if k[0] == "Namespace"}

    def apply_object(self, obj: dict[str, Any]) -> str:
        self._call("apply_object", f"create {obj['kind'].lower()}s")
        key = self._key(obj)
        existed = key in self.objects
        ns = obj["metadata"].get("namespace")
        if ns and obj["kind"] != "Namespace" and ns not in self.namespaces():
            raise NotFoundError(f'namespaces "{ns}" not found')
        stored = copy.deepcopy(obj)
        old = self.objects.get(key)
        stored["metadata"]["resourceVersion"] = str(
            int((old or {}).get("metadata", {}).get("resourceVersion") or 0) + 1
        )
        stored["metadata"]["uid"] = (old or {}).get("metadata", {}).get("uid") or str(uuid.uuid4())
        self.objects[key] = stored
        return "updated" if existed else "created"

    def replace_object(self, obj: dict[str, Any]) -> dict[str, Any]:
        self._call("replace_object", f"update {obj['kind'].lower()}s")
        key = self._key(obj)
        current = self.objects.get(key)
        if current is None:
            raise NotFoundError(f"{obj['kind']} {key[2]} not found")
        if obj["metadata"].get("resourceVersion") != current["metadata"].get("resourceVersion"):
            raise ConflictError(f"{obj['kind']} {key[2]}: the object has been modified")
        stored = copy.deepcopy(obj)
        stored["metadata"]["resourceVersion"] = str(int(current["metadata"].get("resourceVersion") or 0) + 1)
        self.objects[key] = stored
        return copy.deepcopy(stored)

    def get_object(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        self._call("get_object", f"get {kind.lower()}s")
        if kind == "Namespace" and name in self.namespaces():
            return self.objects.get((kind, None, name)) or {"kind": "Namespace", "metadata": {"name": name}}
        if kind == "ClusterRole" and (kind, None, name) not in self.objects and name in CLUSTER_ROLES:
            return _builtin_cluster_role(name)
        return copy.deepcopy(self.objects.get((kind, namespace, name)))

    def list_objects(
        self, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        self._call("list_objects", f"list {kind.lower()}s")
        found = [
            copy.deepcopy(o)
            for (k, ns, _), o in sorted(self.objects.items(), key=lambda kv: str(kv[0]))
            if k == kind and (namespace is None or ns == namespace) and _matches(o, label_selector)
        ]
        if kind == "ClusterRole":  # the built-in ones (CLUSTER_ROLES) unless stored objects shadow them
            stored = {o["metadata"]["name"] for o in found}
            found += [
                b
                for b in (_builtin_cluster_role(n) for n in sorted(CLUSTER_ROLES) if n not in stored)
                if _matches(b, label_selector)
            ]
        return found

    def delete_object(self, kind: str, name: str, namespace: str | None = None) -> bool:
        self._call("delete_object", f"delete {kind.lower()}s")
        return self.objects.pop((kind, namespace, name), None) is not None

    # reviews ----------------------------------------------------------------------------
    def whoami(self) -> Identity:
        self._call("whoami")
        user = self.as_user or self._root.admin_user
        groups = (*self.as_groups, "system:authenticated")
        if self._root.ver.at_least(1, 27):
            return Identity(user, groups, "SelfSubjectReview")
        return Identity(None, (), "SelfSubjectAccessReview")

    def can_i(
        self,
        verb: str,
        resource: str,
        *,
        group: str = "",
        namespace: str | None = None,
        subresource: str | None = None,
        name: str | None = None,
    ) -> bool:
        self._call("can_i")
        res = f"{resource}/{subresource}" if subresource else resource
        if self.as_user is not None:
            return _allowed(self._root.rules_for(self.as_user, self.as_groups, namespace), verb, resource, group)
        return f"{verb} {res}" not in self._root.deny

    def rules_review(self, namespace: str) -> list[dict[str, Any]]:
        self._call("rules_review")
        base = [{"verbs": ["create"], "apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews",
                 "selfsubjectrulesreviews"]}]  # fmt: skip
        if self.as_user is None:
            return [*base, *CLUSTER_ROLES["cluster-admin"]]
        return base + self._root.rules_for(self.as_user, self.as_groups, namespace)

    def subject_can_i(
        self,
        user: str,
        groups: list[str],
        verb: str,
        resource: str,
        *,
        group: str = "",
        namespace: str | None = None,
    ) -> bool:
        self._call("subject_can_i")
        return _allowed(self.rules_for(user, groups, namespace), verb, resource, group)

    def rules_for(self, user: str, groups: list[str], namespace: str | None) -> list[dict[str, Any]]:
        rules: list[dict[str, Any]] = []
        for (kind, ns, _), b in self.objects.items():
            if kind not in ("RoleBinding", "ClusterRoleBinding"):
                continue
            if kind == "RoleBinding" and ns != namespace:
                continue
            if not any(
                (s["kind"] == "User" and s["name"] == user)
                or (s["kind"] == "Group" and s["name"] in groups)
                or (s["kind"] == "ServiceAccount" and user == f"system:serviceaccount:{s.get('namespace')}:{s['name']}")
                for s in b.get("subjects") or []
            ):
                continue
            ref = b["roleRef"]
            if ref["kind"] == "ClusterRole":
                stored_cr = self.objects.get(("ClusterRole", None, ref["name"]))
                rules += stored_cr["rules"] if stored_cr else CLUSTER_ROLES.get(ref["name"], [])
            else:
                role = self.objects.get(("Role", ns, ref["name"]))
                rules += (role or {}).get("rules", [])
        return rules

    def verifies_server(self, ca_pem: bytes) -> bool:
        self._call("verifies_server")
        return ca_pem.strip() == self.ca_pem.strip()

    # identities -------------------------------------------------------------------------
    def as_certificate(self, cert_pem: bytes, key_pem: bytes) -> FakeGateway:
        self._call("as_certificate")
        cert = x509.load_pem_x509_certificate(cert_pem)
        try:
            cert.verify_directly_issued_by(self.ca)
        except Exception:
            return self._rejected()
        if not self.trusts_signer:
            return self._rejected()
        view = copy.copy(self)
        view._root = self
        view.as_user = str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
        view.as_groups = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        return view

    def _rejected(self) -> FakeGateway:
        """A view for credentials the API server does not accept: every call is a 401."""
        view = copy.copy(self)
        view._root = self
        view.rejected = True
        return view

    # tokens ------------------------------------------------------------------------------
    def request_token(self, namespace: str, service_account: str, body: dict[str, Any]) -> dict[str, Any]:
        """TokenRequest: a JWT-shaped token (unsigned) bound to a Secret; the server may cut its lifetime."""
        self._call("request_token", "create serviceaccounts/token")
        sa = self.objects.get(("ServiceAccount", namespace, service_account))
        if sa is None:
            raise NotFoundError(f'serviceaccounts "{service_account}" not found')
        spec = body.get("spec") or {}
        seconds = int(spec.get("expirationSeconds") or 3600)
        if seconds < 600:
            raise ConflictError(
                "spec.expirationSeconds: Invalid value: may not specify a duration less than 10 minutes"
            )
        if self.max_token_seconds is not None:
            seconds = min(seconds, self.max_token_seconds)
        ref = spec.get("boundObjectRef") or {}
        secret = self.objects.get(("Secret", namespace, ref.get("name", "")))
        if ref and secret is None:
            raise NotFoundError(f'secrets "{ref.get("name")}" not found')
        uid = secret["metadata"]["uid"] if secret else ""
        if ref.get("uid") and ref["uid"] != uid:
            raise ConflictError("the UID in the bound object reference does not match the object")
        now = datetime.now(timezone.utc).replace(microsecond=0)
        exp = now + timedelta(seconds=seconds)
        payload = {
            "aud": ["https://kubernetes.default.svc"],
            "exp": int(exp.timestamp()),
            "iat": int(now.timestamp()),
            "iss": "https://kubernetes.default.svc",
            "nbf": int(now.timestamp()),
            "sub": f"system:serviceaccount:{namespace}:{service_account}",
            "kubernetes.io": {
                "namespace": namespace,
                "serviceaccount": {"name": service_account, "uid": sa["metadata"]["uid"]},
                **({"secret": {"name": ref["name"], "uid": uid}} if ref else {}),
            },
        }

        def part(d: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

        token = f"{part({'alg': 'RS256'})}.{part(payload)}.{uuid.uuid4().hex}"
        self.tokens[token] = (namespace, service_account, ref.get("name", ""), uid, exp)
        return {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": spec,
            "status": {"token": token, "expirationTimestamp": exp.strftime("%Y-%m-%dT%H:%M:%SZ")},
        }

    def token_valid(self, token: str) -> bool:
        """What the API server decides: the token is known, unexpired, its ServiceAccount and bound Secret exist."""
        found = self.tokens.get(token)
        if found is None:
            return False
        ns, sa, secret, uid, exp = found
        if exp <= datetime.now(timezone.utc) or ("ServiceAccount", ns, sa) not in self.objects:
            return False
        if secret:
            obj = self.objects.get(("Secret", ns, secret))
            return obj is not None and obj["metadata"].get("uid") == uid
        return True

    def as_token(self, token: str) -> FakeGateway:
        self._call("as_token")
        if not self.token_valid(token):
            return self._rejected()
        ns, sa, *_ = self.tokens[token]
        view = copy.copy(self)
        view._root = self
        view.as_user = f"system:serviceaccount:{ns}:{sa}"
        view.as_groups = ["system:serviceaccounts", f"system:serviceaccounts:{ns}"]
        return view


def _builtin_cluster_role(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
        "rules": copy.deepcopy(CLUSTER_ROLES[name]),
    }


def _matches(obj: dict[str, Any], selector: str | None) -> bool:
    if not selector:
        return True
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in selector.split(","):
        k, _, v = term.partition("=")
        if labels.get(k) != v:
            return False
    return True


def _allowed(rules: list[dict[str, Any]], verb: str, resource: str, group: str) -> bool:
    for r in rules:
        if (
            (verb in r.get("verbs", []) or "*" in r.get("verbs", []))
            and (resource in r.get("resources", []) or "*" in r.get("resources", []))
            and (group in r.get("apiGroups", []) or "*" in r.get("apiGroups", []))
        ):
            return True
    return False


def _is_a_gateway(fake: FakeGateway) -> Gateway:
    """Type-checked: mypy --strict fails here if FakeGateway stops satisfying the Gateway protocol."""
    return fake


__all__ = ["FakeGateway", "UnreachableError"]
