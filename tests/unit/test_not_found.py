"""What is not there is said the same way whatever else was asked: a missing namespace (with or without
grants), a missing registry namespace, a missing kubeconfig context."""

from __future__ import annotations

from typing import Any

import pytest
from fake_gateway import FakeGateway

from kubeuser import registry
from kubeuser.errors import ExitCode

NO_NS = ["error: namespace 'nosuchns' does not exist"]


@pytest.mark.parametrize(
    "grants", [[], ["--rule", "get:pods"], ["--clusterrole", "view"], ["--clusterrole", "view", "--cluster-wide"]]
)
def test_create_in_a_missing_namespace_fails_with_or_without_grants(
    cli: Any, env: dict[str, Any], grants: list[str]
) -> None:
    gw: FakeGateway = env["gw"]
    code, out, err = cli("create", "u", "-n", "nosuchns", *grants)
    assert code == ExitCode.NOT_FOUND, err
    assert out == "" and [ln for ln in err.splitlines() if ln.startswith("error:")] == NO_NS
    assert gw.csrs == {} and registry.Registry(gw, "kubeuser-system").get("u") is None
    assert gw.calls["create_csr"] == 0 and gw.calls["apply_object"] == 0
    assert env["kc"].read_bytes() == env["before"]  # no context pointing nowhere


def test_run_in_a_missing_namespace_fails_before_cmd(cli: Any, env: dict[str, Any]) -> None:
    code, _, err = cli("run", "ci", "-n", "nosuchns", "--", "true")
    assert code == ExitCode.NOT_FOUND and NO_NS[0] in err and env["gw"].csrs == {}


def test_create_without_grants_where_namespaces_cannot_be_read(cli: Any, env: dict[str, Any]) -> None:
    """The registry needs namespaces read anyway: the 403 comes before a certificate, not after it."""
    env["gw"].deny = {"get namespaces"}
    code, _, err = cli("create", "u", "-n", "dev")
    assert code == ExitCode.FORBIDDEN and "namespaces" in err, err
    assert env["gw"].csrs == {} and "Submit" not in err


def test_create_without_grants_in_an_existing_namespace(cli: Any) -> None:
    code, out, err = cli("create", "u", "-n", "dev")
    assert code == 0 and "context     u@prod" in out, err


def test_list_in_a_missing_registry_namespace_is_not_found(cli: Any, env: dict[str, Any]) -> None:
    code, out, err = cli("list", "--registry-namespace", "nosuch")
    assert code == ExitCode.NOT_FOUND and out == ""
    assert err.splitlines()[0] == "error: registry namespace 'nosuch' does not exist"
    assert err.splitlines()[1].startswith("hint: ")


def test_list_in_a_missing_registry_namespace_from_the_environment(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBEUSER_REGISTRY_NAMESPACE", "nosuch")
    code, _, err = cli("list", "-o", "json")
    assert code == ExitCode.NOT_FOUND and "registry namespace 'nosuch' does not exist" in err


def test_list_in_an_empty_registry_or_before_the_first_user_says_no_users(cli: Any, env: dict[str, Any]) -> None:
    code, out, _ = cli("list")  # the default registry namespace: absent until the first create
    assert code == 0 and out.startswith("no users")
    code, out, _ = cli("list", "--registry-namespace", "dev")  # exists, holds no records
    assert code == 0 and out.startswith("no users")


def test_doctor_with_an_unknown_context_is_a_kubeconfig_error(cli: Any, env: dict[str, Any]) -> None:
    code, _, err = cli("doctor", "--context", "nosuch")
    assert code == ExitCode.KUBECONFIG, err
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "context 'nosuch' not found" in errors[0]
    assert "does not authenticate" not in err
    # the same words as any other command given that context
    code2, _, err2 = cli("list", "--context", "nosuch")
    assert code2 == ExitCode.KUBECONFIG and errors[0] in err2.splitlines()


def test_doctor_without_a_kubeconfig_is_a_kubeconfig_error(cli: Any, env: dict[str, Any]) -> None:
    env["kc"].unlink()
    code, _, err = cli("doctor", "-o", "json")
    assert code == ExitCode.KUBECONFIG and "error: no kubeconfig found" in err
