"""An admin kubeconfig with ``insecure-skip-tls-verify: true`` (and no CA): kubeuser says so once, in its own
words (not urllib3's ``InsecureRequestWarning`` per request), and a handout does not inherit the flag: it
carries the cluster CA from ConfigMap ``kube-root-ca.crt`` (published by kube-controller-manager, v1.20 too)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml
from kubeuser_runner import home_kubeconfig, kubeuser, ok, uname


def make_insecure(path: Path) -> str:
    doc = yaml.safe_load(path.read_text())
    for entry in doc["clusters"]:
        entry["cluster"].pop("certificate-authority-data", None)
        entry["cluster"].pop("certificate-authority", None)
        entry["cluster"]["insecure-skip-tls-verify"] = True
    path.write_text(yaml.safe_dump(doc))
    return str(doc["clusters"][0]["name"])


def test_insecure_admin_one_warning_and_a_verifying_handout(control_plane: Any, namespace: str, tmp_path: Path) -> None:
    cluster = make_insecure(home_kubeconfig())
    out = tmp_path / "handout.kubeconfig"
    proc = ok(kubeuser("create", uname("insecure"), "-n", namespace, "--clusterrole", "view", "--out", str(out)))
    assert "InsecureRequestWarning" not in proc.stderr and "urllib3" not in proc.stderr
    said = [ln for ln in proc.stderr.splitlines() if ln.startswith("warning:") and "insecure-skip-tls-verify" in ln]
    assert said == [
        f"warning: cluster {cluster!r} has insecure-skip-tls-verify: the API server's certificate is not verified, so "
        "anyone in the network path can pose as it; set the cluster CA: kubectl config set-cluster "
        f"{cluster} --insecure-skip-tls-verify=false --certificate-authority=ca.crt --embed-certs=true"
    ]
    assert "the handout verifies the server instead" in proc.stderr
    handed = yaml.safe_load(out.read_text())["clusters"][0]["cluster"]
    assert "insecure-skip-tls-verify" not in handed
    root_ca = control_plane.kubectl("get", "configmap", "kube-root-ca.crt", "-n", "default", "-o",
                                    "jsonpath={.data.ca\\.crt}").stdout  # fmt: skip
    assert base64.b64decode(handed["certificate-authority-data"]).decode().strip() == root_ca.strip()
    assert root_ca.strip() == control_plane.ca_cert.read_text().strip()
    res = control_plane.kubectl("get", "pods", "-n", namespace, kubeconfig=out, check=False)  # kubectl verifies
    assert res.returncode == 0, res.stderr
