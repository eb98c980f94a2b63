"""``create --auth auto``: a certificate where the cluster issues and accepts one, else a token (issue 16)."""

from __future__ import annotations

from typing import Any

import yaml
from fake_gateway import FakeGateway
from workflow_env import run

from kubeuser import registry
from kubeuser.errors import ExitCode


def test_auto_picks_a_certificate_where_the_cluster_issues_and_accepts_one(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    res = run(env, auth="auto", roles=[], cluster_roles=["view"], namespace="dev")
    assert res.auth == "x509" and res.cert.info.common_name == "user01"
    assert len(gw.csrs) == 1  # the probe's CSR was deleted; only the user's is left
    rec = registry.Registry(gw, "kubeuser-system").get("user01")
    assert rec is not None and rec[0].auth == "x509"


def test_auto_picks_a_token_where_no_certificate_is_issued(env: dict[str, Any]) -> None:
    gw = FakeGateway(signer=False)  # EKS: approved, never issued
    env["gw"] = gw
    res = run(env, auth="auto", cluster_roles=["view"], namespace="dev", timeout=1.0)
    assert res.auth == "token" and gw.csrs == {}  # the probe's CSR is gone
    (binding,) = [o for k, o in gw.objects.items() if k[0] == "RoleBinding"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "user01", "namespace": "kubeuser-system"}]
    doc = yaml.safe_load(env["kc"].read_text())
    (entry,) = [u for u in doc["users"] if u["name"].startswith("user01@")]
    assert gw.token_valid(entry["user"]["token"])


def test_auto_picks_a_token_where_the_api_server_rejects_the_certificates(env: dict[str, Any]) -> None:
    gw = FakeGateway(trusts_signer=False)  # k8s-snap: issued by a CA the API server does not trust
    env["gw"] = gw
    res = run(env, auth="auto", namespace="dev")
    assert res.auth == "token" and gw.csrs == {}


def test_cli_token_with_groups_is_a_usage_error_that_says_why(cli: Any, env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    code, out, err = cli("create", "dash", "--auth", "token", "-g", "dev")
    assert code == int(ExitCode.USAGE) and out == ""
    first, hint = err.strip().splitlines()
    assert first.startswith("error: -g/--group does not go with --auth token: a ServiceAccount's groups are fixed")
    assert hint.startswith("hint: grant the access itself")
    assert not gw.objects and not gw.csrs and gw.calls["version"] == 0  # nothing was touched


def test_cli_auth_auto_with_groups_where_only_tokens_work_changes_nothing(cli: Any, env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    gw.signer = False
    before = env["kc"].read_bytes()
    code, _out, err = cli("create", "dash", "--auth", "auto", "-g", "dev", "--timeout", "1")
    assert code == int(ExitCode.USAGE), err
    assert "-g/--group does not go with --auth token" in err
    assert not [k for k in gw.objects if k[0] in ("ServiceAccount", "Secret", "ConfigMap")] and gw.csrs == {}
    assert env["kc"].read_bytes() == before


def test_cli_unknown_auth_kind(cli: Any) -> None:
    code, _out, err = cli("create", "dash", "--auth", "kerberos")
    assert code == int(ExitCode.USAGE) and err.startswith("error: --auth must be x509, token or auto")
