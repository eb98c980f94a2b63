"""``kubeuser preflight`` and the permission checks ``create`` shares with it, over the fake gateway."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_gateway import FakeGateway
from workflow_env import write_admin_kubeconfig

from kubeuser import permissions, rbac
from kubeuser.checks import Check
from kubeuser.errors import ExitCode, ForbiddenError, KubeuserError, UnreachableError
from kubeuser.gateway import SIGNER
from kubeuser.workflows import preflight as pf

APPROVE_RULE = (
    '{apiGroups: ["certificates.k8s.io"], resources: ["signers"], '
    'resourceNames: ["kubernetes.io/kube-apiserver-client"], verbs: ["approve"]}'
)


def opts(**kw: Any) -> pf.PreflightOptions:
    base: dict[str, Any] = {"namespace": "dev", "registry_namespace": "kubeuser-system", "timeout": 1.0}
    return pf.PreflightOptions(**{**base, **kw})


def by_id(report: pf.PreflightReport) -> dict[str, Check]:
    return {c.id: c for c in report.checks}


# --------------------------------------------------------------------------- the shared permission checks


def test_messages_are_the_ones_create_always_used() -> None:
    objs = rbac.objects_for("alice", [], rbac.build_request("dev", ["get:pods"]))
    objs += rbac.objects_for("alice", [], rbac.build_request("dev", [], [], ["view"], True))
    needs = [p.needs for p in permissions.onboarding_permissions("kubeuser-system", objs)]
    assert needs == [
        "`create` on certificatesigningrequests (certificates.k8s.io)",
        "`update` on certificatesigningrequests/approval (certificates.k8s.io)",
        f"`approve` on signers (certificates.k8s.io) with resourceName {SIGNER}",
        "`create` on configmaps in namespace kubeuser-system (the kubeuser registry)",
        "`create` on roles (rbac.authorization.k8s.io) in namespace dev",
        "`create` on rolebindings (rbac.authorization.k8s.io) in namespace dev",
        "`create` on clusterrolebindings (rbac.authorization.k8s.io)",
    ]


def test_require_names_the_first_missing_and_hints_all() -> None:
    gw = FakeGateway(deny={"approve signers", "create configmaps"})
    with pytest.raises(ForbiddenError) as ei:
        permissions.require_onboarding_permissions(gw, "kubeuser-system", [])
    err = ei.value
    assert err.exit_code == ExitCode.FORBIDDEN
    assert err.message == (
        "this kubeconfig's identity may not onboard users: it lacks `approve` on signers (certificates.k8s.io) "
        f"with resourceName {SIGNER}"
    )
    assert err.hint == (
        f"missing: `approve` on signers (certificates.k8s.io) with resourceName {SIGNER}; `create` on configmaps in "
        "namespace kubeuser-system (the kubeuser registry) (kubeuser preflight lists every check)"
    )
    assert gw.calls["create_csr"] == 0


def test_require_passes_silently() -> None:
    permissions.require_onboarding_permissions(FakeGateway(), "kubeuser-system", [])


def test_permission_checks_run_in_parallel() -> None:
    gw = FakeGateway()
    active, peak = 0, 0
    lock = threading.Lock()
    orig = gw.can_i

    def slow(*a: Any, **k: Any) -> bool:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.2)
        with lock:
            active -= 1
        return orig(*a, **k)

    gw.can_i = slow  # type: ignore[method-assign]
    perms = permissions.onboarding_permissions("kubeuser-system", [])
    t0 = time.monotonic()
    assert permissions.check_permissions(gw, perms) == [True] * 4
    assert time.monotonic() - t0 < 0.6 and peak == 4


def test_rule_and_grant_are_exact() -> None:
    approve = next(p for p in permissions.csr_permissions() if p.id == "signer-approve")
    assert approve.rule() == APPROVE_RULE
    # signers is an RBAC-only resource: `kubectl create clusterrole --resource=signers…` fails, so apply a manifest
    cmd = approve.grant()
    assert cmd.startswith("echo '") and cmd.endswith("' | kubectl apply -f -")
    assert json.loads(cmd[len("echo '") : -len("' | kubectl apply -f -")]) == {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "kubeuser-signer-approve"},
        "rules": [
            {
                "apiGroups": ["certificates.k8s.io"],
                "resources": ["signers"],
                "resourceNames": [SIGNER],
                "verbs": ["approve"],
            }
        ],
    }
    approval = next(p for p in permissions.csr_permissions() if p.id == "csr-approval")
    assert approval.rule() == (
        '{apiGroups: ["certificates.k8s.io"], resources: ["certificatesigningrequests/approval"], verbs: ["update"]}'
    )
    assert "--resource=certificatesigningrequests.certificates.k8s.io/approval" in approval.grant()
    roles = permissions.rbac_permission("Role", "dev")
    assert roles.grant() == (
        "kubectl create role kubeuser-roles -n dev --verb=create --resource=roles.rbac.authorization.k8s.io"
    )
    assert "a Role in namespace dev (or a ClusterRole)" in roles.fix()
    cm = permissions.registry_permission("kubeuser-system")
    assert cm.rule() == '{apiGroups: [""], resources: ["configmaps"], verbs: ["create"]}'
    assert cm.grant() == "kubectl create role kubeuser-registry -n kubeuser-system --verb=create --resource=configmaps"


# --------------------------------------------------------------------------- the full preflight


def test_all_pass_on_a_modern_cluster() -> None:
    gw = FakeGateway(version=(1, 30))
    sent: list[dict[str, Any]] = []
    orig = gw.create_csr

    def spy(manifest: dict[str, Any]) -> dict[str, Any]:
        sent.append(manifest)
        return orig(manifest)

    gw.create_csr = spy  # type: ignore[method-assign]
    gw.create_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubeuser-system"}})
    report = pf.run(gw, opts(ca_pem=gw.ca_pem, context="admin@prod"))
    checks = by_id(report)
    assert list(checks) == [
        "connect",
        "csr-create",
        "csr-approval",
        "signer-approve",
        "serviceaccount-create",
        "secret-create",
        "token-create",
        "roles",
        "rolebindings",
        "clusterrolebindings",
        "registry",
        "registry-namespace",
        "signer",
        "cert-authenticates",
        "token-request",
        "auth-kinds",
        "expiration-seconds",
        "selfsubjectreview",
    ]
    assert all(c.status == "pass" for c in report.checks), [c for c in report.checks if c.status != "pass"]
    assert report.ok and report.identity == "admin" and report.server_version == "v1.30.0"
    assert "as admin (server says)" in checks["connect"].detail
    # the throwaway CSR: fresh ECDSA key, CN kubeuser-preflight-<random>, 600 s, and gone afterwards
    (manifest,) = sent
    assert manifest["spec"]["expirationSeconds"] == 600
    assert manifest["spec"]["usages"] == ["digital signature", "client auth"]
    assert manifest["metadata"]["annotations"]["kubeuser.io/user"].startswith("kubeuser-preflight-")
    assert gw.csrs == {} and gw.calls["delete_csr"] == 1
    assert "deleted" in checks["signer"].detail and "CN=fake-cluster-ca" in checks["signer"].detail
    # and the API server accepts what the signer issued: the throwaway certificate signs in as itself
    user = manifest["metadata"]["annotations"]["kubeuser.io/user"]
    assert checks["cert-authenticates"].detail == f"{user} signs in with it: server says: {user}"
    assert not checks["cert-authenticates"].required and gw.calls["as_certificate"] == 1  # --auth auto: either kind
    assert checks["auth-kinds"].detail == (
        "client certificates (x509) and ServiceAccount tokens; `--auth auto` picks x509"
    )
    assert checks[
        "auth-kinds"
    ].required and "signs in as system:serviceaccount:kubeuser-system:kubeuser-preflight-" in (
        checks["token-request"].detail
    )
    assert [k for k in gw.objects if k[0] in ("ServiceAccount", "Secret")] == []  # the throwaway identity is gone
    assert checks["expiration-seconds"].detail == "honoured: asked 10m, got 10m"
    assert "admin" in checks["selfsubjectreview"].detail
    assert report.probe_csr == manifest["metadata"]["name"]
    assert "registry-namespace" in checks and "exists" in checks["registry-namespace"].detail


def test_v1_20_ignores_expiration_seconds_and_has_no_selfsubjectreview() -> None:
    gw = FakeGateway(version=(1, 20))
    report = pf.run(gw, opts(ca_pem=gw.ca_pem))
    checks = by_id(report)
    exp = checks["expiration-seconds"]
    assert exp.status == "warn" and exp.detail.startswith("ignored: asked 10m, got 365d")
    assert "needs Kubernetes ≥ 1.22" in exp.detail and "--cluster-signing-duration" in (exp.fix or "")
    ssr = checks["selfsubjectreview"]
    assert ssr.status == "warn" and "v1.20.0 has no SelfSubjectReview" in ssr.detail
    auth = checks["cert-authenticates"]  # no SelfSubjectReview: a SelfSubjectAccessReview proves the sign-in
    assert auth.status == "pass" and "authenticated (SelfSubjectAccessReview)" in auth.detail
    assert report.ok  # informational: nothing required failed
    assert not [c for c in report.checks if c.status == "fail"]
    assert gw.csrs == {}


def test_signing_duration_cap_is_reported_as_cut() -> None:
    gw = FakeGateway(max_duration=60)
    exp = by_id(pf.run(gw, opts(ca_pem=gw.ca_pem)))["expiration-seconds"]
    assert exp.status == "warn" and exp.detail.startswith("cut: the cluster cut the requested lifetime of 10m to 59s")


def test_missing_approve_names_the_rule_and_skips_the_signer() -> None:
    gw = FakeGateway(deny={"approve signers"})
    report = pf.run(gw, opts(ca_pem=gw.ca_pem, auth="x509"))
    checks = by_id(report)
    approve = checks["signer-approve"]
    assert approve.status == "fail"
    assert approve.detail == f"missing `approve` on signers (certificates.k8s.io) with resourceName {SIGNER}"
    assert APPROVE_RULE in (approve.fix or "") and "| kubectl apply -f -`" in (approve.fix or "")
    assert checks["signer"].status == "skip" and "signer-approve" in checks["signer"].detail
    assert checks["cert-authenticates"].status == "skip" and checks["cert-authenticates"].detail == (
        "no certificate was issued"
    )
    assert checks["expiration-seconds"].status == "skip"
    assert not report.ok and [c.id for c in report.failed] == ["signer-approve"]
    assert gw.calls["create_csr"] == 0  # nothing was submitted


def test_missing_rbac_and_registry_permissions() -> None:
    gw = FakeGateway(deny={"create clusterrolebindings", "create configmaps", "create namespaces"})
    report = pf.run(gw, opts(ca_pem=gw.ca_pem))
    checks = by_id(report)
    assert checks["clusterrolebindings"].status == "fail"
    assert "kubectl create clusterrole kubeuser-clusterrolebindings" in (checks["clusterrolebindings"].fix or "")
    assert checks["registry"].status == "fail" and "kubeuser-system" in checks["registry"].detail
    reg_ns = checks["registry-namespace"]
    assert reg_ns.status == "fail" and "does not exist" in reg_ns.detail
    assert "kubectl create namespace kubeuser-system" in (reg_ns.fix or "")
    assert {c.id for c in report.failed} == {"clusterrolebindings", "registry", "registry-namespace"}
    assert checks["signer"].status == "pass"  # CSRs still work


def test_existing_registry_namespace() -> None:
    gw = FakeGateway(namespaces=("default", "dev", "kubeuser-system"))
    assert by_id(pf.run(gw, opts()))["registry-namespace"].detail == "exists"


def test_no_signer_times_out_and_deletes_the_csr() -> None:
    gw = FakeGateway(signer=False)
    report = pf.run(gw, opts(ca_pem=gw.ca_pem, timeout=0.1))
    signer = by_id(report)["signer"]
    assert signer.status == "fail" and "no certificate was issued within 0.1s" in signer.detail
    assert "was deleted" in (signer.fix or "")
    assert gw.csrs == {} and not report.ok


def test_a_certificate_the_api_server_does_not_trust_fails() -> None:
    # Canonical k8s-snap, or a proxy that drops client certificates: the signer issues, the API server says 401
    gw = FakeGateway(trusts_signer=False)
    report = pf.run(gw, opts(ca_pem=gw.ca_pem, auth="x509"))
    checks = by_id(report)
    assert checks["signer"].status == "pass"  # issued, and from the kubeconfig's CA
    auth = checks["cert-authenticates"]
    assert auth.status == "fail" and auth.required
    assert auth.detail.startswith("the certificate for kubeuser-preflight-")
    assert "was issued, but the API server rejects it (401 Unauthorized): it trusts another CA" in auth.detail
    assert "Client certificates cannot be used on this cluster" in auth.detail
    assert "kube-apiserver's --client-ca-file" in (auth.fix or "")
    assert not report.ok and [c.id for c in report.failed] == ["cert-authenticates"]
    assert gw.csrs == {} and gw.calls["delete_csr"] == 1  # the throwaway CSR is gone all the same
    assert "PRIVATE KEY" not in json.dumps(report.to_dict())


def test_a_probe_certificate_seen_under_another_name_fails() -> None:
    gw = FakeGateway()
    orig = gw.as_certificate

    def mapped(cert_pem: bytes, key_pem: bytes) -> FakeGateway:
        view = orig(cert_pem, key_pem)
        view.as_user = "someone-else"  # an authenticating proxy that maps identities
        return view

    gw.as_certificate = mapped  # type: ignore[method-assign]
    auth = by_id(pf.run(gw, opts(ca_pem=gw.ca_pem)))["cert-authenticates"]
    assert auth.status == "fail" and "the server sees the new certificate as 'someone-else'" in auth.detail


def test_csr_that_cannot_be_deleted_is_named() -> None:
    gw = FakeGateway()
    gw.fail["delete_csr"] = ForbiddenError("deleting CSR: forbidden")
    report = pf.run(gw, opts(ca_pem=gw.ca_pem))
    signer = by_id(report)["signer"]
    assert signer.status == "warn" and "could NOT be deleted" in signer.detail
    assert signer.fix == f"remove it: kubectl delete csr {report.probe_csr}"


def test_certificate_from_another_ca_fails_the_signer_check() -> None:
    gw = FakeGateway()
    other = FakeGateway()  # the kubeconfig trusts another CA than the one the signer uses
    signer = by_id(pf.run(gw, opts(ca_pem=other.ca_pem)))["signer"]
    assert signer.status == "fail" and "not issued by the cluster CA" in signer.detail
    assert gw.csrs == {}


def test_unreachable_server_skips_the_rest() -> None:
    gw = FakeGateway()
    gw.fail["version"] = UnreachableError("reading the server version: connection refused", hint="is it running?")
    report = pf.run(gw, opts())
    checks = by_id(report)
    assert checks["connect"].status == "fail" and "connection refused" in checks["connect"].detail
    assert "kubeuser doctor" in (checks["connect"].fix or "")
    assert all(c.status == "skip" for c in report.checks[1:]) and not report.ok


def test_report_serialises() -> None:
    gw = FakeGateway(deny={"approve signers"})
    doc = pf.run(gw, opts(context="admin@prod")).to_dict()
    json.dumps(doc)
    assert doc["kind"] == "PreflightReport" and doc["ok"] is False and doc["registryNamespace"] == "kubeuser-system"
    assert {"id", "title", "status", "detail", "fix", "required"} == set(doc["checks"][0])


# --------------------------------------------------------------------------- the command line


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from kubeuser.cli import main

    with pytest.raises(SystemExit) as ei:
        main(list(args))
    out, err = capsys.readouterr()
    code = ei.value.code
    return int(code) if isinstance(code, int) else 1, out, err


@pytest.fixture
def admin_kc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, FakeGateway]:
    gw = FakeGateway(version=(1, 20), deny={"approve signers"})
    kc = tmp_path / "admin.kubeconfig"
    write_admin_kubeconfig(kc, gw.ca_pem)
    monkeypatch.setattr("kubeuser.connect.open_gateway", lambda target: gw)
    monkeypatch.delenv("KUBEUSER_REGISTRY_NAMESPACE", raising=False)
    return kc, gw


def test_cli_names_the_missing_permission_and_exits_12(
    admin_kc: tuple[Path, FakeGateway], capsys: pytest.CaptureFixture[str]
) -> None:
    kc, gw = admin_kc
    code, out, err = run_cli(capsys, "preflight", "--kubeconfig", str(kc), "--auth", "x509")
    assert code == int(ExitCode.CHECK_FAILED)
    line = next(ln for ln in out.splitlines() if ln.startswith("✗ signer-approve "))
    assert f"`approve` on signers (certificates.k8s.io) with resourceName {SIGNER}" in line
    assert any(APPROVE_RULE in ln for ln in out.splitlines() if ln.strip().startswith("fix:"))
    assert "namespace dev" in out  # the context's namespace
    assert "result: NOT ready to onboard users" in out
    assert "error: 1 required check(s) failed: signer-approve" in err
    assert gw.closed == 1


def test_cli_says_client_certificates_cannot_be_used_and_exits_12(
    admin_kc: tuple[Path, FakeGateway], capsys: pytest.CaptureFixture[str]
) -> None:
    kc, gw = admin_kc
    gw.deny.clear()
    gw.trusts_signer = False
    code, out, err = run_cli(capsys, "preflight", "--kubeconfig", str(kc), "--auth", "x509")
    assert code == int(ExitCode.CHECK_FAILED)
    line = next(ln for ln in out.splitlines() if ln.startswith("✗ cert-authenticates "))
    assert "the API server accepts the issued certificate: the certificate for kubeuser-preflight-" in line
    assert "result: NOT ready to onboard users" in out
    lines = err.strip().splitlines()
    assert lines[-2].startswith("error: 1 required check(s) failed: cert-authenticates: the certificate for ")
    assert lines[-1].startswith("hint: the cluster admin adds the signer's CA")
    assert "PRIVATE KEY" not in out + err


def test_cli_yaml_with_flags(admin_kc: tuple[Path, FakeGateway], capsys: pytest.CaptureFixture[str]) -> None:
    kc, gw = admin_kc
    gw.deny.clear()
    code, out, err = run_cli(
        capsys, "preflight", "--kubeconfig", str(kc), "-n", "qa", "--registry-namespace", "reg", "-o", "yaml"
    )
    assert code == 0, err
    doc = yaml.safe_load(out)
    assert doc["ok"] is True and doc["namespace"] == "qa" and doc["registryNamespace"] == "reg"
    checks = {c["id"]: c for c in doc["checks"]}
    assert checks["roles"]["title"] == "may create roles in qa"
    assert checks["expiration-seconds"]["detail"].startswith("ignored")


def test_cli_rejects_a_non_positive_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "preflight", "--timeout", "0")
    assert code == int(ExitCode.USAGE) and "--timeout must be a number of seconds, more than 0" in err


def test_preflight_never_raises_kubeuser_errors() -> None:
    gw = FakeGateway()
    gw.fail["can_i"] = KubeuserError("boom")
    report = pf.run(gw, opts())
    assert by_id(report)["permissions"].status == "fail" and "boom" in by_id(report)["permissions"].detail


# --------------------------------------------------------------------------- which kinds of identity work (issue 16)


def _with_registry(gw: FakeGateway) -> FakeGateway:
    gw.create_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubeuser-system"}})
    return gw


def test_no_signer_but_tokens_is_ready_and_auto_picks_token() -> None:
    gw = _with_registry(FakeGateway(signer=False))  # EKS: approved, never issued
    report = pf.run(gw, opts(ca_pem=gw.ca_pem))
    checks = by_id(report)
    assert checks["signer"].status == "fail" and not checks["signer"].required
    assert checks["token-request"].status == "pass"
    assert checks["auth-kinds"].status == "pass" and "`--auth auto` picks token" in checks["auth-kinds"].detail
    assert report.ok and pf.auto_choice(pf.supported(report)) == "token"
    assert gw.csrs == {} and [k for k in gw.objects if k[0] in ("ServiceAccount", "Secret")] == []


def test_auth_x509_makes_a_missing_signer_a_failure_and_names_the_way_out() -> None:
    gw = _with_registry(FakeGateway(signer=False))
    report = pf.run(gw, opts(ca_pem=gw.ca_pem, auth="x509"))
    checks = by_id(report)
    assert not report.ok and [c.id for c in report.failed] == ["signer"]
    assert "--auth token does: `kubeuser create NAME --auth token`" in checks["auth-kinds"].detail


def test_neither_kind_fails_and_says_why_for_each() -> None:
    gw = _with_registry(FakeGateway(signer=False, deny={"create serviceaccounts/token"}))
    report = pf.run(gw, opts(ca_pem=gw.ca_pem))
    kinds = by_id(report)["auth-kinds"]
    assert not report.ok and "auth-kinds" in [c.id for c in report.failed]
    assert "client certificates: signer:" in kinds.detail and "ServiceAccount tokens: token-create:" in kinds.detail


def test_a_token_the_server_rejects_fails_the_token_check() -> None:
    gw = _with_registry(FakeGateway())
    gw.max_token_seconds = 0  # every token it issues is already expired: the sign-in gets 401
    report = pf.run(gw, opts(ca_pem=gw.ca_pem, auth="token"))
    token = by_id(report)["token-request"]
    assert token.status == "fail" and token.required and "rejects the token it issued" in token.detail
    assert [k for k in gw.objects if k[0] in ("ServiceAccount", "Secret")] == []  # cleaned up all the same


def test_probe_x509_for_create_auto() -> None:
    v = FakeGateway().version()
    assert pf.probe_x509(FakeGateway(), ca_pem=None, timeout=1.0, version=v)[0] is True
    works, why = pf.probe_x509(FakeGateway(signer=False), ca_pem=None, timeout=1.0, version=v)
    assert not works and why.startswith("client certificates are not issued here")
    works, why = pf.probe_x509(FakeGateway(trusts_signer=False), ca_pem=None, timeout=1.0, version=v)
    assert not works and "401" in why
