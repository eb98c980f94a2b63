"""``kubeuser preflight``: may this admin onboard users here, and does the cluster do what kubeuser needs?

Two layers:

* the cheap permission checks (SelfSubjectAccessReviews, all in parallel). ``create`` runs exactly these
  through :func:`require_onboarding_permissions` before it touches anything, so both commands speak with
  the same messages;
* the full preflight (:func:`run`): connection and identity, every permission, a throwaway CSR that
  proves the signer really issues (always deleted afterwards) and that the API server accepts what it
  issued (a sign-in with the throwaway certificate), whether ``expirationSeconds`` is honoured, and
  whether the server has SelfSubjectReview.

Every check carries a concrete fix; a missing permission's fix is the exact RBAC rule the admin lacks. The
checks are :class:`kubeuser.checks.Check` in a :class:`PreflightReport`, rendered like doctor's.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from kubeuser import durations, pki
from kubeuser.checks import FAIL, PASS, SKIP, WARN, Check, Report, Status
from kubeuser.errors import CheckFailedError, ForbiddenError, KubeuserError, UnauthenticatedError
from kubeuser.gateway import Gateway, Identity, ServerVersion
from kubeuser.progress import RecordingReporter
from kubeuser.workflows.issue import IssuedCertificate, issue
from kubeuser.workflows.steps import identity_text, prove

TITLES = {
    "connect": "connect and authenticate",
    "permissions": "permission checks (SelfSubjectAccessReview)",
    "signer": "the signer issues certificates",
    "cert-authenticates": "the API server accepts the issued certificate",
    "expiration-seconds": "expirationSeconds is honoured",
    "selfsubjectreview": "SelfSubjectReview is available",
}
PROBE_TTL = 600
PROBE_PREFIX = "kubeuser-preflight-"
DEFAULT_TIMEOUT = 30.0


# --------------------------------------------------------------------------- permissions (kubeuser.permissions)

from kubeuser.permissions import (  # noqa: E402 - re-exported: the preflight report lists them
    Permission,
    check_permissions,
    csr_permissions,
    rbac_permission,
    registry_permission,
)

# --------------------------------------------------------------------------- the report


@dataclass
class PreflightReport(Report):
    title: ClassVar[str] = "kubeuser preflight"
    context: str
    server: str
    namespace: str
    registry_namespace: str
    server_version: str | None = None
    identity: str | None = None
    checks: list[Check] = field(default_factory=list)
    probe_csr: str | None = None

    def heading(self) -> list[str]:
        return [
            f"context {self.context} ({self.server}, {self.server_version or 'version unknown'})"
            + (f" as {self.identity}" if self.identity else ""),
            f"namespace {self.namespace}, registry namespace {self.registry_namespace}",
        ]

    def verdict(self) -> str:
        return "ready to onboard users" if self.ok else "NOT ready to onboard users"

    def error(self) -> KubeuserError | None:
        if self.ok:
            return None
        failed = self.failed
        return CheckFailedError(
            f"{len(failed)} required check(s) failed: " + "; ".join(f"{c.id}: {c.detail}" for c in failed),
            hint=(failed[0].fix if failed else None) or "see the checks above",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "PreflightReport",
            "context": self.context,
            "server": self.server,
            "serverVersion": self.server_version,
            "identity": self.identity,
            "namespace": self.namespace,
            "registryNamespace": self.registry_namespace,
            "ok": self.ok,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass
class PreflightOptions:
    namespace: str
    registry_namespace: str
    timeout: float = DEFAULT_TIMEOUT
    context: str = ""
    ca_pem: bytes | None = None  # the kubeconfig's cluster CA (to verify the probe certificate)
    cert_cn: str | None = None  # the admin's client certificate CN, if it uses one


def run(gw: Gateway, opts: PreflightOptions) -> PreflightReport:
    """Every preflight check, in order; never raises KubeuserError (failures become checks)."""
    report = PreflightReport(
        context=opts.context,
        server=gw.server,
        namespace=opts.namespace,
        registry_namespace=opts.registry_namespace,
    )
    add = report.checks.append

    # 1. connection and identity
    version: ServerVersion | None = None
    identity: Identity | None = None
    try:
        version = gw.version()
        identity = gw.whoami()
    except KubeuserError as exc:
        add(
            Check(
                "connect",
                TITLES["connect"],
                FAIL,
                exc.message,
                (exc.hint + "; " if exc.hint else "") + "`kubeuser doctor` checks the connection step by step",
            )
        )
        for cid, required in _LATER:
            add(Check(cid, TITLES[cid], SKIP, "cannot connect to the API server (see connect)", required=required))
        return report
    report.server_version = version.git_version
    who = identity.username or opts.cert_cn
    report.identity = who
    how = "server says" if identity.username else ("certificate CN" if opts.cert_cn else "authenticated")
    add(
        Check(
            "connect",
            TITLES["connect"],
            PASS,
            f"{gw.server} ({version.git_version or 'unknown version'}) as "
            + (f"{who} ({how})" if who else "an authenticated identity"),
        )
    )

    # 2. permissions, all at once
    perms = [
        *csr_permissions(),
        rbac_permission("Role", opts.namespace),
        rbac_permission("RoleBinding", opts.namespace),
        rbac_permission("ClusterRoleBinding", None),
        registry_permission(opts.registry_namespace),
    ]
    try:
        results = check_permissions(gw, perms)
    except KubeuserError as exc:
        add(Check("permissions", TITLES["permissions"], FAIL, exc.message, exc.hint))
        results = None
    allowed: dict[str, bool] = {}
    if results is not None:
        for perm, ok in zip(perms, results, strict=True):
            allowed[perm.id] = ok
            if ok:
                add(Check(perm.id, perm.title, PASS, f"allowed: {perm.needs}"))
            else:
                add(Check(perm.id, perm.title, FAIL, f"missing {perm.needs}", perm.fix()))
    add(_registry_namespace(gw, opts.registry_namespace, allowed.get("registry", False)))

    # 3. the signer, with a throwaway CSR
    lacking = [p.id for p in csr_permissions() if not allowed.get(p.id, False)]
    issued: IssuedCertificate | None = None
    if lacking:
        reason = f"not tested: this identity may not submit and approve CSRs (see {', '.join(lacking)})"
        add(Check("signer", TITLES["signer"], SKIP, reason))
    else:
        check, issued, report.probe_csr = _probe_signer(gw, opts, version)
        add(check)

    # 4. the API server accepts what the signer issued
    if issued is None:
        add(Check("cert-authenticates", TITLES["cert-authenticates"], SKIP, "no certificate was issued"))
    else:
        add(_probe_authenticates(gw, issued, version))

    # 5. expirationSeconds
    if issued is None:
        add(Check("expiration-seconds", TITLES["expiration-seconds"], SKIP, "no certificate was issued",
                  required=False))  # fmt: skip
    else:
        add(_lifetime_check(issued, version))

    # 6. SelfSubjectReview
    add(_self_subject_review(version, identity))
    return report


_LATER = (  # what is skipped when the server cannot be reached: id, required
    ("permissions", True),
    ("signer", True),
    ("cert-authenticates", True),
    ("expiration-seconds", False),
    ("selfsubjectreview", False),
)


def _registry_namespace(gw: Gateway, namespace: str, may_write: bool) -> Check:
    title = f"registry namespace {namespace}"
    try:
        ns = gw.get_object("Namespace", namespace)
    except ForbiddenError:
        return Check(
            "registry-namespace",
            title,
            FAIL,
            f"may not read namespace {namespace} (kubeuser checks it exists before recording a user)",
            Permission("namespaces-get", "get", "namespaces").fix(),
        )
    except KubeuserError as exc:
        return Check("registry-namespace", title, FAIL, exc.message, exc.hint)
    if ns is not None:
        return Check("registry-namespace", title, PASS, "exists")
    create_ns = Permission("namespaces-create", "create", "namespaces")
    try:
        can_create = create_ns.allowed(gw)
    except KubeuserError as exc:
        return Check("registry-namespace", title, FAIL, exc.message, exc.hint)
    if can_create:
        return Check("registry-namespace", title, PASS, "does not exist yet; kubeuser creates it on first use")
    return Check(
        "registry-namespace",
        title,
        FAIL,
        f"does not exist, and this identity lacks {create_ns.needs} to create it",
        f"`kubectl create namespace {namespace}`, or {create_ns.fix()}",
    )


def _probe_signer(
    gw: Gateway, opts: PreflightOptions, version: ServerVersion
) -> tuple[Check, IssuedCertificate | None, str | None]:
    title = TITLES["signer"]
    user = PROBE_PREFIX + secrets.token_hex(4)
    recorder = RecordingReporter()
    t0 = time.monotonic()
    try:
        issued = issue(
            gw,
            user=user,
            groups=[],
            ttl_seconds=PROBE_TTL,
            key=pki.generate_key("ecdsa"),
            ca_pem=opts.ca_pem,
            timeout=opts.timeout,
            reporter=recorder,
            version=version,
        )
    except KubeuserError as exc:  # issue() already deleted the CSR (or says in the hint it could not)
        return Check("signer", title, FAIL, f"throwaway CSR for {user}: {exc.message}", exc.hint), None, None
    took = time.monotonic() - t0
    try:
        gw.delete_csr(issued.csr_name)
        cleanup = "deleted"
        fix = None
    except KubeuserError as exc:
        cleanup = f"could NOT be deleted ({exc.message})"
        fix = f"remove it: kubectl delete csr {issued.csr_name}"
    detail = (
        f"CSR {issued.csr_name} (CN {user}, {durations.format(PROBE_TTL)} asked) was approved and issued in "
        f"{took:.1f}s by {issued.info.issuer}"
        + ("" if issued.chain_verified else " (chain not checked: the kubeconfig has no CA)")
        + f"; {cleanup}"
    )
    status = PASS if fix is None else WARN
    return Check("signer", title, status, detail, fix), issued, issued.csr_name


def _probe_authenticates(gw: Gateway, issued: IssuedCertificate, version: ServerVersion) -> Check:
    """Sign in with the throwaway certificate: a signer whose certificates the API server does not trust (or a
    proxy in front of it that drops client certificates) passes the signer check and fails every create."""
    user = issued.info.common_name

    def verdict(status: Status, detail: str, fix: str | None = None) -> Check:
        return Check("cert-authenticates", TITLES["cert-authenticates"], status, detail, fix)

    try:
        identity, user_gw = prove(gw, issued.cert_pem, issued.key_pem, user)
    except UnauthenticatedError:
        return verdict(
            FAIL,
            f"the certificate for {user} was issued, but the API server rejects it (401 Unauthorized): it trusts "
            "another CA for client certificates than the one the signer uses (or a proxy in front of it does not "
            "pass client certificates on). Client certificates cannot be used on this cluster: `kubeuser create` "
            "would fail when it proves the new certificate",
            "the cluster admin adds the signer's CA (kube-controller-manager --cluster-signing-cert-file) to "
            "kube-apiserver's --client-ca-file, or lets the proxy pass client certificates through",
        )
    except ForbiddenError as exc:  # a 403 means the server knew who the certificate names
        return verdict(PASS, f"{user} signs in (the server answered 403, not 401: {exc.message})")
    except KubeuserError as exc:
        return verdict(FAIL, f"signing in as {user}: {exc.message}", exc.hint)
    user_gw.close()
    return verdict(PASS, f"{user} signs in with it: {identity_text(identity, user, version)}")


def _lifetime_check(issued: IssuedCertificate, version: ServerVersion) -> Check:
    lt = issued.lifetime
    title = TITLES["expiration-seconds"]
    granted = durations.rough(lt.granted_seconds)
    asked = durations.format(lt.requested_seconds)
    if lt.verdict == "honoured":
        return Check("expiration-seconds", title, PASS, f"honoured: asked {asked}, got {granted}", required=False)
    if lt.verdict == "cut":
        return Check(
            "expiration-seconds",
            title,
            WARN,
            f"cut: {lt.message}",
            "raise kube-controller-manager's --cluster-signing-duration if users need longer certificates",
            required=False,
        )
    upgrade = "" if version.at_least(1, 22) else " (expirationSeconds needs Kubernetes ≥ 1.22)"
    return Check(
        "expiration-seconds",
        title,
        WARN,
        f"ignored: asked {asked}, got {granted}{upgrade}. Every certificate kubeuser issues here lives that "
        "long whatever --days/--ttl says; revoking removes bindings only, the certificate keeps authenticating",
        "upgrade the cluster to ≥ 1.22, or lower kube-controller-manager's --cluster-signing-duration to the "
        "longest lifetime you accept",
        required=False,
    )


def _self_subject_review(version: ServerVersion, identity: Identity) -> Check:
    title = TITLES["selfsubjectreview"]
    if identity.method == "SelfSubjectReview":
        return Check(
            "selfsubjectreview",
            title,
            PASS,
            f"{version.git_version}: the server names the user and groups of a new certificate "
            f"(it sees this admin as {identity.username})",
            required=False,
        )
    if version.at_least(1, 27):
        return Check(
            "selfsubjectreview",
            title,
            WARN,
            f"{version.git_version} should have SelfSubjectReview but the call was not served "
            "(API disabled?); kubeuser falls back to SelfSubjectAccessReview and takes the user name from the "
            "certificate",
            "enable authentication.k8s.io SelfSubjectReview (--runtime-config / feature gate APISelfSubjectReview)",
            required=False,
        )
    return Check(
        "selfsubjectreview",
        title,
        WARN,
        f"{version.git_version} has no SelfSubjectReview (needs ≥ 1.27, GA in 1.28): kubeuser proves a new "
        "certificate authenticates with a SelfSubjectAccessReview and takes the user name from its CN",
        None,
        required=False,
    )
