"""Token identities in run, apply, cleanup and grant/ungrant on the real control plane, checked with kubectl."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import yaml
from kubeuser_runner import kubeuser, ok, uname

KUBECTL = "/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else (shutil.which("kubectl") or "kubectl")
TOKEN_SECRET_TYPE = "kubeuser.io/token-binding"


def names(control_plane: Any, kind: str, namespace: str, user: str) -> list[str]:
    """The names of the user's objects of *kind* kubeuser labelled, as kubectl lists them."""
    proc = control_plane.kubectl("get", kind, "-n", namespace, "-l", f"kubeuser.io/user={user}", "-o", "json")
    return sorted(o["metadata"]["name"] for o in json.loads(proc.stdout)["items"])


def can_i(control_plane: Any, *args: str, kubeconfig: Path | None = None) -> str:
    """``kubectl auth can-i``: "yes" or "no" (exit 1 is a "no", not an error)."""
    proc = control_plane.kubectl("auth", "can-i", *args, kubeconfig=kubeconfig, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return str(proc.stdout.strip())


def test_run_token_works_inside_and_leaves_nothing(
    control_plane: Any, namespace: str, registry_ns: str, tmp_path: Path
) -> None:
    name = uname("runtok")
    seen = tmp_path / "seen"
    script = (
        f"set -e; {KUBECTL} config view --raw -o jsonpath='{{.users[0].user.token}}' > {seen}; "
        f"{KUBECTL} get pods -n {namespace}; "
        f"{KUBECTL} auth can-i get secrets -n {namespace} && exit 42; "
        f"{KUBECTL} auth can-i list pods -n {namespace}"
    )
    # while it runs, the ServiceAccount is the one kubectl acts as
    proc = kubeuser("run", name, "--auth", "token", "--rule", "get,list:pods", "-n", namespace, "--", "sh", "-c",
                    script)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "No resources found" in proc.stderr and proc.stdout.strip().endswith("yes")
    assert "token bound to Secret" in proc.stderr and f"ServiceAccount {registry_ns}/{name} deleted" in proc.stderr
    token = seen.read_text().strip()
    assert token.count(".") == 2  # a JWT was in the kubeconfig
    # nothing of the user is left: no ServiceAccount, no Secret, no RBAC, no active record
    assert names(control_plane, "serviceaccounts", registry_ns, name) == []
    assert names(control_plane, "secrets", registry_ns, name) == []
    for kind in ("roles", "rolebindings"):
        assert names(control_plane, kind, namespace, name) == []
    (cm,) = control_plane.record_configmaps(registry_ns, name)
    assert cm["metadata"]["labels"]["kubeuser.io/status"] == "revoked"
    # and the token is dead: 401 once the API server's authentication cache (about 10 s) forgets it
    dead_after = seconds_until_unauthorized(control_plane, token, namespace)
    print(f"run --auth token: the token got 401 {dead_after:.1f} s after run ended")


AUTH_CACHE_LIMIT = 30.0  # measured ~8-10 s on v1.20.2 (shared/notes/tokens.md); generous for a loaded machine


def seconds_until_unauthorized(control_plane: Any, token: str, namespace: str) -> float:
    """How long until the server answers the token with 401 (it was accepted just before: forbidden is not dead)."""
    t0 = time.monotonic()
    while True:
        # only the token: a later --kubeconfig wins over the admin's, so no client certificate is sent
        proc = control_plane.kubectl("--kubeconfig", "/dev/null", "--server", control_plane.server,
                                     "--insecure-skip-tls-verify", "--token", token, "get", "pods", "-n", namespace,
                                     check=False)  # fmt: skip
        if "Unauthorized" in proc.stderr:
            return time.monotonic() - t0
        assert proc.returncode != 0 and "Forbidden" in proc.stderr, proc.stderr  # no access left meanwhile
        assert time.monotonic() - t0 < AUTH_CACHE_LIMIT, f"the token still authenticates: {proc.stderr}"
        time.sleep(1)


def test_apply_mixed_kinds_each_user_can_do_exactly_what_is_granted(
    control_plane: Any, namespace: str, registry_ns: str, tmp_path: Path
) -> None:
    alice, dash = uname("mx-cert"), uname("mx-tok")
    doc = {
        "apiVersion": "kubeuser.io/v1alpha1",
        "kind": "UserList",
        "users": [
            {"name": alice, "groups": ["e2e-team"], "ttl": "1d", "namespaces": {namespace: {"rules": ["get:pods"]}}},
            {"name": dash, "auth": "token", "ttl": "2h", "namespaces": {namespace: {"clusterRoles": ["view"]}}},
        ],
    }
    f = tmp_path / "users.yaml"
    f.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = tmp_path / "handout"
    res = json.loads(ok(kubeuser("apply", "-f", str(f), "--out-dir", str(out), "-o", "json")).stdout)
    assert [(u["user"], u["action"], u["status"]) for u in res["users"]] == [
        (alice, "create", "done"),
        (dash, "create", "done"),
    ]
    alice_kc, dash_kc = out / f"{alice}.kubeconfig", out / f"{dash}.kubeconfig"
    assert "token" in yaml.safe_load(dash_kc.read_text())["users"][0]["user"]
    assert "client-certificate-data" in yaml.safe_load(alice_kc.read_text())["users"][0]["user"]
    # the token user: view in the namespace (list pods), nothing else, nowhere else
    assert can_i(control_plane, "list", "pods", "-n", namespace, kubeconfig=dash_kc) == "yes"
    assert can_i(control_plane, "create", "pods", "-n", namespace, kubeconfig=dash_kc) == "no"
    assert can_i(control_plane, "get", "secrets", "-n", namespace, kubeconfig=dash_kc) == "no"
    assert can_i(control_plane, "list", "pods", "-n", "default", kubeconfig=dash_kc) == "no"
    # the certificate user: get pods only
    assert can_i(control_plane, "get", "pods", "-n", namespace, kubeconfig=alice_kc) == "yes"
    assert can_i(control_plane, "list", "pods", "-n", namespace, kubeconfig=alice_kc) == "no"
    # as the admin sees it: the token user's binding names its ServiceAccount
    sa_user = f"system:serviceaccount:{registry_ns}:{dash}"
    assert can_i(control_plane, "list", "pods", "-n", namespace, "--as", sa_user) == "yes"
    assert names(control_plane, "serviceaccounts", registry_ns, dash) == [dash]
    # again: nothing to do
    again = json.loads(ok(kubeuser("apply", "-f", str(f), "--out-dir", str(out), "-o", "json")).stdout)
    assert [u["action"] for u in again["users"]] == ["unchanged", "unchanged"]


def test_cleanup_deletes_what_an_interrupted_token_create_left(
    control_plane: Any, namespace: str, registry_ns: str
) -> None:
    name = uname("killtok")
    killed = kubeuser("create", name, "--auth", "token", "--rule", "get:pods", "-n", namespace,
                      env={"KUBEUSER_FAULT_AFTER_STEP": "Request a ServiceAccount token:SIGKILL"})  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    sa, secrets = (
        names(control_plane, "serviceaccounts", registry_ns, name),
        names(control_plane, "secrets", registry_ns, name),
    )
    assert sa == [name] and len(secrets) == 1  # made, never rolled back: the process was killed
    assert control_plane.record_configmaps(registry_ns, name) == []
    secret_type = control_plane.kubectl("get", "secret", secrets[0], "-n", registry_ns, "-o", "jsonpath={.type}")
    assert secret_type.stdout == TOKEN_SECRET_TYPE

    listed = json.loads(ok(kubeuser("cleanup", "--user", name, "-o", "json")).stdout)
    assert sorted((o["kind"], o["name"], o["reason"]) for o in listed["orphans"]) == [
        ("Secret", secrets[0], f"user {name!r} has no kubeuser record"),
        ("ServiceAccount", name, f"user {name!r} has no kubeuser record"),
    ]
    out = ok(kubeuser("cleanup", "--delete", "--min-age", "0", "--user", name)).stdout
    assert out.count("[deleted]") == 2
    assert names(control_plane, "serviceaccounts", registry_ns, name) == []
    assert names(control_plane, "secrets", registry_ns, name) == []


def test_grant_and_ungrant_follow_for_the_serviceaccount(
    control_plane: Any, namespace: str, registry_ns: str, tmp_path: Path
) -> None:
    name = uname("granttok")
    kc = tmp_path / "tok.kubeconfig"
    ok(kubeuser("create", name, "--auth", "token", "-n", namespace, "--out", str(kc)))
    sa_user = f"system:serviceaccount:{registry_ns}:{name}"
    assert can_i(control_plane, "list", "pods", "-n", namespace, "--as", sa_user) == "no"
    ok(kubeuser("grant", name, "--rule", "get,list:pods", "-n", namespace))
    assert can_i(control_plane, "list", "pods", "-n", namespace, "--as", sa_user) == "yes"
    assert can_i(control_plane, "list", "pods", "-n", namespace, kubeconfig=kc) == "yes"  # the token itself
    assert can_i(control_plane, "list", "pods", "-n", namespace, "--as", name) == "no"  # no User of the name
    ok(kubeuser("ungrant", name, "--rule", "get,list:pods", "-n", namespace))
    assert can_i(control_plane, "list", "pods", "-n", namespace, "--as", sa_user) == "no"
    assert can_i(control_plane, "list", "pods", "-n", namespace, kubeconfig=kc) == "no"
