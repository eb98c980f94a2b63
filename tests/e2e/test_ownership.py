"""Issue "Trust: kubeuser changes only what it owns", end to end on the real cluster.

Every test replays one sequence with the real CLI and checks the outcome with kubectl, openssl and
the kubeconfig files themselves. Each test has its own user names (uuid) and its own registry
namespace (``KUBEUSER_REGISTRY_NAMESPACE``), so the tests pass alone and in any order.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from kubeuser_runner import cluster_name, home_kubeconfig, kubeuser, ok, serial_of, uid, uname
from kubeuser_runner import openssl_x509 as openssl

if TYPE_CHECKING:
    from e2e.conftest import ControlPlane as Cluster

# --------------------------------------------------------------------------- helpers


@pytest.fixture
def make_namespace(control_plane: Cluster) -> Iterator[Callable[[], str]]:
    """Makes more fresh namespaces (besides the ``namespace`` fixture); all deleted afterwards."""
    made: list[str] = []

    def make() -> str:
        name = f"e2e-{uuid.uuid4().hex[:10]}"
        control_plane.kubectl("create", "namespace", name)
        made.append(name)
        return name

    try:
        yield make
    finally:
        for name in made:
            control_plane.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)


def kc_doc(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    assert isinstance(doc, dict)
    return doc


def names(doc: dict[str, Any], kind: str) -> set[str]:
    return {str(e["name"]) for e in doc.get(kind) or []}


def entry(doc: dict[str, Any], kind: str, name: str) -> dict[str, Any] | None:
    inner = {"users": "user", "contexts": "context", "clusters": "cluster"}[kind]
    for e in doc.get(kind) or []:
        if e.get("name") == name:
            body = e.get(inner)
            return body if isinstance(body, dict) else {}
    return None


def admin_names(path: Path) -> tuple[str, str, str]:
    """(admin context = current-context, its user entry, its cluster entry)."""
    doc = kc_doc(path)
    ctx = str(doc["current-context"])
    body = entry(doc, "contexts", ctx)
    assert body is not None
    return ctx, str(body["user"]), str(body["cluster"])


def cert_of(path: Path, user_entry: str) -> bytes:
    body = entry(kc_doc(path), "users", user_entry)
    assert body is not None, f"no user entry {user_entry} in {path}"
    return base64.b64decode(body["client-certificate-data"])


def cn_of(pem: bytes) -> str:
    m = re.search(r"CN=([^,\n]+)", openssl(pem, "-subject"))
    assert m is not None
    return m.group(1)


def certificate_cns(path: Path) -> set[str]:
    """The CN of every embedded client certificate in a kubeconfig."""
    out: set[str] = set()
    for e in kc_doc(path).get("users") or []:
        data = (e.get("user") or {}).get("client-certificate-data")
        if data:
            out.add(cn_of(base64.b64decode(data)))
    return out


def as_user(cp: Cluster, context: str, *args: str, kubeconfig: Path | None = None) -> subprocess.CompletedProcess[str]:
    return cp.kubectl("--context", context, *args, kubeconfig=kubeconfig or home_kubeconfig(), check=False)


def can_i(cp: Cluster, user: str, verb: str, resource: str, namespace: str) -> bool:
    proc = cp.kubectl("auth", "can-i", verb, resource, "-n", namespace, "--as", user, check=False)
    answer = proc.stdout.strip()
    assert answer in ("yes", "no"), proc.stdout + proc.stderr
    return answer == "yes"


def forbidden(proc: subprocess.CompletedProcess[str], user: str) -> bool:
    """Authenticated as *user* (never 401) and refused by RBAC."""
    return proc.returncode != 0 and "forbidden" in proc.stderr.lower() and f'User "{user}"' in proc.stderr


def get_json(cp: Cluster, *args: str) -> dict[str, Any]:
    doc = json.loads(cp.kubectl("get", *args, "-o", "json").stdout)
    assert isinstance(doc, dict)
    return doc


def labelled(cp: Cluster, kinds: str, user: str) -> list[dict[str, Any]]:
    """Every object of *kinds* (all namespaces) labelled kubeuser.io/user=USER."""
    items = get_json(cp, kinds, "-A", "-l", f"kubeuser.io/user={user}")["items"]
    return list(items)


def rbac_of(cp: Cluster, user: str) -> list[dict[str, Any]]:
    return labelled(cp, "roles,rolebindings,clusterrolebindings", user)


def snapshot(cp: Cluster, registry: str, user: str) -> dict[str, str]:
    """resourceVersion of every kubeuser object of the user (RBAC and the registry record)."""
    objs = [*rbac_of(cp, user), *cp.record_configmaps(registry, user)]
    return {
        f"{o['kind']}/{o['metadata'].get('namespace')}/{o['metadata']['name']}": o["metadata"]["resourceVersion"]
        for o in objs
    }


def error_lines(stderr: str) -> tuple[list[str], list[str]]:
    lines = stderr.splitlines()
    return [ln for ln in lines if ln.startswith("error:")], [ln for ln in lines if ln.startswith("hint:")]


def suggests_force(hint: str) -> bool:
    """True when the hint names --force at all (a foreign entry's way out is another name, never --force)."""
    return "--force" in hint


def assert_refused_7(proc: subprocess.CompletedProcess[str]) -> str:
    """Exit 7 with one error line and a hint naming --context-name, not offering --force; returns the hint."""
    assert proc.returncode == 7, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    errors, hints = error_lines(proc.stderr)
    assert len(errors) == 1 and len(hints) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    hint = hints[0]
    assert "--context-name" in hint, hint
    assert not suggests_force(hint), hint
    return hint


# --------------------------------------------------------------------------- 1. foreign kubeconfig entries


def test_create_refuses_foreign_context_name_even_with_force(control_plane: Cluster, registry_ns: str) -> None:
    kc = home_kubeconfig()
    admin_ctx, admin_user, _cluster = admin_names(kc)
    before = kc.read_bytes()
    for target_name in (admin_ctx, admin_user):  # --context-name names the context and the user entry
        name = uname("cnx")
        for extra in ((), ("--force",)):
            proc = kubeuser("create", name, "--context-name", target_name, *extra)
            assert_refused_7(proc)
            assert target_name in proc.stderr
            assert kc.read_bytes() == before, f"kubeconfig changed by create --context-name {target_name} {extra}"
        # nothing was made in the cluster
        assert labelled(control_plane, "csr", name) == []
        assert rbac_of(control_plane, name) == []
        assert control_plane.record_configmaps(registry_ns, name) == []
    # the admin context still works (authenticated as admin, not Forbidden)
    res = as_user(control_plane, admin_ctx, "get", "ns")
    assert res.returncode == 0 and "forbidden" not in res.stderr.lower(), res.stderr
    assert kc_doc(kc)["current-context"] == admin_ctx


def test_revoke_removes_only_its_own_kubeconfig_entries(control_plane: Cluster, registry_ns: str) -> None:
    kc = home_kubeconfig()
    admin_ctx, admin_user, cluster = admin_names(kc)
    u1 = uname("own")
    own = f"{u1}@{cluster}"
    ok(kubeuser("create", u1))
    extra = f"extra-{uid()}"
    control_plane.kubectl("config", "set-context", extra, f"--cluster={cluster}", f"--user={own}", kubeconfig=kc)
    control_plane.kubectl("config", "use-context", admin_ctx, kubeconfig=kc)
    doc = kc_doc(kc)
    assert {own, extra, admin_ctx} <= names(doc, "contexts") and {own, admin_user} <= names(doc, "users")
    cluster_before = entry(doc, "clusters", cluster)

    proc = ok(kubeuser("revoke", u1))
    doc = kc_doc(kc)
    assert own not in names(doc, "contexts") and own not in names(doc, "users")
    assert {admin_ctx, extra} <= names(doc, "contexts")
    assert admin_user in names(doc, "users")
    assert entry(doc, "clusters", cluster) == cluster_before
    assert doc["current-context"] == admin_ctx
    touched = [ln for ln in proc.stdout.splitlines() if "not touched" in ln and extra in ln]
    assert touched, proc.stdout
    res = as_user(control_plane, admin_ctx, "get", "ns")
    assert res.returncode == 0, res.stderr
    assert control_plane.record(registry_ns, u1)["status"] == "revoked"


def test_create_refuses_hand_made_context_of_the_default_name(control_plane: Cluster, registry_ns: str) -> None:
    kc = home_kubeconfig()
    admin_ctx, admin_user, cluster = admin_names(kc)
    u2 = uname("hm")
    ctx = f"{u2}@{cluster}"
    control_plane.kubectl("config", "set-context", ctx, f"--cluster={cluster}", f"--user={admin_user}", kubeconfig=kc)
    before = kc.read_bytes()

    for extra in ((), ("--force",)):
        assert_refused_7(kubeuser("create", u2, *extra))
        assert kc.read_bytes() == before
    assert labelled(control_plane, "csr", u2) == []
    assert rbac_of(control_plane, u2) == []
    assert control_plane.record_configmaps(registry_ns, u2) == []

    # revoke of an unknown user does not take the hand-made context either
    proc = kubeuser("revoke", u2)
    assert proc.returncode == 10, proc.stdout + proc.stderr
    assert kc.read_bytes() == before
    # a kubeuser user whose context was re-pointed at the admin by hand: revoke keeps that context
    u3 = uname("hm")
    ctx3 = f"{u3}@{cluster}"
    ok(kubeuser("create", u3))
    control_plane.kubectl("config", "set-context", ctx3, f"--user={admin_user}", kubeconfig=kc)
    ok(kubeuser("revoke", u3))
    doc = kc_doc(kc)
    assert (entry(doc, "contexts", ctx3) or {}).get("user") == admin_user  # the re-pointed context is kept
    assert ctx3 not in names(doc, "users")  # kubeuser's own user entry is gone
    assert {ctx, admin_ctx} <= names(doc, "contexts") and admin_user in names(doc, "users")
    res = as_user(control_plane, ctx3, "get", "ns")  # the kept context still is the admin
    assert res.returncode == 0, res.stderr


# --------------------------------------------------------------------------- 2. cleanup across registries


def test_cleanup_never_deletes_another_registrys_objects(
    control_plane: Cluster, registry_ns: str, namespace: str
) -> None:
    reg2 = registry_ns
    reg1 = f"reg-{uid()}"
    zed = uname("zed")
    try:
        ok(kubeuser("create", zed, "--rule", "get:pods", "-n", namespace, "--registry-namespace", reg2))
        for kind in ("role", "rolebinding"):
            obj = get_json(control_plane, kind, f"kubeuser:{zed}", "-n", namespace)
            assert obj["metadata"]["labels"]["kubeuser.io/registry"] == reg2
            assert obj["metadata"]["annotations"]["kubeuser.io/registry"] == reg2
            assert obj["metadata"]["annotations"]["kubeuser.io/user"] == zed

        # reg1 does not exist yet: an empty registry, no crash; then an existing (empty) reg1
        for reg1_exists in (False, True):
            if reg1_exists:
                control_plane.kubectl("create", "namespace", reg1)
            args = ("cleanup", "--registry-namespace", reg1, "--user", zed, "--delete", "--min-age", "0")
            text = ok(kubeuser(*args))
            assert "Traceback" not in text.stderr
            assert reg2 in text.stdout and "not touched" in text.stdout, text.stdout
            assert f"kubeuser:{zed}" in text.stdout
            as_json = json.loads(ok(kubeuser(*args, "-o", "json")).stdout)
            assert as_json["deletedCount"] == 0 and as_json["orphans"] == []
            assert any(reg2 in w and f"kubeuser:{zed}" in w for w in as_json["otherRegistries"]), as_json
            for kind in ("role", "rolebinding"):
                control_plane.kubectl("get", kind, f"kubeuser:{zed}", "-n", namespace)
            assert can_i(control_plane, zed, "get", "pods", namespace)

        # revoke in the wrong registry touches nothing either
        wrong = kubeuser("revoke", zed, "--registry-namespace", reg1)
        assert wrong.returncode == 10, wrong.stdout + wrong.stderr
        assert reg2 in wrong.stderr
        for kind in ("role", "rolebinding"):
            control_plane.kubectl("get", kind, f"kubeuser:{zed}", "-n", namespace)

        ok(kubeuser("revoke", zed, "--registry-namespace", reg2))
        for kind in ("role", "rolebinding"):
            gone = control_plane.kubectl("get", kind, f"kubeuser:{zed}", "-n", namespace, check=False)
            assert gone.returncode != 0 and "NotFound" in gone.stderr, gone.stderr
        assert not can_i(control_plane, zed, "get", "pods", namespace)
    finally:
        control_plane.kubectl("delete", "namespace", reg1, "--wait=false", "--ignore-not-found", check=False)


# --------------------------------------------------------------------------- 4. revoke --all-bindings


def test_revoke_all_bindings_keeps_the_other_subjects(control_plane: Cluster, registry_ns: str, namespace: str) -> None:
    carol, frank = uname("carol"), uname("frank")
    ok(kubeuser("create", carol, "-n", namespace))
    control_plane.kubectl(
        "create", "rolebinding", "shared", "--clusterrole=view", f"--user={carol}", f"--user={frank}", "-n", namespace
    )
    assert can_i(control_plane, carol, "list", "pods", namespace)

    proc = ok(kubeuser("revoke", carol, "--all-bindings"))
    assert "Residual access" in proc.stdout
    shared = get_json(control_plane, "rolebinding", "shared", "-n", namespace)
    assert [(s["kind"], s["name"]) for s in shared["subjects"]] == [("User", frank)]
    assert shared["roleRef"]["name"] == "view"
    assert can_i(control_plane, frank, "list", "pods", namespace)
    assert not can_i(control_plane, carol, "list", "pods", namespace)
    assert control_plane.record(registry_ns, carol)["status"] == "revoked"


# --------------------------------------------------------------------------- 6. create --force


def test_create_force_leaves_no_old_grants(
    control_plane: Cluster, registry_ns: str, namespace: str, make_namespace: Callable[[], str]
) -> None:
    ns_a, ns_b = namespace, make_namespace()
    u = uname("fu")
    control_plane.kubectl("create", "role", "deployer", "--verb=create", "--resource=deployments.apps", "-n", ns_a)
    ok(kubeuser("create", u, "--rule", "get:pods", "--role", "deployer", "-n", ns_a))
    assert can_i(control_plane, u, "create", "deployments.apps", ns_a)
    assert can_i(control_plane, u, "get", "pods", ns_a)

    ok(kubeuser("create", u, "--clusterrole", "view", "-n", ns_b, "--force"))
    assert not can_i(control_plane, u, "create", "deployments.apps", ns_a)
    assert not can_i(control_plane, u, "get", "pods", ns_a)
    assert can_i(control_plane, u, "list", "pods", ns_b)
    objs = rbac_of(control_plane, u)
    assert [(o["kind"], o["metadata"]["namespace"]) for o in objs] == [("RoleBinding", ns_b)], objs
    assert objs[0]["roleRef"]["kind"] == "ClusterRole" and objs[0]["roleRef"]["name"] == "view"
    control_plane.kubectl("get", "role", "deployer", "-n", ns_a)  # the hand-made Role is not kubeuser's


# --------------------------------------------------------------------------- 7. grant / ungrant


def test_grant_and_ungrant_keep_the_certificate(
    control_plane: Cluster, registry_ns: str, namespace: str, make_namespace: Callable[[], str]
) -> None:
    ns_a, ns_b = namespace, make_namespace()
    g1 = uname("g")
    kc = home_kubeconfig()
    ctx = f"{g1}@{cluster_name(control_plane.kubeconfig)}"
    created = json.loads(ok(kubeuser("create", g1, "-n", ns_a, "-o", "json")).stdout)
    serial = created["serial"].upper()
    assert serial_of(cert_of(kc, ctx)) == serial
    assert forbidden(as_user(control_plane, ctx, "get", "pods", "-n", ns_a), g1)

    ok(kubeuser("grant", g1, "--clusterrole", "view", "-n", ns_a))
    res = as_user(control_plane, ctx, "get", "pods", "-n", ns_a)
    assert res.returncode == 0, res.stderr
    assert serial_of(cert_of(kc, ctx)) == serial

    control_plane.kubectl("create", "secret", "generic", "s1", "--from-literal=k=v", "-n", ns_b)
    assert forbidden(as_user(control_plane, ctx, "get", "secret", "s1", "-n", ns_b), g1)
    ok(kubeuser("grant", g1, "--rule", "get:secrets", "-n", ns_b))
    res = as_user(control_plane, ctx, "get", "secret", "s1", "-n", ns_b)  # get (not list) is what was granted
    assert res.returncode == 0, res.stderr
    assert serial_of(cert_of(kc, ctx)) == serial

    # --dry-run changes nothing
    before = snapshot(control_plane, registry_ns, g1)
    kc_before = kc.read_bytes()
    ok(kubeuser("grant", g1, "--dry-run", "--clusterrole", "edit", "-n", ns_a))
    assert snapshot(control_plane, registry_ns, g1) == before
    assert not can_i(control_plane, g1, "create", "deployments.apps", ns_a)
    # taking away what was never granted: exit 10, nothing changes
    proc = kubeuser("ungrant", g1, "--role", "nosuch", "-n", ns_a)
    assert proc.returncode == 10, proc.stdout + proc.stderr
    assert snapshot(control_plane, registry_ns, g1) == before
    assert kc.read_bytes() == kc_before

    ok(kubeuser("ungrant", g1, "--clusterrole", "view", "-n", ns_a))
    assert forbidden(as_user(control_plane, ctx, "get", "pods", "-n", ns_a), g1)
    assert as_user(control_plane, ctx, "get", "secret", "s1", "-n", ns_b).returncode == 0

    ok(kubeuser("ungrant", g1, "--all"))
    assert forbidden(as_user(control_plane, ctx, "get", "secret", "s1", "-n", ns_b), g1)
    assert forbidden(as_user(control_plane, ctx, "get", "pods", "-n", ns_a), g1)
    assert rbac_of(control_plane, g1) == []
    assert serial_of(cert_of(kc, ctx)) == serial
    assert control_plane.record(registry_ns, g1)["certificate"]["serial"].upper() == serial

    unknown = uname("nobody")
    proc = kubeuser("grant", unknown, "--clusterrole", "view", "-n", ns_a)
    assert proc.returncode == 10, proc.stdout + proc.stderr
    assert unknown in proc.stderr
    assert rbac_of(control_plane, unknown) == []


# --------------------------------------------------------------------------- 8. renew keeps key spec and delivery


def test_renew_keeps_the_key_spec(control_plane: Cluster, registry_ns: str) -> None:
    r1 = uname("r")
    kc = home_kubeconfig()
    ctx = f"{r1}@{cluster_name(control_plane.kubeconfig)}"
    ok(kubeuser("create", r1, "--key-type", "rsa", "--key-size", "4096"))
    first = cert_of(kc, ctx)
    assert "Public-Key: (4096 bit)" in openssl(first, "-text")
    ok(kubeuser("renew", r1))
    renewed = cert_of(kc, ctx)
    assert serial_of(renewed) != serial_of(first)
    text = openssl(renewed, "-text")
    assert "rsaEncryption" in text and "Public-Key: (4096 bit)" in text
    res = as_user(control_plane, ctx, "auth", "can-i", "get", "pods")
    assert "unauthorized" not in res.stderr.lower() and res.stdout.strip() in ("yes", "no"), res.stderr


def test_renew_of_a_handout_needs_out(control_plane: Cluster, registry_ns: str, tmp_path: Path) -> None:
    h1 = uname("h")
    kc = home_kubeconfig()
    old = tmp_path / "h1.kubeconfig"
    ok(kubeuser("create", h1, "--out", str(old)))
    assert h1 not in kc.read_text()
    before = kc.read_bytes()
    old_serial = serial_of(cert_of(old, h1))

    proc = kubeuser("renew", h1)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    errors, _hints = error_lines(proc.stderr)
    assert len(errors) == 1 and "--out" in errors[0], proc.stderr
    assert kc.read_bytes() == before
    assert h1 not in kc.read_text() and h1 not in certificate_cns(kc)
    assert control_plane.record(registry_ns, h1)["certificate"]["serial"].upper() == old_serial

    new = tmp_path / "h1-new.kubeconfig"
    proc = ok(kubeuser("renew", h1, "--out", str(new)))
    assert "stale" in proc.stderr and str(old) in proc.stderr, proc.stderr
    assert kc.read_bytes() == before and h1 not in certificate_cns(kc)
    new_serial = serial_of(cert_of(new, h1))
    assert new_serial != old_serial and cn_of(cert_of(new, h1)) == h1
    res = control_plane.kubectl("auth", "can-i", "get", "pods", kubeconfig=new, check=False)
    assert res.stdout.strip() in ("yes", "no"), res.stdout + res.stderr
    assert "unauthorized" not in res.stderr.lower() and "401" not in res.stderr, res.stderr
    who = control_plane.kubectl("get", "pods", kubeconfig=new, check=False)
    assert who.returncode == 0 or forbidden(who, h1), who.stderr


# --------------------------------------------------------------------------- 9. earlier certificates


def test_renew_and_revoke_name_every_certificate_still_valid(
    control_plane: Cluster, registry_ns: str, namespace: str, tmp_path: Path
) -> None:
    w1 = uname("w")
    kc = home_kubeconfig()
    ctx = f"{w1}@{cluster_name(control_plane.kubeconfig)}"
    first = json.loads(ok(kubeuser("create", w1, "--rule", "get:pods", "-n", namespace, "-o", "json")).stdout)
    old_kc = tmp_path / "old.kubeconfig"
    shutil.copy(kc, old_kc)
    assert serial_of(cert_of(old_kc, ctx)) == first["serial"].upper()

    renewed = json.loads(ok(kubeuser("renew", w1, "-o", "json")).stdout)
    assert renewed["previousSerial"] == first["serial"] and renewed["serial"] != first["serial"]
    assert {"serial": first["serial"], "notAfter": first["notAfter"]} in renewed["earlierCertificatesStillValid"]
    assert serial_of(cert_of(kc, ctx)) == renewed["serial"].upper()

    # --rule get:pods grants get (not list): getting a pod by name is authorized (NotFound, not Forbidden)
    for which in (old_kc, kc):
        got = as_user(control_plane, ctx, "get", "pod", "probe", "-n", namespace, kubeconfig=which)
        assert "NotFound" in got.stderr and "forbidden" not in got.stderr.lower(), (which, got.stderr)
        can = as_user(control_plane, ctx, "auth", "can-i", "get", "pods", "-n", namespace, kubeconfig=which)
        assert can.stdout.strip() == "yes", (which, can.stdout, can.stderr)

    report = json.loads(ok(kubeuser("revoke", w1, "-o", "json")).stdout)
    valid = {c["serial"] for c in report["residual"]["certificatesStillValid"]}
    assert valid == {first["serial"], renewed["serial"]}
    assert report["residual"]["certificateStillAuthenticates"] is True
    # the old certificate still authenticates (403, not 401)
    assert forbidden(as_user(control_plane, ctx, "get", "pod", "probe", "-n", namespace, kubeconfig=old_kc), w1)


def test_renew_text_names_the_earlier_certificate(control_plane: Cluster, registry_ns: str) -> None:
    w = uname("wt")
    first = json.loads(ok(kubeuser("create", w, "-o", "json")).stdout)
    proc = ok(kubeuser("renew", w))
    both = proc.stdout + proc.stderr
    assert first["serial"] in both and first["notAfter"] in both, both


# --------------------------------------------------------------------------- 10. list shows what exists


def test_list_shows_only_existing_bindings(control_plane: Cluster, registry_ns: str, namespace: str) -> None:
    l1 = uname("l")
    ok(kubeuser("create", l1, "--rule", "get:pods", "-n", namespace))
    rows = json.loads(ok(kubeuser("list", "-o", "json")).stdout)["users"]
    row = next(r for r in rows if r["user"] == l1)
    assert row["bindings"], row
    assert {b["namespace"] for b in row["bindings"]} == {namespace}
    assert {(b["kind"], b["name"]) for b in row["bindings"]} == {
        ("Role", f"kubeuser:{l1}"),
        ("RoleBinding", f"kubeuser:{l1}"),
    }

    ok(kubeuser("revoke", l1))
    rows = json.loads(ok(kubeuser("list", "-o", "json")).stdout)["users"]
    row = next(r for r in rows if r["user"] == l1)
    assert row["bindings"] == [] and row["status"] == "revoked"
    text = ok(kubeuser("list")).stdout  # the default view counts the bindings that exist
    line = next(ln for ln in text.splitlines() if ln.split() and ln.split()[0] == l1)
    assert line.split()[-1] == "0", text
    wide = ok(kubeuser("list", "-o", "wide")).stdout  # -o wide names them: none
    line = next(ln for ln in wide.splitlines() if ln.split() and ln.split()[0] == l1)
    assert line.split()[6] == "-", wide


def test_list_drops_a_binding_deleted_by_hand(control_plane: Cluster, registry_ns: str, namespace: str) -> None:
    l2 = uname("l")
    ok(kubeuser("create", l2, "--rule", "get:pods", "-n", namespace))
    control_plane.kubectl("delete", "rolebinding", f"kubeuser:{l2}", "-n", namespace)
    rows = json.loads(ok(kubeuser("list", "-o", "json")).stdout)["users"]
    row = next(r for r in rows if r["user"] == l2)
    assert [(b["kind"], b["namespace"], b["name"]) for b in row["bindings"]] == [("Role", namespace, f"kubeuser:{l2}")]
    wide = ok(kubeuser("list", "-o", "wide")).stdout
    line = next(ln for ln in wide.splitlines() if ln.split() and ln.split()[0] == l2)
    assert "RoleBinding" not in line and f"Role/{namespace}/kubeuser:{l2}" in line, wide
    text = ok(kubeuser("list")).stdout
    line = next(ln for ln in text.splitlines() if ln.split() and ln.split()[0] == l2)
    assert line.split()[-1] == "1", text


# --------------------------------------------------------------------------- migration of a format-1 record


FORMAT2_KEYS = ("access", "key_type", "key_size", "delivery", "out", "kubeconfig_user", "kubeconfig_file")


def test_format1_record_and_unmarked_objects_are_migrated(
    control_plane: Cluster, registry_ns: str, namespace: str
) -> None:
    """A record and RBAC objects as kubeuser 0.1.0 wrote them: no registry mark, record format 1."""
    m = uname("mig")
    kc = home_kubeconfig()
    ctx = f"{m}@{cluster_name(control_plane.kubeconfig)}"
    ok(kubeuser("create", m, "--rule", "get:pods", "-n", namespace))
    # turn them into what 0.1.0 wrote
    for kind in ("role", "rolebinding"):
        control_plane.kubectl("label", kind, f"kubeuser:{m}", "-n", namespace, "kubeuser.io/registry-")
        control_plane.kubectl("annotate", kind, f"kubeuser:{m}", "-n", namespace, "kubeuser.io/registry-")
    cm = control_plane.record_configmaps(registry_ns, m)[0]
    rec = json.loads(cm["data"]["record.json"])
    for key in FORMAT2_KEYS:
        rec.pop(key, None)
    rec["format"] = 1
    cm["data"]["record.json"] = json.dumps(rec, indent=1, sort_keys=True)
    cm["metadata"]["labels"].pop("kubeuser.io/registry", None)
    cm["metadata"]["annotations"].pop("kubeuser.io/registry", None)
    control_plane.kubectl("replace", "-f", "-", input=json.dumps(cm))
    assert control_plane.record(registry_ns, m)["format"] == 1

    proc = ok(kubeuser("grant", m, "--clusterrole", "view", "-n", namespace))
    assert "format 1" in proc.stderr, proc.stderr
    for kind in ("role", "rolebinding"):
        obj = get_json(control_plane, kind, f"kubeuser:{m}", "-n", namespace)
        assert obj["metadata"]["annotations"].get("kubeuser.io/registry") == registry_ns, obj["metadata"]
    view = get_json(control_plane, "rolebinding", f"kubeuser:{m}:clusterrole:view", "-n", namespace)
    assert view["metadata"]["annotations"]["kubeuser.io/registry"] == registry_ns
    rec = control_plane.record(registry_ns, m)
    assert rec["format"] == 2
    ns_grants = {n["namespace"]: n for n in rec["access"]["namespaces"]}
    assert ns_grants[namespace]["clusterRoles"] == ["view"] and ns_grants[namespace]["rules"], rec["access"]
    assert can_i(control_plane, m, "get", "pods", namespace)
    assert can_i(control_plane, m, "list", "configmaps", namespace)

    # renew of the migrated user updates the merged kubeconfig (its delivery is inferred from it)
    old_serial = serial_of(cert_of(kc, ctx))
    renewed = json.loads(ok(kubeuser("renew", m, "-o", "json")).stdout)
    assert renewed["previousSerial"].upper() == old_serial
    assert serial_of(cert_of(kc, ctx)) == renewed["serial"].upper()
    assert as_user(control_plane, ctx, "get", "pods", "-n", namespace).returncode == 0


def test_the_same_name_in_another_registry_is_never_taken_over(
    control_plane: Cluster, registry_ns: str, namespace: str
) -> None:
    """create in registry B of a user registry A made: refused (also with --force), A's objects untouched."""
    reg_a, reg_b = registry_ns, f"reg-{uid()}"
    zed = uname("zed")
    kc = home_kubeconfig()
    try:
        ok(kubeuser("create", zed, "--rule", "get:pods", "-n", namespace, "--registry-namespace", reg_a))
        before, kc_before = snapshot(control_plane, reg_a, zed), kc.read_bytes()
        csrs_before = {c["metadata"]["name"] for c in labelled(control_plane, "csr", zed)}
        for extra in ((), ("--force",)):
            proc = kubeuser("create", zed, "--rule", "get:pods", "-n", namespace, "--registry-namespace", reg_b, *extra)
            assert proc.returncode == 7, proc.stdout + proc.stderr
            errors, hints = error_lines(proc.stderr)
            assert len(errors) == 1 and reg_a in errors[0], proc.stderr
            assert hints and not suggests_force(hints[0]), proc.stderr
            assert snapshot(control_plane, reg_a, zed) == before
            assert kc.read_bytes() == kc_before
            assert control_plane.record_configmaps(reg_b, zed) == []
            assert {c["metadata"]["name"] for c in labelled(control_plane, "csr", zed)} == csrs_before
        # without RBAC the kubeconfig entry (a certificate registry B did not issue) is the conflict
        for extra in ((), ("--force",)):
            assert_refused_7(kubeuser("create", zed, "--registry-namespace", reg_b, *extra))
            assert kc.read_bytes() == kc_before
            assert control_plane.record_configmaps(reg_b, zed) == []
        assert can_i(control_plane, zed, "get", "pods", namespace)
    finally:
        control_plane.kubectl("delete", "namespace", reg_b, "--wait=false", "--ignore-not-found", check=False)


def test_context_name_names_the_context_and_the_user_entry(control_plane: Cluster, registry_ns: str) -> None:
    kc = home_kubeconfig()
    admin_ctx, admin_user, cluster = admin_names(kc)
    u = uname("cn")
    name = f"mine-{uid()}"
    ok(kubeuser("create", u, "--context-name", name))
    doc = kc_doc(kc)
    assert (entry(doc, "contexts", name) or {}).get("user") == name
    assert cn_of(cert_of(kc, name)) == u
    assert f"{u}@{cluster}" not in names(doc, "contexts") | names(doc, "users")
    renewed = json.loads(ok(kubeuser("renew", u, "-o", "json")).stdout)
    assert serial_of(cert_of(kc, name)) == renewed["serial"].upper()
    assert f"{u}@{cluster}" not in names(kc_doc(kc), "users")
    ok(kubeuser("revoke", u))
    doc = kc_doc(kc)
    assert name not in names(doc, "contexts") | names(doc, "users")
    assert admin_ctx in names(doc, "contexts") and admin_user in names(doc, "users")
    assert doc["current-context"] == admin_ctx
    assert as_user(control_plane, admin_ctx, "get", "ns").returncode == 0


def test_renew_key_size_alone_keeps_the_key_type(control_plane: Cluster, registry_ns: str) -> None:
    r = uname("ks")
    kc = home_kubeconfig()
    ctx = f"{r}@{cluster_name(control_plane.kubeconfig)}"
    ok(kubeuser("create", r, "--key-type", "rsa", "--key-size", "4096"))
    ok(kubeuser("renew", r, "--key-size", "3072"))
    text = openssl(cert_of(kc, ctx), "-text")
    assert "rsaEncryption" in text and "Public-Key: (3072 bit)" in text


def test_renew_key_type_alone_keeps_the_key_size(control_plane: Cluster, registry_ns: str) -> None:
    r = uname("kt")
    kc = home_kubeconfig()
    ctx = f"{r}@{cluster_name(control_plane.kubeconfig)}"
    ok(kubeuser("create", r, "--key-type", "rsa", "--key-size", "4096"))
    ok(kubeuser("renew", r, "--key-type", "rsa"))
    assert "Public-Key: (4096 bit)" in openssl(cert_of(kc, ctx), "-text")


def test_renew_reuse_key_after_a_handout_renewal_reuses_the_current_key(
    control_plane: Cluster, registry_ns: str, tmp_path: Path
) -> None:
    h = uname("rk")
    first, second, third = tmp_path / "first.kc", tmp_path / "second.kc", tmp_path / "third.kc"
    ok(kubeuser("create", h, "--out", str(first)))
    ok(kubeuser("renew", h, "--out", str(second)))
    proc = kubeuser("renew", h, "--reuse-key", "--out", str(third))
    if proc.returncode != 0:  # refusing (the current key is not on this machine) is fine too
        assert proc.returncode == 2 and "--reuse-key" in proc.stderr, proc.stderr
        return
    pub = {p: openssl(cert_of(p, h), "-pubkey") for p in (first, second, third)}
    assert pub[third] != pub[first], "the new certificate is for the key of the stale first handout"
    assert pub[third] == pub[second]
