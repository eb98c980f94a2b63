"""Which kind of identity a cluster supports (issue 16): with no CSR signer (the controller-manager stopped,
as on EKS where the CSR is approved and never issued), preflight recommends tokens and ``--auth auto`` picks
them; with the signer back, it picks certificates. Checked with kubectl."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from kubeuser_runner import home_kubeconfig, kubeuser, ok, uname

if TYPE_CHECKING:
    from e2e.conftest import ControlPlane


def _csrs_of(cp: ControlPlane, prefix: str) -> list[str]:
    names = cp.kubectl("get", "csr", "-o", "jsonpath={.items[*].metadata.name}").stdout.split()
    return [n for n in names if prefix in n]


def test_without_a_signer_preflight_recommends_tokens_and_auto_picks_them(
    control_plane: ControlPlane, registry_ns: str, namespace: str
) -> None:
    cp = control_plane
    cp.kubectl("create", "namespace", registry_ns)  # where the throwaway ServiceAccount is made
    user = uname("auto")
    cp.stop_controller_manager()
    try:
        proc = kubeuser("preflight", "--timeout", "5", "-o", "json")
        assert proc.returncode == 0, proc.stdout + proc.stderr  # ready: tokens work
        checks = {c["id"]: c for c in json.loads(proc.stdout)["checks"]}
        assert checks["signer"]["status"] == "fail" and not checks["signer"]["required"]
        assert "no certificate was issued within 5s" in checks["signer"]["detail"]
        assert checks["token-request"]["status"] == "pass"
        assert checks["auth-kinds"]["status"] == "pass"
        assert "`--auth auto` picks token" in checks["auth-kinds"]["detail"]
        # asking for certificates alone fails, and says tokens would work
        strict = kubeuser("preflight", "--timeout", "5", "--auth", "x509")
        assert strict.returncode == 12, strict.stdout + strict.stderr
        assert "--auth token does" in strict.stdout

        # --rule, not --clusterrole view: view's rules are aggregated by the controller-manager, stopped here
        made = kubeuser("create", user, "--auth", "auto", "--timeout", "5", "--rule", "get,list:pods", "-n", namespace,
                        "-o", "json")  # fmt: skip
        assert made.returncode == 0, made.stderr
        doc = json.loads(made.stdout)
        assert doc["auth"] == "token" and doc["serviceAccount"] == {"namespace": registry_ns, "name": user}
        assert "--auth auto: onboarding" in made.stderr and "not issued" in made.stderr
    finally:
        cp.start_controller_manager()
    # the token identity works, with exactly the access granted, and no probe CSR or ServiceAccount is left
    context = f"{user}@{json.loads(made.stdout)['cluster']}"
    assert (
        cp.kubectl("--context", context, "get", "pods", "-n", namespace, kubeconfig=home_kubeconfig()).returncode == 0
    )
    denied = cp.kubectl("--context", context, "get", "pods", "-n", "kube-system", kubeconfig=home_kubeconfig(),
                        check=False)  # fmt: skip
    assert denied.returncode != 0 and "forbidden" in denied.stderr.lower()
    assert _csrs_of(cp, "preflight") == []
    sas = cp.kubectl("get", "serviceaccounts", "-n", registry_ns, "-o", "jsonpath={.items[*].metadata.name}").stdout
    assert sas.split().count(user) == 1 and "preflight" not in sas


def test_with_the_signer_auto_picks_a_certificate(
    control_plane: ControlPlane, registry_ns: str, namespace: str
) -> None:
    cp = control_plane
    user = uname("auto")
    doc = json.loads(ok(kubeuser("create", user, "--auth", "auto", "--rule", "get:pods", "-n", namespace,
                                 "-o", "json")).stdout)  # fmt: skip
    assert doc["auth"] == "x509" and doc["serial"] and doc["serviceAccount"] is None
    binding = json.loads(cp.kubectl("get", "rolebinding", f"kubeuser:{user}", "-n", namespace, "-o", "json").stdout)
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]
    assert _csrs_of(cp, "preflight") == []  # the probe's CSR was deleted
