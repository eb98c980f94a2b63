"""``kubeuser approve``: judge certificate requests others submitted by kubeuser's policy; approve or deny them.

``kubectl certificate approve`` approves blindly: whatever CN, groups, key, usages and lifetime the request
asks for. This workflow decodes what each pending ``kubernetes.io/kube-apiserver-client`` request really
asks for and checks it with :func:`kubeuser.csrpolicy.check` (``spec.usages``, the requested lifetime and
``--max-ttl`` included):

* without names and without ``all_pending`` it only lists them, with the verdict: nothing changes;
* with names or ``all_pending`` it approves those that pass (reason ``KubeuserApprove``), leaves those that
  fail pending (or denies them, reason ``KubeuserPolicy``, with ``deny_failing``); ``dry_run`` changes nothing.

A request for ``O=system:masters`` is never approved, whatever the options. kubeuser's own requests
(``app.kubernetes.io/managed-by=kubeuser``) are approved by ``create`` itself and left alone here; requests
for another signer and requests already decided are reported and left alone too.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from kubeuser import csrpolicy, durations, naming
from kubeuser.errors import ConflictError, KubeuserError, NotFoundError, UsageError
from kubeuser.gateway import SIGNER, Gateway
from kubeuser.progress import Reporter
from kubeuser.workflows.issue import APPROVAL_REASON

DENIAL_REASON = "KubeuserPolicy"

# What happened to (or would happen to) each request; the ``action`` of the output.
LISTED = "none"  # list mode: nothing is done
APPROVED, WOULD_APPROVE = "approved", "would-approve"
DENIED, WOULD_DENY = "denied", "would-deny"
FAILED_POLICY = "failed-policy"  # left pending
KUBEUSERS = "skipped-kubeuser"  # kubeuser's own request: create approves it
OTHER_SIGNER = "skipped-other-signer"
ALREADY = "skipped-decided"  # already approved, denied or failed
NOT_FOUND = "not-found"


@dataclass
class ApproveOptions:
    names: list[str] = field(default_factory=list)
    all_pending: bool = False
    max_ttl: int | None = None  # seconds; requests asking for more (or for the signer's default) fail
    deny_failing: bool = False
    dry_run: bool = False
    allow_system_names: bool = False  # system: CN/O (a node's identity); never system:masters

    @property
    def acting(self) -> bool:
        return bool(self.names) or self.all_pending


@dataclass
class Judged:
    """One CSR: what it asks for, the policy's verdict, and what was done."""

    name: str
    state: str  # pending | approved | denied | failed | not-found
    signer: str | None = None
    managed: bool = False  # app.kubernetes.io/managed-by=kubeuser
    request: csrpolicy.Request | None = None
    usages: list[str] = field(default_factory=list)
    requested_seconds: int | None = None
    username: str | None = None
    groups: list[str] = field(default_factory=list)
    violations: list[csrpolicy.Violation] | None = None  # None: not judged (not ours to judge)
    action: str = LISTED
    detail: str | None = None  # the one line said about a request that was left alone

    @property
    def judged(self) -> bool:
        return self.violations is not None

    @property
    def passed(self) -> bool:
        return self.violations is not None and not self.violations and not asks_for_masters(self.request)

    @property
    def verdict(self) -> str | None:
        return None if self.violations is None else ("pass" if self.passed else "fail")

    @property
    def failed(self) -> bool:
        """Failed policy in a way that counts: a request this command was asked about, not kubeuser's own."""
        return self.verdict == "fail" and not self.managed

    @property
    def lifetime_text(self) -> str:
        return durations.format(self.requested_seconds) if self.requested_seconds is not None else "signer default"

    def to_dict(self) -> dict[str, Any]:
        req = self.request
        return {
            "name": self.name,
            "signerName": self.signer,
            "state": self.state,
            "managedByKubeuser": self.managed,
            "commonName": req.user if req else None,
            "organizations": list(req.organizations) if req else [],
            "keyType": req.key_type if req else None,
            "keySize": req.key_size if req else None,
            "usages": self.usages,
            "requestedSeconds": self.requested_seconds,
            "requestor": {"username": self.username, "groups": self.groups},
            "verdict": self.verdict,
            "violations": [{"field": v.field, "message": v.message} for v in self.violations or []],
            "action": self.action,
            "detail": self.detail,
        }


@dataclass
class ApproveResult:
    acting: bool
    dry_run: bool
    max_ttl: int | None
    csrs: list[Judged]
    notes: list[str]
    server_version: str | None

    @property
    def judged(self) -> list[Judged]:
        return [j for j in self.csrs if j.judged]

    @property
    def failed(self) -> list[Judged]:
        return [j for j in self.csrs if j.failed]

    def count(self, action: str) -> int:
        return sum(1 for j in self.csrs if j.action == action)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": "approve" if self.acting else "list",
            "dryRun": self.dry_run,
            "maxTtlSeconds": self.max_ttl,
            "serverVersion": self.server_version,
            "csrs": [j.to_dict() for j in self.csrs],
            "failedPolicy": [j.name for j in self.failed],
            "notes": self.notes,
        }


def asks_for_masters(req: csrpolicy.Request | None) -> bool:
    """The one rule no option relaxes (checked again here, whatever :func:`csrpolicy.check` said)."""
    return req is not None and any(o.strip().lower() == naming.MASTERS for o in req.organizations)


def approval_message(req: csrpolicy.Request) -> str:
    groups = ",".join(req.organizations) or "(none)"
    return f"approved by kubeuser approve: CN={req.user}, O={groups}, passed policy"


def denial_message(violations: list[csrpolicy.Violation]) -> str:
    return "denied by kubeuser approve: fails policy: " + "; ".join(str(v) for v in violations)


def check_csr_name(name: str) -> str:
    """A CSR name as the API accepts it (a path segment): one line, no slash or percent sign, not . or .."""
    shown = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in name)[:80]
    if not name or name in (".", "..") or "/" in name or "%" in name or not name.isprintable() or len(name) > 253:
        raise UsageError(
            f"'{shown}' is not a CertificateSigningRequest name",
            hint="`kubeuser approve` without names lists the pending requests and their names",
        )
    return name


def _state(csr: dict[str, Any]) -> str:
    for cond in (csr.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Approved", "Denied", "Failed") and cond.get("status", "True") != "False":
            return str(cond["type"]).lower()
    return "pending"


def judge(csr: dict[str, Any], opts: ApproveOptions) -> Judged:
    """What *csr* asks for and, if it is a pending request for our signer, every way it breaks the policy."""
    meta = csr.get("metadata") or {}
    spec = csr.get("spec") or {}
    labels = meta.get("labels") or {}
    expiration = spec.get("expirationSeconds")
    j = Judged(
        name=str(meta.get("name", "")),
        state=_state(csr),
        signer=str(spec.get("signerName") or ""),
        managed=labels.get(naming.MANAGED_BY_LABEL) == naming.MANAGED_BY,
        usages=[str(u) for u in spec.get("usages") or []],
        requested_seconds=int(expiration) if isinstance(expiration, int) else None,
        username=str(spec["username"]) if spec.get("username") is not None else None,
        groups=[str(g) for g in spec.get("groups") or []],
    )
    if j.signer != SIGNER or j.state != "pending":
        return j
    try:
        j.request = csrpolicy.read(csrpolicy.from_manifest_request(str(spec.get("request") or "")), "spec.request")
    except UsageError as exc:
        j.violations = [csrpolicy.Violation("request", exc.message)]
        return j
    j.violations = csrpolicy.check(
        j.request,
        allow_system_names=opts.allow_system_names,
        usages=j.usages,
        requested_seconds=j.requested_seconds,
        max_ttl=opts.max_ttl,
        check_lifetime=True,
    )
    if asks_for_masters(j.request) and not any(v.field == "O" for v in j.violations):  # never, whatever check() says
        j.violations.append(csrpolicy.Violation("O", "system:masters is never allowed"))
    return j


def _left_alone(j: Judged) -> None:
    """The one line for a request this command does not decide."""
    if j.state == NOT_FOUND:
        j.action, j.detail = NOT_FOUND, "not found"
    elif j.signer != SIGNER:
        j.action = OTHER_SIGNER
        j.detail = f"for signer {j.signer or '(none)'}, not {SIGNER}: left alone"
    elif j.state != "pending":
        j.action, j.detail = ALREADY, f"already {j.state}: left alone"
    elif j.managed:
        j.action, j.detail = KUBEUSERS, "kubeuser's own request (`kubeuser create` approves it itself): left alone"


def run(gw: Gateway, opts: ApproveOptions, reporter: Reporter) -> ApproveResult:
    if opts.names and opts.all_pending:
        raise UsageError(
            "give CSR names or --all-pending, not both", hint="`kubeuser approve --all-pending` takes every pending one"
        )
    if opts.deny_failing and not opts.acting:
        raise UsageError(
            "--deny-failing needs CSR names or --all-pending",
            hint="`kubeuser approve` alone only lists; e.g. kubeuser approve NAME --deny-failing",
        )
    names = list(dict.fromkeys(check_csr_name(n) for n in opts.names))
    version = None
    with contextlib.suppress(KubeuserError):  # only a note depends on it
        version = gw.version()
    if names:
        csrs: list[Judged] = []
        for name in names:
            obj = gw.get_csr(name)
            csrs.append(judge(obj, opts) if obj is not None else Judged(name=name, state=NOT_FOUND))
        if all(j.state == NOT_FOUND for j in csrs):
            what = f"CSR {names[0]} not found" if len(names) == 1 else f"none of the CSRs {', '.join(names)} exists"
            raise NotFoundError(what, hint=f"`kubeuser approve` lists the pending requests for {SIGNER}")
    else:
        everything = sorted((judge(c, opts) for c in gw.list_csrs("")), key=lambda j: j.name)
        csrs = [j for j in everything if j.signer == SIGNER and j.state == "pending"]
    notes = []
    if version is not None and not version.at_least(1, 22) and csrs:
        notes.append(
            f"this cluster ({version.git_version}) drops spec.expirationSeconds (Kubernetes ≥ 1.22 keeps it): "
            "every certificate it issues gets the signer's default lifetime (--cluster-signing-duration)"
        )
    for j in csrs:
        _left_alone(j)
        if j.action != LISTED or not opts.acting:
            continue
        _decide(gw, j, opts, reporter)
    return ApproveResult(
        acting=opts.acting,
        dry_run=opts.dry_run,
        max_ttl=opts.max_ttl,
        csrs=csrs,
        notes=notes,
        server_version=version.git_version if version else None,
    )


def _decide(gw: Gateway, j: Judged, opts: ApproveOptions, reporter: Reporter) -> None:
    assert j.violations is not None
    try:
        if j.passed and j.request is not None and not asks_for_masters(j.request):
            if opts.dry_run:
                j.action = WOULD_APPROVE
                return
            with reporter.step(f"Approve {j.name}") as s:
                gw.approve_csr(j.name, reason=APPROVAL_REASON, message=approval_message(j.request))
                s.detail = f"CN={j.request.user}, reason {APPROVAL_REASON}"
            j.action, j.state = APPROVED, "approved"
        elif opts.deny_failing:
            if opts.dry_run:
                j.action = WOULD_DENY
                return
            with reporter.step(f"Deny {j.name}") as s:
                gw.deny_csr(j.name, reason=DENIAL_REASON, message=denial_message(j.violations))
                s.detail = f"reason {DENIAL_REASON}"
            j.action, j.state = DENIED, "denied"
        else:
            j.action = FAILED_POLICY
    except NotFoundError:
        j.action, j.state, j.detail = NOT_FOUND, NOT_FOUND, "deleted meanwhile"
    except ConflictError as exc:
        j.action, j.detail = ALREADY, f"decided meanwhile: {exc.message}"
