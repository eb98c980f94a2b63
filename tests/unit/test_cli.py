"""The CLI boundary: flags → workflow → stdout (data) / stderr (progress, errors) → exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeuser.errors import ExitCode


def test_create_json_is_the_only_stdout(cli: Any, env: dict[str, Any]) -> None:
    code, out, err = cli("create", "alice", "-g", "dev", "--rule", "get,list:pods", "-o", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["user"] == "alice" and data["groups"] == ["dev"] and data["lifetime"] == "honoured"
    assert data["rbac"] == [
        {"kind": "Role", "name": "kubeuser:alice", "namespace": "dev", "roleRef": None},
        {"kind": "RoleBinding", "name": "kubeuser:alice", "namespace": "dev",
         "roleRef": {"kind": "Role", "name": "kubeuser:alice"}},
    ]  # fmt: skip
    assert data["access"] == [
        {"namespace": "dev", "verbs": ["get", "list"], "resources": ["pods"], "apiGroups": [""],
         "roleRef": {"kind": "Role", "name": "kubeuser:alice"}}
    ]  # fmt: skip
    assert data["context"] == "alice@prod" and data["kubeconfig"] == str(env["kc"])
    assert "PRIVATE KEY" not in out + err


def test_create_text_progress_on_stderr_summary_on_stdout(cli: Any) -> None:
    code, out, err = cli("create", "bob", "--ttl", "2h")
    assert code == 0, err
    assert "[ok] Approve" in err and "[ok] Write kubeconfig" in err  # plain marks when not a TTY
    assert "can authenticate but may do nothing yet" in err
    assert out.startswith("user        bob") and "context     bob@prod" in out


def test_create_yaml_output(cli: Any) -> None:
    code, out, _ = cli("create", "carol", "-o", "yaml")
    assert code == 0 and yaml.safe_load(out)["user"] == "carol"


def test_out_dash_prints_kubeconfig_only(cli: Any) -> None:
    code, out, err = cli("create", "dave", "--out", "-")
    assert code == 0
    doc = yaml.safe_load(out)
    assert doc["kind"] == "Config" and doc["current-context"] == "dave@prod"
    assert "user        dave" in err  # the summary moved to stderr


def test_dry_run_touches_nothing(cli: Any, env: dict[str, Any]) -> None:
    code, out, _ = cli("create", "erin", "--rule", "get:pods", "--dry-run")
    assert code == 0
    kinds = [d["kind"] for d in yaml.safe_load_all(out)]
    assert kinds == ["CertificateSigningRequest", "Role", "RoleBinding"]
    assert sum(env["gw"].calls.values()) == 0 and env["kc"].read_bytes() == env["before"]


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["create", "x", "-g", "system:masters"], ExitCode.USAGE, "system:masters"),
        (["create", "x", "--days", "1", "--ttl", "1h"], ExitCode.USAGE, "mutually exclusive"),
        (["create", "x", "-o", "xml"], ExitCode.USAGE, "output format"),
        (["create", "x", "--context", "nope"], ExitCode.KUBECONFIG, "nope"),
        (["create", "x", "--out", "-", "-o", "json"], ExitCode.USAGE, "stdout"),
        (["show", "ghost"], ExitCode.NOT_FOUND, "ghost"),
        (["revoke", "ghost"], ExitCode.NOT_FOUND, "ghost"),
        (["create"], ExitCode.USAGE, "missing argument"),
    ],
)
def test_errors_are_one_line_with_hint_and_code(cli: Any, args: list[str], code: int, needle: str) -> None:
    got, out, err = cli(*args)
    assert got == code, err
    assert needle in err and "Traceback" not in err and out == ""


def test_conflict_exit_code(cli: Any) -> None:
    assert cli("create", "frank")[0] == 0
    code, _, err = cli("create", "frank")
    assert code == ExitCode.CONFLICT and "--force" in err


def test_signer_timeout_exit_code(cli: Any, env: dict[str, Any]) -> None:
    env["gw"].signer = False
    code, _, err = cli("create", "gina", "--timeout", "1")
    assert code == ExitCode.SIGNER_TIMEOUT and "no certificate was issued" in err


def test_forbidden_exit_code(cli: Any, env: dict[str, Any]) -> None:
    env["gw"].deny = {"update certificatesigningrequests/approval"}
    code, _, err = cli("create", "hank")
    assert code == ExitCode.FORBIDDEN and "certificatesigningrequests/approval" in err


def test_internal_error_without_debug_is_one_line(cli: Any, env: dict[str, Any]) -> None:
    env["gw"].fail["create_csr"] = RuntimeError("boom")
    code, _, err = cli("create", "ivan")
    assert code == ExitCode.ERROR and "internal error: RuntimeError: boom" in err and "Traceback" not in err
    env["gw"].fail["create_csr"] = RuntimeError("boom")
    code, _, err = cli("create", "ivan", "--debug")
    assert code == ExitCode.ERROR and "Traceback" in err


def test_lifecycle_through_cli(cli: Any, tmp_path: Path) -> None:
    assert cli("create", "judy", "-g", "dev", "--rule", "get:pods")[0] == 0
    code, out, _ = cli("list", "-o", "json")
    assert code == 0 and [u["user"] for u in json.loads(out)["users"]] == ["judy"]
    code, out, _ = cli("list")
    assert "judy" in out and "active" in out
    code, out, _ = cli("show", "judy")
    assert code == 0 and "kubeuser:judy" in out
    code, out, _ = cli("renew", "judy", "-o", "json")
    assert code == 0 and json.loads(out)["previousSerial"] != json.loads(out)["serial"]
    code, out, _ = cli("revoke", "judy")
    assert code == 0 and "still AUTHENTICATES until" in out


@pytest.mark.parametrize(
    ("argv", "debug"),
    [
        (["create", "x", "--debug"], True),
        (["create", "x", "--traceback"], True),
        (["run", "x", "--debug", "--", "env"], True),
        (["run", "x", "--", "prog", "--debug"], False),
        (["run", "x", "--", "prog", "--traceback"], False),
        (["run", "x", "--", "prog", "--", "--debug"], False),
        (["create", "x"], False),
    ],
)
def test_debug_flag_is_read_only_before_double_dash(
    argv: list[str], debug: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubeuser.cli import _debug

    monkeypatch.delenv("KUBEUSER_DEBUG", raising=False)
    assert _debug(argv) is debug


def test_run_cmd_debug_is_not_kubeusers(cli: Any, env: dict[str, Any]) -> None:
    env["gw"].fail["create_csr"] = RuntimeError("boom")
    code, _, err = cli("run", "ivan", "--", sys.executable, "-c", "pass", "--debug")
    assert code == ExitCode.ERROR and "internal error: RuntimeError: boom" in err and "Traceback" not in err
    env["gw"].fail["create_csr"] = RuntimeError("boom")
    code, _, err = cli("run", "ivan", "--debug", "--", sys.executable, "-c", "pass")
    assert code == ExitCode.ERROR and "Traceback" in err
