"""``kubeuser create`` against the real control plane; results checked with kubectl and openssl."""

from __future__ import annotations

import base64
import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubeuser_runner import OUTPUTS, cluster_name, home_kubeconfig, kubeuser, ok


def uname(prefix: str = "u") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def cert_from_kubeconfig(path: Path, user_entry: str) -> bytes:
    doc = yaml.safe_load(path.read_text())
    user = next(u for u in doc["users"] if u["name"] == user_entry)["user"]
    return base64.b64decode(user["client-certificate-data"])


def openssl_x509(pem: bytes, *fields: str) -> str:
    proc = subprocess.run(
        ["openssl", "x509", "-noout", "-nameopt", "RFC2253", *fields], input=pem, capture_output=True, check=True
    )
    return proc.stdout.decode()


def as_user(
    control_plane: Any, context: str, *args: str, kubeconfig: Path | None = None
) -> subprocess.CompletedProcess[str]:
    proc: subprocess.CompletedProcess[str] = control_plane.kubectl(
        "--context", context, *args, kubeconfig=kubeconfig or home_kubeconfig(), check=False
    )
    return proc


def test_create_with_rule_grants_exactly_that(control_plane: Any, namespace: str) -> None:
    name = uname()
    proc = ok(
        kubeuser(
            "create", name, "-g", "dev", "-g", "qa", "-n", namespace, "--rule", "get,list,watch:pods", "--days", "30"
        )
    )
    ctx = f"{name}@{cluster_name(control_plane.kubeconfig)}"
    # kubectl with the written kubeconfig: allowed vs forbidden
    allowed = as_user(control_plane, ctx, "get", "pods", "-n", namespace)
    assert allowed.returncode == 0, allowed.stderr
    denied = as_user(control_plane, ctx, "get", "secrets", "-n", namespace)
    assert denied.returncode != 0 and "forbidden" in denied.stderr.lower()
    assert f'User "{name}"' in denied.stderr  # the server authenticated exactly this user
    other_ns = as_user(control_plane, ctx, "get", "pods", "-n", "default")
    assert other_ns.returncode != 0 and "forbidden" in other_ns.stderr.lower()
    # openssl: subject and issuer
    pem = cert_from_kubeconfig(home_kubeconfig(), ctx)
    subject = openssl_x509(pem, "-subject")
    assert f"CN={name}" in subject and "O=dev" in subject and "O=qa" in subject
    issuer = openssl_x509(pem, "-issuer").split("=", 1)[1].strip()
    ca_subject = openssl_x509(control_plane.ca_cert.read_bytes(), "-subject").split("=", 1)[1].strip()
    assert issuer == ca_subject
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(control_plane.ca_cert)], input=pem, capture_output=True, check=False
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # the steps and the proof are reported on stderr
    assert "Approve" in proc.stderr and "Prove the new identity" in proc.stderr
    # RBAC objects are labelled
    rb = json.loads(
        control_plane.kubectl("get", "rolebinding", f"kubeuser:{name}", "-n", namespace, "-o", "json").stdout
    )
    assert rb["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kubeuser"
    assert rb["subjects"][0]["name"] == name


def test_least_privilege_by_default(control_plane: Any) -> None:
    name = uname()
    proc = ok(kubeuser("create", name))
    assert "can authenticate but may do nothing yet" in proc.stderr
    res = as_user(control_plane, f"{name}@{cluster_name(control_plane.kubeconfig)}", "get", "pods", "-n", "default")
    # authenticated (403, not 401) but not authorized
    assert res.returncode != 0
    assert "forbidden" in res.stderr.lower() and f'User "{name}"' in res.stderr
    assert "Unauthorized" not in res.stderr


def test_json_output_and_lifetime_report(control_plane: Any) -> None:
    name = uname()
    proc = ok(kubeuser("create", name, "--ttl", "30m", "--clusterrole", "view", "--cluster-wide", "-o", "json"))
    data = json.loads(proc.stdout)
    assert data["user"] == name and data["requestedSeconds"] == 1800
    assert data["csrName"].startswith("kubeuser-")
    assert data["rbac"][0]["kind"] == "ClusterRoleBinding"
    pem = cert_from_kubeconfig(home_kubeconfig(), data["context"])
    serial = openssl_x509(pem, "-serial").strip().split("=", 1)[1]
    assert serial == data["serial"]
    if control_plane.local:  # v1.20 silently drops expirationSeconds: one year, and we say so
        assert data["lifetime"] == "ignored" and data["grantedSeconds"] > 364 * 86400
        assert "ignored the requested lifetime" in proc.stderr
        assert data["identity"]["method"] == "SelfSubjectAccessReview"
    else:
        assert data["lifetime"] in ("honoured", "cut")
        assert data["identity"] == {"username": name, "groups": ["system:authenticated"], "method": "SelfSubjectReview"}
    res = as_user(control_plane, data["context"], "get", "pods", "-A")
    assert res.returncode == 0, res.stderr


def test_existing_kubeconfig_entries_survive(control_plane: Any) -> None:
    kc = home_kubeconfig()
    doc = yaml.safe_load(kc.read_text())
    doc["clusters"].append({"name": "elsewhere", "cluster": {"server": "https://10.255.0.1:6443"}})
    doc["users"].append({"name": "someone", "user": {"token": "abc"}})
    doc["contexts"].append({"name": "someone@elsewhere", "context": {"cluster": "elsewhere", "user": "someone"}})
    kc.write_text(yaml.safe_dump(doc))
    before = yaml.safe_load(kc.read_text())
    name = uname()
    ok(kubeuser("create", name, "--set-current"))
    after = yaml.safe_load(kc.read_text())
    for kind in ("clusters", "users", "contexts"):
        for entry in before[kind]:
            assert entry in after[kind]
    assert after["current-context"] == f"{name}@{cluster_name(control_plane.kubeconfig)}"
    assert kc.stat().st_mode & 0o777 == 0o600
    # kubectl reads the merged file and uses the new current context
    who = control_plane.kubectl(
        "auth", "can-i", "create", "selfsubjectaccessreviews.authorization.k8s.io", kubeconfig=kc
    )
    assert who.stdout.strip() == "yes"


def test_malformed_kubeconfig_is_untouched(control_plane: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad-config"
    bad.write_text("apiVersion: v1\nclusters: [\n")
    raw = bad.read_bytes()
    proc = kubeuser("create", uname(), "--kubeconfig", str(bad))
    assert proc.returncode == 3
    assert proc.stderr.startswith("error: kubeconfig") and "hint:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert bad.read_bytes() == raw


def test_out_standalone_kubeconfig(control_plane: Any, namespace: str, tmp_path: Path) -> None:
    out = tmp_path / "handout" / "dev.kubeconfig"
    name = uname()
    before = home_kubeconfig().read_bytes()
    ok(kubeuser("create", name, "-n", namespace, "--clusterrole", "view", "--out", str(out)))
    assert home_kubeconfig().read_bytes() == before
    assert out.stat().st_mode & 0o777 == 0o600
    res = control_plane.kubectl("get", "pods", "-n", namespace, kubeconfig=out, check=False)
    assert res.returncode == 0, res.stderr
    res = control_plane.kubectl("get", "secrets", "-n", namespace, kubeconfig=out, check=False)
    assert res.returncode != 0 and "forbidden" in res.stderr.lower()


def test_out_stdout(control_plane: Any, tmp_path: Path) -> None:
    name = uname()
    proc = ok(kubeuser("create", name, "--out", "-"))
    path = tmp_path / "k"
    path.write_text(proc.stdout)
    who = control_plane.kubectl("get", "--raw", "/version", kubeconfig=path, check=False)
    assert who.returncode == 0, who.stderr


def test_conflict_then_force(control_plane: Any, namespace: str) -> None:
    name = uname()
    first = json.loads(ok(kubeuser("create", name, "-n", namespace, "--rule", "get,list:pods", "-o", "json")).stdout)
    before = home_kubeconfig().read_bytes()
    again = kubeuser("create", name, "-n", namespace, "--rule", "get,list:pods")
    assert again.returncode == 7 and "already" in again.stderr and "--force" in again.stderr
    assert home_kubeconfig().read_bytes() == before
    second = json.loads(
        ok(kubeuser("create", name, "-n", namespace, "--rule", "get,list:pods", "--force", "-o", "json")).stdout
    )
    assert second["serial"] != first["serial"]
    pem = cert_from_kubeconfig(home_kubeconfig(), second["context"])
    assert openssl_x509(pem, "-serial").strip().endswith(second["serial"])
    assert as_user(control_plane, second["context"], "get", "pods", "-n", namespace).returncode == 0


def test_signer_missing_times_out_and_cleans_up(control_plane: Any) -> None:
    name = uname()
    before = home_kubeconfig().read_bytes()
    control_plane.stop_controller_manager()
    try:
        proc = kubeuser("create", name, "--timeout", "6")
    finally:
        control_plane.start_controller_manager()
    assert proc.returncode == 8, proc.stderr
    assert "no certificate was issued" in proc.stderr and "EKS" in proc.stderr
    assert "was deleted" in proc.stderr
    csrs = json.loads(
        control_plane.kubectl("get", "csr", "-l", "app.kubernetes.io/managed-by=kubeuser", "-o", "json").stdout
    )
    assert not [c for c in csrs["items"] if c["metadata"]["annotations"].get("kubeuser.io/user") == name]
    assert home_kubeconfig().read_bytes() == before


def test_bad_input_exit_codes(control_plane: Any) -> None:
    before = home_kubeconfig().read_bytes()
    for args, code in [
        (["create", "x", "-g", "system:masters"], 2),
        (["create", "x", "--ttl", "5m"], 2),
        (["create", "x", "--rule", "get"], 2),
        (["create", "x", "--context", "nope"], 3),
        (["create", "x", "--rule", "get:pods", "-n", "does-not-exist"], 10),
    ]:
        proc = kubeuser(*args)
        assert proc.returncode == code, (args, proc.stderr)
        lines = proc.stderr.splitlines()
        errors = [ln for ln in lines if ln.startswith("error: ")]
        assert len(errors) == 1 and lines[-1].startswith("hint: "), proc.stderr
        assert "Traceback" not in proc.stderr
    assert home_kubeconfig().read_bytes() == before


def test_unreachable_server(control_plane: Any, tmp_path: Path) -> None:
    doc = yaml.safe_load(home_kubeconfig().read_text())
    doc["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    kc = tmp_path / "wrong-port"
    kc.write_text(yaml.safe_dump(doc))
    proc = kubeuser("create", uname(), "--kubeconfig", str(kc))
    assert proc.returncode == 4 and "refused" in proc.stderr


@pytest.mark.parametrize("key_type", ["rsa", "ed25519"])
def test_other_key_types(control_plane: Any, key_type: str) -> None:
    name = uname()
    data = json.loads(ok(kubeuser("create", name, "--key-type", key_type, "-o", "json")).stdout)
    pem = cert_from_kubeconfig(home_kubeconfig(), data["context"])
    text = openssl_x509(pem, "-text")
    assert ("rsaEncryption" in text) if key_type == "rsa" else ("ED25519" in text)


def test_kubectl_plugin(control_plane: Any) -> None:
    """`kubectl user create …` finds the kubectl-user entry point on PATH (kubectl's plugin mechanism)."""
    import os
    import sys

    bindir = Path(sys.executable).parent
    assert (bindir / "kubectl-user").exists()
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    name = uname("plug")
    proc = subprocess.run(
        ["kubectl", "user", "create", name, "-o", "json"], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["user"] == name
    OUTPUTS.append(proc.stdout + proc.stderr)
    usage = subprocess.run(["kubectl", "user", "--help"], capture_output=True, text=True, env=env, check=False)
    assert usage.returncode == 0 and "kubectl user" in usage.stdout


def test_no_private_key_in_any_output() -> None:
    """Runs last in this module: nothing any kubeuser run printed contains private key material."""
    assert OUTPUTS, "no kubeuser runs were recorded"
    for text in OUTPUTS:
        assert "PRIVATE KEY" not in text


def test_missing_namespace_creates_nothing_with_or_without_grants(control_plane: Any) -> None:
    for grants in ([], ["--rule", "get:pods"]):
        name = uname("nons")
        before = home_kubeconfig().read_bytes()
        proc = kubeuser("create", name, "-n", "nosuchns-kubeuser", *grants)
        assert proc.returncode == 10, proc.stderr
        assert [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")] == [
            "error: namespace 'nosuchns-kubeuser' does not exist"
        ]
        assert proc.stdout == "" and home_kubeconfig().read_bytes() == before  # no context pointing nowhere
        assert control_plane.kubectl("get", "csr", "-l", f"kubeuser.io/user={name}", "-o", "name").stdout.strip() == ""
        assert name not in control_plane.kubectl("get", "csr", "-o", "name").stdout
        res = control_plane.kubectl("get", "configmap", f"user-{name}", "-n", "kubeuser-system", check=False)
        assert res.returncode != 0 and "NotFound" in res.stderr
        res = control_plane.kubectl("get", "namespace", "nosuchns-kubeuser", check=False)
        assert res.returncode != 0 and "NotFound" in res.stderr


def test_list_in_a_missing_registry_namespace_is_not_found(control_plane: Any) -> None:
    proc = kubeuser("list", "--registry-namespace", "nosuch-kubeuser")
    assert proc.returncode == 10 and proc.stdout == "", proc.stderr
    assert proc.stderr.splitlines()[0] == "error: registry namespace 'nosuch-kubeuser' does not exist"
    proc = kubeuser("list", "--registry-namespace", "default")  # exists, holds no user records
    assert proc.returncode == 0 and proc.stdout.startswith("no users"), proc.stderr
