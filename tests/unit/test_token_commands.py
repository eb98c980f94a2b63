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
import yaml
from fake_gateway import FakeGateway

from kubeuser import connect, registry, tokens, usersfile
from kubeuser.errors import ExitCode, ForbiddenError
from kubeuser.progress import RecordingReporter
from kubeuser.workflows import apply as applywf
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


# --------------------------------------------------------------------------- users file: auth per user

HEAD = "apiVersion: kubeuser.io/v1alpha1\nkind: UserList\n"


def users_yaml(*users: dict[str, Any]) -> str:
    return HEAD + yaml.safe_dump({"users": list(users)}, sort_keys=False)


def pods(ns: str = "dev") -> dict[str, Any]:
    return {ns: {"rules": ["get,list:pods"]}}


def test_usersfile_auth_per_user() -> None:
    ul = usersfile.parse(
        users_yaml(
            {"name": "alice", "groups": ["dev"], "namespaces": pods()},
            {"name": "dash", "auth": "token", "ttl": "8h", "namespaces": pods()},
            {"name": "carol", "auth": "X509"},
        )
    )
    assert [(u.name, u.auth) for u in ul.users] == [("alice", "x509"), ("dash", "token"), ("carol", "x509")]
    dash = ul.users[1]
    assert dash.groups == [] and dash.ttl_seconds == 8 * 3600
    subject = tokens.subject(REG, "dash")
    binding = [o for o in dash.rbac_objects("default", subject) if o["kind"] == "RoleBinding"]
    assert binding[0]["subjects"] == [subject]


@pytest.mark.parametrize(
    ("extra", "line", "message"),
    [
        ({"groups": ["dev"]}, 6, "users[0].groups: does not go with auth: token: a ServiceAccount's groups"),
        ({"keyType": "rsa"}, 6, "users[0].keyType: does not go with auth: token: a token identity has no key"),
        ({"keySize": 384}, 6, "users[0].keySize: does not go with auth: token"),
        ({"csr": "x.csr"}, 6, "users[0].csr: does not go with auth: token"),
    ],
)
def test_usersfile_token_conflicts_point_at_their_line(extra: dict[str, Any], line: int, message: str) -> None:
    with pytest.raises(usersfile.SchemaError) as ei:
        usersfile.parse(users_yaml({"name": "dash", "auth": "token", **extra}))
    (problem,) = ei.value.problems
    assert problem.line == line and message in str(problem)
    assert problem.hint and "auth: x509" in problem.hint


def test_usersfile_bad_auth_kind() -> None:
    with pytest.raises(usersfile.SchemaError) as ei:
        usersfile.parse(users_yaml({"name": "a"}, {"name": "b", "auth": "auto"}, {"name": "c", "auth": 3}))
    assert [(p.line, p.path, p.message) for p in ei.value.problems] == [
        (6, "users[1].auth", "must be x509 or token, not 'auto'"),
        (8, "users[2].auth", "must be a string, not int 3"),
    ]


def test_cli_apply_groups_with_token_is_exit_2_and_touches_nothing(
    cli: Any, env: dict[str, Any], tmp_path: Path
) -> None:
    f = tmp_path / "users.yaml"
    f.write_text(users_yaml({"name": "alice", "namespaces": pods()}, {"name": "dash", "auth": "token",
                                                                       "groups": ["ops"]}))  # fmt: skip
    assert f.read_text().splitlines()[10] == "  groups:"  # line 11
    code, out, err = cli("apply", "-f", str(f))
    assert code == ExitCode.USAGE and out == ""
    assert err.splitlines()[0] == (
        f"error: {f}:11: users[1].groups: does not go with auth: token: a ServiceAccount's groups are fixed by "
        "Kubernetes (system:serviceaccounts and system:serviceaccounts:NAMESPACE)"
    )
    assert err.splitlines()[1].startswith("hint: ")
    assert sum(env["gw"].calls.values()) == 0


# --------------------------------------------------------------------------- apply with both kinds

WRITES = ("create_csr", "approve_csr", "create_object", "apply_object", "delete_object", "delete_csr", "request_token")


def writes(gw: FakeGateway) -> int:
    return sum(gw.calls[w] for w in WRITES)


def apply(env: dict[str, Any], text: str, **kw: Any) -> applywf.ApplyResult:
    ul = usersfile.parse(text, "users.yaml")
    return applywf.apply(ul, applywf.ApplyOptions(**kw), connect.resolve(None, None), env["gw"], RecordingReporter())


def outcomes(res: applywf.ApplyResult) -> dict[str, applywf.UserOutcome]:
    return {o.user: o for o in res.outcomes}


def handout_token(path: Path) -> str:
    user = yaml.safe_load(path.read_text())["users"][0]["user"]
    assert set(user) == {"token"}  # a bearer token, nothing else
    return str(user["token"])


MIXED = users_yaml(
    {"name": "alice", "groups": ["dev"], "namespaces": pods()},
    {"name": "dash", "auth": "token", "ttl": "8h", "namespaces": {"dev": {"clusterRoles": ["view"]}}},
)


def test_apply_mixed_kinds(env: dict[str, Any], tmp_path: Path) -> None:
    gw: FakeGateway = env["gw"]
    out = tmp_path / "out"
    res = apply(env, MIXED, out_dir=out)
    assert res.exit_code == 0, [o.error for o in res.outcomes]
    o = outcomes(res)
    assert o["alice"].action == o["dash"].action == "create"
    alice, dash = get_record(gw, "alice"), get_record(gw, "dash")
    assert (alice.auth, alice.groups) == ("x509", ["dev"])
    assert (dash.auth, dash.service_account, dash.service_account_namespace) == ("token", "dash", REG)
    # the bindings name the User and the ServiceAccount
    assert gw.objects[("RoleBinding", "dev", "kubeuser:alice")]["subjects"] == [
        {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"}
    ]
    view = gw.objects[("RoleBinding", "dev", "kubeuser:dash:clusterrole:view")]
    assert view["subjects"] == [tokens.subject(REG, "dash")]
    token = handout_token(out / "dash.kubeconfig")
    assert gw.token_valid(token) and gw.tokens[token][2] == o["dash"].serial == dash.certificate.serial
    assert "client-certificate-data" in yaml.safe_load((out / "alice.kubeconfig").read_text())["users"][0]["user"]
    # the token's identity may do exactly what was granted
    as_dash = gw.as_token(token)
    assert as_dash.can_i("list", "pods", namespace="dev") and not as_dash.can_i("list", "pods", namespace="prod")

    # the same file again: nothing to do, for both kinds
    before = writes(gw)
    again = outcomes(apply(env, MIXED, out_dir=out))
    assert (again["alice"].action, again["dash"].action) == ("unchanged", "unchanged")
    assert again["dash"].note == "no new token, so no kubeconfig file"
    assert writes(gw) == before and gw.token_valid(token)

    # --prune without dash: its ServiceAccount and token Secret go, and the token with them
    pruned = outcomes(apply(env, users_yaml({"name": "alice", "groups": ["dev"], "namespaces": pods()}), prune=True))
    assert pruned["dash"].action == "prune" and pruned["dash"].done
    assert "ServiceAccount and token Secrets were deleted" in (pruned["dash"].note or "")
    assert not gw.token_valid(token) and token_objects(gw) == []


def test_apply_token_access_change_is_an_update_of_the_serviceaccount_bindings(
    env: dict[str, Any], tmp_path: Path
) -> None:
    gw: FakeGateway = env["gw"]
    apply(env, MIXED, out_dir=tmp_path / "out")
    token = handout_token(tmp_path / "out" / "dash.kubeconfig")
    changed = MIXED.replace("clusterRoles:\n      - view", "rules:\n      - get:pods")
    assert changed != MIXED
    o = outcomes(apply(env, changed, out_dir=tmp_path / "out"))["dash"]
    assert (o.action, o.done, o.note) == ("update", True, "token unchanged; no new token")
    assert ("RoleBinding", "dev", "kubeuser:dash:clusterrole:view") not in gw.objects
    assert gw.objects[("RoleBinding", "dev", "kubeuser:dash")]["subjects"] == [tokens.subject(REG, "dash")]
    assert gw.token_valid(token)  # the same token, new access
    as_dash = gw.as_token(token)
    assert as_dash.can_i("get", "pods", namespace="dev") and not as_dash.can_i("list", "pods", namespace="dev")


def test_apply_x509_to_token_is_a_reissue_and_dry_run_shows_it(env: dict[str, Any], tmp_path: Path) -> None:
    gw: FakeGateway = env["gw"]
    out = tmp_path / "out"
    apply(env, users_yaml({"name": "bob", "namespaces": pods()}), out_dir=out)
    old_serial = get_record(gw, "bob").certificate.serial
    as_token = users_yaml({"name": "bob", "auth": "token", "namespaces": pods()})

    before = writes(gw)
    planned = apply(env, as_token, out_dir=out, dry_run=True, force_out=True)
    (o,) = planned.outcomes
    assert (o.action, o.done) == ("reissue", False)
    assert o.reason == "auth x509 → token: a ServiceAccount with tokens replaces the certificate"
    assert o.rbac == ["~ RoleBinding dev/kubeuser:bob → Role kubeuser:bob"]  # its subject becomes the ServiceAccount
    assert writes(gw) == before and get_record(gw, "bob").auth == "x509" and token_objects(gw) == []

    (o,) = apply(env, as_token, out_dir=out, force_out=True).outcomes
    assert (o.action, o.done) == ("reissue", True), o.error
    rec = get_record(gw, "bob")
    assert rec.auth == "token" and rec.history[-1].serial == old_serial
    assert gw.objects[("RoleBinding", "dev", "kubeuser:bob")]["subjects"] == [tokens.subject(REG, "bob")]
    assert gw.token_valid(handout_token(out / "bob.kubeconfig"))
    assert f"previous certificate {old_serial}" in (o.note or "")  # Kubernetes cannot revoke it: said


def test_apply_token_to_x509_kills_the_old_tokens(env: dict[str, Any], tmp_path: Path) -> None:
    gw: FakeGateway = env["gw"]
    out = tmp_path / "out"
    apply(env, users_yaml({"name": "bob", "auth": "token", "namespaces": pods()}), out_dir=out)
    token = handout_token(out / "bob.kubeconfig")
    secret = get_record(gw, "bob").certificate.serial
    (o,) = apply(env, users_yaml({"name": "bob", "groups": ["dev"], "namespaces": pods()}), out_dir=out,
                 force_out=True).outcomes  # fmt: skip
    assert (o.action, o.done) == ("reissue", True), o.error
    assert o.reason == "auth token → x509: a certificate replaces the ServiceAccount and its tokens"
    assert "ServiceAccount kubeuser-system/bob and its token Secrets were deleted" in (o.note or "")
    assert not gw.token_valid(token) and token_objects(gw) == []
    rec = get_record(gw, "bob")
    assert (rec.auth, rec.groups) == ("x509", ["dev"])
    assert [(c.serial, bool(c.invalidated_at)) for c in rec.history] == [(secret, True)]
    assert rec.still_valid_earlier() == []
    assert gw.objects[("RoleBinding", "dev", "kubeuser:bob")]["subjects"][0]["kind"] == "User"


def test_apply_renews_a_token_the_server_cut_short(env: dict[str, Any], tmp_path: Path) -> None:
    """A server that caps tokens at 20 minutes: an 1h token is due for renewal (within ttl/2 of expiry) at the
    next apply, which gets a new token and kills the old one."""
    gw: FakeGateway = env["gw"]
    gw.max_token_seconds = 20 * 60
    out = tmp_path / "out"
    text = users_yaml({"name": "ci", "auth": "token", "ttl": "1h", "namespaces": pods()})
    first = apply(env, text, out_dir=out)
    assert any("cut the requested token lifetime of 1h to 20m" in w for w in first.outcomes[0].warnings)
    old = handout_token(out / "ci.kubeconfig")
    (o,) = apply(env, text, out_dir=out, force_out=True).outcomes
    assert (o.action, o.done) == ("renew", True), o.error
    assert o.reason.startswith("expires in ")
    new = handout_token(out / "ci.kubeconfig")
    assert new != old and gw.token_valid(new) and not gw.token_valid(old)


# --------------------------------------------------------------------------- cleanup: orphaned token objects


def leftover_token_objects(gw: FakeGateway, user: str, registry_ns: str = REG) -> tuple[str, str]:
    """What a token create killed after its ServiceAccount and Secret were made leaves: (sa, secret) names."""
    sa = tokens.service_account_manifest(user, REG, registry_ns)
    secret = tokens.binding_secret_manifest(user, REG, registry_ns, "kubeconfig")
    gw.objects.setdefault(("Namespace", None, REG), {"kind": "Namespace", "metadata": {"name": REG}})
    if ("ServiceAccount", REG, sa["metadata"]["name"]) not in gw.objects:
        gw.create_object(sa)
    gw.create_object(secret)
    return sa["metadata"]["name"], secret["metadata"]["name"]


def orphan_keys(out: str) -> dict[tuple[str, str | None, str], dict[str, Any]]:
    return {(o["kind"], o["namespace"], o["name"]): o for o in json.loads(out)["orphans"]}


def test_cleanup_finds_and_deletes_the_token_objects_of_a_user_without_a_record(cli: Any, env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    sa, secret = leftover_token_objects(gw, "ghost")
    # never touched: another registry's, objects without kubeuser's marks, a managed Secret of another type
    other_sa, other_secret = leftover_token_objects(gw, "stranger", registry_ns="reg-other")
    unmarked = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "plain", "namespace": REG}}
    gw.create_object(unmarked)
    no_registry = tokens.service_account_manifest("old", REG, REG)
    no_registry["metadata"]["annotations"].pop("kubeuser.io/registry")
    gw.create_object(no_registry)
    opaque = tokens.binding_secret_manifest("ghost", REG, REG, "kubeconfig")
    opaque["type"] = "Opaque"
    gw.create_object(opaque)

    code, out, err = cli("cleanup", "-o", "json")
    assert code == 0, err
    found = orphan_keys(out)
    assert set(found) == {("Secret", REG, secret), ("ServiceAccount", REG, sa)}
    assert {o["reason"] for o in found.values()} == {"user 'ghost' has no kubeuser record"}
    assert json.loads(out)["otherRegistries"] == [
        f"Secret {REG}/{other_secret} (user 'stranger' of registry reg-other)",
        f"ServiceAccount {REG}/{other_sa} (user 'stranger' of registry reg-other)",
    ]

    code, out, err = cli("cleanup", "--delete", "--min-age", "0")
    assert code == 0, err
    assert f"Secret {REG}/{secret}  (user 'ghost' has no kubeuser record)  [deleted]" in out
    assert f"ServiceAccount {REG}/{sa}  (user 'ghost' has no kubeuser record)  [deleted]" in out
    assert f"ServiceAccount {REG}/{other_sa} (user 'stranger' of registry reg-other): another registry's" in out
    assert token_objects(gw) == sorted(
        [
            ("Secret", REG, other_secret),
            ("ServiceAccount", REG, other_sa),
            ("ServiceAccount", REG, "plain"),
            ("ServiceAccount", REG, "old"),
            ("Secret", REG, opaque["metadata"]["name"]),
        ]
    )
    code, out, _ = cli("cleanup")
    assert code == 0 and out.startswith("nothing to clean up: no orphaned CSRs, RBAC objects, ServiceAccounts")


def test_cleanup_stale_token_secrets_of_an_active_user(cli: Any, env: dict[str, Any]) -> None:
    """An active token user keeps its ServiceAccount and its current token; a Secret whose token expired, or
    that no recorded token is bound to (an interrupted renew), is a leftover."""
    gw: FakeGateway = env["gw"]
    code, _, err = cli("create", "dash", "--auth", "token", "--rule", "get:pods", "--ttl", "1h")
    assert code == 0, err
    code, _, err = cli("token", "dash")  # a sign-in token: a second Secret
    assert code == 0, err
    reg = registry.Registry(gw, REG)
    found = reg.get("dash")
    assert found is not None
    rec = found[0]
    (sign_in,) = rec.sign_in_tokens
    sign_in.not_after = "2020-01-01T00:00:00Z"  # as if it expired long ago
    reg.put(rec, None)
    _, interrupted = leftover_token_objects(gw, "dash")  # a renew killed after its Secret was made

    code, out, err = cli("cleanup", "-o", "json")
    assert code == 0, err
    found_orphans = orphan_keys(out)
    assert {k: o["reason"] for k, o in found_orphans.items()} == {
        ("Secret", REG, sign_in.serial): "its token expired at 2020-01-01T00:00:00Z",
        ("Secret", REG, interrupted): "no token of user 'dash' the record knows is bound to it (left by an "
        "interrupted run)",
    }
    code, out, err = cli("cleanup", "--delete", "--min-age", "0")
    assert code == 0, err
    assert out.count("[deleted]") == 2
    assert token_objects(gw) == sorted([("Secret", REG, rec.certificate.serial), ("ServiceAccount", REG, "dash")])


def test_cleanup_serviceaccount_of_a_user_who_is_a_certificate_user_now(cli: Any, env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    code, _, err = cli("create", "bob", "--rule", "get:pods")
    assert code == 0, err
    sa, secret = leftover_token_objects(gw, "bob")
    code, out, err = cli("cleanup", "-o", "json")
    assert code == 0, err
    assert {k: o["reason"] for k, o in orphan_keys(out).items()} == {
        ("Secret", REG, secret): "no token of user 'bob' the record knows is bound to it (left by an interrupted run)",
        ("ServiceAccount", REG, sa): "user 'bob' is a certificate user now",
    }


def test_cleanup_goes_on_when_it_may_not_list_secrets(cli: Any, env: dict[str, Any], monkeypatch: Any) -> None:
    gw: FakeGateway = env["gw"]
    sa, _ = leftover_token_objects(gw, "ghost")
    real = gw.list_objects

    def list_objects(kind: str, namespace: str | None = None, label_selector: str | None = None) -> Any:
        if kind == "Secret":
            raise ForbiddenError('secrets is forbidden: User "admin" cannot list resource "secrets"')
        return real(kind, namespace, label_selector)

    monkeypatch.setattr(gw, "list_objects", list_objects)
    code, out, err = cli("cleanup")
    assert code == 0, err
    assert f"ServiceAccount {REG}/{sa}  (user 'ghost' has no kubeuser record)" in out
    assert 'not checked: Secrets: secrets is forbidden: User "admin" cannot list resource "secrets"' in out


# --------------------------------------------------------------------------- grant / ungrant


def test_grant_and_ungrant_bind_the_serviceaccount(cli: Any, env: dict[str, Any], tmp_path: Path) -> None:
    gw: FakeGateway = env["gw"]
    out = tmp_path / "dash.kubeconfig"
    code, _, err = cli("create", "dash", "--auth", "token", "-n", "dev", "--out", str(out))
    assert code == 0, err
    token = handout_token(out)
    as_dash = gw.as_token(token)
    assert not as_dash.can_i("list", "pods", namespace="dev")

    code, _, err = cli("grant", "dash", "--rule", "get,list:pods", "-n", "dev")
    assert code == 0, err
    binding = gw.objects[("RoleBinding", "dev", "kubeuser:dash")]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "dash", "namespace": REG}]
    assert binding["roleRef"]["name"] == "kubeuser:dash"
    assert as_dash.can_i("list", "pods", namespace="dev") and not as_dash.can_i("delete", "pods", namespace="dev")
    assert not gw.subject_can_i("dash", [], "list", "pods", namespace="dev")  # no User "dash" was bound
    assert [(b.kind, b.name) for b in get_record(gw, "dash").bindings] == [
        ("Role", "kubeuser:dash"),
        ("RoleBinding", "kubeuser:dash"),
    ]

    code, _, err = cli("ungrant", "dash", "--all")
    assert code == 0, err
    assert rbac_objects(gw) == [] and not as_dash.can_i("list", "pods", namespace="dev")
    assert gw.token_valid(token)  # access changes, the token stays
