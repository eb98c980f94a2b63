"""Token identities in run, apply, cleanup and grant/ungrant, over the fake gateway (issue 16)."""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from fake_gateway import FakeGateway

from kubeuser import connect, registry
from kubeuser.errors import ExitCode
from kubeuser.progress import RecordingReporter
from kubeuser.workflows import create as createwf
from kubeuser.workflows import run as runwf

REG = "kubeuser-system"

# The child of `run`: writes the token its kubeconfig holds (and whether there is a key) to a file.
CHILD = textwrap.dedent(
    """
    import json, os, sys
    import yaml
    doc = yaml.safe_load(open(os.environ["KUBECONFIG"]))
    user = doc["users"][0]["user"]
    with open(sys.argv[1], "w") as fh:
        json.dump({"token": user.get("token"), "has_key": "client-key-data" in user}, fh)
    sys.exit(int(sys.argv[2]))
    """
)


def token_objects(gw: FakeGateway) -> list[tuple[str, str | None, str]]:
    """Every ServiceAccount and Secret in the fake cluster."""
    return sorted(k for k in gw.objects if k[0] in ("ServiceAccount", "Secret"))


def rbac_objects(gw: FakeGateway) -> list[tuple[str, str | None, str]]:
    return sorted(k for k in gw.objects if k[0] in ("Role", "RoleBinding", "ClusterRoleBinding"))


def get_record(gw: FakeGateway, name: str) -> registry.UserRecord:
    found = registry.Registry(gw, REG).get(name)
    assert found is not None
    return found[0]


# --------------------------------------------------------------------------- run --auth token


@pytest.fixture
def token_child(tmp_path: Path) -> Any:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    report = tmp_path / "report.json"

    def cmd(code: str = "0") -> list[str]:
        return [sys.executable, str(script), str(report), code]

    cmd.report = report  # type: ignore[attr-defined]
    return cmd


def run_token(env: dict[str, Any], command: list[str], gw: FakeGateway | None = None) -> runwf.RunResult:
    g = gw or env["gw"]
    opts = createwf.CreateOptions(name="ci", rules=["get,list:pods"], ttl_seconds=900, auth="token")
    return runwf.run(runwf.RunOptions(opts, command), connect.resolve(None, None), lambda: g, RecordingReporter())


@pytest.mark.parametrize("code", ["0", "5"])
def test_run_token_identity_is_dead_when_run_ends(env: dict[str, Any], token_child: Any, code: str) -> None:
    gw: FakeGateway = env["gw"]
    res = run_token(env, token_child(code))
    seen = json.loads(token_child.report.read_text())
    assert res.exit_code == int(code) and res.command_started and res.revoked and res.auth == "token"
    token = seen["token"]
    assert token and not seen["has_key"]  # a bearer token, no client key
    assert token in gw.tokens and gw.tokens[token][:2] == (REG, "ci")  # the ServiceAccount's token
    assert res.serial == gw.tokens[token][2]  # the Secret it was bound to
    # nothing is left that could keep the token alive, and no access is left either
    assert not gw.token_valid(token)
    assert token_objects(gw) == [] and rbac_objects(gw) == []
    rec = get_record(gw, "ci")
    assert rec.status == "revoked" and rec.is_token and rec.still_valid() == []
    assert env["kc"].read_bytes() == env["before"]  # the admin's kubeconfig was never touched


def test_run_token_interrupted_during_setup_leaves_nothing(env: dict[str, Any], token_child: Any) -> None:
    """SIGINT while the token is requested: create rolls back the ServiceAccount and the Secret."""

    class Interrupting(FakeGateway):
        asked = 0

        def request_token(self, namespace: str, service_account: str, body: dict[str, Any]) -> dict[str, Any]:
            assert ("ServiceAccount", namespace, service_account) in self.objects  # made before the token
            self.asked += 1
            os.kill(os.getpid(), signal.SIGINT)  # as if Ctrl-C was pressed right now
            time.sleep(0.05)
            return super().request_token(namespace, service_account, body)

    gw = Interrupting()
    from workflow_env import write_admin_kubeconfig

    write_admin_kubeconfig(env["kc"], gw.ca_pem)
    res = run_token(env, token_child("0"), gw=gw)
    assert res.exit_code == 130 and not res.command_started and not token_child.report.exists()
    assert token_objects(gw) == [] and rbac_objects(gw) == []
    assert registry.Registry(gw, REG).get("ci") is None
    assert gw.asked == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--auth", "token", "-g", "dev"], "-g/--group does not go with --auth token"),
        (["--auth", "token", "--key-type", "rsa"], "--key-type/--key-size do not go with --auth token"),
        (["--auth", "auto"], "--auth must be x509 or token for run"),
        (["--auth", "kerberos"], "--auth must be x509 or token for run"),
    ],
)
def test_cli_run_token_usage_errors_touch_nothing(cli: Any, env: dict[str, Any], args: list[str], message: str) -> None:
    code, out, err = cli("run", "ci", "--rule", "get:pods", *args, "--", "true")
    assert code == ExitCode.USAGE and out == ""
    lines = err.splitlines()
    assert lines[0].startswith("error: ") and message in lines[0]
    assert len(lines) == 2 and lines[1].startswith("hint: ")
    assert sum(env["gw"].calls.values()) == 0


def test_cli_run_token_says_what_it_runs_as(cli: Any, env: dict[str, Any], token_child: Any) -> None:
    code, _, err = cli("run", "ci", "--auth", "token", "--rule", "get:pods", "-n", "dev", "--", *token_child("0"))
    assert code == 0, err
    secret = env["gw"].tokens[json.loads(token_child.report.read_text())["token"]][2]
    assert f"as ci (token bound to Secret {secret}" in err
    assert f"ServiceAccount {REG}/ci deleted with 1 token Secret(s)" in err
    assert token_objects(env["gw"]) == []
