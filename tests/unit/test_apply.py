"""``kubeuser apply`` over the fake gateway: plan, renew-before, prune, dry-run, out-dir, failures, parallelism."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from fake_gateway import FakeGateway

from kubeuser import connect, naming, registry, usersfile
from kubeuser.errors import ConflictError, DeniedError, ExitCode, ForbiddenError
from kubeuser.progress import RecordingReporter
from kubeuser.workflows import apply as wf

REG = "kubeuser-system"
HEAD = "apiVersion: kubeuser.io/v1alpha1\nkind: UserList\n"
WRITES = ("create_csr", "approve_csr", "create_object", "apply_object", "delete_object", "delete_csr")


def users_yaml(*users: dict[str, Any]) -> str:
    return HEAD + yaml.safe_dump({"users": list(users)}, sort_keys=False)


def user(name: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, **kw}


def pods(ns: str = "dev") -> dict[str, Any]:
    return {ns: {"rules": ["get,list:pods"]}}


def apply(env: dict[str, Any], text: str, gw: FakeGateway | None = None, **kw: Any) -> wf.ApplyResult:
    ul = usersfile.parse(text, "users.yaml")
    return wf.apply(ul, wf.ApplyOptions(**kw), connect.resolve(None, None), gw or env["gw"], RecordingReporter())


def writes(gw: FakeGateway) -> int:
    return sum(gw.calls[w] for w in WRITES)


def record(gw: FakeGateway, name: str) -> registry.UserRecord:
    found = registry.Registry(gw, REG).get(name)
    assert found is not None
    return found[0]


def by_user(res: wf.ApplyResult) -> dict[str, wf.UserOutcome]:
    return {o.user: o for o in res.outcomes}


def kubeconfig_cert(path: Path) -> x509.Certificate:
    import base64

    doc = yaml.safe_load(path.read_text())
    return x509.load_pem_x509_certificate(base64.b64decode(doc["users"][0]["user"]["client-certificate-data"]))


# --------------------------------------------------------------------------- plan (pure)


def state_with(*records: registry.UserRecord, rbac: dict[str, list[dict[str, Any]]] | None = None) -> wf.ClusterState:
    return wf.ClusterState({r.user: r for r in records}, rbac or {})


def rec(name: str, *, days_left: float, groups: list[str] | None = None, status: str = "active") -> registry.UserRecord:
    now = datetime.now(timezone.utc)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    cert = registry.CertRecord(
        serial="AA",
        not_before=(now - timedelta(days=1)).strftime(fmt),
        not_after=(now + timedelta(days=days_left)).strftime(fmt),
        issued_at=(now - timedelta(days=1)).strftime(fmt),
        issued_by="admin",
        csr_name="x",
    )
    return registry.UserRecord(name, groups or [], status, "prod", None, "dev", cert)


def plan_of(text: str, state: wf.ClusterState, **kw: Any) -> dict[str, tuple[str, str]]:
    ul = usersfile.parse(text, "users.yaml")
    return {p.user: (p.action, p.reason) for p in wf.compute_plan(ul, state, default_namespace="dev", **kw)}


def test_plan_actions() -> None:
    text = users_yaml(
        user("new"),
        user("revoked"),
        user("soon", ttl="30d"),
        user("later", ttl="30d"),
        user("expired"),
        user("regrouped", groups=["ops"]),
    )
    state = state_with(
        rec("revoked", days_left=10, status="revoked"),
        rec("soon", days_left=3),
        rec("later", days_left=20),
        rec("expired", days_left=-1),
        rec("regrouped", days_left=20, groups=["dev"]),
        rec("gone", days_left=20),
        rec("gone-revoked", days_left=20, status="revoked"),
    )
    plan = plan_of(text, state)
    assert {u: a for u, (a, _) in plan.items()} == {
        "new": "create",
        "revoked": "create",
        "soon": "renew",
        "later": "unchanged",
        "expired": "renew",
        "regrouped": "reissue",
    }
    assert plan["soon"][1].startswith("expires in ") and "within 7d" in plan["soon"][1]
    assert plan["expired"][1].startswith("expired at")
    assert "[dev] → [ops]" in plan["regrouped"][1]
    assert plan["later"][1].startswith("valid until")
    # --prune: only active records that are no longer declared
    pruned = plan_of(text, state, prune=True)
    assert pruned["gone"] == ("prune", "not declared in users.yaml") and "gone-revoked" not in pruned


def test_renew_before_is_configurable_and_capped_by_the_ttl() -> None:
    state = state_with(rec("a", days_left=10), rec("b", days_left=0.04))  # b: about an hour left
    text = users_yaml(user("a", ttl="30d"), user("b", ttl="2h"))
    assert plan_of(text, state)["a"][0] == "unchanged"
    assert plan_of(text, state, renew_before_seconds=14 * 86400)["a"][0] == "renew"
    assert plan_of(text, state, renew_before_seconds=0)["a"][0] == "unchanged"
    # a 2h user is renewed within 1h of expiry (half its ttl), not on every apply because 2h < 7d
    assert wf.renew_window(7 * 86400, 7200) == 3600
    state_b = state_with(rec("b", days_left=1.5 / 24))
    assert plan_of(text, state_b)["b"][0] == "unchanged"
    assert plan_of(text, state)["b"][0] == "renew"


def test_rbac_diff() -> None:
    spec = usersfile.parse(users_yaml(user("a", namespaces={"dev": {"rules": ["get:pods"]}})), "f").users[0]
    desired = spec.rbac_objects("dev")
    assert wf.rbac_diff(desired, desired) == []
    # server-side additions do not count; a changed rule does
    served = json.loads(json.dumps(desired))
    for o in served:
        o["metadata"]["resourceVersion"] = "7"
        o["metadata"]["uid"] = "u"
    assert wf.rbac_diff(desired, served) == []
    served[0]["rules"] = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]
    stale = {**served[1], "metadata": {**served[1]["metadata"], "name": "kubeuser:a:old"}}
    changes = wf.rbac_diff(desired, [served[0], stale])
    assert [(c.op, c.obj["kind"], c.obj["metadata"]["name"]) for c in changes] == [
        ("update", "Role", "kubeuser:a"),
        ("create", "RoleBinding", "kubeuser:a"),
        ("delete", "RoleBinding", "kubeuser:a:old"),
    ]


# --------------------------------------------------------------------------- apply


def test_create_then_unchanged_then_prune(env: dict[str, Any], tmp_path: Path) -> None:
    gw: FakeGateway = env["gw"]
    out = tmp_path / "handout"
    names = [f"u{i:02d}" for i in range(8)]
    text = users_yaml(*[user(n, groups=["dev"], namespaces=pods()) for n in names])
    res = apply(env, text, out_dir=out)
    assert res.exit_code == 0 and res.counts()["create"] == 8
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert sorted(os.listdir(out)) == [f"{n}.kubeconfig" for n in names]  # no temp files left
    for o in res.outcomes:
        f = Path(o.kubeconfig or "")
        assert f.parent == out and stat.S_IMODE(f.stat().st_mode) == 0o600
        cert = kubeconfig_cert(f)
        assert cert.subject.rfc4514_string() == f"O=dev,CN={o.user}"
        assert format(cert.serial_number, "X") == o.serial.lstrip("0") if o.serial else False
        doc = yaml.safe_load(f.read_text())
        assert doc["contexts"][0]["context"]["namespace"] == "dev"
    # no key landed under ~/.kube, and the admin kubeconfig is untouched
    assert not (env["home"] / ".kube" / "kubeuser").exists()
    assert env["kc"].read_bytes() == env["before"]
    for n in names:
        assert gw.objects[("RoleBinding", "dev", f"kubeuser:{n}")]["subjects"][0]["name"] == n

    # second apply: nothing to do, nothing written
    before = writes(gw)
    again = apply(env, text, out_dir=out)
    assert again.exit_code == 0 and {o.action for o in again.outcomes} == {"unchanged"}
    assert writes(gw) == before and all(o.kubeconfig is None for o in again.outcomes)
    assert all("no kubeconfig file" in (o.note or "") for o in again.outcomes)

    # drop 3 users: without --prune they stay, with --prune exactly those are revoked
    kept = users_yaml(*[user(n, groups=["dev"], namespaces=pods()) for n in names[3:]])
    assert {o.action for o in apply(env, kept, out_dir=out).outcomes} == {"unchanged"}
    pruned = apply(env, kept, out_dir=out, prune=True)
    assert [(o.user, o.action, o.done) for o in pruned.outcomes if o.action != "unchanged"] == [
        (n, "prune", True) for n in names[:3]
    ]
    for n in names[:3]:
        assert record(gw, n).status == "revoked"
        assert ("RoleBinding", "dev", f"kubeuser:{n}") not in gw.objects
    for n in names[3:]:
        assert record(gw, n).status == "active"
    assert "still authenticates until" in (by_user(pruned)[names[0]].note or "")


def test_dry_run_changes_nothing(env: dict[str, Any], tmp_path: Path) -> None:
    gw: FakeGateway = env["gw"]
    apply(env, users_yaml(user("a", namespaces=pods()), user("b")))
    before, kc = writes(gw), env["kc"].read_bytes()
    text = users_yaml(user("a", namespaces={"dev": {"rules": ["get,list,watch:pods"]}}), user("c"))
    res = apply(env, text, out_dir=tmp_path / "o", dry_run=True, prune=True)
    assert [(o.user, o.action, o.done) for o in res.outcomes] == [
        ("a", "update", False),
        ("c", "create", False),
        ("b", "prune", False),
    ]
    assert by_user(res)["a"].rbac == ["~ Role dev/kubeuser:a"]
    assert by_user(res)["c"].kubeconfig == str(tmp_path / "o" / "c.kubeconfig")
    assert writes(gw) == before and env["kc"].read_bytes() == kc and not (tmp_path / "o").exists()
    assert res.to_dict()["dryRun"] is True and res.to_dict()["users"][0]["status"] == "planned"


def test_merge_into_admin_kubeconfig_without_out_dir(env: dict[str, Any]) -> None:
    res = apply(env, users_yaml(user("a", namespaces=pods())))
    (o,) = res.outcomes
    assert o.kubeconfig == str(env["kc"]) and o.context == "a@prod"
    doc = yaml.safe_load(env["kc"].read_text())
    assert "a@prod" in {c["name"] for c in doc["contexts"]}
    assert (env["home"] / ".kube" / "kubeuser" / "prod" / "a" / "client.key").is_file()


def test_several_namespaces_and_cluster_wide(env: dict[str, Any], tmp_path: Path) -> None:
    gw: FakeGateway = env["gw"]
    gw.create_object({"kind": "Role", "metadata": {"name": "deployer", "namespace": "dev"}, "rules": []})  # bound below
    text = users_yaml(
        user(
            "a",
            namespaces={"dev": {"rules": ["get:pods"], "roles": ["deployer"]}, "default": {"clusterRoles": ["view"]}},
            clusterRoles=["view"],
        ),
        user("b", clusterRoles=["edit"]),
    )
    res = apply(env, text, out_dir=tmp_path / "o")
    assert res.exit_code == 0, res.to_dict()
    keys = {k for k in gw.objects if k[0] in wf.RBAC_KINDS} - {("Role", "dev", "deployer")}  # the admin's Role
    assert keys == {
        ("Role", "dev", "kubeuser:a"),
        ("RoleBinding", "dev", "kubeuser:a"),
        ("RoleBinding", "dev", "kubeuser:a:role:deployer"),
        ("RoleBinding", "default", "kubeuser:a:clusterrole:view"),
        ("ClusterRoleBinding", None, "kubeuser:a:view"),
        ("ClusterRoleBinding", None, "kubeuser:b:edit"),
    }
    a = record(gw, "a")
    assert a.namespace == "dev" and len(a.bindings) == 5
    assert (
        yaml.safe_load(Path(by_user(res)["a"].kubeconfig or "").read_text())["contexts"][0]["context"]["namespace"]
        == "dev"
    )
    # the file is the truth: drop a namespace and a ClusterRole → update deletes exactly those objects
    smaller = users_yaml(user("a", namespaces={"dev": {"rules": ["get:pods"], "roles": ["deployer"]}}),
                         user("b", clusterRoles=["edit"]))  # fmt: skip
    res = apply(env, smaller, out_dir=tmp_path / "o")
    assert [(o.user, o.action) for o in res.outcomes] == [("a", "update"), ("b", "unchanged")]
    assert sorted(by_user(res)["a"].rbac) == sorted(
        ["- RoleBinding default/kubeuser:a:clusterrole:view → ClusterRole view",
         "- ClusterRoleBinding kubeuser:a:view → ClusterRole view"]
    )  # fmt: skip
    assert ("ClusterRoleBinding", None, "kubeuser:a:view") not in gw.objects
    assert len(record(gw, "a").bindings) == 3
    assert by_user(res)["a"].kubeconfig is None  # no new key


def test_renew_and_reissue(env: dict[str, Any], tmp_path: Path) -> None:
    gw: FakeGateway = env["gw"]
    out = tmp_path / "o"
    gw.max_duration = 3 * 86400  # the signer cuts certificates to 3 days: within --renew-before 7d
    first = apply(env, users_yaml(user("a", namespaces=pods()), user("b", groups=["dev"])), out_dir=out)
    assert first.exit_code == 0
    gw.max_duration = 365 * 86400
    text = users_yaml(user("a", namespaces={"dev": {"rules": ["get,list,watch:pods"]}}), user("b", groups=["ops"]))
    with pytest.raises(ConflictError, match="2 kubeconfig file"):  # the old handouts are in the way
        apply(env, text, out_dir=out)
    res = apply(env, text, out_dir=out, force_out=True)
    a, b = res.outcomes
    assert (a.action, b.action) == ("renew", "reissue") and res.exit_code == 0
    assert a.serial != first.outcomes[0].serial and b.serial != first.outcomes[1].serial
    assert gw.objects[("Role", "dev", "kubeuser:a")]["rules"][0]["verbs"] == ["get", "list", "watch"]
    assert kubeconfig_cert(out / "b.kubeconfig").subject.rfc4514_string() == "O=ops,CN=b"
    assert f"previous certificate {first.outcomes[1].serial} (groups [dev]) still authenticates" in (b.note or "")
    rec_a = record(gw, "a")
    assert rec_a.certificate.serial == a.serial and len(rec_a.history) == 1
    assert record(gw, "b").groups == ["ops"]
    assert not (env["home"] / ".kube" / "kubeuser").exists()  # renew wrote no key files either
    assert {o.action for o in apply(env, text, out_dir=out).outcomes} == {"unchanged"}


def test_one_failure_does_not_stop_the_others(env: dict[str, Any], tmp_path: Path) -> None:
    class Flaky(FakeGateway):
        def create_csr(self, manifest: dict[str, Any]) -> dict[str, Any]:
            if manifest["metadata"]["annotations"][naming.USER_ANNOTATION] == "bad":
                raise DeniedError("the CSR of bad was denied")
            return super().create_csr(manifest)

    gw = Flaky()
    from workflow_env import write_admin_kubeconfig

    write_admin_kubeconfig(env["kc"], gw.ca_pem)
    text = users_yaml(
        user("a"), user("bad"), user("c", namespaces=pods("nope")), user("d", namespaces=pods()), user("e")
    )
    res = apply(env, text, gw, out_dir=tmp_path / "o")
    o = by_user(res)
    assert [u for u, x in o.items() if x.done] == ["a", "d", "e"]
    assert o["bad"].failed and o["bad"].exit_code == ExitCode.DENIED
    assert o["c"].failed and o["c"].exit_code == ExitCode.NOT_FOUND and "'nope'" in (o["c"].error or "")
    assert res.exit_code == ExitCode.DENIED  # the first failure in file order
    assert sorted(os.listdir(tmp_path / "o")) == ["a.kubeconfig", "d.kubeconfig", "e.kubeconfig"]
    assert registry.Registry(gw, REG).get("bad") is None and not gw.csrs.get("bad")
    # the next run only retries what failed
    again = apply(env, users_yaml(user("a"), user("bad"), user("d", namespaces=pods()), user("e")), gw,
                  out_dir=tmp_path / "o2")  # fmt: skip
    assert [(x.user, x.action) for x in again.outcomes if x.action != "unchanged"] == [("bad", "create")]


def test_forbidden_preflight_stops_everything(env: dict[str, Any]) -> None:
    gw = FakeGateway(deny={"create rolebindings"})
    from workflow_env import write_admin_kubeconfig

    write_admin_kubeconfig(env["kc"], gw.ca_pem)
    with pytest.raises(ForbiddenError):
        apply(env, users_yaml(user("a", namespaces=pods())), gw)
    assert writes(gw) == 0
    # --dry-run warns instead
    res = apply(env, users_yaml(user("a", namespaces=pods())), gw, dry_run=True)
    assert res.outcomes[0].action == "create"


class Concurrent(FakeGateway):
    """A fake that is safe to call from many threads (one lock around each call) and measures overlap."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.lock = threading.RLock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.threads: set[str] = set()

    def wait_for_certificate(self, name: str, timeout: float) -> bytes:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.threads.add(threading.current_thread().name)
        time.sleep(0.05)  # the signer takes a while; other users proceed meanwhile
        with self.lock:
            self.in_flight -= 1
            return super().wait_for_certificate(name, timeout)


def _locked(name: str) -> Any:
    def method(self: Concurrent, *a: Any, **k: Any) -> Any:
        with self._root.lock:  # type: ignore[attr-defined]
            return getattr(FakeGateway, name)(self, *a, **k)

    return method


for _name in ("version", "create_csr", "approve_csr", "get_csr", "delete_csr", "list_csrs", "create_object",
              "apply_object", "get_object", "list_objects", "delete_object", "whoami", "can_i", "rules_review",
              "subject_can_i", "as_certificate"):  # fmt: skip
    setattr(Concurrent, _name, _locked(_name))


def test_parallel_over_one_gateway(env: dict[str, Any], tmp_path: Path) -> None:
    gw = Concurrent()
    from workflow_env import write_admin_kubeconfig

    write_admin_kubeconfig(env["kc"], gw.ca_pem)
    names = [f"p{i:02d}" for i in range(12)]
    text = users_yaml(*[user(n, namespaces=pods()) for n in names])
    res = apply(env, text, gw, out_dir=tmp_path / "o", parallel=4)
    assert res.exit_code == 0 and res.counts()["create"] == 12
    assert 2 <= gw.max_in_flight <= 4 and len(gw.threads) > 1
    # the permission preflight ran once for all users (3 CSR checks, registry, Role, RoleBinding)
    assert gw.calls["can_i"] == 6
    # the admin identity was asked once (the other whoami calls prove each new certificate)
    assert gw.calls["whoami"] == 1 + 12
    assert gw.calls["create_csr"] == 12 and len(os.listdir(tmp_path / "o")) == 12
    # sequential gives the same result
    res1 = apply(env, text.replace("p0", "q0").replace("p1", "q1"), gw, out_dir=tmp_path / "o1", parallel=1)
    assert res1.exit_code == 0 and res1.counts()["create"] == 12


def test_parallel_is_bounded(env: dict[str, Any]) -> None:
    with pytest.raises(Exception, match="--parallel"):
        apply(env, users_yaml(user("a")), parallel=0)


# --------------------------------------------------------------------------- the command line


def test_cli_schema_error_exit_2_nothing_touched(cli: Any, env: dict[str, Any], tmp_path: Path) -> None:
    f = tmp_path / "users.yaml"
    f.write_text(users_yaml(user("a"), user("b", ttl="abc"), user("c", namespaces={"dev": {"rules": ["x"]}})))
    code, out, err = cli("apply", "-f", str(f))
    assert code == ExitCode.USAGE and out == ""
    assert f"error: {f}:6: users[1].ttl: cannot read duration 'abc'" in err
    assert f"{f}:11: users[2].namespaces.dev.rules[0]: cannot read rule 'x'" in err
    assert sum(env["gw"].calls.values()) == 0


def test_cli_text_table_and_json(cli: Any, env: dict[str, Any], tmp_path: Path) -> None:
    f = tmp_path / "users.yaml"
    f.write_text(users_yaml(user("alice", groups=["dev"], namespaces=pods()), user("bob")))
    out_dir = tmp_path / "handout"
    code, out, err = cli("apply", "-f", str(f), "--out-dir", str(out_dir))
    assert code == 0, err
    header, row_a, row_b = out.splitlines()[:3]
    assert row_b.split()[:3] == ["bob", "created", "ok"]
    assert header.split() == ["USER", "ACTION", "STATUS", "SERIAL", "EXPIRES", "KUBECONFIG"]
    assert row_a.split()[:3] == ["alice", "created", "ok"] and row_a.endswith(str(out_dir / "alice.kubeconfig"))
    assert "2 user(s): 2 create" in out
    assert "[ok] alice: created — serial" in err and "[ok] bob: created" in err
    assert "PRIVATE KEY" not in out + err

    code, out, err = cli("apply", "-f", str(f), "--out-dir", str(out_dir), "-o", "json")
    data = json.loads(out)
    assert code == 0 and data["summary"]["unchanged"] == 2 and data["summary"]["failed"] == 0
    assert [u["action"] for u in data["users"]] == ["unchanged", "unchanged"]

    f.write_text(users_yaml(user("alice", groups=["dev"], namespaces=pods())))
    code, out, _ = cli("apply", "-f", str(f), "--prune", "--dry-run")
    assert code == 0 and "dry run: nothing was changed" in out
    assert [ln.split()[:2] for ln in out.splitlines()[1:3]] == [["alice", "unchanged"], ["bob", "prune"]]


def test_cli_failure_exit_code_and_report(cli: Any, env: dict[str, Any], tmp_path: Path) -> None:
    f = tmp_path / "users.yaml"
    f.write_text(users_yaml(user("a"), user("b", namespaces=pods("missing-ns"))))
    code, out, err = cli("apply", "-f", str(f), "--out-dir", str(tmp_path / "o"))
    assert code == ExitCode.NOT_FOUND
    assert "1 user(s) failed:" in out and "b (create): namespace 'missing-ns' does not exist" in out
    assert "[FAIL] b: create failed" in err
    assert registry.Registry(env["gw"], REG).get("a") is not None
    # each check's mark tells the truth: a missing namespace is not a pass
    assert "[FAIL] Check namespaces — missing: missing-ns" in err and "[ok] Check namespaces" not in err
    assert "[ok] Apply 1 change(s)" in err  # b failed before it; a's change went through
    code, out, err = cli("apply", "-f", str(f), "--dry-run")
    assert code == 0 and "[FAIL] Check namespaces — missing: missing-ns" in err


def test_cli_check_marks_pass_when_all_is_there(cli: Any, env: dict[str, Any], tmp_path: Path) -> None:
    f = tmp_path / "users.yaml"
    f.write_text(users_yaml(user("a", namespaces=pods("dev"))))
    code, _out, err = cli("apply", "-f", str(f), "--out-dir", str(tmp_path / "o"))
    assert code == 0, err
    assert "[ok] Check namespaces — 1 exist" in err and "[FAIL]" not in err


def test_a_failed_user_marks_the_apply_step_failed(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    gw.fail["create_csr"] = DeniedError("creating CertificateSigningRequest: boom")
    rep = RecordingReporter()
    wf.apply(usersfile.parse(users_yaml(user("a")), "users.yaml"), wf.ApplyOptions(out_dir=env["home"] / "o"),
             connect.resolve(None, None), gw, rep)  # fmt: skip
    step = next(s for s in rep.steps if s.title.startswith("Apply "))
    assert step.failed and step.detail == "0 done, 1 FAILED"
    assert not next(s for s in rep.steps if s.title == "Check permissions").failed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--parallel", "0"], "--parallel"),
        (["--renew-before", "soon"], "--renew-before"),
        (["-o", "xml"], "output format"),
    ],
)
def test_cli_bad_flags(cli: Any, tmp_path: Path, args: list[str], message: str) -> None:
    f = tmp_path / "users.yaml"
    f.write_text(users_yaml(user("a")))
    code, _, err = cli("apply", "-f", str(f), *args)
    assert code == ExitCode.USAGE and message in err


def test_partial_failures_keep_the_handout_consistent(
    env: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class NoDefault(FakeGateway):
        broken = True

        def create_object(self, obj: dict[str, Any]) -> dict[str, Any]:
            if self.broken and obj["kind"] == "RoleBinding" and obj["metadata"].get("namespace") == "default":
                raise ForbiddenError("rolebindings in default: forbidden")
            return super().create_object(obj)

    gw = NoDefault()
    from workflow_env import write_admin_kubeconfig

    write_admin_kubeconfig(env["kc"], gw.ca_pem)
    out = tmp_path / "o"
    text = users_yaml(user("a", namespaces={"dev": {"rules": ["get:pods"]}, "default": {"clusterRoles": ["view"]}}))
    # granting the second namespace fails: one commit point, so the user is not onboarded at all
    (o,) = apply(env, text, gw, out_dir=out).outcomes
    assert o.failed and o.exit_code == ExitCode.FORBIDDEN and "undone" in (o.hint or "")
    assert not (out / "a.kubeconfig").exists() and registry.Registry(gw, REG).get("a") is None
    assert not [k for k in gw.objects if k[0] in ("Role", "RoleBinding")]  # the dev grant was undone too
    gw.broken = False
    (o,) = apply(env, text, gw, out_dir=out).outcomes
    assert (o.action, o.done) == ("create", True) and (out / "a.kubeconfig").is_file()
    assert sorted(o.rbac) == sorted(["Role dev/kubeuser:a", "RoleBinding dev/kubeuser:a → Role kubeuser:a",
                                     "RoleBinding default/kubeuser:a:clusterrole:view → ClusterRole view"])  # fmt: skip

    # the new key cannot be written: the user is revoked again, so the next apply creates it anew
    def full(tmp: Path, final: Path, force: bool) -> None:
        raise OSError(28, "No space left on device")

    real_move = wf._move
    monkeypatch.setattr(wf, "_move", full)
    (o,) = apply(env, users_yaml(user("b")), gw, out_dir=out).outcomes
    assert o.failed and "cannot write" in (o.error or "") and "revoked again" in (o.hint or "")
    assert record(gw, "b").status == "revoked" and not (out / "b.kubeconfig").exists()
    assert sorted(os.listdir(out)) == ["a.kubeconfig"]  # no temp file left behind
    monkeypatch.setattr(wf, "_move", real_move)
    (o,) = apply(env, users_yaml(user("b")), gw, out_dir=out).outcomes
    assert (o.action, o.done) == ("create", True) and (out / "b.kubeconfig").is_file()
