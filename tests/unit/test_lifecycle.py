"""list / show / renew / revoke over the fake gateway."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from fake_gateway import FakeGateway
from workflow_env import run

from kubeuser import connect, pki
from kubeuser.errors import ConflictError, NotFoundError
from kubeuser.progress import RecordingReporter
from kubeuser.workflows import renew as renewwf
from kubeuser.workflows import revoke as revokewf
from kubeuser.workflows import users as userswf

REG = "kubeuser-system"


def group_binding(gw: FakeGateway, group: str, namespace: str = "dev") -> None:
    gw.objects[("RoleBinding", namespace, f"{group}-view")] = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": f"{group}-view", "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": group}],
    }


def kube_user_cert(kc: Path, entry: str) -> x509.Certificate | None:
    doc = yaml.safe_load(kc.read_text())
    for u in doc.get("users") or []:
        if u["name"] == entry:
            return x509.load_pem_x509_certificate(base64.b64decode(u["user"]["client-certificate-data"]))
    return None


def test_list_survives_csr_garbage_collection(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    run(env, groups=["dev"], rules=["get:pods"])
    gw.csrs.clear()  # the cluster garbage-collects CSRs about an hour after approval
    (rec,) = userswf.list_users(gw, REG)
    row = userswf.summary(rec)
    assert row["user"] == "user01" and row["effectiveStatus"] == "active"
    assert 29.9 < row["daysLeft"] <= 30
    assert [b.name for b in rec.bindings] == ["kubeuser:user01", "kubeuser:user01"]


def test_show_finds_user_and_group_bindings_and_can_i(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    run(env, groups=["dev"], rules=["get,list:pods"])
    group_binding(gw, "dev")
    res = userswf.show(gw, REG, "user01")
    vias = sorted((b.name, b.via, b.managed) for b in res.bindings)
    assert vias == [("dev-view", "group:dev", False), ("kubeuser:user01", "user", True)]
    allowed = {p.text() for p in res.permissions if p.allowed}
    assert "list pods in dev" in allowed and "get secrets in dev" not in allowed
    with pytest.raises(NotFoundError):
        userswf.show(gw, REG, "nobody")


def test_revoke_reports_residual_access_and_is_idempotent(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    created = run(env, groups=["dev"], rules=["get,list:pods"])
    group_binding(gw, "dev")
    target = connect.resolve(None, None)
    res = revokewf.revoke(revokewf.RevokeOptions("user01"), target, gw, RecordingReporter())
    assert sorted(res.deleted) == ["Role dev/kubeuser:user01", "RoleBinding dev/kubeuser:user01"]
    assert res.deleted_csrs == [created.cert.csr_name]
    assert kube_user_cert(env["kc"], "user01@prod") is None
    assert "user01@prod" not in env["kc"].read_text()
    # the truth: it still authenticates, and the group binding still grants access
    assert res.still_authenticates and res.not_after == created.cert.info.to_dict()["not_after"]
    assert [b.name for b in res.residual_bindings] == ["dev-view"]
    assert "list pods in dev" in {p.text() for p in res.still_allowed}
    d = res.to_dict()
    assert d["residual"]["certificateStillAuthenticates"] is True and d["residual"]["bindings"][0]["via"] == "group:dev"
    (rec,) = userswf.list_users(gw, REG)
    assert rec.status == "revoked" and rec.revoked_at
    # second time: nothing left to remove, still reports, no error
    again = revokewf.revoke(revokewf.RevokeOptions("user01"), connect.resolve(None, None), gw, RecordingReporter())
    assert again.already_revoked and again.deleted == [] and again.deleted_csrs == []
    with pytest.raises(NotFoundError):
        revokewf.revoke(revokewf.RevokeOptions("ghost"), target, gw, RecordingReporter())


def test_revoke_all_bindings_removes_foreign_user_bindings(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    run(env)
    gw.objects[("ClusterRoleBinding", None, "hand-made")] = {
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "hand-made"},
        "roleRef": {"kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": "user01"}, {"kind": "User", "name": "someone-else"}],
    }
    target = connect.resolve(None, None)
    plain = revokewf.revoke(revokewf.RevokeOptions("user01"), target, gw, RecordingReporter())
    assert [(b.name, b.via, b.managed) for b in plain.residual_bindings] == [("hand-made", "user", False)]
    full = revokewf.revoke(
        revokewf.RevokeOptions("user01", all_bindings=True), connect.resolve(None, None), gw, RecordingReporter()
    )
    assert full.residual_bindings == [] and full.foreign_removed
    assert gw.objects[("ClusterRoleBinding", None, "hand-made")]["subjects"] == [
        {"kind": "User", "name": "someone-else"}
    ]


def test_revoke_purge_local(env: dict[str, Any]) -> None:
    created = run(env)
    assert created.key_file and Path(created.key_file).exists()
    res = revokewf.revoke(
        revokewf.RevokeOptions("user01", purge_local=True), connect.resolve(None, None), env["gw"], RecordingReporter()
    )
    assert not Path(created.key_file).exists() and created.key_file in res.local_removed


def test_renew_new_key_updates_kubeconfig_and_history(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    first = run(env, groups=["dev"], rules=["get:pods"], ttl_seconds=3600)
    res = renewwf.renew(renewwf.RenewOptions("user01"), connect.resolve(None, None), gw, RecordingReporter())
    assert res.cert.info.serial != first.cert.info.serial and res.previous_serial == first.cert.info.serial
    assert res.issued.lifetime.requested_seconds == 3600  # same lifetime as asked last time
    cert = kube_user_cert(env["kc"], "user01@prod")
    assert cert is not None and cert.serial_number == int(res.cert.info.serial, 16)
    assert pki.public_key_fingerprint(cert.public_key()) != first.cert.info.public_key_sha256
    (rec,) = userswf.list_users(gw, REG)
    assert [h.serial for h in rec.history] == [first.cert.info.serial]
    assert rec.certificate.serial == res.cert.info.serial and len(rec.bindings) == 2
    # bindings untouched
    assert ("RoleBinding", "dev", "kubeuser:user01") in gw.objects


def test_renew_reuse_key_keeps_public_key(env: dict[str, Any]) -> None:
    first = run(env)
    res = renewwf.renew(
        renewwf.RenewOptions("user01", reuse_key=True, ttl_seconds=7200),
        connect.resolve(None, None),
        env["gw"],
        RecordingReporter(),
    )
    assert res.cert.info.public_key_sha256 == first.cert.info.public_key_sha256
    assert res.key_reused


def test_renew_unknown_or_revoked(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    with pytest.raises(NotFoundError):
        renewwf.renew(renewwf.RenewOptions("nobody"), connect.resolve(None, None), gw, RecordingReporter())
    run(env)
    revokewf.revoke(revokewf.RevokeOptions("user01"), connect.resolve(None, None), gw, RecordingReporter())
    with pytest.raises(ConflictError) as ei:
        renewwf.renew(renewwf.RenewOptions("user01"), connect.resolve(None, None), gw, RecordingReporter())
    assert "revoked" in ei.value.message


def test_a_damaged_record_does_not_hide_the_others(env: dict[str, Any]) -> None:
    from kubeuser import registry
    from kubeuser.errors import KubeuserError

    gw: FakeGateway = env["gw"]
    run(env)
    run(env, name="user02")
    gw.objects[("ConfigMap", REG, "user-user01")]["data"]["record.json"] = "{not json"
    reg = registry.Registry(gw, REG)
    assert [r.user for r in reg.list()] == ["user02"]
    assert reg.unreadable == ["registry record kubeuser-system/user-user01 is unreadable (JSONDecodeError)"]
    with pytest.raises(KubeuserError) as ei:
        userswf.show(gw, REG, "user01")
    assert "unreadable" in ei.value.message and "kubectl get configmap" in (ei.value.hint or "")
