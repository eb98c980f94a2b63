"""Packaging: the wheel has the package and both entry points; the CLI starts without `kubernetes`."""

from __future__ import annotations

import configparser
import email.parser
import importlib
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import kubeuser

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINTS = ("kubeuser", "kubectl-user")


def _package_files(src: Path) -> set[str]:
    return {
        p.relative_to(src).as_posix()
        for p in (src / "kubeuser").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".typed")
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build a wheel from a copy of the source tree (so no build/ or egg-info lands in the work tree)."""
    pytest.importorskip("setuptools", reason="building the wheel needs setuptools (test extra)")
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "kubeuser", src / "kubeuser", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--disable-pip-version-check",
         "-q", "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, f"pip wheel failed:\n{proc.stdout}\n{proc.stderr}"
    wheels = list(out.glob("kubeuser-*.whl"))
    assert len(wheels) == 1, wheels
    (out / "package-files.txt").write_text("\n".join(sorted(_package_files(src))))
    return wheels[0]


def test_wheel_has_both_entry_points(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt"))
        parser = configparser.ConfigParser()
        parser.read_string(zf.read(name).decode())
    scripts = dict(parser["console_scripts"])
    for script in ENTRY_POINTS:
        assert script in scripts, f"the wheel has no console script {script!r} (has {sorted(scripts)})"
        module, _, func = scripts[script].partition(":")
        assert module.split(".")[0] == "kubeuser" and func, scripts[script]
        assert callable(getattr(importlib.import_module(module), func)), scripts[script]
    assert scripts["kubeuser"] == scripts["kubectl-user"], "the kubectl plugin must be the same program"


def test_wheel_has_every_package_file(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    expected = set((wheel.parent / "package-files.txt").read_text().split())  # the tree the wheel was built from
    assert "kubeuser/cli/__init__.py" in expected
    missing = expected - names
    assert not missing, f"the wheel lacks {sorted(missing)}"
    assert not [n for n in names if n.startswith("tests/") or "/__pycache__/" in n]


def test_wheel_metadata(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.parser.Parser().parsestr(zf.read(meta_name).decode())
    assert meta["Name"] == "kubeuser"
    assert meta["Version"] == kubeuser.__version__
    assert meta["Requires-Python"] == ">=3.10"
    assert "Apache-2.0" in (meta.get("License-Expression") or meta.get("License") or "")
    assert any(n.endswith("/LICENSE") and ".dist-info/" in n for n in names), "LICENSE is not in the wheel"
    requires = " ".join(meta.get_all("Requires-Dist") or [])
    for dep in ("typer", "rich", "cryptography", "kubernetes", "pyyaml"):
        assert dep in requires.lower()


def _script(name: str) -> list[str]:
    path = Path(sys.executable).parent / name
    if path.exists():
        return [str(path)]
    found = shutil.which(name)
    if found:
        return [found]
    pytest.skip(f"{name} is not installed next to {sys.executable} (pip install -e .)")


@pytest.mark.parametrize("script", ENTRY_POINTS)
def test_version_from_the_installed_scripts(script: str) -> None:
    proc = subprocess.run([*_script(script), "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"kubeuser {kubeuser.__version__}"


def test_kubectl_plugin_names_itself_kubectl_user() -> None:
    proc = subprocess.run([*_script("kubectl-user"), "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "kubectl user" in proc.stdout


def test_python_dash_m_kubeuser() -> None:
    proc = subprocess.run([sys.executable, "-m", "kubeuser", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"kubeuser {kubeuser.__version__}"


def test_help_of_every_command_does_not_import_kubernetes() -> None:
    """`--help` (and completion) must stay fast: the kubernetes client is imported only to talk to a cluster."""
    code = textwrap.dedent(
        """
        import contextlib, io, json, sys
        import typer, typer.main
        from kubeuser.cli import main
        from kubeuser.cli.app import app

        def walk(cmd, path):
            yield path
            if hasattr(cmd, "list_commands"):  # a group: ask it as click does (the root builds lazily)
                ctx = typer.Context(cmd, info_name=cmd.name)
                for name in sorted(cmd.list_commands(ctx)):
                    yield from walk(cmd.get_command(ctx, name), [*path, name])

        report = {}
        for path in walk(typer.main.get_command(app), []):
            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
                try:
                    main([*path, "--help"])
                except SystemExit as exc:
                    code = exc.code
            report[" ".join(path) or "(root)"] = {
                "exit": code,
                "usage": "Usage:" in out.getvalue(),
                "kubernetes": sorted(m for m in sys.modules if m == "kubernetes" or m.startswith("kubernetes.")),
            }
        print(json.dumps(report))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "KUBEUSER_DEBUG"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    import json

    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "(root)" in report and "create" in report, report
    for command, r in report.items():
        assert r["exit"] in (0, None), f"{command} --help exited {r['exit']}"
        assert r["usage"], f"{command} --help printed no usage"
        assert not r["kubernetes"], f"`kubeuser {command} --help` imported {r['kubernetes'][:3]}…"


def test_the_token_path_does_not_import_cryptography() -> None:
    """A token identity makes no key: what `create --auth token` loads must not pull in cryptography (~0.1 s)."""
    code = textwrap.dedent(
        """
        import sys
        import kubeuser.cli.create, kubeuser.connect, kubeuser.permissions, kubeuser.workflows.create
        from kubeuser.workflows import create
        create.plan(create.CreateOptions(name="ann", auth="token", cluster_roles=["view"]), "default")
        heavy = ("cryptography", "kubeuser.pki", "kubeuser.csrpolicy")
        print(sorted(m for m in sys.modules if m.split(".")[0] in heavy or m in heavy))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout
