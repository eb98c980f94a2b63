"""Issue 13 over the fake gateway: kubeuser changes only what it can prove it made for that user.

The e2e suite (tests/e2e/test_ownership.py) replays each item on the real control plane; these tests
pin the rules themselves: the ownership proofs, the Access model, the transaction, format-1 records,
grant/ungrant, revoke on shared bindings, and cleanup across registries.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_gateway import FakeGateway
from workflow_env import run

from kubeuser import connect, ownership, rbac, registry
from kubeuser.errors import ConflictError, KubeuserError, NotFoundError, UsageError
from kubeuser.progress import RecordingReporter
from kubeuser.workflows import cleanup as cleanupwf
from kubeuser.workflows import grant as grantwf
from kubeuser.workflows import renew as renewwf
from kubeuser.workflows import revoke as revokewf
from kubeuser.workflows import steps

REG = registry.DEFAULT_NAMESPACE


def doc(kc: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(kc.read_text())
    return loaded


def names(kc: Path, kind: str) -> list[str]:
    return [e["name"] for e in doc(kc).get(kind) or []]


def rbac_keys(gw: FakeGateway) -> set[tuple[str, str | None, str]]:
    return {k for k in gw.objects if k[0] in ("Role", "RoleBinding", "ClusterRoleBinding")}


def record(gw: FakeGateway, user: str, reg: str = REG) -> registry.UserRecord:
    found = registry.Registry(gw, reg).get(user)
    assert found is not None
    return found[0]


def revoke(gw: FakeGateway, user: str, **kw: Any) -> revokewf.RevokeResult:
    opts = revokewf.RevokeOptions(name=user, **kw)
    return revokewf.revoke(opts, connect.resolve(None, None), gw, RecordingReporter())


def grant(gw: FakeGateway, user: str, *, remove: bool = False, **kw: Any) -> grantwf.GrantResult:
    return grantwf.change(grantwf.GrantOptions(name=user, **kw), gw, RecordingReporter(), remove=remove)


# --------------------------------------------------------------------------- the Access model


def test_access_add_remove_and_objects_round_trip() -> None:
    acc = rbac.Access.of(rbac.build_request("a", ["get:pods"], ["deployer"]), rbac.build_request("b", [], [], ["view"]))
    acc.add(rbac.build_request("a", ["get:pods"]))  # idempotent
    acc.add(rbac.build_request("x", [], [], ["edit"], cluster_wide=True))
    assert acc.describe() == [
        "rule get pods in a",
        "Role deployer in a",
        "ClusterRole view in b",
        "ClusterRole edit cluster-wide",
    ]
    objs = acc.objects("u", ["g"], "reg1")
    assert [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objs] == [
        ("Role", "a", "kubeuser:u"),
        ("RoleBinding", "a", "kubeuser:u"),
        ("RoleBinding", "a", "kubeuser:u:role:deployer"),
        ("RoleBinding", "b", "kubeuser:u:clusterrole:view"),
        ("ClusterRoleBinding", None, "kubeuser:u:edit"),
    ]
    assert all(o["metadata"]["annotations"]["kubeuser.io/registry"] == "reg1" for o in objs)
    assert all(o["metadata"]["labels"]["kubeuser.io/registry"] == "reg1" for o in objs)
    assert rbac.Access.from_objects(objs).to_dict() == acc.to_dict()
    assert rbac.Access.from_dict(json.loads(json.dumps(acc.to_dict()))).to_dict() == acc.to_dict()
    missing = acc.remove(rbac.build_request("a", [], ["deployer", "nosuch"]))
    assert missing == ["Role nosuch in a"] and "Role deployer in a" not in acc.describe()
    assert acc.remove(rbac.build_request("b", [], [], ["view"])) == []
    assert [n.namespace for n in acc.namespaces] == ["a"]  # an emptied namespace is dropped


# --------------------------------------------------------------------------- ownership proofs


def test_object_classification() -> None:
    objs = rbac.Access.of(rbac.build_request("a", ["get:pods"])).objects("zed", [], "reg2")
    role = objs[0]
    assert ownership.classify(role, "zed", "reg2") == ownership.OURS
    assert ownership.classify(role, "zed", "reg1") == ownership.OTHER_REGISTRY
    assert ownership.classify(role, "other", "reg2") == ownership.FOREIGN
    legacy = rbac.Access.of(rbac.build_request("a", ["get:pods"])).objects("zed", [])[0]  # 0.1.0: no registry
    assert ownership.classify(legacy, "zed", "reg1") == ownership.FOREIGN  # not in the record: unproven
    assert ownership.classify(legacy, "zed", "reg1", {("Role", "a", "kubeuser:zed")}) == ownership.OURS_LEGACY
    handmade = {"kind": "Role", "metadata": {"name": "kubeuser:zed", "namespace": "a"}}
    assert ownership.classify(handmade, "zed", "reg2") == ownership.FOREIGN


def test_user_entry_proof_is_the_issued_certificate(env: dict[str, Any]) -> None:
    res = run(env, rules=["get:pods"])
    rec = record(env["gw"], "user01")
    body = next(u["user"] for u in doc(env["kc"])["users"] if u["name"] == "user01@prod")
    assert ownership.user_entry_is_ours(body, "user01", rec.serials())
    assert not ownership.user_entry_is_ours(body, "user01", {"00"})  # another registry's serials
    assert not ownership.user_entry_is_ours(body, "someone", rec.serials())
    assert not ownership.user_entry_is_ours({"token": "t"}, "user01", rec.serials())
    assert not ownership.user_entry_is_ours({"client-certificate-data": "!!"}, "user01", rec.serials())
    assert res.cert.info.serial.lower() in rec.serials()


# --------------------------------------------------------------------------- item 1: foreign kubeconfig entries


@pytest.mark.parametrize("force", [False, True])
def test_create_never_overwrites_a_foreign_context(env: dict[str, Any], force: bool) -> None:
    gw: FakeGateway = env["gw"]
    with pytest.raises(ConflictError) as ei:
        run(env, name="cnx", context_name="admin@prod", force=force)
    assert "--context-name" in (ei.value.hint or "") and "--force" not in (ei.value.hint or "")
    assert env["kc"].read_bytes() == env["before"]
    assert gw.calls["create_csr"] == 0 and not rbac_keys(gw) and registry.Registry(gw, REG).get("cnx") is None


def test_create_refuses_a_default_named_context_it_did_not_write(env: dict[str, Any]) -> None:
    kc: Path = env["kc"]
    d = doc(kc)
    d["contexts"].append({"name": "u2@prod", "context": {"cluster": "prod", "user": "admin"}})
    kc.write_text(yaml.safe_dump(d))
    before = kc.read_bytes()
    with pytest.raises(ConflictError) as ei:
        run(env, name="u2", force=True)
    assert "u2@prod" in ei.value.message and "--context-name" in (ei.value.hint or "")
    assert kc.read_bytes() == before and env["gw"].calls["create_csr"] == 0


def test_force_replaces_only_kubeusers_own_entries(env: dict[str, Any]) -> None:
    first = run(env, name="u1")
    second = run(env, name="u1", force=True)
    assert first.cert.info.serial != second.cert.info.serial
    assert names(env["kc"], "users").count("u1@prod") == 1


def test_revoke_removes_only_proven_entries_and_keeps_current_context(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    kc: Path = env["kc"]
    run(env, name="u1")
    d = doc(kc)
    d["contexts"].append({"name": "extra", "context": {"cluster": "prod", "user": "u1@prod"}})
    kc.write_text(yaml.safe_dump(d))
    res = revoke(gw, "u1")
    assert "u1@prod" not in names(kc, "users") and "u1@prod" not in names(kc, "contexts")
    assert "extra" in names(kc, "contexts") and any("extra" in k for k in res.kubeconfig_kept)
    assert doc(kc)["current-context"] == "admin@prod" and "admin@prod" in names(kc, "contexts")
    assert names(kc, "clusters") == ["prod", "other"] and res.current_context_cleared is None


def test_revoke_clears_current_context_only_when_it_removed_it(env: dict[str, Any]) -> None:
    run(env, name="u1", set_current=True)
    res = revoke(env["gw"], "u1")
    assert res.current_context_cleared == "u1@prod" and doc(env["kc"])["current-context"] == ""


def test_revoke_leaves_a_user_entry_holding_someone_elses_certificate(env: dict[str, Any]) -> None:
    kc: Path = env["kc"]
    run(env, name="u1")
    d = doc(kc)
    entry = next(u for u in d["users"] if u["name"] == "u1@prod")
    d["users"].append({"name": "copy", "user": dict(entry["user"])})  # a copy of u1's credentials: also ours
    d["users"].append({"name": "foreign", "user": {"client-certificate-data": base64.b64encode(b"x").decode()}})
    kc.write_text(yaml.safe_dump(d))
    revoke(env["gw"], "u1")
    assert "copy" not in names(kc, "users") and "foreign" in names(kc, "users")


# --------------------------------------------------------------------------- item 2: registries


def test_objects_of_another_registry_are_never_touched(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    run(env, name="zed", rules=["get:pods"], registry_namespace="reg2")
    made = rbac_keys(gw)
    assert made and all(gw.objects[k]["metadata"]["annotations"]["kubeuser.io/registry"] == "reg2" for k in made)
    res = cleanupwf.cleanup(cleanupwf.CleanupOptions(delete=True, users=["zed"], registry_namespace="reg1"), gw,
                            RecordingReporter())  # fmt: skip
    assert rbac_keys(gw) == made and res.orphans == []
    reported = [r for r in res.other_registries if not r.startswith("CertificateSigningRequest")]
    assert len(reported) == len(made) and all("registry reg2" in r for r in res.other_registries)
    with pytest.raises(NotFoundError):  # nothing of reg1's to revoke
        revoke(gw, "zed", registry_namespace="reg1")
    assert rbac_keys(gw) == made
    # creating the same name in reg1 would need the same object names: a conflict, never a takeover
    with pytest.raises(ConflictError) as ei:
        run(env, name="zed", rules=["get:pods"], registry_namespace="reg1", context_name="zed-reg1")
    assert "registry reg2" in ei.value.message and rbac_keys(gw) == made
    revoke(gw, "zed", registry_namespace="reg2")
    assert rbac_keys(gw) == set()


def test_cleanup_of_0_1_0_objects_needs_every_registry_to_agree(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    legacy = rbac.Access.of(rbac.build_request("dev", ["get:pods"])).objects("old", [])
    for o in legacy:
        gw.create_object(o)
    run(env, name="old", registry_namespace="elsewhere", context_name="old-elsewhere")  # active in another registry
    res = cleanupwf.cleanup(cleanupwf.CleanupOptions(delete=True, users=["old"]), gw, RecordingReporter())
    assert {("Role", "dev", "kubeuser:old"), ("RoleBinding", "dev", "kubeuser:old")} <= rbac_keys(gw)
    assert not [o for o in res.orphans if o.kind != "CertificateSigningRequest"]
    revoke(gw, "old", registry_namespace="elsewhere")
    res = cleanupwf.cleanup(cleanupwf.CleanupOptions(delete=True, users=["old"]), gw, RecordingReporter())
    assert {(o.kind, o.name) for o in res.deleted} >= {("Role", "kubeuser:old"), ("RoleBinding", "kubeuser:old")}
    assert not rbac_keys(gw)


# --------------------------------------------------------------------------- item 4: shared bindings


def test_revoke_all_bindings_removes_just_that_subject(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    run(env, name="carol")
    gw.create_object({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "shared", "namespace": "dev"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": "carol"}, {"kind": "User", "name": "frank"}],
    })  # fmt: skip
    res = revoke(gw, "carol", all_bindings=True)
    assert res.errors == [] and res.marked_revoked
    assert gw.objects[("RoleBinding", "dev", "shared")]["subjects"] == [{"kind": "User", "name": "frank"}]
    assert record(gw, "carol").status == "revoked"


def test_a_failing_revoke_keeps_the_record_active_and_still_reports(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    run(env, name="dan", rules=["get:pods"])
    gw.fail["delete_object"] = Forbiddenish()
    res = revoke(gw, "dan")
    assert res.errors and not res.marked_revoked and record(gw, "dan").status == "active"
    assert res.still_valid  # the residual report is there
    res = revoke(gw, "dan")  # run again: completes
    assert not res.errors and record(gw, "dan").status == "revoked" and record(gw, "dan").bindings == []


def Forbiddenish() -> KubeuserError:
    from kubeuser.errors import ForbiddenError

    return ForbiddenError("cannot delete rolebindings")


# --------------------------------------------------------------------------- items 6, 7: exact access


def test_force_removes_grants_no_longer_asked_for(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    gw.base_namespaces |= {"a", "b"}
    gw.create_object({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                      "metadata": {"name": "deployer", "namespace": "a"}, "rules": []})  # fmt: skip
    run(env, name="u", rules=["get:pods"], roles=["deployer"], namespace="a")
    res = run(env, name="u", cluster_roles=["view"], namespace="b", force=True)
    assert rbac_keys(gw) == {("RoleBinding", "b", "kubeuser:u:clusterrole:view"), ("Role", "a", "deployer")}
    assert len(res.removed_grants) == 3
    assert [b.name for b in record(gw, "u").bindings] == ["kubeuser:u:clusterrole:view"]


def test_grant_and_ungrant_keep_the_certificate(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    gw.base_namespaces |= {"b"}
    first = run(env, name="g1")
    grant(gw, "g1", cluster_roles=["view"])
    grant(gw, "g1", rules=["get:secrets"], namespace="b")
    rec = record(gw, "g1")
    assert rec.certificate.serial == first.cert.info.serial and rec.history == []
    assert rec.access is not None and rec.access.describe() == ["ClusterRole view in dev", "rule get secrets in b"]
    assert rbac_keys(gw) == {("RoleBinding", "dev", "kubeuser:g1:clusterrole:view"), ("Role", "b", "kubeuser:g1"),
                             ("RoleBinding", "b", "kubeuser:g1")}  # fmt: skip
    dry = grant(gw, "g1", cluster_roles=["edit"], dry_run=True)
    assert dry.changes == ["+ RoleBinding dev/kubeuser:g1:clusterrole:edit → ClusterRole edit"]
    assert ("RoleBinding", "dev", "kubeuser:g1:clusterrole:edit") not in gw.objects
    grant(gw, "g1", remove=True, cluster_roles=["view"])
    assert ("RoleBinding", "dev", "kubeuser:g1:clusterrole:view") not in gw.objects
    with pytest.raises(NotFoundError):
        grant(gw, "g1", remove=True, roles=["nosuch"])
    grant(gw, "g1", remove=True, all=True)
    assert rbac_keys(gw) == set() and record(gw, "g1").bindings == []
    with pytest.raises(UsageError):
        grant(gw, "g1")
    with pytest.raises(NotFoundError):
        grant(gw, "nobody", cluster_roles=["view"])


# --------------------------------------------------------------------------- items 8, 9: renew


def test_renew_keeps_the_key_spec_and_reports_earlier_certificates(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    first = run(env, name="r1", key_type="rsa", key_size=3072)
    res = renewwf.renew(renewwf.RenewOptions(name="r1"), connect.resolve(None, None), gw, RecordingReporter())
    assert (res.key_type, res.key_size) == ("rsa", 3072)
    assert [c.serial for c in res.earlier_valid] == [first.cert.info.serial]
    assert any(first.cert.info.serial in w for w in res.warnings)
    rv = revoke(gw, "r1")
    assert {c.serial for c in rv.still_valid} == {first.cert.info.serial, res.cert.info.serial}


@pytest.mark.parametrize(
    ("key_type", "key_size", "want"),
    [(None, 3072, ("rsa", 3072)), ("rsa", None, ("rsa", 4096)), ("ecdsa", None, ("ecdsa", 256))],
)
def test_renew_keeps_what_is_not_given(
    env: dict[str, Any], key_type: str | None, key_size: int | None, want: tuple[str, int]
) -> None:
    run(env, name="r2", key_type="rsa", key_size=4096)
    opts = renewwf.RenewOptions(name="r2", key_type=key_type, key_size=key_size)
    res = renewwf.renew(opts, connect.resolve(None, None), env["gw"], RecordingReporter())
    assert (res.key_type, res.key_size) == want


def test_reuse_key_never_takes_a_key_of_an_earlier_certificate(env: dict[str, Any], tmp_path: Path) -> None:
    gw: FakeGateway = env["gw"]
    target = connect.resolve(None, None)
    first = tmp_path / "a.kc"
    run(env, name="h2", out=str(first))
    renewwf.renew(renewwf.RenewOptions(name="h2", out=str(tmp_path / "b.kc")), target, gw, RecordingReporter())
    kdir = steps.key_dir_for(target.ctx.cluster_name, "h2")
    assert not kdir.exists()  # a handed-out key is never copied here
    with pytest.raises(UsageError) as ei:
        renewwf.renew(
            renewwf.RenewOptions(name="h2", reuse_key=True, out=str(tmp_path / "c.kc")), target, gw, RecordingReporter()
        )
    assert "none was found" in ei.value.message and not (tmp_path / "c.kc").exists()
    # a stale key (the first handout's) put where renew looks is not reused either
    old_key = yaml.safe_load(first.read_text())["users"][0]["user"]["client-key-data"]
    kdir.mkdir(parents=True, mode=0o700)
    (kdir / "client.key").write_bytes(base64.b64decode(old_key))
    with pytest.raises(UsageError) as ei:
        renewwf.renew(
            renewwf.RenewOptions(name="h2", reuse_key=True, out=str(tmp_path / "c.kc")), target, gw, RecordingReporter()
        )
    assert "earlier certificates" in ei.value.message and not (tmp_path / "c.kc").exists()


def test_renew_of_a_handed_out_user_needs_out(env: dict[str, Any], tmp_path: Path) -> None:
    gw: FakeGateway = env["gw"]
    out = tmp_path / "h1.kubeconfig"
    run(env, name="h1", out=str(out))
    assert record(gw, "h1").delivery == registry.DELIVERY_HANDOUT
    target = connect.resolve(None, None)
    with pytest.raises(UsageError) as ei:
        renewwf.renew(renewwf.RenewOptions(name="h1"), target, gw, RecordingReporter())
    assert "--out" in ei.value.message and env["kc"].read_bytes() == env["before"]
    new = tmp_path / "h1-new.kubeconfig"
    res = renewwf.renew(renewwf.RenewOptions(name="h1", out=str(new)), target, gw, RecordingReporter())
    assert new.is_file() and res.stale_handout == str(out) and any("stale" in w for w in res.warnings)
    assert env["kc"].read_bytes() == env["before"]


# --------------------------------------------------------------------------- format-1 records


def test_a_0_1_0_record_is_migrated_on_the_next_change(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    run(env, name="old", rules=["get:pods"])
    cm = gw.objects[("ConfigMap", REG, registry.object_name("old"))]
    rec = json.loads(cm["data"][registry.RECORD_KEY])
    for key in ("access", "key_type", "key_size", "delivery", "out", "kubeconfig_user", "kubeconfig_file"):
        rec.pop(key)
    rec["format"] = 1
    cm["data"][registry.RECORD_KEY] = json.dumps(rec)
    for k in rbac_keys(gw):  # 0.1.0 objects carry no registry
        gw.objects[k]["metadata"]["annotations"].pop("kubeuser.io/registry")
        gw.objects[k]["metadata"]["labels"].pop("kubeuser.io/registry")
    old = record(gw, "old")
    assert old.migrated and old.access is None
    reporter = RecordingReporter()
    grantwf.change(grantwf.GrantOptions(name="old", cluster_roles=["view"]), gw, reporter, remove=False)
    new = record(gw, "old")
    assert not new.migrated and new.access is not None
    assert new.access.describe() == ["rule get pods in dev", "ClusterRole view in dev"]
    assert any("0.1.0" in n for n in reporter.notes)
    assert all(gw.objects[k]["metadata"]["annotations"].get("kubeuser.io/registry") == REG for k in rbac_keys(gw))


# --------------------------------------------------------------------------- the transaction


def test_transaction_undoes_in_reverse_and_names_what_is_left() -> None:
    done: list[str] = []

    def broken() -> None:
        raise OSError("disk")

    with pytest.raises(KubeuserError) as ei, steps.Transaction(RecordingReporter(), user="u") as tx:
        tx.on_undo("first", lambda: done.append("first"))
        tx.on_undo("second", broken)
        tx.on_undo("third", lambda: done.append("third"))
        raise KubeuserError("boom")
    assert done == ["third", "first"] and "left behind: second" in (ei.value.hint or "")
    with steps.Transaction(RecordingReporter(), user="u") as tx:
        tx.on_undo("x", lambda: done.append("x"))
        tx.commit()
    assert "x" not in done
