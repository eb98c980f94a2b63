"""One error root, one exit-code table.

Every failure kubeuser knows about is a :class:`KubeuserError` carrying an
:class:`ExitCode`, a one-line message and an optional hint. The CLI maps them to
stderr + exit status at exactly one place (``kubeuser.cli``); nothing else prints
errors or calls ``sys.exit``.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Documented process exit codes (README "Exit codes")."""

    OK = 0
    ERROR = 1  # unexpected / internal error
    USAGE = 2  # invalid flags or input (typer/click also uses 2)
    KUBECONFIG = 3  # kubeconfig missing, malformed, or lacking the context/cluster/user
    UNREACHABLE = 4  # cannot reach the API server (DNS, TCP, TLS, timeout, 5xx after retries)
    UNAUTHENTICATED = 5  # 401: the server does not accept the credentials
    FORBIDDEN = 6  # 403: authenticated but lacking a permission
    CONFLICT = 7  # the object/user already exists (use --force), or a 409 clash
    SIGNER_TIMEOUT = 8  # approved but no certificate issued in time (no active signer)
    VERIFICATION = 9  # issued certificate does not match what was asked / does not chain
    NOT_FOUND = 10  # unknown user / object
    DENIED = 11  # the CSR was denied or failed by the cluster
    CHECK_FAILED = 12  # doctor / preflight found a failing check
    EXPIRING = 13  # not a failure: `list --expiring` found certificates ending within the window
    INTERRUPTED = 130  # SIGINT


class KubeuserError(Exception):
    """Root of every error kubeuser reports to a user."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(KubeuserError):
    exit_code = ExitCode.USAGE


class KubeconfigError(KubeuserError):
    exit_code = ExitCode.KUBECONFIG


class UnreachableError(KubeuserError):
    exit_code = ExitCode.UNREACHABLE


class UnauthenticatedError(KubeuserError):
    exit_code = ExitCode.UNAUTHENTICATED


class ForbiddenError(KubeuserError):
    exit_code = ExitCode.FORBIDDEN


class ConflictError(KubeuserError):
    exit_code = ExitCode.CONFLICT


class SignerTimeoutError(KubeuserError):
    exit_code = ExitCode.SIGNER_TIMEOUT


class VerificationError(KubeuserError):
    exit_code = ExitCode.VERIFICATION


class NotFoundError(KubeuserError):
    exit_code = ExitCode.NOT_FOUND


class DeniedError(KubeuserError):
    exit_code = ExitCode.DENIED


class CheckFailedError(KubeuserError):
    exit_code = ExitCode.CHECK_FAILED


def shown(text: str, limit: int = 40) -> str:
    """User input as it may appear in a one-line message: stripped, non-printable characters escaped, at most
    *limit* characters (then …). Quote it with ``!r`` where the message quotes it."""
    s = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text.strip())
    return s if len(s) <= limit else s[:limit] + "…"
