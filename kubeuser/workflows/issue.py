"""Issue a client certificate through the CSR API: submit → approve → wait → verify.

Shared by ``create``, ``renew`` and ``run``. On any failure after the CSR exists, the CSR is
deleted (or the error says it could not be), so nothing half-done is left silently.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from kubeuser import csr as csrmod
from kubeuser import durations, naming
from kubeuser.errors import KubeuserError
from kubeuser.gateway import Gateway, ServerVersion
from kubeuser.progress import Reporter

if TYPE_CHECKING:  # cryptography loads only when a certificate is issued: not for a token identity
    from kubeuser import pki

APPROVAL_REASON = "KubeuserApprove"
# v1.20 backdates notBefore by 5 minutes; allow that plus clock slack when judging the lifetime
LIFETIME_SLACK = 6 * 60


@dataclass(frozen=True)
class Lifetime:
    requested_seconds: int
    granted_seconds: int
    verdict: str  # honoured | cut | ignored
    message: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "requested_seconds": self.requested_seconds,
            "granted_seconds": self.granted_seconds,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class IssuedCertificate:
    csr_name: str
    cert_pem: bytes
    key_pem: bytes = field(repr=False)  # never in a repr, assertion message or log
    info: pki.CertInfo
    lifetime: Lifetime
    chain_verified: bool


def judge_lifetime(requested: int, info: pki.CertInfo, issued_at: datetime, version: ServerVersion | None) -> Lifetime:
    granted = int((info.not_after - issued_at).total_seconds())
    until = info.not_after.strftime("%Y-%m-%d %H:%M UTC")
    vtext = f" ({version.git_version})" if version and version.git_version else ""
    if granted > requested + LIFETIME_SLACK:
        why = (
            "; expirationSeconds needs Kubernetes ≥ 1.22" if version is not None and not version.at_least(1, 22) else ""
        )
        return Lifetime(
            requested,
            granted,
            "ignored",
            f"the cluster{vtext} ignored the requested lifetime of {durations.format(requested)}: the "
            f"certificate is valid for {durations.format(granted)}, until {until}{why}. Revoking removes "
            "bindings only; the certificate keeps authenticating until then",
        )
    if granted < requested - LIFETIME_SLACK:
        return Lifetime(
            requested,
            granted,
            "cut",
            f"the cluster cut the requested lifetime of {durations.format(requested)} to "
            f"{durations.format(granted)} (until {until}): the signer's --cluster-signing-duration caps it",
        )
    return Lifetime(requested, granted, "honoured", None)


def issue(
    gw: Gateway,
    *,
    user: str,
    groups: list[str],
    ttl_seconds: int,
    key: pki.PrivateKey | pki.PublicKey,
    ca_pem: bytes | None,
    timeout: float,
    reporter: Reporter,
    version: ServerVersion | None,
    registry_ns: str | None = None,
    csr_pem: bytes | None = None,
) -> IssuedCertificate:
    """Issue a certificate for *key*: a private key (kubeuser builds the request), or the public key of
    *csr_pem*, a request the user built (bring your own key: kubeuser never sees the private key)."""
    from kubeuser import pki

    if csr_pem is None:
        if not isinstance(key, pki.PRIVATE_KEY_TYPES):
            raise TypeError("a private key is needed to build the request")
        key_pem, request = pki.key_to_pem(key), pki.build_csr(key, user, groups)
    else:
        key_pem, request = b"", csr_pem
    name = naming.csr_name(user)
    manifest = csrmod.csr_manifest(
        name,
        request,
        usages=pki.usages_for(key),
        expiration_seconds=ttl_seconds,
        labels=naming.managed_labels(user, registry_ns),
        annotations=naming.managed_annotations(user, groups, registry_ns),
    )
    submitted = False  # from here on, any failure or interrupt deletes the CSR we made (and only ours)
    try:
        with reporter.step("Submit CertificateSigningRequest") as s:
            gw.create_csr(manifest)
            submitted = True
            s.detail = name
        with reporter.step("Approve") as s:
            gw.approve_csr(
                name,
                reason=APPROVAL_REASON,
                message=f"approved by kubeuser for user {user}",
            )
            s.detail = f"reason {APPROVAL_REASON}"
        with reporter.step("Wait for the signed certificate") as s:
            cert_pem = gw.wait_for_certificate(name, timeout)
            issued_at = datetime.now(timezone.utc)
            s.detail = "issued"
        with reporter.step("Verify the certificate") as s:
            info = pki.verify_issued(cert_pem, key, common_name=user, groups=groups, ca_pem=ca_pem)
            lifetime = judge_lifetime(ttl_seconds, info, issued_at, version)
            s.detail = (
                f"serial {info.serial}, valid {info.not_before:%Y-%m-%d %H:%M} → "
                f"{info.not_after:%Y-%m-%d %H:%M} UTC"
                + ("" if ca_pem else " (chain not checked: the kubeconfig has no CA)")
            )
        if lifetime.message:
            reporter.warn(lifetime.message)
    except KubeuserError as exc:
        if submitted:
            _delete_csr_after_failure(gw, name, exc)
        raise
    except BaseException:  # KeyboardInterrupt etc.: still try not to leave the CSR behind
        if submitted:
            with contextlib.suppress(Exception):
                gw.delete_csr(name)
        raise
    return IssuedCertificate(name, cert_pem, key_pem, info, lifetime, chain_verified=ca_pem is not None)


def _delete_csr_after_failure(gw: Gateway, name: str, exc: KubeuserError) -> None:
    try:
        gw.delete_csr(name)
        extra = f"CSR {name} was deleted"
    except KubeuserError:
        extra = f"CSR {name} could not be deleted: remove it with `kubectl delete csr {name}`"
    exc.hint = f"{exc.hint}; {extra}" if exc.hint else extra


# --------------------------------------------------------------------------- ServiceAccount tokens


@dataclass(frozen=True)
class IssuedToken:
    """A ServiceAccount token from the TokenRequest API, bound to a Secret made for it alone."""

    token: str = field(repr=False)  # a credential: never in a repr, assertion message or log
    namespace: str
    service_account: str
    secret_name: str
    secret_uid: str | None
    issued_at: datetime
    expires_at: datetime
    lifetime: Lifetime

    @property
    def username(self) -> str:
        from kubeuser import tokens

        return tokens.username(self.namespace, self.service_account)


def judge_token_lifetime(requested: int, issued_at: datetime, expires_at: datetime) -> Lifetime:
    granted = int((expires_at - issued_at).total_seconds())
    until = expires_at.strftime("%Y-%m-%d %H:%M UTC")
    if granted < requested - 60:
        return Lifetime(
            requested,
            granted,
            "cut",
            f"the API server cut the requested token lifetime of {durations.format(requested)} to "
            f"{durations.format(granted)} (until {until}): its --service-account-max-token-expiration caps it",
        )
    if granted > requested + 60:
        return Lifetime(
            requested,
            granted,
            "extended",
            f"the API server extended the requested token lifetime of {durations.format(requested)} to "
            f"{durations.format(granted)} (until {until}); revoking still kills it at once",
        )
    return Lifetime(requested, granted, "honoured", None)


def issue_token(
    gw: Gateway,
    *,
    user: str,
    namespace: str,
    service_account: str,
    ttl_seconds: int,
    registry_ns: str,
    purpose: str,
    reporter: Reporter,
) -> IssuedToken:
    """Make a Secret for this one token, then ask TokenRequest for a token bound to it (deleting the Secret
    kills the token). On failure the Secret is deleted again."""
    from kubeuser import tokens

    manifest = tokens.binding_secret_manifest(user, namespace, registry_ns, purpose)
    name = manifest["metadata"]["name"]
    made = False
    try:
        with reporter.step("Request a ServiceAccount token") as s:
            secret = gw.create_object(manifest)
            made = True
            uid = (secret.get("metadata") or {}).get("uid")
            issued_at = datetime.now(timezone.utc).replace(microsecond=0)
            resp = gw.request_token(namespace, service_account, tokens.token_request(ttl_seconds, name, uid))
            status = resp.get("status") or {}
            token = status.get("token")
            if not isinstance(token, str) or not token:
                raise KubeuserError(
                    "the API server answered the TokenRequest without a token",
                    hint="check that the ServiceAccount token signer is configured "
                    "(kube-apiserver --service-account-issuer and --service-account-signing-key-file)",
                )
            expires_at = _parse_timestamp(status.get("expirationTimestamp"))
            lifetime = judge_token_lifetime(ttl_seconds, issued_at, expires_at)
            s.detail = f"bound to Secret {namespace}/{name}, valid until {expires_at:%Y-%m-%d %H:%M} UTC"
        if lifetime.message:
            reporter.warn(lifetime.message)
    except BaseException as exc:
        if made:
            try:
                gw.delete_object("Secret", name, namespace)
            except Exception:
                if isinstance(exc, KubeuserError):
                    more = f"Secret {namespace}/{name} could not be deleted: "
                    more += f"`kubectl delete secret -n {namespace} {name}`"
                    exc.hint = f"{exc.hint}; {more}" if exc.hint else more
        raise
    return IssuedToken(token, namespace, service_account, name, uid, issued_at, expires_at, lifetime)


def _parse_timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise KubeuserError("the API server answered the TokenRequest without status.expirationTimestamp")
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise KubeuserError(f"the TokenRequest's expirationTimestamp {value!r} is not a time") from None


class IssuedCredential:
    """What ``create``'s and ``renew``'s results say of the credential they issued, whichever its kind (a mixin
    for dataclasses with ``user`` and ``issued``)."""

    user: str
    issued: IssuedCertificate | IssuedToken

    @property
    def cert(self) -> IssuedCertificate:
        """The certificate (a token identity has none: TypeError)."""
        if not isinstance(self.issued, IssuedCertificate):
            raise TypeError(f"{self.user} is a token identity: it has no certificate")
        return self.issued

    @property
    def auth(self) -> str:
        return "token" if isinstance(self.issued, IssuedToken) else "x509"

    @property
    def serial(self) -> str:
        """The certificate's serial, or the name of the Secret a token is bound to."""
        return self.issued.secret_name if isinstance(self.issued, IssuedToken) else self.issued.info.serial

    @property
    def not_after(self) -> str:
        if isinstance(self.issued, IssuedToken):
            return self.issued.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        return str(self.issued.info.to_dict()["not_after"])
