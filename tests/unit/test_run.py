"""``kubeuser run``: create → CMD with KUBECONFIG → revoke + temp dir removed, whatever happens to CMD."""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fake_gateway import FakeGateway
from workflow_env import run as create_user

from kubeuser import connect, registry
from kubeuser.cli import main
from kubeuser.errors import ConflictError, ExitCode, UsageError
from kubeuser.progress import RecordingReporter
from kubeuser.workflows import create as createwf
from kubeuser.workflows import run as wf

REG = "kubeuser-system"

# The child: reports what it sees (KUBECONFIG, modes, identity) to a JSON file, then obeys its arguments.
CHILD = textwrap.dedent(
    """
    import json, os, signal, stat, sys, time
    import yaml
    report, mode = sys.argv[1], sys.argv[2]
    kc = os.environ["KUBECONFIG"]
    doc = yaml.safe_load(open(kc))
    with open(report + ".tmp", "w") as fh:
        json.dump({
            "kubeconfig": kc,
            "file_mode": stat.S_IMODE(os.stat(kc).st_mode),
            "dir_mode": stat.S_IMODE(os.stat(os.path.dirname(kc)).st_mode),
            "user": doc["users"][0]["name"],
            "namespace": doc["contexts"][0]["context"].get("namespace"),
            "has_key": "client-key-data" in doc["users"][0]["user"],
        }, fh)
    os.replace(report + ".tmp", report)
    print("child output")
    sys.stdout.flush()
    if mode == "sleep":
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        time.sleep(60)
    elif mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    sys.exit(int(mode))
    """
)


@pytest.fixture
def child(tmp_path: Path) -> Any:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    report = tmp_path / "report.json"

    def cmd(mode: str) -> list[str]:
        return [sys.executable, str(script), str(report), mode]

    cmd.report = report  # type: ignore[attr-defined]
    return cmd


def do_run(env: dict[str, Any], command: list[str], gw: FakeGateway | None = None, **kw: Any) -> wf.RunResult:
    g = gw or env["gw"]
    opts = createwf.CreateOptions(**{"name": "ci", "rules": ["get,list:pods"], "ttl_seconds": 900, **kw})
    return wf.run(wf.RunOptions(opts, command), connect.resolve(None, None), lambda: g, RecordingReporter())


def assert_cleaned_up(env: dict[str, Any], name: str = "ci", tmpdir: str | None = None) -> None:
    gw: FakeGateway = env["gw"]
    found = registry.Registry(gw, REG).get(name)
    assert found is not None and found[0].status == "revoked"
    assert not [k for k in gw.objects if k[0] in ("Role", "RoleBinding", "ClusterRoleBinding")]
    assert not gw.csrs
    assert env["kc"].read_bytes() == env["before"]  # the admin's kubeconfig was never touched
    assert not (env["home"] / ".kube" / "kubeuser").exists()  # no key under ~/.kube
    if tmpdir is not None:
        assert not Path(tmpdir).exists()


def test_run_success(env: dict[str, Any], child: Any) -> None:
    res = do_run(env, child("0"))
    seen = json.loads(child.report.read_text())
    assert res.exit_code == 0 and res.command_started and res.revoked and res.tmpdir_removed
    assert seen["file_mode"] == 0o600 and seen["dir_mode"] == 0o700
    assert seen["user"] == "ci" and seen["namespace"] == "dev" and seen["has_key"]
    assert Path(seen["kubeconfig"]).name == "kubeconfig" and "kubeuser-run-" in seen["kubeconfig"]
    assert_cleaned_up(env, tmpdir=str(Path(seen["kubeconfig"]).parent))
    # create closes the new user's connection; ours is closed before CMD runs; a fresh one cleans up
    assert env["gw"].closed == 3
    assert res.serial and res.not_after


def test_run_failing_command_keeps_its_exit_code(env: dict[str, Any], child: Any) -> None:
    res = do_run(env, child("3"))
    assert res.exit_code == 3 and res.revoked
    assert_cleaned_up(env, tmpdir=str(Path(json.loads(child.report.read_text())["kubeconfig"]).parent))


def test_run_command_killed_by_a_signal(env: dict[str, Any], child: Any) -> None:
    res = do_run(env, child("kill"))
    assert res.exit_code == 128 + signal.SIGKILL and res.revoked
    assert_cleaned_up(env)


def assert_nothing_made(env: dict[str, Any], made_dirs: list[str], name: str = "ci") -> None:
    gw: FakeGateway = env["gw"]
    assert made_dirs == [] and sum(gw.calls.values()) == 0  # no temp dir, not one API call
    assert registry.Registry(gw, REG).get(name) is None and gw.csrs == {}


def test_run_command_not_found(env: dict[str, Any], made_dirs: list[str]) -> None:
    with pytest.raises(wf.CommandError) as ei:
        do_run(env, ["definitely-not-a-command-kubeuser"])
    assert ei.value.returncode == 127 and "command not found: definitely-not-a-command-kubeuser" in str(ei.value)
    assert_nothing_made(env, made_dirs)


@pytest.mark.parametrize(("kind", "code"), [("missing", 127), ("no-x-bit", 126), ("directory", 126)])
def test_run_command_path_checked_first(
    env: dict[str, Any], made_dirs: list[str], tmp_path: Path, kind: str, code: int
) -> None:
    script = tmp_path / "script.sh"
    if kind == "no-x-bit":
        script.write_text("#!/bin/sh\nexit 0\n")
        script.chmod(0o600)  # no x bit: not even root may execute it
    elif kind == "directory":
        script.mkdir()
    with pytest.raises(wf.CommandError) as ei:
        do_run(env, [str(script)])
    assert ei.value.returncode == code and str(script) in str(ei.value)
    assert_nothing_made(env, made_dirs)


def test_run_command_gone_after_the_check_is_still_cleaned_up(
    env: dict[str, Any], made_dirs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CMD may vanish between the check and its start: the user made meanwhile is revoked."""
    monkeypatch.setattr(wf, "check_command", lambda command, env: None)
    with pytest.raises(wf.CommandError) as ei:
        do_run(env, ["definitely-not-a-command-kubeuser"])
    assert ei.value.returncode == 127
    assert len(made_dirs) == 1 and not Path(made_dirs[0]).exists()
    assert_cleaned_up(env)


def test_sigterm_while_command_runs_is_forwarded_then_cleaned_up(env: dict[str, Any], child: Any) -> None:
    previous = signal.getsignal(signal.SIGTERM)

    def kill_when_started() -> None:
        deadline = time.monotonic() + 30
        while not child.report.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGTERM)

    t = threading.Thread(target=kill_when_started)
    t.start()
    t0 = time.monotonic()
    res = do_run(env, child("sleep"))
    t.join()
    assert time.monotonic() - t0 < 30  # the child did not sleep its 60 s
    assert res.exit_code == 128 + signal.SIGTERM and res.signal == signal.SIGTERM and res.revoked
    assert_cleaned_up(env, tmpdir=str(Path(json.loads(child.report.read_text())["kubeconfig"]).parent))
    assert signal.getsignal(signal.SIGTERM) == previous  # handlers only for the duration


@pytest.fixture
def made_dirs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every temp dir the run workflow makes."""
    import tempfile

    made: list[str] = []
    real = tempfile.mkdtemp

    def mkdtemp(*a: Any, **k: Any) -> str:
        path: str = real(*a, **k)
        made.append(path)
        return path

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    return made


def test_sigint_during_setup_rolls_back_and_never_starts_the_command(
    env: dict[str, Any], child: Any, made_dirs: list[str]
) -> None:
    class Interrupting(FakeGateway):
        def approve_csr(self, name: str, *, reason: str, message: str) -> dict[str, Any]:
            os.kill(os.getpid(), signal.SIGINT)  # as if Ctrl-C was pressed while the CSR is approved
            time.sleep(0.05)
            return super().approve_csr(name, reason=reason, message=message)

    gw = Interrupting()
    from workflow_env import write_admin_kubeconfig

    write_admin_kubeconfig(env["kc"], gw.ca_pem)
    env["before"] = env["kc"].read_bytes()
    res = do_run(env, child("0"), gw=gw)
    assert res.exit_code == 130 and not res.command_started and not child.report.exists()
    assert registry.Registry(gw, REG).get("ci") is None and not gw.csrs  # create rolled back
    assert not [k for k in gw.objects if k[0] in ("Role", "RoleBinding")]
    assert len(made_dirs) == 1 and not Path(made_dirs[0]).exists()


def test_existing_user_is_refused_and_left_alone(env: dict[str, Any], child: Any) -> None:
    create_user(env, name="ci", rules=["get:pods"])
    with pytest.raises(ConflictError):
        do_run(env, child("0"))
    found = registry.Registry(env["gw"], REG).get("ci")
    assert found is not None and found[0].status == "active"
    assert ("RoleBinding", "dev", "kubeuser:ci") in env["gw"].objects
    assert not child.report.exists()


def test_no_command(env: dict[str, Any]) -> None:
    with pytest.raises(UsageError, match="no command"):
        do_run(env, [])
    assert sum(env["gw"].calls.values()) == 0


def test_exit_code_of() -> None:
    assert wf.exit_code_of(0) == 0 and wf.exit_code_of(3) == 3 and wf.exit_code_of(-15) == 143


# --------------------------------------------------------------------------- the command line


@pytest.fixture
def cli(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> Any:
    gw: FakeGateway = env["gw"]
    monkeypatch.setattr(connect, "open_gateway", lambda target: gw)

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as ei:
            main(list(args))
        out, err = capfd.readouterr()
        return int(ei.value.code or 0), out, err

    return run


def test_cli_stdout_is_the_commands_and_exit_code_passes_through(cli: Any, env: dict[str, Any], child: Any) -> None:
    code, out, err = cli("run", "ci", "--rule", "get,list:pods", "-n", "dev", "--", *child("4"))
    assert code == 4
    assert out == "child output\n"  # progress went to stderr only
    assert "[ok] Write kubeconfig" in err and "revoked" in err and "exited 4" in err
    assert "PRIVATE KEY" not in out + err
    assert_cleaned_up(env)


def test_cli_not_found_is_127_with_one_error_line(cli: Any, env: dict[str, Any]) -> None:
    code, out, err = cli("run", "ci", "--", "no-such-command-kubeuser", "arg")
    assert code == 127 and out == ""
    assert err.splitlines() == [
        "error: command not found: no-such-command-kubeuser",
        "hint: nothing was created; give an executable on PATH or a path to one",
    ]
    gw: FakeGateway = env["gw"]
    assert sum(gw.calls.values()) == 0 and registry.Registry(gw, REG).get("ci") is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ttl", "5m", "--", "true"], "10-minute minimum"),
        (["--ttl", "soon", "--", "true"], "cannot read duration"),
        (["--rule", "nonsense", "--", "true"], "cannot read rule"),
        ([], "no command to run"),
        (["-g", "system:masters", "--", "true"], "system:masters"),
    ],
)
def test_cli_input_errors_touch_nothing(cli: Any, env: dict[str, Any], args: list[str], message: str) -> None:
    code, _, err = cli("run", "ci", *args)
    assert code == ExitCode.USAGE and message in err
    assert sum(env["gw"].calls.values()) == 0
