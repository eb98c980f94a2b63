"""``kubeuser doctor`` and ``kubeuser preflight`` against the real control plane, each fault made for real.

Every fault is also shown to kubectl (and, where it helps, openssl) as an independent witness that the
fault is what doctor says it is.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pki_factory
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from kubeuser_runner import OUTPUTS, cluster_name, home_kubeconfig, kubeuser, ok

from kubeuser import permissions, pki

SIGNER = "kubernetes.io/kube-apiserver-client"
NOW = datetime.now(timezone.utc)
KUBECTL = "/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else (shutil.which("kubectl") or "kubectl")


def uname(prefix: str = "dr") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def cluster_ca(control_plane: Any) -> tuple[x509.Certificate, Any]:
    key_path = control_plane.require_ca_key()
    ca = x509.load_pem_x509_certificate(control_plane.ca_cert.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    return ca, key


def mint(
    ca: tuple[x509.Certificate, Any],
    cn: str,
    groups: tuple[str, ...] = (),
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> tuple[bytes, bytes]:
    key = pki_factory.make_key()
    pem = pki_factory.issue_client_cert(ca[0], ca[1], key, cn, list(groups), not_before, not_after)
    return pem, pki.key_to_pem(key)


def admin_doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(home_kubeconfig().read_text())
    return doc


def user_kubeconfig(
    path: Path,
    cert_pem: bytes,
    key_pem: bytes,
    *,
    user: str = "alice",
    namespace: str | None = None,
) -> Path:
    """The admin's cluster entry with another user (kubeconfig layout as `kubeuser create` writes it)."""
    doc = admin_doc()
    cluster = doc["clusters"][0]
    ctx: dict[str, Any] = {"cluster": cluster["name"], "user": user}
    if namespace:
        ctx["namespace"] = namespace
    out = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": base64.b64encode(cert_pem).decode(),
                    "client-key-data": base64.b64encode(key_pem).decode(),
                },
            }
        ],
        "contexts": [{"name": f"{user}@{cluster['name']}", "context": ctx}],
        "current-context": f"{user}@{cluster['name']}",
    }
    path.write_text(yaml.safe_dump(out))
    path.chmod(0o600)
    return path


def admin_variant(path: Path, **cluster_changes: Any) -> Path:
    """The admin kubeconfig with the cluster entry changed (server, CA, tls-server-name)."""
    doc = admin_doc()
    doc["clusters"][0]["cluster"].update(cluster_changes)
    path.write_text(yaml.safe_dump(doc))
    path.chmod(0o600)
    return path


def doctor(*args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    proc = kubeuser("doctor", *args, "-o", "json")
    assert proc.stdout, proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return proc, report


def checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in report["checks"]}


def kubectl_fails(control_plane: Any, kc: Path, needle: str) -> None:
    """kubectl, as an independent witness, fails the same way."""
    res = control_plane.kubectl("get", "--raw", "/version", kubeconfig=kc, check=False, timeout=60)
    assert res.returncode != 0 and needle in res.stderr, res.stderr


# --------------------------------------------------------------------------- doctor: a healthy user


def test_healthy_user_created_by_kubeuser_passes(control_plane: Any, namespace: str) -> None:
    name = uname("ok")
    ok(kubeuser("create", name, "-g", "dev", "-n", namespace, "--clusterrole", "view"))
    ctx = f"{name}@{cluster_name(control_plane.kubeconfig)}"
    proc, report = doctor("--context", ctx)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report["authenticated"] is True and report["namespace"] == namespace
    bad = [c for c in report["checks"] if c["status"] != "pass" and c["id"] != "token-claims"]
    assert not bad, bad
    c = checks(report)
    assert c["token-claims"]["status"] == "skip" and "not a token user" in c["token-claims"]["detail"]
    assert f"CN={name}" in c["cert-subject"]["detail"] and "O=dev" in c["cert-subject"]["detail"]
    assert f"may list pods in {namespace}" in c["authorization"]["detail"]
    if control_plane.local:  # v1.20: no SelfSubjectReview, the name comes from the certificate
        assert f"the certificate names you {name}" in c["authentication"]["detail"]
    # kubectl agrees: this identity may list pods there
    res = control_plane.kubectl("--context", ctx, "auth", "can-i", "list", "pods", "-n", namespace,
                                kubeconfig=home_kubeconfig(), check=False)  # fmt: skip
    assert res.stdout.strip() == "yes", res.stderr


def test_text_output_is_a_plain_table(control_plane: Any) -> None:
    proc = kubeuser("doctor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("kubeuser doctor: context ")
    assert any(ln.startswith("✓ tls ") for ln in lines) and any(ln.startswith("✓ authentication ") for ln in lines)
    assert proc.stdout.rstrip().splitlines()[-1].startswith("result: authenticated")
    assert "\x1b[" not in proc.stdout


# --------------------------------------------------------------------------- doctor: certificate faults


def test_certificate_from_a_foreign_ca(control_plane: Any, tmp_path: Path) -> None:
    foreign = pki_factory.make_ca("not-the-cluster-ca")
    kc = user_kubeconfig(tmp_path / "kc", *mint(foreign, "mallory"), user="mallory")
    kubectl_fails(control_plane, kc, "Unauthorized")
    proc, report = doctor("--kubeconfig", str(kc))
    assert proc.returncode == 12
    c = checks(report)
    assert c["tls"]["status"] == "pass" and c["key-match"]["status"] == "pass"
    assert c["cert-chain"]["status"] == "warn" and "issued by CN=not-the-cluster-ca" in c["cert-chain"]["detail"]
    auth = c["authentication"]
    assert auth["status"] == "fail" and "401 Unauthorized" in auth["detail"]
    assert "the certificate is not from the cluster's CA: it is issued by CN=not-the-cluster-ca" in auth["detail"]
    assert "error: the identity does not authenticate: authentication: 401 Unauthorized" in proc.stderr


def test_expired_certificate(control_plane: Any, tmp_path: Path) -> None:
    ca = cluster_ca(control_plane)
    cert, key = mint(ca, "old-timer", not_before=NOW - timedelta(days=30), not_after=NOW - timedelta(days=1))
    assert subprocess.run(["openssl", "x509", "-noout", "-checkend", "0"], input=cert, check=False).returncode != 0
    kc = user_kubeconfig(tmp_path / "kc", cert, key, user="old-timer")
    kubectl_fails(control_plane, kc, "Unauthorized")
    proc, report = doctor("--kubeconfig", str(kc))
    assert proc.returncode == 12
    c = checks(report)
    assert c["cert-chain"]["status"] == "pass"  # the right CA: time is the only problem
    v = c["cert-validity"]
    assert v["status"] == "fail" and v["detail"].startswith("expired 1d") and "kubeuser renew old-timer" in v["fix"]
    auth = c["authentication"]
    assert auth["status"] == "fail" and "401" in auth["detail"] and "the certificate expired at" in auth["detail"]
    assert "kubeuser renew old-timer" in auth["fix"]


def test_not_yet_valid_certificate(control_plane: Any, tmp_path: Path) -> None:
    ca = cluster_ca(control_plane)
    cert, key = mint(ca, "early-bird", not_before=NOW + timedelta(hours=3), not_after=NOW + timedelta(days=3))
    kc = user_kubeconfig(tmp_path / "kc", cert, key, user="early-bird")
    kubectl_fails(control_plane, kc, "Unauthorized")
    proc, report = doctor("--kubeconfig", str(kc))
    assert proc.returncode == 12
    c = checks(report)
    v = c["cert-validity"]
    assert v["status"] == "fail" and v["detail"].startswith("not yet valid") and "clock skew" in v["detail"]
    assert c["authentication"]["status"] == "fail" and "clock skew" in c["authentication"]["detail"]


def test_key_does_not_match_certificate(control_plane: Any, tmp_path: Path) -> None:
    ca = cluster_ca(control_plane)
    cert, _ = mint(ca, "mixup")
    _, other_key = mint(ca, "mixup")
    kc = user_kubeconfig(tmp_path / "kc", cert, other_key, user="mixup")
    kubectl_fails(control_plane, kc, "private key does not match public key")
    proc, report = doctor("--kubeconfig", str(kc))
    assert proc.returncode == 12
    c = checks(report)
    assert c["key-match"]["status"] == "fail"
    assert "the private key does not belong to the certificate" in c["key-match"]["detail"]
    assert c["authentication"]["status"] == "skip" and "key-match failed" in c["authentication"]["detail"]


def test_cn_is_not_the_user_name(control_plane: Any, tmp_path: Path) -> None:
    """The seed's 401 row "the certificate's name is not the user name": here it authenticates as someone else."""
    ca = cluster_ca(control_plane)
    kc = user_kubeconfig(tmp_path / "kc", *mint(ca, "Internet Widgits"), user="user01")
    proc, report = doctor("--kubeconfig", str(kc))
    assert proc.returncode == 0  # the server accepts it — under another name, with no access
    c = checks(report)
    assert c["cert-subject"]["status"] == "warn"
    assert "the CN 'Internet Widgits' is not the kubeconfig user name 'user01'" in c["cert-subject"]["detail"]
    assert c["authorization"]["status"] == "warn" and "may not list pods" in c["authorization"]["detail"]
    assert "--user=Internet Widgits" in c["authorization"]["fix"]
    res = control_plane.kubectl("get", "pods", kubeconfig=kc, check=False)
    assert 'User "Internet Widgits" cannot list' in res.stderr


# --------------------------------------------------------------------------- doctor: connection faults


def test_wrong_port_connection_refused(control_plane: Any, tmp_path: Path) -> None:
    kc = admin_variant(tmp_path / "kc", server="https://127.0.0.1:1")
    kubectl_fails(control_plane, kc, "The connection to the server 127.0.0.1:1 was refused")
    proc, report = doctor("--kubeconfig", str(kc))
    assert proc.returncode == 12
    c = checks(report)
    assert c["dns"]["status"] == "pass"
    assert c["tcp"]["status"] == "fail" and "connection refused at 127.0.0.1:1" in c["tcp"]["detail"]
    assert c["tls"]["status"] == "skip" and c["authentication"]["status"] == "skip"
    assert c["cert-validity"]["status"] == "pass"  # the admin certificate is still checked


def test_wrong_host_dns_failure(control_plane: Any, tmp_path: Path) -> None:
    host = f"{uname('api')}.invalid"
    kc = admin_variant(tmp_path / "kc", server=f"https://{host}:6443")
    kubectl_fails(control_plane, kc, "Unable to connect to the server")
    proc, report = doctor("--kubeconfig", str(kc))
    assert proc.returncode == 12
    c = checks(report)
    assert c["dns"]["status"] == "fail" and f"cannot resolve {host}" in c["dns"]["detail"]
    assert c["tcp"]["status"] == "skip" and "dns failed" in c["authentication"]["detail"]


def test_server_ca_mismatch(control_plane: Any, tmp_path: Path) -> None:
    other, _ = pki_factory.make_ca("some-other-cluster-ca")
    kc = admin_variant(
        tmp_path / "kc", **{"certificate-authority-data": base64.b64encode(pki_factory.cert_pem(other)).decode()}
    )
    kubectl_fails(control_plane, kc, "certificate signed by unknown authority")
    proc, report = doctor("--kubeconfig", str(kc))
    assert proc.returncode == 12
    tls = checks(report)["tls"]
    assert tls["status"] == "fail" and tls["detail"].startswith("CA mismatch")
    # the issuer of the server's certificate, as openssl reads the real cluster CA
    ca_subject = subprocess.run(
        ["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253"],
        input=control_plane.ca_cert.read_bytes(),
        capture_output=True,
        check=True,
    ).stdout.decode()
    issuer = ca_subject.split("=", 1)[1].strip()
    assert f"the server certificate is issued by {issuer}" in tls["detail"]
    assert "CN=some-other-cluster-ca" in tls["detail"]
    assert "--certificate-authority=ca.crt --embed-certs=true" in tls["fix"]
    assert checks(report)["authentication"]["status"] == "skip"


def test_server_name_not_in_the_certificate(control_plane: Any, tmp_path: Path) -> None:
    kc = admin_variant(tmp_path / "kc", **{"tls-server-name": "wrong.example.test"})
    kubectl_fails(control_plane, kc, "not wrong.example.test")
    proc, report = doctor("--kubeconfig", str(kc))
    assert proc.returncode == 12
    tls = checks(report)["tls"]
    assert tls["status"] == "fail" and tls["detail"].startswith("wrong host")
    assert "is valid for DNS:" in tls["detail"] and "not for 'wrong.example.test'" in tls["detail"]


# --------------------------------------------------------------------------- preflight


def test_preflight_as_the_real_admin(control_plane: Any) -> None:
    proc = kubeuser("preflight", "-o", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    c = checks(report)
    assert report["ok"] is True
    assert not [x for x in report["checks"] if x["status"] == "fail"]
    required = [x for x in report["checks"] if x["required"]]
    assert all(x["status"] == "pass" for x in required), required
    assert c["signer"]["status"] == "pass" and "deleted" in c["signer"]["detail"]
    csr = c["signer"]["detail"].split()[1]
    assert csr.startswith("kubeuser-kubeuser-preflight-")
    gone = control_plane.kubectl("get", "csr", csr, check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr  # always deleted
    # the API server accepts what the signer issued: the throwaway certificate signed in as its CN
    auth = c["cert-authenticates"]
    probe = c["signer"]["detail"].split("(CN ", 1)[1].split(",", 1)[0]  # kubeuser-preflight-<random>
    assert probe.startswith("kubeuser-preflight-")
    assert auth["status"] == "pass" and auth["detail"].startswith(f"{probe} signs in")
    assert auth["required"] is False  # --auth auto (the default): ready when certificates or tokens work
    assert c["auth-kinds"]["status"] == "pass" and c["auth-kinds"]["required"] is True
    assert c["auth-kinds"]["detail"].startswith("client certificates (x509)")
    assert c["auth-kinds"]["detail"].endswith("`--auth auto` picks x509")
    if control_plane.local:  # v1.20.2
        exp = c["expiration-seconds"]
        assert exp["status"] == "warn" and exp["detail"].startswith("ignored: asked 10m, got 365d")
        assert (
            c["selfsubjectreview"]["status"] == "warn"
            and "v1.20.2 has no SelfSubjectReview" in (c["selfsubjectreview"]["detail"])
        )
        assert report["serverVersion"] == "v1.20.2" and report["identity"] == "admin"
        assert (
            f"authenticated (SelfSubjectAccessReview); v1.20.2 has no SelfSubjectReview, so the name {probe!r}"
            in (auth["detail"])
        )
    text = ok(kubeuser("preflight")).stdout
    assert "result: ready to onboard users" in text and "! expiration-seconds" in text
    assert "✓ cert-authenticates " in text


LIMITED_RULES = [
    {"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests"],
     "verbs": ["create", "get", "list", "watch", "delete"]},
    {"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests/approval"], "verbs": ["update"]},
    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings", "clusterrolebindings"],
     "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "create"]},
]  # fmt: skip


def test_preflight_names_the_missing_approve_permission(control_plane: Any, tmp_path: Path) -> None:
    ca = cluster_ca(control_plane)
    role = uname("limited-admin")
    manifest = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": role},
                "rules": LIMITED_RULES,
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": role},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "limited-admin"}],
            },
        ],
    }
    control_plane.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    kc = user_kubeconfig(tmp_path / "limited", *mint(ca, "limited-admin"), user="limited-admin")
    granted: list[str] = []
    try:
        # kubectl, as the witness: may create CSRs, may not approve for the signer
        assert control_plane.kubectl("auth", "can-i", "create", "csr", kubeconfig=kc).stdout.strip() == "yes"
        no = control_plane.kubectl(
            "auth", "can-i", "approve", f"signers.certificates.k8s.io/{SIGNER}", kubeconfig=kc, check=False
        )
        assert no.stdout.strip() == "no"

        proc = kubeuser("preflight", "--kubeconfig", str(kc), "--auth", "x509", "-o", "json")
        assert proc.returncode == 12, proc.stdout + proc.stderr
        report = json.loads(proc.stdout)
        c = checks(report)
        assert [x["id"] for x in report["checks"] if x["status"] == "fail" and x["required"]] == ["signer-approve"]
        approve = c["signer-approve"]
        assert approve["detail"] == f"missing `approve` on signers (certificates.k8s.io) with resourceName {SIGNER}"
        assert f'resourceNames: ["{SIGNER}"], verbs: ["approve"]' in approve["fix"]
        assert c["signer"]["status"] == "skip" and "signer-approve" in c["signer"]["detail"]
        assert "error: 1 required check(s) failed: signer-approve: missing `approve` on signers" in proc.stderr

        # create says the same thing, with the same words, before touching anything
        user = uname("never")
        created = kubeuser("create", user, "--kubeconfig", str(kc))
        assert created.returncode == 6, created.stderr
        assert (
            "may not onboard users: it lacks `approve` on signers (certificates.k8s.io) with resourceName "
            f"{SIGNER}" in created.stderr
        )
        csrs = json.loads(control_plane.kubectl("get", "csr", "-o", "json").stdout)["items"]
        assert not [x for x in csrs if x["metadata"].get("annotations", {}).get("kubeuser.io/user") == user]

        # the fix is a real command: run it (as the real admin), bind the role, and preflight passes
        command = approve["fix"].split("`")[1]
        assert command.endswith("| kubectl apply -f -")
        shell(control_plane, command)
        granted.append("kubeuser-signer-approve")
        control_plane.kubectl(
            "create", "clusterrolebinding", f"{role}-approve", "--clusterrole=kubeuser-signer-approve",
            "--user=limited-admin",
        )  # fmt: skip
        again = kubeuser("preflight", "--kubeconfig", str(kc), "-o", "json")
        assert again.returncode == 0, again.stdout + again.stderr
        assert checks(json.loads(again.stdout))["signer"]["status"] == "pass"
    finally:
        for kind, name in [
            ("clusterrolebinding", role),
            ("clusterrole", role),
            ("clusterrolebinding", f"{role}-approve"),
        ]:
            control_plane.kubectl("delete", kind, name, "--ignore-not-found", check=False)
        for name in granted:
            control_plane.kubectl("delete", "clusterrole", name, "--ignore-not-found", check=False)


def shell(control_plane: Any, command: str) -> None:
    """Run a fix exactly as printed (a shell command line) with the real admin's kubeconfig."""
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "KUBECONFIG": str(control_plane.kubeconfig),
            "PATH": f"{Path(KUBECTL).parent}:/usr/bin:/bin",
        },
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"


def test_every_permission_fix_is_a_working_kubectl_command(control_plane: Any, namespace: str) -> None:
    """The grant commands preflight prints are accepted by the API server (server-side dry run)."""
    perms = [
        *permissions.csr_permissions(),
        permissions.rbac_permission("Role", namespace),
        permissions.rbac_permission("RoleBinding", namespace),
        permissions.rbac_permission("ClusterRoleBinding", None),
        permissions.registry_permission(namespace),
    ]
    for perm in perms:
        command = perm.grant()
        assert command in perm.fix()
        if "| kubectl apply -f -" in command:
            command = command.replace("| kubectl apply -f -", "| kubectl apply --dry-run=server -f -")
        else:
            command += " --dry-run=server"
        shell(control_plane, command)


def test_preflight_against_an_unreachable_server(control_plane: Any, tmp_path: Path) -> None:
    kc = admin_variant(tmp_path / "kc", server="https://127.0.0.1:1")
    proc = kubeuser("preflight", "--kubeconfig", str(kc), "-o", "json")
    assert proc.returncode == 12
    c = checks(json.loads(proc.stdout))
    assert c["connect"]["status"] == "fail" and "refused" in c["connect"]["detail"]
    assert "kubeuser doctor" in c["connect"]["fix"]


def test_no_private_key_in_doctor_output() -> None:
    """Runs last in this module: no doctor/preflight output carried private key material."""
    assert OUTPUTS
    for text in OUTPUTS:
        assert "PRIVATE KEY" not in text
