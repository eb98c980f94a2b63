"""The e2e fixtures and the cluster's CSR signer work (kube-apiserver-client signer, CA, RBAC)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from e2e.conftest import ControlPlane

SIGNER = "kubernetes.io/kube-apiserver-client"


def openssl(*args: str) -> str:
    proc = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"openssl {' '.join(args)} failed:\n{proc.stderr}"
    return proc.stdout


def make_key_and_csr(tmp_path: Path, cn: str, org: str) -> tuple[Path, Path]:
    key = tmp_path / f"{cn}.key"
    csr = tmp_path / f"{cn}.csr"
    openssl("genrsa", "-out", str(key), "2048")
    openssl("req", "-new", "-key", str(key), "-subj", f"/O={org}/CN={cn}", "-out", str(csr))
    return key, csr


def submit_csr(cp: ControlPlane, name: str, csr: Path) -> None:
    manifest = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/created-by": "kubeuser-e2e"}},
        "spec": {
            "request": base64.b64encode(csr.read_bytes()).decode(),
            "signerName": SIGNER,
            "usages": ["client auth", "digital signature"],
        },
    }
    cp.kubectl("create", "-f", "-", input=json.dumps(manifest))


def issued_certificate(cp: ControlPlane, name: str) -> str:
    out = cp.kubectl("get", "csr", name, "-o", "jsonpath={.status.certificate}").stdout.strip()
    return base64.b64decode(out).decode() if out else ""


def wait_for_certificate(cp: ControlPlane, name: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cert = issued_certificate(cp, name)
        if cert:
            return cert
        time.sleep(0.5)
    csr = cp.kubectl("get", "csr", name, "-o", "yaml", check=False).stdout
    raise AssertionError(f"CSR {name} got no certificate within {timeout}s:\n{csr}")


def approved(cp: ControlPlane, name: str) -> bool:
    out = cp.kubectl("get", "csr", name, "-o", "jsonpath={.status.conditions[*].type}").stdout
    return "Approved" in out.split()


def subject_of(pem: Path, which: str = "subject") -> str:
    out = openssl("x509", "-noout", f"-{which}", "-nameopt", "RFC2253", "-in", str(pem)).strip()
    return out.split("=", 1)[1].strip()


def assert_signed_by_cluster_ca(cp: ControlPlane, cert_pem: str, tmp_path: Path, cn: str) -> Path:
    cert = tmp_path / f"{cn}.crt"
    cert.write_text(cert_pem)
    out = openssl("x509", "-noout", "-subject", "-issuer", "-in", str(cert))
    assert f"CN = {cn}" in out or f"CN={cn}" in out, out
    assert subject_of(cert) == f"CN={cn},O=dev"
    assert subject_of(cert, "issuer") == subject_of(cp.ca_cert), out
    assert openssl("verify", "-CAfile", str(cp.ca_cert), str(cert)).strip().endswith("OK")
    return cert


def user_kubeconfig(cp: ControlPlane, tmp_path: Path, user: str, cert: Path, key: Path) -> Path:
    path = tmp_path / f"{user}.kubeconfig"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {
                            "server": cp.server,
                            "certificate-authority-data": base64.b64encode(cp.ca_cert.read_bytes()).decode(),
                        },
                    }
                ],
                "users": [
                    {
                        "name": user,
                        "user": {
                            "client-certificate-data": base64.b64encode(cert.read_bytes()).decode(),
                            "client-key-data": base64.b64encode(key.read_bytes()).decode(),
                        },
                    }
                ],
                "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": user}}],
                "current-context": "ctx",
            }
        )
    )
    path.chmod(0o600)
    return path


def test_server_version(control_plane: ControlPlane) -> None:
    out = control_plane.kubectl("version", "-o", "json").stdout
    server = json.loads(out)["serverVersion"]
    if control_plane.local:
        assert server["gitVersion"] == "v1.20.2"
        assert (server["major"], server["minor"]) == ("1", "20")
    else:
        assert server["gitVersion"].startswith("v1.")
    assert control_plane.server.startswith("https://")


def test_isolated_home(control_plane: ControlPlane, isolated_home: Path) -> None:
    config = isolated_home / ".kube" / "config"
    assert os.environ["HOME"] == str(isolated_home)
    assert os.environ["KUBECONFIG"] == str(config)
    assert config.stat().st_mode & 0o777 == 0o600
    assert config.parent.stat().st_mode & 0o777 == 0o700
    assert config.read_bytes() == control_plane.kubeconfig.read_bytes()


def test_namespace_fixture(control_plane: ControlPlane, namespace: str) -> None:
    out = control_plane.kubectl("get", "namespace", namespace, "-o", "jsonpath={.status.phase}").stdout
    assert out == "Active"


def test_csr_is_signed_by_cluster_ca_and_authenticates(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    cp = control_plane
    name = f"e2e-probe-{uuid.uuid4().hex[:8]}"
    key, csr = make_key_and_csr(tmp_path, "e2e-probe", "dev")
    submit_csr(cp, name, csr)
    try:
        cp.kubectl("certificate", "approve", name)
        cert = assert_signed_by_cluster_ca(cp, wait_for_certificate(cp, name), tmp_path, "e2e-probe")
    finally:
        cp.kubectl("delete", "csr", name, "--ignore-not-found", check=False)

    # The certificate authenticates as e2e-probe: authorization (RBAC) denies, authentication does not.
    kubeconfig = user_kubeconfig(cp, tmp_path, "e2e-probe", cert, key)
    denied = cp.kubectl("get", "pods", "-n", namespace, kubeconfig=kubeconfig, check=False)
    assert denied.returncode != 0
    assert "forbidden" in denied.stderr.lower(), denied.stderr
    assert '"e2e-probe"' in denied.stderr, denied.stderr

    cp.kubectl("create", "role", "pod-reader", "--verb=get,list", "--resource=pods", "-n", namespace)
    cp.kubectl("create", "rolebinding", "e2e-probe-pods", "--role=pod-reader", "--user=e2e-probe", "-n", namespace)
    deadline = time.monotonic() + 30
    while True:
        allowed = cp.kubectl("get", "pods", "-n", namespace, kubeconfig=kubeconfig, check=False)
        if allowed.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert allowed.returncode == 0, allowed.stderr


def test_cert_minted_with_ca_key_authenticates(control_plane: ControlPlane, tmp_path: Path) -> None:
    cp = control_plane
    ca_key = cp.require_ca_key()
    key, csr = make_key_and_csr(tmp_path, "e2e-minted", "dev")
    cert = tmp_path / "e2e-minted.crt"
    ext = tmp_path / "client.ext"
    ext.write_text("[v3]\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n")
    openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(cp.ca_cert), "-CAkey", str(ca_key),
        "-CAcreateserial", "-CAserial", str(tmp_path / "ca.srl"), "-days", "1",
        "-extfile", str(ext), "-extensions", "v3", "-out", str(cert),
    )  # fmt: skip
    good = cp.kubectl("get", "ns", kubeconfig=user_kubeconfig(cp, tmp_path, "e2e-minted", cert, key), check=False)
    assert "forbidden" in good.stderr.lower() and '"e2e-minted"' in good.stderr, good.stderr

    # Same subject from a foreign CA: not authenticated at all (401).
    foreign_key = tmp_path / "foreign-ca.key"
    foreign_ca = tmp_path / "foreign-ca.crt"
    openssl("genrsa", "-out", str(foreign_key), "2048")
    openssl("req", "-x509", "-new", "-key", str(foreign_key), "-subj", "/CN=foreign-ca", "-days", "1",
            "-out", str(foreign_ca))  # fmt: skip
    bad_cert = tmp_path / "foreign.crt"
    openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(foreign_ca), "-CAkey", str(foreign_key),
        "-CAcreateserial", "-CAserial", str(tmp_path / "foreign.srl"), "-days", "1",
        "-extfile", str(ext), "-extensions", "v3", "-out", str(bad_cert),
    )  # fmt: skip
    bad = cp.kubectl("get", "ns", kubeconfig=user_kubeconfig(cp, tmp_path, "e2e-foreign", bad_cert, key), check=False)
    assert bad.returncode != 0
    assert "unauthorized" in bad.stderr.lower() or "provide credentials" in bad.stderr.lower(), bad.stderr


def test_no_certificate_without_signer_until_controller_manager_returns(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    cp = control_plane
    name = f"e2e-nosigner-{uuid.uuid4().hex[:8]}"
    _, csr = make_key_and_csr(tmp_path, "e2e-nosigner", "dev")
    cp.stop_controller_manager()
    try:
        submit_csr(cp, name, csr)
        cp.kubectl("certificate", "approve", name)
        assert approved(cp, name)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert issued_certificate(cp, name) == "", "a certificate was issued with no controller-manager"
            time.sleep(1)
    finally:
        cp.start_controller_manager()
    try:
        assert_signed_by_cluster_ca(cp, wait_for_certificate(cp, name), tmp_path, "e2e-nosigner")
    finally:
        cp.kubectl("delete", "csr", name, "--ignore-not-found", check=False)
