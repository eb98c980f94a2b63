"""The documentation stays true to the code: generated reference, strict site build, README tables."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
REFERENCE = ROOT / "docs" / "reference" / "cli.md"
GENERATOR = ROOT / "tools" / "gen_cli_reference.py"
REGENERATE = "python tools/gen_cli_reference.py"


def _on_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_cli_reference", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_up_to_date() -> None:
    fresh = _load_generator().render()
    committed = REFERENCE.read_text(encoding="utf-8") if REFERENCE.exists() else ""
    assert committed == fresh, (
        f"{REFERENCE.relative_to(ROOT)} does not match the CLI: run `{REGENERATE}` and commit the result"
    )


def test_pre_rendered_root_help_is_up_to_date() -> None:
    committed = (ROOT / "kubeuser" / "cli" / "roothelp.py").read_text(encoding="utf-8")
    assert committed == _load_generator().render_root_help(), (
        f"kubeuser/cli/roothelp.py does not match the CLI: run `{REGENERATE}` and commit the result"
    )


def test_cli_reference_covers_every_command_and_option() -> None:
    gen = _load_generator()
    text = gen.render()
    for path, cmd in gen.walk(gen.root_command()):
        assert f"`{' '.join(path)}`" in text
        for param in cmd.params:
            if getattr(param, "hidden", False) or gen._is_argument(param):
                continue
            for opt in param.opts:
                assert f"`{opt}`" in text, f"{' '.join(path)}: {opt} missing from the reference"


def test_mkdocs_build_strict_has_no_warnings(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        if _on_ci():
            pytest.fail("mkdocs / mkdocs-material are not installed (pip install -e '.[test]'), and CI=true")
        pytest.skip("mkdocs / mkdocs-material are not installed (pip install -e '.[docs]')")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{output}"
    warnings = [ln for ln in output.splitlines() if re.match(r"^\s*(WARNING|ERROR)\b", ln)]
    assert not warnings, "mkdocs build printed warnings:\n" + "\n".join(warnings)
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "reference" / "cli" / "index.html").is_file()


def _readme_exit_rows() -> dict[int, str]:
    rows: dict[int, str] = {}
    for m in re.finditer(r"^\|\s*(\d+)\s*\|\s*`?([A-Z_]+)`?\s*\|(.+)\|\s*$", README.read_text(encoding="utf-8"), re.M):
        rows[int(m.group(1))] = m.group(2)
    return rows


def test_readme_exit_code_table_matches_exitcode() -> None:
    from kubeuser.errors import ExitCode

    rows = _readme_exit_rows()
    expected = {int(c): c.name for c in ExitCode}
    missing = {v: n for v, n in expected.items() if v not in rows}
    assert not missing, f"README exit-code table lacks {missing}"
    wrong = {v: (rows[v], n) for v, n in expected.items() if rows[v] != n}
    assert not wrong, f"README exit-code names differ from ExitCode (README, code): {wrong}"
    extra = sorted(set(rows) - set(expected))
    assert not extra, f"README lists exit codes that ExitCode does not have: {extra}"


def test_readme_documents_every_create_flag() -> None:
    gen = _load_generator()
    create = dict(gen.walk(gen.root_command())).get(("kubeuser", "create"))
    assert create is not None
    readme = README.read_text(encoding="utf-8")
    section = readme.split("## `kubeuser create`", 1)[1].split("\n## ", 1)[0]
    missing = [
        opt
        for p in create.params
        if not gen._is_argument(p) and not getattr(p, "hidden", False)
        for opt in p.opts
        if f"`{opt}`" not in section
    ]
    assert not missing, f"README's `kubeuser create` section does not document {missing}"


def test_readme_starts_with_install_and_test_commands() -> None:
    readme = README.read_text(encoding="utf-8")
    install = readme.index("## Install and run")
    tests = readme.index("## Run the whole test suite")
    assert install < tests < readme.index("## Quick tour")
    assert "pip install ." in readme[install:tests]
    assert "kubeuser --help" in readme[install:tests]
    assert "kubeuser create user01 --group dev --days 30" in readme[install:tests]
    assert "hack/test.sh" in readme[tests:]
    assert (ROOT / "hack" / "test.sh").is_file()


def test_readme_local_links_resolve() -> None:
    readme = README.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme):
        if "://" in target or target.startswith("mailto:"):
            continue
        if target.rstrip("/") in {"docs/local-cluster.md", "docs/troubleshooting.md", "docs/benchmarks.md"}:
            continue  # pages other work adds; the site build tolerates their absence the same way
        assert (ROOT / target).exists(), f"README links to {target}, which does not exist"
