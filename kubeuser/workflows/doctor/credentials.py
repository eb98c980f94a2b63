"""The credentials group: which kinds of credentials the kubeconfig user carries, and each kind's own checks.

The ``credentials`` check names every kind the user entry carries and checks what can be checked of each
without the server (:attr:`Kind.describe`). A kind with checks of its own lists them in :attr:`Kind.steps`:
they run only for users that carry the kind and are skipped, with the reason, for everyone else. When
the API server answers 401, the authentication check asks the kinds why (:func:`why_rejected`).

Adding a kind of credential (say, ServiceAccount tokens checked in depth) is one module like
:mod:`.certificate`, with ``present``, ``describe``, ``why_rejected`` and its ``STEPS`` (each
``Step(..., kind=...)``), and one :class:`Kind` entry in :data:`KINDS`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubeuser.checks import FAIL
from kubeuser.workflows.doctor import certificate, token
from kubeuser.workflows.doctor.diagnosis import Diagnosis, Findings, Step

Reasons = list[tuple[str, str]]  # (cause, fix)


def _no_reasons(d: Diagnosis) -> Reasons:
    return []


@dataclass(frozen=True)
class Kind:
    """One kind of credential a kubeconfig user can carry, and how doctor checks it."""

    name: str  # as the report's ``credential`` says it
    present: Callable[[dict[str, Any]], bool]  # does this user entry carry it?
    describe: Callable[[Diagnosis, dict[str, Any], Findings], None]  # the credentials check's part
    why_rejected: Callable[[Diagnosis], Reasons] = _no_reasons  # causes of a 401, most likely first
    steps: tuple[Step, ...] = ()  # its own checks, run only for users that carry it


# --------------------------------------------------------------------------- plugins and basic auth


def _describe_exec(d: Diagnosis, user: dict[str, Any], found: Findings) -> None:
    spec = user.get("exec")
    spec = spec if isinstance(spec, dict) else {}
    command = str(spec.get("command") or "")
    api = str(spec.get("apiVersion") or "")
    install = spec.get("installHint")
    fix = (
        str(install).strip()
        if install
        else f"install {command or 'the plugin'} or fix users[].user.exec.command in the kubeconfig"
    )
    if not command:
        found.problems.append(("the exec plugin has no command", "set users[].user.exec.command"))
        return
    path: Path | None
    if "/" in command:
        path = d.ref(command, d.ctx.user_origin if d.ctx else None)
        found_it = path.is_file() and os.access(path, os.X_OK)
    else:
        which = shutil.which(command)
        path = Path(which) if which else None
        found_it = path is not None
    if not found_it:
        where = " or not executable)" if "/" in command else " on PATH)"
        found.problems.append((f"the exec auth plugin {command!r} is not installed (not found{where}", fix))
        return
    found.notes.append(f"exec plugin {path} ({api or 'no apiVersion'}); no certificate checks")
    if api.endswith("/v1alpha1"):
        found.warns.append(
            (f"exec apiVersion {api} was removed in kubectl 1.24", "use client.authentication.k8s.io/v1 (or v1beta1)")
        )


def _describe_auth_provider(d: Diagnosis, user: dict[str, Any], found: Findings) -> None:
    spec = user.get("auth-provider")
    spec = spec if isinstance(spec, dict) else {}
    name = str(spec.get("name") or "?")
    found.notes.append(f"auth-provider {name}; no certificate checks")
    if name in ("gcp", "azure"):
        plugin = "gke-gcloud-auth-plugin" if name == "gcp" else "kubelogin"
        found.warns.append(
            (
                f"the {name} auth-provider was removed from kubectl in 1.26",
                f"switch to the exec plugin {plugin} (an exec: entry in the kubeconfig user)",
            )
        )
    elif name == "oidc":
        cfg = spec.get("config") or {}
        if isinstance(cfg, dict) and not cfg.get("id-token") and not cfg.get("refresh-token"):
            found.warns.append(("oidc has neither id-token nor refresh-token", "log in again with your OIDC helper"))


def _plugin_rejected(d: Diagnosis) -> Reasons:
    return [
        (
            "the credential from the auth plugin was rejected (wrong cluster, expired login, or the "
            "API server does not trust its issuer)",
            "log in again with the plugin; check the plugin's configuration in the kubeconfig",
        )
    ]


def _describe_basic_auth(d: Diagnosis, user: dict[str, Any], found: Findings) -> None:
    found.warns.append(
        (
            "username/password (basic auth) was removed from Kubernetes in 1.19",
            "use a client certificate (`kubeuser create`) or a token",
        )
    )


#: every kind of credential, in the order the credentials check names them and a 401 is explained
KINDS: tuple[Kind, ...] = (
    Kind(certificate.KIND, certificate.present, certificate.describe, certificate.why_rejected, certificate.STEPS),
    Kind(token.KIND, token.present, token.describe, token.why_rejected, token.STEPS),
    Kind("exec", lambda u: bool(u.get("exec")), _describe_exec, _plugin_rejected),
    Kind("auth-provider", lambda u: bool(u.get("auth-provider")), _describe_auth_provider, _plugin_rejected),
    Kind("basic-auth", lambda u: bool(u.get("username") or u.get("password")), _describe_basic_auth),
)


def check_credentials(d: Diagnosis) -> None:
    assert d.ctx is not None
    user, name = d.ctx.user, d.ctx.user_name
    kinds = [k for k in KINDS if k.present(user)]
    d.kinds = [k.name for k in kinds]
    d.report.credential = "+".join(d.kinds) or "none"
    if not kinds:
        d.add(
            "credentials",
            FAIL,
            f"user {name!r} has no credentials (no client certificate, token, exec plugin or auth-provider): "
            "its requests are anonymous and the API server rejects them (401)",
            f"add credentials: an admin runs `kubeuser create NAME`, or kubectl config set-credentials {name} "
            "--client-certificate=CRT --client-key=KEY --embed-certs=true",
        )
        return
    found = Findings()
    for kind in kinds:
        kind.describe(d, user, found)
    detail = "; ".join(found.notes)
    if len(kinds) > 1:
        detail += " (several credential kinds: the client sends all it can)"
    d.conclude("credentials", found, detail)


def not_carried(d: Diagnosis, kind: str) -> str:
    """Why a kind's checks are skipped for this user."""
    what = d.report.credential if d.report.credential not in (None, "none") else "no credentials"
    return f"not a {kind} user ({what})"


def why_rejected(d: Diagnosis) -> Reasons:
    """The likely causes of a 401, from the first kind the user carries that can name one."""
    for kind in KINDS:
        if kind.name in d.kinds:
            reasons = kind.why_rejected(d)
            if reasons:
                return reasons
    return []


STEPS = (
    Step("credentials", "credentials of the user entry", check_credentials, blocking=True),
    *(step for kind in KINDS for step in kind.steps),
)
