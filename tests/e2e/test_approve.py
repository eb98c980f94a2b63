"""``kubeuser approve`` on the real control plane: requests submitted with ``kubectl apply`` as anyone would,
judged, approved (and issued by the cluster's signer) or refused and denied; checked with kubectl and openssl.

The ``O=system:masters`` rule is unit-tested only: the API server itself (1.19+, CertificateSubjectRestriction
admission) refuses to create such a request for this signer.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from e2e.conftest import ControlPlane
from kubeuser_runner import kubeuser, ok

SIGNER = "kubernetes.io/kube-apiserver-client"
CHECK_FAILED = 12


@dataclass
class Submitted:
    good: str  # CN=alice-<id>, O=dev, client auth + digital signature
    node: str  # CN=system:node:worker-<id>, O=system:nodes: a node's identity
    serve: str  # usages server auth + digital signature
    alice: str
    node_cn: str


def csr_pem(cn: str, orgs: list[str]) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.NameAttribute(NameOID.COMMON_NAME, cn)] + [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs
    ]
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(names)).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def kubectl_apply_csr(control_plane: ControlPlane, name: str, pem: bytes, usages: list[str]) -> None:
    manifest = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {"request": base64.b64encode(pem).decode(), "signerName": SIGNER, "usages": usages},
    }
    control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest))


def csr_field(control_plane: ControlPlane, name: str, jsonpath: str) -> str:
    return control_plane.kubectl("get", "csr", name, "-o", f"jsonpath={jsonpath}").stdout


def condition_types(control_plane: ControlPlane, name: str) -> list[str]:
    return csr_field(control_plane, name, "{.status.conditions[*].type}").split()


@pytest.fixture
def submitted(control_plane: ControlPlane) -> Iterator[Submitted]:
    uid = uuid.uuid4().hex[:8]
    s = Submitted(
        good=f"e2e-approve-good-{uid}",
        node=f"e2e-approve-node-{uid}",
        serve=f"e2e-approve-serve-{uid}",
        alice=f"alice-{uid}",
        node_cn=f"system:node:worker-{uid}",
    )
    try:
        kubectl_apply_csr(control_plane, s.good, csr_pem(s.alice, ["dev"]), ["client auth", "digital signature"])
        kubectl_apply_csr(
            control_plane, s.node, csr_pem(s.node_cn, ["system:nodes"]), ["client auth", "digital signature"]
        )
        kubectl_apply_csr(control_plane, s.serve, csr_pem(f"web-{uid}", ["dev"]), ["server auth", "digital signature"])
        yield s
    finally:
        control_plane.kubectl("delete", "csr", s.good, s.node, s.serve, "--ignore-not-found", check=False)


def row(out: str, name: str) -> list[str]:
    line = next(ln for ln in out.splitlines() if ln.startswith(name + " "))
    return re.split(r"\s{2,}", line.strip())


def test_listing_shows_the_three_requests_with_verdicts_and_changes_nothing(
    control_plane: ControlPlane, submitted: Submitted
) -> None:
    s = submitted
    proc = kubeuser("approve")
    assert proc.returncode == CHECK_FAILED, proc.stdout + proc.stderr
    out = proc.stdout
    assert out.splitlines()[0].split() == ["NAME", "CN", "O", "KEY", "USAGES", "LIFETIME", "REQUESTOR", "VERDICT"]
    submitter = csr_field(control_plane, s.good, "{.spec.username}")
    assert submitter  # the API server filled in who submitted it
    good = row(out, s.good)
    assert good[1:6] == [s.alice, "dev", "ecdsa 256", "client auth, digital signature", "signer default"]
    assert good[6].startswith(submitter) and good[7] == "pass"
    assert row(out, s.node)[1:3] == [s.node_cn, "system:nodes"] and row(out, s.node)[7] == "fail (O, CN)"
    assert row(out, s.serve)[7] == "fail (usages)"
    assert f"  CN: '{s.node_cn}' is a reserved system: name" in out
    assert "  usages: spec.usages must be client auth, digital signature (not allowed: server auth" in out
    assert "drops spec.expirationSeconds" in out  # v1.20: the signer's default lifetime applies
    assert f"{s.node} (O, CN)" in proc.stderr and f"{s.serve} (usages)" in proc.stderr
    for name in (s.good, s.node, s.serve):
        assert condition_types(control_plane, name) == []  # nothing changed

    doc = json.loads(kubeuser("approve", "-o", "json").stdout)
    mine = {c["name"]: c for c in doc["csrs"] if c["name"] in (s.good, s.node, s.serve)}
    assert {n: c["verdict"] for n, c in mine.items()} == {s.good: "pass", s.node: "fail", s.serve: "fail"}
    assert mine[s.good]["requestor"]["username"] == submitter and mine[s.good]["requestedSeconds"] is None


def test_a_good_request_is_approved_and_the_cluster_issues_it(
    control_plane: ControlPlane, submitted: Submitted
) -> None:
    s = submitted
    proc = ok(kubeuser("approve", s.good))
    assert row(proc.stdout, s.good)[7] == "approved"
    assert csr_field(control_plane, s.good, "{.status.conditions[0].reason}") == "KubeuserApprove"
    assert csr_field(control_plane, s.good, "{.status.conditions[0].message}") == (
        f"approved by kubeuser approve: CN={s.alice}, O=dev, passed policy"
    )
    cert = ""
    deadline = time.monotonic() + 30
    while not cert and time.monotonic() < deadline:
        cert = csr_field(control_plane, s.good, "{.status.certificate}")
        if not cert:
            time.sleep(0.5)
    assert cert, "the signer did not issue the approved request within 30s"
    subject = subprocess.run(
        ["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253"],
        input=base64.b64decode(cert), capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    assert subject.strip() == f"subject=CN={s.alice},O=dev"
    for name in (s.node, s.serve):
        assert condition_types(control_plane, name) == []  # only the named one was touched


def test_a_node_identity_is_refused_then_denied_with_deny_failing(
    control_plane: ControlPlane, submitted: Submitted
) -> None:
    s = submitted
    proc = kubeuser("approve", s.node)
    assert proc.returncode == CHECK_FAILED, proc.stdout + proc.stderr
    assert f"{s.node} fails kubeuser's policy (left pending):" in proc.stdout
    assert f"  CN: '{s.node_cn}' is a reserved system: name" in proc.stdout
    assert "  O: 'system:nodes' is a reserved system: group (--allow-system-names to allow)" in proc.stdout
    assert condition_types(control_plane, s.node) == []  # still pending: no Approved condition

    proc = kubeuser("approve", s.node, "--deny-failing")
    assert proc.returncode == CHECK_FAILED, proc.stdout + proc.stderr
    assert condition_types(control_plane, s.node) == ["Denied"]
    assert csr_field(control_plane, s.node, "{.status.conditions[0].reason}") == "KubeuserPolicy"
    message = csr_field(control_plane, s.node, "{.status.conditions[0].message}")
    assert message.startswith("denied by kubeuser approve: fails policy: ") and s.node_cn in message
    assert csr_field(control_plane, s.node, "{.status.certificate}") == ""

    again = kubeuser("approve", s.node)  # decided now: one line, nothing fails any more
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{s.node}: already denied: left alone" in again.stdout


def test_a_wrong_usage_is_refused_naming_the_usages(control_plane: ControlPlane, submitted: Submitted) -> None:
    s = submitted
    proc = kubeuser("approve", s.serve, "-o", "json")
    assert proc.returncode == CHECK_FAILED, proc.stdout + proc.stderr
    (c,) = json.loads(proc.stdout)["csrs"]
    assert c["action"] == "failed-policy" and [v["field"] for v in c["violations"]] == ["usages"]
    assert "not allowed: server auth" in c["violations"][0]["message"]
    assert condition_types(control_plane, s.serve) == []


def test_an_unknown_name_is_exit_10(control_plane: ControlPlane) -> None:
    proc = kubeuser("approve", f"e2e-approve-nope-{uuid.uuid4().hex[:8]}")
    assert proc.returncode == 10 and proc.stdout == ""
    assert proc.stderr.startswith("error: CSR e2e-approve-nope-") and "not found" in proc.stderr
