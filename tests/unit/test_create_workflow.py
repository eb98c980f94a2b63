"""The create workflow over a fake gateway: every branch that the v1.20 control plane cannot show."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from fake_gateway import FakeGateway
from workflow_env import run, write_admin_kubeconfig

from kubeuser import naming
from kubeuser.errors import (
    ConflictError,
    ExitCode,
    ForbiddenError,
    NotFoundError,
    SignerTimeoutError,
    UnauthenticatedError,
    UsageError,
)


def test_create_least_privilege_merges_kubeconfig_and_records(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    res = run(env, groups=["dev"])
    # CSR as sent: signer, usages for ECDSA, expirationSeconds, labels, annotations
    (csr,) = gw.csrs.values()
    spec = csr["spec"]
    assert spec["signerName"] == "kubernetes.io/kube-apiserver-client"
    assert sorted(spec["usages"]) == ["client auth", "digital signature"]
    assert spec["expirationSeconds"] == 30 * 86400
    assert csr["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kubeuser"
    assert csr["metadata"]["annotations"]["kubeuser.io/user"] == "user01"
    assert csr["metadata"]["name"].startswith("kubeuser-user01-")
    # the result and the certificate
    assert res.cert.info.common_name == "user01" and res.cert.info.groups == ("dev",)
    assert res.issued.lifetime.verdict == "honoured"
    assert res.rbac_objects == [] and res.access == []
    assert res.identity.username == "user01" and res.identity.method == "SelfSubjectReview"
    # kubeconfig: old entries kept, new user/context added, current-context unchanged, 0600
    doc = yaml.safe_load(env["kc"].read_text())
    assert doc["current-context"] == "admin@prod"
    assert {u["name"] for u in doc["users"]} == {"admin", "bob", "user01@prod"}
    assert {c["name"] for c in doc["contexts"]} == {"admin@prod", "bob@other", "user01@prod"}
    ctx = next(c for c in doc["contexts"] if c["name"] == "user01@prod")["context"]
    assert ctx == {"cluster": "prod", "user": "user01@prod", "namespace": "dev"}
    user = next(u for u in doc["users"] if u["name"] == "user01@prod")["user"]
    cert = x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"]))
    assert cert.serial_number == int(res.cert.info.serial, 16)
    assert stat.S_IMODE(env["kc"].stat().st_mode) == 0o600
    # key files 0600 in 0700 dirs
    assert res.key_file is not None
    assert stat.S_IMODE(os.stat(res.key_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(res.key_file)).st_mode) == 0o700
    # registry record
    rec = gw.objects[("ConfigMap", "kubeuser-system", "user-user01")]
    assert rec["metadata"]["labels"]["kubeuser.io/status"] == "active"
    assert '"serial": "' + res.cert.info.serial + '"' in rec["data"]["record.json"]
    assert "PRIVATE KEY" not in str(rec)


def test_rsa_key_gets_key_encipherment(env: dict[str, Any]) -> None:
    run(env, key_type="rsa", key_size=2048)
    (csr,) = env["gw"].csrs.values()
    assert sorted(csr["spec"]["usages"]) == ["client auth", "digital signature", "key encipherment"]


def test_rules_create_role_and_binding_and_summary(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    res = run(env, rules=["get,list,watch:pods"], cluster_roles=["view"])
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in res.rbac_objects)
    assert kinds == [
        ("Role", "kubeuser:user01"),
        ("RoleBinding", "kubeuser:user01"),
        ("RoleBinding", "kubeuser:user01:clusterrole:view"),
    ]
    assert ("Role", "dev", "kubeuser:user01") in gw.objects
    assert any(a.startswith("get,list,watch pods") for a in res.access)
    binding = gw.objects[("RoleBinding", "dev", "kubeuser:user01")]
    assert binding["subjects"] == [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "user01"}]
    assert binding["metadata"]["labels"][naming.USER_LABEL] == "user01"


def test_cluster_wide_clusterrole(env: dict[str, Any]) -> None:
    res = run(env, cluster_roles=["view"], cluster_wide=True)
    (obj,) = res.rbac_objects
    assert obj["kind"] == "ClusterRoleBinding" and "namespace" not in obj["metadata"]


def test_old_cluster_ignores_lifetime_and_whoami_falls_back(env: dict[str, Any]) -> None:
    gw = FakeGateway(version=(1, 20))
    write_admin_kubeconfig(env["kc"], gw.ca_pem)
    res = run(env, gw, ttl_seconds=3600)
    assert res.issued.lifetime.verdict == "ignored"
    assert res.issued.lifetime.granted_seconds > 364 * 86400
    assert any("ignored the requested lifetime" in w and "1.22" in w for w in res.warnings)
    assert res.identity.method == "SelfSubjectAccessReview" and res.identity.username is None


def test_signer_cap_cuts_lifetime(env: dict[str, Any]) -> None:
    gw = FakeGateway(max_duration=86400)
    write_admin_kubeconfig(env["kc"], gw.ca_pem)
    res = run(env, gw, ttl_seconds=30 * 86400)
    assert res.issued.lifetime.verdict == "cut"
    assert any("cut the requested lifetime" in w for w in res.warnings)


def test_no_signer_times_out_deletes_csr_and_changes_nothing(env: dict[str, Any]) -> None:
    gw = FakeGateway(signer=False)
    write_admin_kubeconfig(env["kc"], gw.ca_pem)
    before = env["kc"].read_bytes()
    with pytest.raises(SignerTimeoutError) as ei:
        run(env, gw, rules=["get:pods"], timeout=1)
    assert ei.value.exit_code == ExitCode.SIGNER_TIMEOUT
    assert "was deleted" in (ei.value.hint or "")
    assert gw.csrs == {} and gw.objects == {}
    assert env["kc"].read_bytes() == before


def test_missing_approve_permission_fails_before_anything(env: dict[str, Any]) -> None:
    gw = FakeGateway(deny={"approve signers"})
    write_admin_kubeconfig(env["kc"], gw.ca_pem)
    with pytest.raises(ForbiddenError) as ei:
        run(env, gw)
    assert "approve" in ei.value.message and "signers" in ei.value.message
    assert gw.calls["create_csr"] == 0


def test_existing_user_conflicts_then_force_reissues_with_history(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    first = run(env, rules=["get:pods"])
    snapshot = env["kc"].read_bytes()
    with pytest.raises(ConflictError) as ei:
        run(env, rules=["get:pods"])
    assert "--force" in (ei.value.hint or "")
    assert env["kc"].read_bytes() == snapshot
    second = run(env, rules=["get:pods"], force=True)
    assert second.cert.info.serial != first.cert.info.serial
    rec = gw.objects[("ConfigMap", "kubeuser-system", "user-user01")]["data"]["record.json"]
    assert first.cert.info.serial in rec and second.cert.info.serial in rec


def test_rbac_failure_rolls_back_everything(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    before = env["kc"].read_bytes()
    # the Role is created, then the RoleBinding fails
    orig = gw.create_object
    n = {"i": 0}

    def flaky(obj: dict[str, Any]) -> dict[str, Any]:
        n["i"] += 1
        if obj["kind"] == "RoleBinding":
            raise ForbiddenError("creating RoleBinding: forbidden")
        return orig(obj)

    gw.create_object = flaky  # type: ignore[method-assign]
    with pytest.raises(ForbiddenError) as ei:
        run(env, rules=["get:pods"])
    assert "everything this run changed was undone" in (ei.value.hint or "")
    assert gw.csrs == {}
    assert [k for k in gw.objects if k[0] in ("Role", "RoleBinding", "ConfigMap")] == []
    assert env["kc"].read_bytes() == before


def test_foreign_ca_certificate_is_rejected(env: dict[str, Any]) -> None:
    gw = FakeGateway()  # kubeconfig CA is env's gateway CA, not this one's
    with pytest.raises(Exception) as ei:
        run(env, gw)
    assert "CA" in str(ei.value) or "issued" in str(ei.value)
    assert gw.csrs == {}


def test_out_writes_standalone_and_leaves_admin_kubeconfig(env: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "handout" / "user01.kubeconfig"
    res = run(env, out=str(out), cluster_roles=["view"])
    assert env["kc"].read_bytes() == env["before"]
    doc = yaml.safe_load(out.read_text())
    assert doc["current-context"] == res.context == "user01@prod"
    assert [c["name"] for c in doc["clusters"]] == ["prod"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_out_stdout_returns_yaml(env: dict[str, Any]) -> None:
    res = run(env, out="-")
    assert res.standalone_yaml is not None
    assert yaml.safe_load(res.standalone_yaml)["users"][0]["name"] == "user01"


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"groups": ["system:masters"]}, "system:masters"),
        ({"name": "system:kube-proxy"}, "system:"),
        ({"name": ""}, "empty"),
        ({"name": "a" * 65}, "64"),
        ({"rules": ["get:pods:apps:extra"]}, "rule"),
        ({"key_type": "dsa"}, "dsa"),
        ({"cluster_wide": True, "rules": ["get:pods"]}, "--cluster-wide"),
    ],
)
def test_bad_input_changes_nothing(env: dict[str, Any], kw: dict[str, Any], needle: str) -> None:
    gw: FakeGateway = env["gw"]
    with pytest.raises(UsageError) as ei:
        run(env, **kw)
    assert needle in ei.value.message or needle in (ei.value.hint or "")
    assert sum(gw.calls.values()) == 0
    assert env["kc"].read_bytes() == env["before"]


def test_new_identity_not_accepted_is_reported(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    gw.trusts_signer = False
    with pytest.raises(UnauthenticatedError) as ei:
        run(env)
    assert "does not accept the new certificate" in ei.value.message
    assert gw.csrs == {}


def test_call_budget(env: dict[str, Any]) -> None:
    """No redundant API calls: one create with a rule stays within a fixed budget."""
    gw: FakeGateway = env["gw"]
    run(env, rules=["get,list:pods"])
    total = sum(gw.calls.values()) - gw.calls["as_certificate"]  # building a client is not a request
    assert gw.calls["version"] == 1
    assert gw.calls["create_csr"] == 1 and gw.calls["approve_csr"] == 1 and gw.calls["wait_for_certificate"] == 1
    # 20 before ownership checks; +2 GETs: each RBAC object's name is proven free (or kubeuser's) before any change
    assert total <= 22, gw.calls


def test_missing_namespace_fails_before_the_csr(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    with pytest.raises(NotFoundError) as ei:
        run(env, rules=["get:pods"], namespace="nope")
    assert "namespace 'nope' does not exist" in ei.value.message
    assert gw.calls["create_csr"] == 0 and env["kc"].read_bytes() == env["before"]
