"""The server group: the API server's verdict. Does it authenticate the credentials (401 or not), and what may
the identity do (a sample: list pods, and the rules in the namespace)?

Both go through the gateway, which maps HTTP errors. Authentication is the one required check: the identity
is healthy when the API server accepts it; authorization problems are warnings.
"""

from __future__ import annotations

import contextlib

from kubeuser import rbac
from kubeuser.checks import FAIL, PASS, SKIP, WARN, Status
from kubeuser.connect import Target
from kubeuser.errors import ForbiddenError, KubeuserError, UnauthenticatedError
from kubeuser.gateway import Gateway, Identity
from kubeuser.workflows.doctor import credentials
from kubeuser.workflows.doctor.diagnosis import Diagnosis, Step

_DEFAULT_RULES = ("selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews")


def check_authentication(d: Diagnosis) -> None:
    blocking = (s.id for s in d.steps.values() if s.blocking)
    blocker = d.failed("server-url") or next((i for i in blocking if d.status.get(i) == FAIL), None)
    if blocker is not None:
        d.add("authentication", SKIP, f"not attempted: {blocker} failed")
        return
    assert d.ctx is not None and d.loaded is not None
    gw: Gateway | None = None
    try:
        gw = d.open_gateway(Target(d.loaded, d.ctx))
        identity = gw.whoami()
    except UnauthenticatedError as exc:
        d.add("authentication", FAIL, *_why_401(d, exc))
        _close(gw)
        return
    except ForbiddenError as exc:  # a 403 means the server knew who we are
        d.add("authentication", PASS, f"authenticated (the server answered 403, not 401: {exc.message})")
        d.gw = gw
        return
    except KubeuserError as exc:
        d.add("authentication", FAIL, exc.message, exc.hint)
        _close(gw)
        return
    except Exception as exc:  # the API client choking on an odd kubeconfig entry
        d.add(
            "authentication",
            FAIL,
            f"the API client could not use this context: {type(exc).__name__}: {exc}",
            "check the user and cluster entries (kubectl config view --minify)",
        )
        _close(gw)
        return
    d.gw = gw
    d.report.identity = identity
    d.add("authentication", *_identity_verdict(d, identity))


def _close(gw: Gateway | None) -> None:
    if gw is not None:
        with contextlib.suppress(Exception):
            gw.close()


def _identity_verdict(d: Diagnosis, identity: Identity) -> tuple[Status, str, str | None]:
    if identity.username is not None:
        groups = ", ".join(g for g in identity.groups if g != "system:authenticated") or "none"
        text = f"authenticated as {identity.username} (groups {groups}; SelfSubjectReview)"
        if d.cn and identity.username != d.cn:
            return (
                WARN,
                text + f" — not as the certificate's CN {d.cn!r}",
                "the server maps identities differently (an authenticating proxy or webhook?)",
            )
        return PASS, text, None
    who = f"; the certificate names you {d.cn}" if d.cn else ""
    return (
        PASS,
        f"authenticated (SelfSubjectAccessReview: this server has no SelfSubjectReview, so it does not say the "
        f"name){who}",
        None,
    )


def _why_401(d: Diagnosis, exc: UnauthenticatedError) -> tuple[str, str]:
    reasons = credentials.why_rejected(d)
    detail = "401 Unauthorized: the API server rejected the credentials"
    if reasons:
        detail += ": " + "; ".join(r for r, _ in reasons)
        return detail, reasons[0][1]
    return detail, exc.hint or "check the credentials"


def check_authorization(d: Diagnosis) -> None:
    gw = d.gw
    if gw is None:
        d.add("authorization", SKIP, "not attempted: not authenticated")
        return
    ns = d.report.namespace or "default"
    try:
        try:
            may_list = gw.can_i("list", "pods", namespace=ns)
            rules = gw.rules_review(ns)
        except KubeuserError as exc:
            d.add("authorization", WARN, f"cannot review permissions: {exc.message}", exc.hint)
            return
    finally:
        _close(gw)
    shown = [rbac.summarize_rule(r) for r in rules if not set(r.get("resources") or []) <= set(_DEFAULT_RULES)]
    summary = "; ".join(shown[:6]) + (f"; +{len(shown) - 6} more" if len(shown) > 6 else "")
    rules_text = f"{len(shown)} rule(s) in {ns}" + (f": {summary}" if summary else "")
    if may_list:
        d.add("authorization", PASS, f"may list pods in {ns}; {rules_text}")
        return
    who = (d.report.identity.username if d.report.identity else None) or d.cn or d.token_subject or "USER"
    sa = who.split(":")
    if who.startswith("system:serviceaccount:") and len(sa) == 4:
        fix = (
            f"an admin grants access, e.g. kubectl create rolebinding {sa[3]}-view --clusterrole=view "
            f"--serviceaccount={sa[2]}:{sa[3]} -n {ns}"
        )
    else:
        fix = (
            f"an admin grants access, e.g. kubectl create rolebinding {who}-view --clusterrole=view --user={who} "
            f"-n {ns} (or `kubeuser create {who} --force --clusterrole view -n {ns}`)"
        )
    d.add(
        "authorization",
        WARN,
        f"authenticated, but may not list pods in {ns} (RBAC grants nothing for it there — 403 Forbidden); "
        + rules_text,
        fix,
    )


STEPS = (
    Step("authentication", "the API server accepts the credentials", check_authentication, required=True),
    Step("authorization", "authorization sample (list pods, rules)", check_authorization),
)
