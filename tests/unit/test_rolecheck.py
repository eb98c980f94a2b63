"""Binding a Role/ClusterRole that does not exist is an error before anything is created (exit 10, with
the closest existing names), a warning with --allow-missing-roles / allowMissingRoles, and a warning when
reading roles is forbidden: the module over the fake gateway, then create, run and apply."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_gateway import FakeGateway
from workflow_env import run as create_user

from kubeuser import connect, rbac, registry, rolecheck, usersfile
from kubeuser.errors import ExitCode, NotFoundError
from kubeuser.progress import RecordingReporter
from kubeuser.workflows import apply as applywf

REG = "kubeuser-system"
HEAD = "apiVersion: kubeuser.io/v1alpha1\nkind: UserList\n"
WRITES = ("create_csr", "approve_csr", "create_object", "apply_object", "delete_object", "delete_csr")


def add_role(gw: FakeGateway, name: str, namespace: str = "dev") -> None:
    gw.create_object({"apiVersion": rbac.RBAC_API, "kind": "Role", "metadata": {"name": name, "namespace": namespace},
                      "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]}]})  # fmt: skip


def objects(roles: list[str] = [], cluster_roles: list[str] = [], rules: list[str] = []) -> list[dict[str, Any]]:  # noqa: B006
    return rbac.objects_for("x", [], rbac.build_request("dev", rules, roles, cluster_roles))


def writes(gw: FakeGateway) -> int:
    return sum(gw.calls[w] for w in WRITES)


def users_yaml(*users: dict[str, Any]) -> str:
    return HEAD + yaml.safe_dump({"users": list(users)}, sort_keys=False)


def apply(env: dict[str, Any], text: str, **kw: Any) -> tuple[applywf.ApplyResult, RecordingReporter]:
    rep = RecordingReporter()
    res = applywf.apply(
        usersfile.parse(text, "users.yaml"), applywf.ApplyOptions(**kw), connect.resolve(None, None), env["gw"], rep
    )
    return res, rep


def nothing_of(gw: FakeGateway, user: str) -> bool:
    """No CSR, no RBAC object and no registry record of ``user``."""
    csrs = [c for c in gw.csrs.values() if c["metadata"]["labels"].get("kubeuser.io/user") == user]
    objs = [
        k for k, o in gw.objects.items() if (o["metadata"].get("annotations") or {}).get("kubeuser.io/user") == user
    ]
    return not csrs and not objs and registry.Registry(gw, REG).get(user) is None


# --------------------------------------------------------------------------- the module


def test_missing_roles_get_the_closest_existing_names() -> None:
    gw = FakeGateway()
    add_role(gw, "deployer")
    add_role(gw, "reader")
    rc = rolecheck.check(gw, objects(["deploryer", "reader"], ["veiw", "edit"], ["get:pods"]))
    # the Role kubeuser:x that --rule creates is not looked up; existing ones are not missing
    assert [r.describe() for r in rc.refs] == [
        "Role 'deploryer' in namespace 'dev'",
        "Role 'reader' in namespace 'dev'",
        "ClusterRole 'veiw'",
        "ClusterRole 'edit'",
    ]
    assert {m.ref.name: m.suggestions for m in rc.missing.values()} == {
        "deploryer": ("Role 'deployer'",),
        "veiw": ("ClusterRole 'view'",),
    }
    with pytest.raises(NotFoundError) as ei:
        rolecheck.require_roles_exist(gw, objects(["deploryer"], ["veiw"]))
    assert ei.value.exit_code == ExitCode.NOT_FOUND
    assert ei.value.message == "Role 'deploryer' in namespace 'dev' and ClusterRole 'veiw' do not exist"
    assert (ei.value.hint or "").startswith(
        "did you mean Role 'deployer' for 'deploryer'; ClusterRole 'view' for 'veiw'? fix the name or create the role"
    )
    assert "--allow-missing-roles" in (ei.value.hint or "") and (ei.value.hint or "").endswith("nothing was created")


def test_a_role_named_like_a_clusterrole_points_at_the_clusterrole() -> None:
    gw = FakeGateway()
    rc = rolecheck.check(gw, objects(["view"]))
    (m,) = rc.missing.values()
    assert m.suggestions == ("ClusterRole 'view'",)


def test_no_suggestion_when_nothing_is_close() -> None:
    gw = FakeGateway()
    with pytest.raises(NotFoundError) as ei:
        rolecheck.require_roles_exist(gw, objects(cluster_roles=["qqqqqq"]))
    assert ei.value.message == "ClusterRole 'qqqqqq' does not exist"
    assert "did you mean" not in (ei.value.hint or "")


def test_only_rules_reads_nothing() -> None:
    gw = FakeGateway()
    assert rolecheck.require_roles_exist(gw, objects(rules=["get:pods"])) == []
    assert gw.calls["get_object"] == 0 and gw.calls["list_objects"] == 0


def test_allowed_missing_roles_are_a_warning() -> None:
    gw = FakeGateway()
    rep = RecordingReporter()
    warnings = rolecheck.require_roles_exist(gw, objects(["later"]), allow_missing=True, reporter=rep)
    assert warnings == ["Role 'later' in namespace 'dev' does not exist (yet): bound anyway; the binding grants "
                        "nothing until it exists"]  # fmt: skip
    assert rep.warnings == warnings and rep.steps[0].title == "Check roles"


def test_forbidden_reads_are_a_warning_not_an_error() -> None:
    gw = FakeGateway(deny={"get roles", "get clusterroles"})
    warnings = rolecheck.require_roles_exist(gw, objects(["deploryer"], ["veiw"]))
    (w,) = warnings
    assert w.startswith("could not check that Role 'deploryer' in namespace 'dev' and ClusterRole 'veiw' exist (")
    assert "forbidden" in w and w.endswith("bound unchecked")


def test_forbidden_listing_keeps_the_error_without_suggestions() -> None:
    gw = FakeGateway(deny={"list clusterroles"})
    with pytest.raises(NotFoundError) as ei:
        rolecheck.require_roles_exist(gw, objects(cluster_roles=["veiw"]))
    assert ei.value.message == "ClusterRole 'veiw' does not exist" and "did you mean" not in (ei.value.hint or "")


# --------------------------------------------------------------------------- create and run


def test_create_with_missing_roles_creates_nothing(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    add_role(gw, "deployer")
    before = writes(gw)
    with pytest.raises(NotFoundError) as ei:
        create_user(env, name="x", namespace="dev", roles=["deploryer"], cluster_roles=["veiw"])
    assert "Role 'deploryer' in namespace 'dev' and ClusterRole 'veiw' do not exist" in ei.value.message
    assert writes(gw) == before and gw.calls["create_csr"] == 0 and nothing_of(gw, "x")
    assert env["kc"].read_bytes() == env["before"]
    assert not (env["home"] / ".kube" / "kubeuser").exists()


def test_create_allow_missing_roles_binds_and_warns(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    res = create_user(env, name="x", namespace="dev", roles=["later"], allow_missing_roles=True)
    assert gw.objects[("RoleBinding", "dev", "kubeuser:x:role:later")]["roleRef"]["name"] == "later"
    assert any("Role 'later' in namespace 'dev' does not exist (yet)" in w for w in res.warnings)
    assert not nothing_of(gw, "x")  # the helper the other tests rely on does see a user's objects


def test_cli_create_missing_roles(cli: Any, env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    code, out, err = cli("create", "x", "--role", "nosuchrole", "--clusterrole", "nosuchcr", "-n", "dev")
    assert code == ExitCode.NOT_FOUND and out == ""
    lines = err.splitlines()
    assert "error: Role 'nosuchrole' in namespace 'dev' and ClusterRole 'nosuchcr' do not exist" in lines
    assert [ln for ln in lines if ln.startswith("error:")] and [ln for ln in lines if ln.startswith("hint:")]
    assert nothing_of(gw, "x") and env["kc"].read_bytes() == env["before"]

    code, out, err = cli("create", "x", "--clusterrole", "nosuchcr", "-n", "dev", "--allow-missing-roles")
    assert code == 0, err
    assert "warning: ClusterRole 'nosuchcr' does not exist (yet): bound anyway" in err
    assert ("RoleBinding", "dev", "kubeuser:x:clusterrole:nosuchcr") in gw.objects


def test_cli_create_json_carries_the_warning(cli: Any, env: dict[str, Any]) -> None:
    code, out, err = cli("create", "x", "--role", "later", "-n", "dev", "--allow-missing-roles", "-o", "json")
    assert code == 0, err
    assert any("does not exist (yet)" in w for w in json.loads(out)["warnings"])


def test_cli_run_missing_role_runs_nothing(cli: Any, env: dict[str, Any], tmp_path: Path) -> None:
    gw: FakeGateway = env["gw"]
    marker = tmp_path / "ran"
    cmd = [sys.executable, "-c", f"open({str(marker)!r}, 'w').close()"]
    code, _, err = cli("run", "x", "--role", "deploryer", "-n", "dev", "--", *cmd)
    assert code == ExitCode.NOT_FOUND and "error: Role 'deploryer' in namespace 'dev' does not exist" in err
    assert not marker.exists() and nothing_of(gw, "x")
    code, _, err = cli("run", "x", "--role", "deploryer", "-n", "dev", "--allow-missing-roles", "--", *cmd)
    assert code == 0, err
    assert marker.exists() and "does not exist (yet)" in err


# --------------------------------------------------------------------------- apply


def test_apply_fails_only_the_user_with_a_missing_role(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    add_role(gw, "deployer")
    text = users_yaml(
        {"name": "a", "namespaces": {"dev": {"roles": ["deploryer"]}}},
        {"name": "b", "namespaces": {"dev": {"roles": ["deployer"]}}, "clusterRoles": ["view"]},
    )
    res, _ = apply(env, text)
    a, b = res.outcomes
    assert a.failed and a.exit_code == ExitCode.NOT_FOUND and res.exit_code == ExitCode.NOT_FOUND
    assert a.error == "Role 'deploryer' in namespace 'dev' does not exist"
    assert "did you mean Role 'deployer'" in (a.hint or "") and "allowMissingRoles: true" in (a.hint or "")
    assert nothing_of(gw, "a")
    assert b.done and not b.failed and registry.Registry(gw, REG).get("b") is not None


def test_apply_dry_run_reports_a_missing_role(env: dict[str, Any], cli: Any, tmp_path: Path) -> None:
    gw: FakeGateway = env["gw"]
    f = tmp_path / "users.yaml"
    f.write_text(users_yaml({"name": "a", "clusterRoles": ["veiw"]}, {"name": "b"}))
    before = writes(gw)
    code, out, err = cli("apply", "-f", str(f), "--dry-run")
    assert code == ExitCode.NOT_FOUND, out + err
    assert "  a: error: ClusterRole 'veiw' does not exist" in out
    assert "    hint: did you mean ClusterRole 'view' for 'veiw'?" in out
    assert "dry run: nothing was changed. Plan: 2 create; 1 would fail" in out
    assert writes(gw) == before and nothing_of(gw, "a")
    # allowed on the command line: a warning, exit 0
    code, out, err = cli("apply", "-f", str(f), "--dry-run", "--allow-missing-roles")
    assert code == 0, out + err
    assert "  a: warning: ClusterRole 'veiw' does not exist (yet)" in out


def test_apply_allow_missing_roles_per_user(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    text = users_yaml(
        {"name": "a", "namespaces": {"dev": {"roles": ["comes-later"]}}, "allowMissingRoles": True},
        {"name": "b", "namespaces": {"dev": {"roles": ["comes-later"]}}},
    )
    res, _ = apply(env, text)
    a, b = res.outcomes
    assert a.done and any("does not exist (yet)" in w for w in a.warnings)
    assert ("RoleBinding", "dev", "kubeuser:a:role:comes-later") in gw.objects
    assert b.failed and b.exit_code == ExitCode.NOT_FOUND and nothing_of(gw, "b")


def test_apply_update_to_a_missing_role_leaves_the_user_as_it_was(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    res, _ = apply(env, users_yaml({"name": "a", "clusterRoles": ["view"]}))
    assert res.exit_code == 0
    objs = {k: v for k, v in gw.objects.items() if k[0] in applywf.RBAC_KINDS}
    res, _ = apply(env, users_yaml({"name": "a", "clusterRoles": ["veiw"]}))
    (o,) = res.outcomes
    assert (o.action, o.failed, o.exit_code) == ("update", True, ExitCode.NOT_FOUND)
    assert (o.hint or "").endswith("a was left as it was")
    assert {k: v for k, v in gw.objects.items() if k[0] in applywf.RBAC_KINDS} == objs


def test_apply_forbidden_role_reads_warn_once_and_go_on(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    gw.deny = {"get clusterroles", "list clusterroles"}
    res, rep = apply(env, users_yaml({"name": "a", "clusterRoles": ["view"]}, {"name": "b", "clusterRoles": ["view"]}))
    assert res.exit_code == 0 and all(o.done for o in res.outcomes)
    assert [w for w in rep.warnings if w.startswith("could not check that ClusterRole 'view' exists")] != []
    assert len([w for w in rep.warnings if w.startswith("could not check")]) == 1


def test_users_file_allow_missing_roles_is_a_boolean() -> None:
    ul = usersfile.parse(HEAD + "users:\n  - name: a\n    allowMissingRoles: true\n  - name: b\n", "users.yaml")
    assert [u.allow_missing_roles for u in ul.users] == [True, False]
    with pytest.raises(usersfile.SchemaError) as ei:
        usersfile.parse(HEAD + "users:\n  - name: a\n    allowMissingRoles: yes please\n", "users.yaml")
    assert [str(p) for p in ei.value.problems] == [
        "users.yaml:5: users[0].allowMissingRoles: must be true or false, not str 'yes please'"
    ]


def test_batch_check_step_fails_only_when_a_user_cannot_do_without_the_role() -> None:
    gw = FakeGateway()
    batch = {"a": (objects(roles=["nosuch"]), False), "b": (objects(roles=["nosuch"]), True)}
    rep = RecordingReporter()
    errors, warnings = rolecheck.check_batch(gw, batch, reporter=rep)
    assert set(errors) == {"a"} and set(warnings) == {"b"}
    assert rep.steps[0].title == "Check roles" and rep.steps[0].failed
    rep = RecordingReporter()
    errors, warnings = rolecheck.check_batch(gw, {"b": batch["b"]}, reporter=rep)
    assert not errors and set(warnings) == {"b"} and not rep.steps[0].failed  # allowed: a warning, not a failure
