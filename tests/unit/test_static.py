"""The quality bar where CI runs the suite: ruff (lint + format) and mypy --strict over kubeuser/ and tests/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=600)


def test_ruff_lint_and_format_are_clean() -> None:
    lint = _run("ruff", "check", ".")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = _run("ruff", "format", "--check", ".")
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_mypy_strict_is_clean_over_package_and_tests() -> None:
    proc = _run("mypy")  # files, strictness and mypy_path come from pyproject.toml
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout
    checked = int(proc.stdout.rsplit(" in ", 1)[1].split()[0])
    assert checked >= 80, proc.stdout  # the tests are checked too, not only the package
