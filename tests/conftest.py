"""Repository-wide pytest hooks.

On CI (``CI=true``) a skipped end-to-end test is a failure: the e2e suite must really run there.
The only skips tolerated are those of local-control-plane-only tests while running against an
external cluster (``KUBEUSER_E2E_KUBECONFIG``, e.g. kind on GitHub Actions).
"""

from __future__ import annotations

import os

import pytest

LOCAL_ONLY_REASON = "needs the local control plane"

_skipped_e2e: list[tuple[str, str]] = []


def _on_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not (report.skipped and "e2e" in report.keywords):
        return
    reason = _skip_reason(report)
    if os.environ.get("KUBEUSER_E2E_KUBECONFIG") and LOCAL_ONLY_REASON in reason:
        return
    _skipped_e2e.append((report.nodeid, reason))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _on_ci() and _skipped_e2e and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not (_on_ci() and _skipped_e2e):
        return
    terminalreporter.section("e2e tests skipped on CI", sep="=", red=True, bold=True)
    for nodeid, reason in _skipped_e2e:
        terminalreporter.line(f"SKIPPED (not allowed with CI=true) {nodeid}: {reason}", red=True)
    terminalreporter.line("CI=true: failing the session because e2e tests were skipped.", red=True)
