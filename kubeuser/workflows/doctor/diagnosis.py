"""What every doctor check group shares: the options, the report, the steps, and what the checks found so far."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

from cryptography import x509

from kubeuser import kubeconfig, pki, tokens
from kubeuser.checks import FAIL, PASS, SKIP, WARN, Check, Report, Status
from kubeuser.connect import Target
from kubeuser.errors import CheckFailedError, KubeconfigError, KubeuserError
from kubeuser.gateway import Gateway, Identity

GatewayFactory = Callable[[Target], Gateway]


@dataclass
class DoctorOptions:
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    timeout: float = 3.0  # per network probe (DNS, TCP, TLS)
    now: datetime | None = None  # the local clock (tests pin it)


@dataclass
class DoctorReport(Report):
    title: ClassVar[str] = "kubeuser doctor"
    checks: list[Check] = field(default_factory=list)
    kubeconfig: list[str] = field(default_factory=list)
    context: str | None = None
    cluster: str | None = None
    user: str | None = None
    server: str | None = None
    namespace: str | None = None
    credential: str | None = None  # client-certificate | token | exec | auth-provider | basic-auth | none
    identity: Identity | None = None

    @property
    def authenticated(self) -> bool:
        """The API server accepts the credentials: the one required check (authentication) passed."""
        return any(c.id == "authentication" and c.ok for c in self.checks)

    def heading(self) -> list[str]:
        return [
            f"context {self.context or '?'} (cluster {self.cluster or '?'}, user {self.user or '?'})",
            f"server {self.server or '?'}, namespace {self.namespace or '?'}",
        ]

    def verdict(self) -> str:
        if not self.authenticated:
            return "NOT authenticated"
        who = self.identity.username if self.identity and self.identity.username else None
        return "authenticated" + (f" as {who}" if who else "")

    def error(self) -> KubeuserError | None:
        for cid in ("kubeconfig", "context"):  # no identity to check: the same error as every other command's
            c = self.check(cid)
            if c.status == FAIL:
                return KubeconfigError(c.detail, hint=c.fix)
        if self.authenticated:
            return None
        auth = self.check("authentication")
        first = auth if auth.status == FAIL else (self.failures[0] if self.failures else None)
        return CheckFailedError(
            "the identity does not authenticate" + (f": {first.id}: {first.detail}" if first is not None else ""),
            hint=first.fix if first is not None and first.fix else "see the checks above",
        )

    def to_dict(self) -> dict[str, Any]:
        ident = None
        if self.identity is not None:
            ident = {
                "username": self.identity.username,
                "groups": list(self.identity.groups),
                "method": self.identity.method,
            }
        return {
            "kind": "DoctorReport",
            "kubeconfig": self.kubeconfig,
            "context": self.context,
            "cluster": self.cluster,
            "user": self.user,
            "server": self.server,
            "namespace": self.namespace,
            "credential": self.credential,
            "authenticated": self.authenticated,
            "identity": ident,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass(frozen=True)
class Step:
    """One check: its id and title, the function that runs it, and when it applies."""

    id: str
    title: str
    run: Callable[[Diagnosis], None]
    kind: str | None = None  # a credential kind: the check runs only for a user that carries it
    blocking: bool = False  # when it fails no request can be made, so authentication is not attempted
    required: bool = False  # the verdict (exit status) rests on it


@dataclass
class Endpoint:
    scheme: str
    host: str
    port: int
    server_name: str  # for SNI and the host name check (tls-server-name, else host)


@dataclass
class Findings:
    """What one check noticed: plain notes, problems (fail) and warnings, each problem and warning with its fix."""

    notes: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    warns: list[tuple[str, str]] = field(default_factory=list)


class Diagnosis:
    """One doctor run: the checks add their verdicts here and leave what later checks need."""

    def __init__(self, opts: DoctorOptions, open_gateway: GatewayFactory, steps: Sequence[Step]) -> None:
        self.opts = opts
        self.open_gateway = open_gateway
        self.now = opts.now or datetime.now(timezone.utc)
        self.report = DoctorReport()
        self.steps = {s.id: s for s in steps}
        self.status: dict[str, Status] = {}
        # the kubeconfig group
        self.loaded: kubeconfig.LoadedKubeconfig | None = None
        self.ctx: kubeconfig.ResolvedContext | None = None
        # the network and TLS groups
        self.endpoint: Endpoint | None = None
        self.addresses: list[tuple[int, Any]] = []
        self.connected: tuple[int, Any] | None = None
        self.ca_pem: bytes | None = None
        self.ca_error: KubeuserError | None = None
        # the credentials group
        self.kinds: list[str] = []
        self.cert: x509.Certificate | None = None
        self.cert_info: pki.CertInfo | None = None
        self.key: pki.PrivateKey | None = None
        self.cn: str | None = None
        self.time_problem: str | None = None  # why the certificate is outside its validity window
        self.chain_problem: str | None = None
        self.token_subject: str | None = None  # a JWT's sub claim (service account tokens name the account)
        self.token_claims: tokens.Claims | None = None  # what a JWT bearer token says of itself (unverified)
        # the server group: open after a successful authentication, for the authorization check
        self.gw: Gateway | None = None

    def add(self, check_id: str, status: Status, detail: str = "", fix: str | None = None) -> Check:
        step = self.steps[check_id]
        c = Check(check_id, step.title, status, detail, fix, required=step.required)
        self.report.checks.append(c)
        self.status[check_id] = status
        return c

    def conclude(self, check_id: str, found: Findings, summary: str | None = None) -> None:
        """Fail on the problems, else warn, else pass; the detail says what is wrong, and what was found."""
        what = "; ".join(found.notes) if summary is None else summary
        if found.problems:
            wrong = "; ".join(text for text, _ in found.problems)
            self.add(check_id, FAIL, f"{wrong} — {what}" if what else wrong, found.problems[0][1])
        elif found.warns:
            risky = "; ".join(text for text, _ in found.warns)
            self.add(check_id, WARN, f"{what} — {risky}" if what else risky, found.warns[0][1])
        else:
            self.add(check_id, PASS, what)

    def failed(self, *ids: str) -> str | None:
        """The first of *ids* that failed or was skipped (a prerequisite that did not hold)."""
        for i in ids:
            if self.status.get(i) in (FAIL, SKIP):
                return i
        return None

    def ref(self, ref: str, origin: Path | None) -> Path:
        """A file the kubeconfig names, as kubectl finds it (relative to the file that names it)."""
        return kubeconfig.resolve_ref(ref, origin.parent if origin is not None else None)
