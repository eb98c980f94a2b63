"""``kubeuser token``: a fresh ServiceAccount token for an existing token identity.

For signing in to Kubernetes Dashboard or Headlamp, or a CI secret: the token goes to stdout and nothing
else does. It is bound to a Secret made for it alone, recorded in the user's registry record (never the
token itself), and killed by ``kubeuser revoke`` (and by ``renew``, which rotates every token of the user).
Tokens of this kind that have expired are tidied away (their Secrets deleted) on the way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from kubeuser import hints, naming, registry
from kubeuser.connect import Target
from kubeuser.errors import ConflictError, KubeuserError, NotFoundError, UsageError
from kubeuser.gateway import Gateway
from kubeuser.progress import Reporter
from kubeuser.workflows import steps
from kubeuser.workflows.issue import IssuedToken, issue_token

PURPOSE = "sign-in"


@dataclass
class TokenResult:
    user: str
    issued: IssuedToken
    tidied: list[str]  # expired sign-in tokens whose Secrets were deleted

    def to_dict(self) -> dict[str, Any]:
        i = self.issued
        return {
            "user": self.user,
            "token": i.token,
            "expirationTimestamp": i.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "username": i.username,
            "serviceAccount": {"namespace": i.namespace, "name": i.service_account},
            "boundSecret": i.secret_name,
            "requestedSeconds": i.lifetime.requested_seconds,
            "grantedSeconds": i.lifetime.granted_seconds,
            "lifetime": i.lifetime.verdict,
        }


def token(
    gw: Gateway,
    target: Target,
    *,
    name: str,
    ttl_seconds: int | None,
    registry_namespace: str | None,
    reporter: Reporter,
) -> TokenResult:
    naming.check_user_name(name)
    reg = registry.Registry(gw, registry.namespace_from(registry_namespace))
    with reporter.step("Read registry") as s:
        found = reg.get(name)
        if found is None:
            raise NotFoundError(
                f"no kubeuser record for user {name!r} in registry {reg.namespace}",
                hint=f"`{hints.kubeuser('create', name, options=('--auth', 'token'))}` makes a token identity; "
                f"`{hints.kubeuser('list')}` shows known users",
            )
        record = found[0]
        if record.status == "revoked":
            raise ConflictError(
                f"user {name!r} was revoked at {record.revoked_at}",
                hint=f"`{hints.kubeuser('create', name, options=('--auth', 'token'))}` onboards them again",
            )
        if not record.is_token or not record.service_account:
            raise UsageError(
                f"{name!r} authenticates with a client certificate, not a ServiceAccount token",
                hint=f"`{hints.kubeuser('create', name, options=('--auth', 'token', '--force'))}` makes it a token "
                "identity (its certificates keep working until they expire)",
            )
        s.detail = f"ServiceAccount {record.service_account_namespace}/{record.service_account}"
    ns = record.service_account_namespace or reg.namespace
    if steps.check_service_account(gw, user=record.user, namespace=ns, registry_ns=reg.namespace) is None:
        raise NotFoundError(
            f"the ServiceAccount {ns}/{record.service_account} of {name!r} no longer exists",
            hint=f"`{hints.kubeuser('create', name, options=('--auth', 'token', '--force'))}` makes it again",
        )
    ttl = ttl_seconds or record.certificate.requested_seconds or steps.DEFAULT_TTL
    issued_by = steps.admin_identity(gw, target, gw.version())
    tidied = _tidy(gw, record, ns)
    with steps.Transaction(reporter, user=record.user) as tx:
        issued = issue_token(
            gw,
            user=record.user,
            namespace=ns,
            service_account=record.service_account,
            ttl_seconds=ttl,
            registry_ns=reg.namespace,
            purpose=PURPOSE,
            reporter=reporter,
        )
        tx.on_undo(f"Secret {ns}/{issued.secret_name}", lambda: gw.delete_object("Secret", issued.secret_name, ns))
        with tx.step("Record in registry") as s:
            previous = (registry.UserRecord.from_dict(record.to_dict()), found[1])
            record.sign_in_tokens.append(steps.credential_record(issued, ttl, issued_by))
            steps.write_record(tx, reg, record, found[1], previous)
            s.detail = f"{reg.namespace}/{registry.object_name(record.user)} (the token itself is not stored)"
        tx.commit()
    return TokenResult(record.user, issued, tidied)


def _tidy(gw: Gateway, record: registry.UserRecord, ns: str) -> list[str]:
    """Delete the Secrets of sign-in tokens that have expired, and drop them from the record."""
    now = datetime.now(timezone.utc)
    keep: list[registry.CertRecord] = []
    gone: list[str] = []
    for t in record.sign_in_tokens:
        try:
            expired = registry.parse_time(t.not_after) <= now
        except ValueError:
            expired = False
        if expired or t.invalidated_at:
            try:
                gw.delete_object("Secret", t.serial, ns)
                gone.append(t.serial)
                continue
            except KubeuserError:
                pass
        keep.append(t)
    record.sign_in_tokens = keep
    return gone
