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
    "token-request": "TokenRequest issues a ServiceAccount token the API server accepts",
    "auth-kinds": "kinds of identity this cluster supports",
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
    token_permissions,
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
    auth: str = "auto"  # x509 | token: that kind's checks are required; auto: ready when either kind works


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

    # 2. permissions, all at once (each credential kind's own are required only when that kind is asked for)
    token_ns = opts.registry_namespace  # where token identities' ServiceAccounts go (and the probe's)
    perms = [
        *csr_permissions(),
        *token_permissions(token_ns),
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
            req = _required_for(perm.id, opts.auth)
            if ok:
                add(Check(perm.id, perm.title, PASS, f"allowed: {perm.needs}", required=req))
            else:
                add(Check(perm.id, perm.title, FAIL, f"missing {perm.needs}", perm.fix(), required=req))
    add(_registry_namespace(gw, opts.registry_namespace, allowed.get("registry", False)))

    # 3. the signer, with a throwaway CSR
    lacking = [p.id for p in csr_permissions() if not allowed.get(p.id, False)]
    issued: IssuedCertificate | None = None
    x509_required = opts.auth == "x509"
    if lacking:
        reason = f"not tested: this identity may not submit and approve CSRs (see {', '.join(lacking)})"
        add(Check("signer", TITLES["signer"], SKIP, reason, required=x509_required))
    else:
        check, issued, report.probe_csr = _probe_signer(gw, opts, version)
        add(_as_required(check, x509_required))

    # 4. the API server accepts what the signer issued
    if issued is None:
        add(Check("cert-authenticates", TITLES["cert-authenticates"], SKIP, "no certificate was issued",
                  required=x509_required))  # fmt: skip
    else:
        add(_as_required(_probe_authenticates(gw, issued, version), x509_required))

    # 4b. ServiceAccount tokens, with a throwaway ServiceAccount
    token_required = opts.auth == "token"
    lacking = [p.id for p in token_permissions(token_ns) if not allowed.get(p.id, False)]
    if lacking:
        reason = f"not tested: this identity may not make ServiceAccount tokens (see {', '.join(lacking)})"
        add(Check("token-request", TITLES["token-request"], SKIP, reason, required=token_required))
    else:
        add(_as_required(_probe_token(gw, token_ns, opts.registry_namespace, version), token_required))
    add(_auth_kinds(report, opts.auth))

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
    ("signer", False),
    ("cert-authenticates", False),
    ("token-request", False),
    ("auth-kinds", True),
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


# --------------------------------------------------------------------------- which kinds of identity work here

X509_CHECKS = ("csr-create", "csr-approval", "signer-approve", "signer", "cert-authenticates")
TOKEN_CHECKS = ("serviceaccount-create", "secret-create", "token-create", "token-request")


def _required_for(check_id: str, auth: str) -> bool:
    """A credential kind's checks are required only when that kind is asked for (``--auth``)."""
    if check_id in X509_CHECKS:
        return auth == "x509"
    if check_id in TOKEN_CHECKS:
        return auth == "token"
    return True


def _as_required(check: Check, required: bool) -> Check:
    return Check(check.id, check.title, check.status, check.detail, check.fix, required=required)


def supported(report: Report) -> dict[str, bool]:
    """Which kinds of identity the checks proved: x509 (the signer issues *and* the API server accepts it) and
    token (TokenRequest issues a token the API server accepts)."""
    status = {c.id: c.status for c in report.checks}
    return {
        "x509": status.get("signer") in (PASS, WARN) and status.get("cert-authenticates") == PASS,
        "token": status.get("token-request") == PASS,
    }


def auto_choice(kinds: dict[str, bool]) -> str | None:
    """What ``--auth auto`` picks: a certificate when it works, else a token."""
    return "x509" if kinds.get("x509") else ("token" if kinds.get("token") else None)


def _auth_kinds(report: Report, auth: str) -> Check:
    kinds = supported(report)
    title = TITLES["auth-kinds"]
    yes = [k for k, ok in kinds.items() if ok]
    pick = auto_choice(kinds)
    if auth in kinds:  # one kind asked for: its own checks decide (this one informs); say what the other could do
        other = "token" if auth == "x509" else "x509"
        if kinds[auth]:
            return Check("auth-kinds", title, PASS, f"--auth {auth} works here" + (
                f" ({other} too)" if kinds[other] else f"; {other} does not"), required=False)  # fmt: skip
        return Check(
            "auth-kinds",
            title,
            FAIL,
            f"--auth {auth} does not work here (see the checks above)"
            + (f"; --auth {other} does: `kubeuser create NAME --auth {other}`" if kinds[other] else ""),
            "see the failed checks above",
            required=False,
        )
    if not yes:
        why = {k: _why_not(report, ids) for k, ids in (("x509", X509_CHECKS), ("token", TOKEN_CHECKS))}
        return Check(
            "auth-kinds",
            title,
            FAIL,
            f"neither kind of identity works here: client certificates: {why['x509'][0]}; ServiceAccount tokens: "
            f"{why['token'][0]}",
            why["x509"][1] or why["token"][1] or "see the failed checks above",
        )
    if pick == "x509":
        detail = "client certificates (x509)" + (" and ServiceAccount tokens" if kinds["token"] else "")
        return Check("auth-kinds", title, PASS, f"{detail}; `--auth auto` picks x509")
    return Check(
        "auth-kinds",
        title,
        PASS,
        "ServiceAccount tokens only: client certificates do not work here (see signer/cert-authenticates); "
        "`--auth auto` picks token",
        "onboard users with `kubeuser create NAME --auth token` (or --auth auto)",
    )


def _why_not(report: Report, ids: tuple[str, ...]) -> tuple[str, str | None]:
    """The first check of a kind that did not pass: (id: detail, its fix)."""
    for c in report.checks:
        if c.id in ids and c.status in (FAIL, SKIP):
            return f"{c.id}: {c.detail}", c.fix
    return "not proven", None


def _probe_token(gw: Gateway, namespace: str, registry_ns: str, version: ServerVersion) -> Check:
    """A throwaway ServiceAccount, a Secret, a bound token, a sign-in with it; all deleted afterwards."""
    from kubeuser import tokens
    from kubeuser.errors import NotFoundError
    from kubeuser.workflows.issue import issue_token
    from kubeuser.workflows.steps import prove_token

    title = TITLES["token-request"]
    if gw.get_object("Namespace", namespace) is None:
        return Check("token-request", title, SKIP, f"not tested: namespace {namespace} does not exist yet "
                     "(kubeuser creates it with the first user; run preflight again then)")  # fmt: skip
    user = PROBE_PREFIX + secrets.token_hex(4)
    sa = tokens.service_account_manifest(user, namespace, registry_ns)
    made: list[tuple[str, str]] = []
    t0 = time.monotonic()
    try:
        gw.create_object(sa)
        made.append(("ServiceAccount", sa["metadata"]["name"]))
        issued = issue_token(gw, user=user, namespace=namespace, service_account=sa["metadata"]["name"],
                             ttl_seconds=PROBE_TTL, registry_ns=registry_ns, purpose="preflight",
                             reporter=RecordingReporter())  # fmt: skip
        made.append(("Secret", issued.secret_name))
        _identity, user_gw = prove_token(gw, issued)
        user_gw.close()
        took = time.monotonic() - t0
        status, detail, fix = (
            PASS,
            f"ServiceAccount {namespace}/{sa['metadata']['name']} got a token (asked "
            f"{durations.format(PROBE_TTL)}, got {durations.rough(issued.lifetime.granted_seconds)}) that signs in "
            f"as {issued.username} in {took:.1f}s",
            None,
        )
    except UnauthenticatedError as exc:
        status, detail, fix = FAIL, f"the API server rejects the token it issued: {exc.message}", exc.hint
    except NotFoundError as exc:
        status, detail, fix = FAIL, f"TokenRequest is not served: {exc.message}", "needs Kubernetes ≥ 1.20"
    except KubeuserError as exc:
        status, detail, fix = FAIL, f"throwaway ServiceAccount {user}: {exc.message}", exc.hint
    left = []
    for kind, name in reversed(made):
        try:
            gw.delete_object(kind, name, namespace)
        except KubeuserError:
            left.append(f"{kind} {namespace}/{name}")
    if left:
        detail += "; could NOT delete " + ", ".join(left)
        fix = (fix + "; " if fix else "") + "delete them: kubectl delete -n " + namespace + " " + " ".join(
            f"{k.lower()}/{n}" for k, n in reversed(made))  # fmt: skip
        if status == PASS:
            status = WARN
    return Check("token-request", title, status, detail, fix)


def probe_x509(gw: Gateway, *, ca_pem: bytes | None, timeout: float, version: ServerVersion) -> tuple[bool, str]:
    """``create --auth auto``: does this cluster issue a client certificate *and* accept it? (the throwaway CSR
    is deleted either way). Returns (yes, why in words)."""
    perms = csr_permissions()
    try:
        if not all(check_permissions(gw, perms)):
            return False, "this identity may not submit and approve CSRs"
    except KubeuserError as exc:
        return False, exc.message
    opts = PreflightOptions(namespace="default", registry_namespace="", timeout=timeout, ca_pem=ca_pem)
    signer, issued, _csr = _probe_signer(gw, opts, version)
    if issued is None:
        return False, f"client certificates are not issued here ({signer.detail})"
    proof = _probe_authenticates(gw, issued, version)
    if proof.status != PASS:
        return False, proof.detail
    return True, "the signer issues client certificates and the API server accepts them"
