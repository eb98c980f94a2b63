"""Doctor's checks for a bearer token (a ServiceAccount token from ``kubeuser create --auth token``).

The token's claims are read without verifying them — only the API server can say whether a token is valid —
to tell the cases apart when it answers 401: *expired* (``exp`` is past), or *not expired but rejected*:
its ServiceAccount or the object it is bound to (kubeuser binds each token to a Secret of its own) was
deleted — which is what ``kubeuser revoke`` and ``renew`` do — or the audience does not match the API
server's ``--api-audiences``, or the token comes from another cluster (issuer/signing key).
"""

from __future__ import annotations

from typing import Any

from kubeuser import durations, pki, tokens
from kubeuser.checks import FAIL, PASS, SKIP, WARN
from kubeuser.workflows.doctor.diagnosis import Diagnosis, Findings, Step

KIND = "token"
EXPIRY_WARNING_SECONDS = 24 * 3600


def present(user: dict[str, Any]) -> bool:
    return bool(user.get("token") or user.get("tokenFile"))


def _token(d: Diagnosis, user: dict[str, Any], found: Findings | None = None) -> tuple[str | None, str]:
    """(the token text, where it came from), reading tokenFile as kubectl does."""
    token = user.get("token")
    if token:
        return str(token), "token"
    if user.get("tokenFile"):
        path = d.ref(str(user["tokenFile"]), d.ctx.user_origin if d.ctx else None)
        try:
            return path.read_text().strip(), f"tokenFile {path}"
        except OSError as exc:
            if found is not None:
                found.problems.append(
                    (f"cannot read tokenFile {path}: {exc.strerror or exc}", "fix the tokenFile path or its mode")
                )
            return None, f"tokenFile {path}"
    return None, "token"


def describe(d: Diagnosis, user: dict[str, Any], found: Findings) -> None:
    text, source = _token(d, user, found)
    if text is None:
        return
    found.notes.append(f"bearer token ({len(text)} characters, from {source})")
    claims = tokens.read_claims(text)
    d.token_claims = claims
    if claims is None:
        return
    if claims.subject:
        found.notes.append(f"JWT subject {claims.subject}")
        d.token_subject = claims.subject


def check_claims(d: Diagnosis) -> None:
    """What the token says about itself: subject, bound object, audience, expiry (unverified)."""
    claims = d.token_claims
    if claims is None:
        d.add(
            "token-claims",
            SKIP,
            "the token is not a JWT (an opaque or bootstrap token): only the API server can say what it is",
        )
        return
    parts = [f"subject {claims.subject or '?'}"]
    if claims.bound_kind and claims.bound_name:
        parts.append(f"bound to {claims.bound_kind} {claims.namespace or '?'}/{claims.bound_name}")
    elif claims.service_account:
        parts.append("not bound to an object (it lives until it expires unless its ServiceAccount is deleted)")
    if claims.audiences:
        parts.append(f"audience {', '.join(claims.audiences)}")
    detail = "; ".join(parts) + " (read from the token, unverified)"
    user = _kubeuser_name(claims)
    if claims.expires_at is None:
        d.add("token-claims", WARN, detail + "; it has no expiry", "prefer short-lived tokens (TokenRequest)")
        return
    exp, now = claims.expires_at, d.now
    if exp <= now:
        d.time_problem = f"the token expired at {pki.iso_z(exp)}"
        d.add(
            "token-claims",
            FAIL,
            f"expired {durations.rough((now - exp).total_seconds())} ago, at {pki.iso_z(exp)}; {detail}",
            f"`kubeuser token {user}` (a new token) or `kubeuser renew {user}` (run by an admin)",
        )
        return
    left = durations.rough((exp - now).total_seconds())
    if (exp - now).total_seconds() < EXPIRY_WARNING_SECONDS:
        d.add("token-claims", WARN, f"expires in {left}, at {pki.iso_z(exp)}; {detail}",
              f"`kubeuser renew {user}` before then")  # fmt: skip
    else:
        d.add("token-claims", PASS, f"expires {pki.iso_z(exp)} ({left} left); {detail}")


def _kubeuser_name(claims: tokens.Claims) -> str:
    """The kubeuser user name behind a ServiceAccount token, as best known (the ServiceAccount's name)."""
    return claims.service_account or "NAME"


def why_rejected(d: Diagnosis) -> list[tuple[str, str]]:
    """Why the API server answers 401 to this token: (cause, fix), most likely first."""
    claims = d.token_claims
    if claims is None:
        return [("the token is invalid, expired or revoked", "get a fresh token from whoever issued it")]
    user = _kubeuser_name(claims)
    if claims.expired(d.now):
        assert claims.expires_at is not None
        return [(f"the token expired at {pki.iso_z(claims.expires_at)}",
                 f"`kubeuser token {user}` or `kubeuser renew {user}` (run by an admin)")]  # fmt: skip
    what = f"its ServiceAccount {claims.namespace}/{claims.service_account}" if claims.service_account else ""
    if claims.bound_kind and claims.bound_name:
        what += f" or the {claims.bound_kind} {claims.bound_name} it is bound to"
    return [
        (
            f"the token has not expired but is rejected: {what or 'its ServiceAccount'} was deleted — that is "
            "how `kubeuser revoke` and `kubeuser renew` kill tokens — or its audience "
            f"({', '.join(claims.audiences) or 'none'}) is not one the API server accepts (--api-audiences), "
            "or it was issued by another cluster",
            f"if {user} should still have access, an admin runs `kubeuser renew {user}` (or `kubeuser show {user}` "
            "to see whether it was revoked)",
        )
    ]


STEPS = (Step("token-claims", "token claims: subject, bound object, expiry (unverified)", check_claims, KIND),)
