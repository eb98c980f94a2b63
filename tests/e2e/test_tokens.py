"""Issue 16, token identities, end to end on the real control plane.

Each test replays what a user does with the real CLI and checks the outcome with kubectl (``auth can-i``,
TokenReview, requests made with the token itself), the kubeconfig files, and the token's own claims
decoded here (not by kubeuser). Each test has its own registry namespace and uuid user names, so the
tests pass alone and in any order. Revocation is measured: after ``revoke``/``renew`` the old credential
is polled until the API server answers 401; the seconds it took are printed (``pytest -s``) and kept as
a test property.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import stat
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from kubeuser_runner import cluster_name, home_kubeconfig, kubeuser, ok, uname

if TYPE_CHECKING:
    from e2e.conftest import ControlPlane as Cluster

KUBECTL = "/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else (shutil.which("kubectl") or "kubectl")
KUBECTL_TIMEOUT = 60.0
REVOCATION_DEADLINE = 30.0  # the API server caches a successful token authentication for about 10 s
BINDING_TYPE = "kubeuser.io/token-binding"
JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")

# --------------------------------------------------------------------------- helpers


def claims(token: str) -> dict[str, Any]:
    """The JWT payload, decoded here (an independent reading of what the server put in the token)."""
    part = token.split(".")[1]
    payload = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    assert isinstance(payload, dict)
    return payload


def kc_doc(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    assert isinstance(doc, dict)
    return doc


def entries(doc: dict[str, Any], kind: str, name: str) -> list[dict[str, Any]]:
    inner = {"users": "user", "contexts": "context", "clusters": "cluster"}[kind]
    return [e[inner] for e in doc.get(kind) or [] if e.get("name") == name]


def user_body(path: Path, name: str) -> dict[str, Any]:
    found = entries(kc_doc(path), "users", name)
    assert len(found) == 1, f"{len(found)} user entries {name!r} in {path}"
    return found[0]


def context_of(cp: Cluster, name: str) -> str:
    return f"{name}@{cluster_name(cp.kubeconfig)}"


def sa_user(registry: str, name: str) -> str:
    return f"system:serviceaccount:{registry}:{name}"


def as_context(cp: Cluster, kc: Path, context: str, *args: str) -> subprocess.CompletedProcess[str]:
    return cp.kubectl("--context", context, *args, kubeconfig=kc, check=False)


def can_i(cp: Cluster, who: str, *args: str) -> bool:
    """``kubectl auth can-i … --as WHO`` as the admin: the authorizer's own answer."""
    proc = cp.kubectl("auth", "can-i", *args, "--as", who, check=False)
    answer = proc.stdout.strip()
    assert answer in ("yes", "no"), proc
    return answer == "yes"


def objects(cp: Cluster, kind: str, namespace: str, user: str) -> list[dict[str, Any]]:
    proc = cp.kubectl("get", kind, "-n", namespace, "-l", f"kubeuser.io/user={user}", "-o", "json")
    return list(json.loads(proc.stdout)["items"])


def binding_secrets(cp: Cluster, namespace: str, user: str) -> list[dict[str, Any]]:
    return [s for s in objects(cp, "secret", namespace, user) if s.get("type") == BINDING_TYPE]


def exists(cp: Cluster, kind: str, name: str, namespace: str) -> bool:
    proc = cp.kubectl("get", kind, name, "-n", namespace, "-o", "name", check=False)
    if proc.returncode == 0:
        return True
    assert "NotFound" in proc.stderr or "not found" in proc.stderr, proc.stderr
    return False


def token_review(cp: Cluster, token: str) -> dict[str, Any]:
    """The API server's verdict on *token*, asked by the admin (TokenReview)."""
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
    proc = cp.kubectl("create", "-f", "-", "-o", "json", input=json.dumps(review))
    status = json.loads(proc.stdout)["status"]
    assert isinstance(status, dict)
    return status


def with_token(cp: Cluster, token: str, *args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    """kubectl with nothing but the server, its CA and the bearer token (an empty kubeconfig)."""
    empty = Path(os.environ["HOME"]) / "empty.kubeconfig"
    empty.write_text("apiVersion: v1\nkind: Config\n")
    cmd = [KUBECTL, "--kubeconfig", str(empty), "--server", cp.server, "--certificate-authority", str(cp.ca_cert)]
    return subprocess.run(
        [*cmd, "--token", token, *args], capture_output=True, text=True, timeout=KUBECTL_TIMEOUT, check=False
    )


def wait_for_401(check: Any, what: str, began: float | None = None) -> float:
    """Poll ``check()`` (a kubectl run with the old credential) until it is refused with 401; seconds taken
    from now (the command that kills the token has returned), printed also from *began* (it started)."""
    start = time.monotonic()
    last: subprocess.CompletedProcess[str] | None = None
    while time.monotonic() - start < REVOCATION_DEADLINE:
        last = check()
        assert last is not None
        if last.returncode != 0 and "Unauthorized" in last.stderr:
            took = time.monotonic() - start
            since = f" ({time.monotonic() - began:.1f} s after the command started)" if began is not None else ""
            print(f"\nMEASURED {what}: 401 {took:.1f} s after the command returned{since}")
            return took
        time.sleep(0.5)
    raise AssertionError(f"{what}: still not 401 after {REVOCATION_DEADLINE:.0f} s; last answer: {last}")


def token_in(path: Path, entry: str) -> str:
    token = user_body(path, entry).get("token")
    assert isinstance(token, str) and JWT.match(token), f"no token in user entry {entry} of {path}"
    return token


def create_token_user(name: str, namespace: str, *more: str) -> dict[str, Any]:
    out = ok(kubeuser("create", name, "--auth", "token", "--rule", "get,list:pods", "-n", namespace, *more, "-o",
                      "json")).stdout  # fmt: skip
    result = json.loads(out)
    assert isinstance(result, dict)
    return result


# --------------------------------------------------------------------------- 1. create


def test_create_token_user_has_exactly_the_granted_access(
    control_plane: Cluster, namespace: str, registry_ns: str, tmp_path: Path
) -> None:
    cp, name = control_plane, uname("tok")
    ctx, who = context_of(cp, name), sa_user(registry_ns, name)
    other = f"{namespace}-other"
    cp.kubectl("create", "namespace", other)
    try:
        proc = ok(kubeuser("create", name, "--auth", "token", "--clusterrole", "view", "-n", namespace, "-o", "json"))
        result = json.loads(proc.stdout)

        # the kubeconfig user entry holds a token and nothing else; -o json and stderr never show it
        body = user_body(home_kubeconfig(), ctx)
        token = token_in(home_kubeconfig(), ctx)
        assert set(body) == {"token"}
        assert token not in proc.stdout and token not in proc.stderr
        assert result["auth"] == "token" and result["boundSecret"] and result["serial"] is None
        assert result["serviceAccount"] == {"namespace": registry_ns, "name": name}
        ctx_body = entries(kc_doc(home_kubeconfig()), "contexts", ctx)
        assert ctx_body == [{"cluster": cluster_name(cp.kubeconfig), "user": ctx, "namespace": namespace}]

        # kubectl with the new context: exactly what was granted
        assert as_context(cp, home_kubeconfig(), ctx, "get", "pods", "-n", namespace).returncode == 0
        denied = as_context(cp, home_kubeconfig(), ctx, "get", "pods", "-n", other)
        assert denied.returncode != 0 and "forbidden" in denied.stderr.lower() and who in denied.stderr
        denied = as_context(cp, home_kubeconfig(), ctx, "create", "configmap", "x", "-n", namespace)
        assert denied.returncode != 0 and "forbidden" in denied.stderr.lower()
        assert can_i(cp, who, "list", "pods", "-n", namespace)
        assert can_i(cp, who, "get", "configmaps", "-n", namespace)
        assert not can_i(cp, who, "list", "pods", "-n", other)
        assert not can_i(cp, who, "delete", "pods", "-n", namespace)
        assert not can_i(cp, who, "get", "secrets", "-n", namespace)  # view does not read Secrets
        assert not can_i(cp, who, "list", "nodes")

        # the ServiceAccount kubeuser owns, and one Secret the token is bound to
        sa = json.loads(cp.kubectl("get", "sa", name, "-n", registry_ns, "-o", "json").stdout)
        labels, notes = sa["metadata"]["labels"], sa["metadata"]["annotations"]
        assert labels["app.kubernetes.io/managed-by"] == "kubeuser" and labels["kubeuser.io/user"] == name
        assert labels["kubeuser.io/registry"] == registry_ns
        assert notes["kubeuser.io/user"] == name and notes["kubeuser.io/registry"] == registry_ns
        assert sa.get("automountServiceAccountToken") is False
        (secret,) = binding_secrets(cp, registry_ns, name)
        meta = secret["metadata"]
        assert meta["labels"]["app.kubernetes.io/managed-by"] == "kubeuser"
        assert meta["labels"]["kubeuser.io/registry"] == registry_ns
        assert meta["annotations"]["kubeuser.io/user"] == name
        assert meta["annotations"]["kubeuser.io/service-account"] == name
        assert meta["annotations"]["kubeuser.io/token-purpose"] == "kubeconfig"
        assert not secret.get("data")
        assert result["boundSecret"] == meta["name"]

        # the token itself says it is bound to that Secret (uid included) and the server agrees it is the SA
        c = claims(token)
        assert c["sub"] == who
        assert c["kubernetes.io"]["secret"] == {"name": meta["name"], "uid": meta["uid"]}
        assert c["kubernetes.io"]["serviceaccount"]["uid"] == sa["metadata"]["uid"]
        review = token_review(cp, token)
        assert review["authenticated"] is True and review["user"]["username"] == who
        assert f"system:serviceaccounts:{registry_ns}" in review["user"]["groups"]

        # RBAC names the ServiceAccount, and the record says token
        rb = json.loads(cp.kubectl("get", "rolebinding", "-n", namespace, "-l", f"kubeuser.io/user={name}",
                                   "-o", "json").stdout)["items"]  # fmt: skip
        assert [b["subjects"] for b in rb] == [[{"kind": "ServiceAccount", "name": name, "namespace": registry_ns}]]
        rec = cp.record(registry_ns, name)
        assert rec["auth"] == "token" and rec["status"] == "active"
        assert rec["service_account"] == name and rec["service_account_namespace"] == registry_ns
        assert rec["certificate"]["serial"] == meta["name"] and rec["certificate"]["kind"] == "token"
        assert token not in json.dumps(rec)
        listed = next(u for u in json.loads(ok(kubeuser("list", "-o", "json")).stdout)["users"] if u["user"] == name)
        assert listed["auth"] == "token"

        # -g with --auth token: a usage error that says why, and nothing is made
        before = home_kubeconfig().read_bytes()
        bad = uname("tokg")
        refused = kubeuser("create", bad, "--auth", "token", "-g", "dev", "--clusterrole", "view", "-n", namespace)
        assert refused.returncode == 2, refused
        assert "groups are fixed by Kubernetes" in refused.stderr and "Traceback" not in refused.stderr
        assert home_kubeconfig().read_bytes() == before
        assert not exists(cp, "sa", bad, registry_ns)
        assert objects(cp, "secret", registry_ns, bad) == []
        assert objects(cp, "configmap", registry_ns, bad) == []
        assert objects(cp, "rolebinding", namespace, bad) == []
    finally:
        cp.kubectl("delete", "namespace", other, "--wait=false", "--ignore-not-found", check=False)


# --------------------------------------------------------------------------- 2. revoke


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_revoke_kills_the_token_within_seconds(
    control_plane: Cluster, namespace: str, registry_ns: str, tmp_path: Path, fmt: str
) -> None:
    cp, name = control_plane, uname("tokrv")
    ctx = context_of(cp, name)
    created = create_token_user(name, namespace)
    old_kc = tmp_path / "old.kubeconfig"
    shutil.copy(home_kubeconfig(), old_kc)
    token = token_in(old_kc, ctx)
    # used just before the revoke: the API server has it in its authentication cache
    assert as_context(cp, old_kc, ctx, "get", "pods", "-n", namespace).returncode == 0

    began = time.monotonic()
    proc = ok(kubeuser("revoke", name, *(["-o", "json"] if fmt == "json" else [])))
    took = wait_for_401(lambda: as_context(cp, old_kc, ctx, "get", "pods", "-n", namespace), f"revoke ({fmt})", began)
    assert took < REVOCATION_DEADLINE
    assert token_review(cp, token).get("authenticated") is not True  # the server omits it when false

    # the ServiceAccount, its Secrets, its RBAC and the kubeconfig entries are gone; the record says revoked
    assert not exists(cp, "sa", name, registry_ns)
    assert binding_secrets(cp, registry_ns, name) == []
    assert not exists(cp, "secret", created["boundSecret"], registry_ns)
    assert objects(cp, "rolebinding", namespace, name) == [] and objects(cp, "role", namespace, name) == []
    doc = kc_doc(home_kubeconfig())
    assert entries(doc, "users", ctx) == [] and entries(doc, "contexts", ctx) == []
    rec = cp.record(registry_ns, name)
    assert rec["status"] == "revoked" and rec["revoked_at"]
    assert rec["certificate"]["invalidated_at"], rec["certificate"]

    # the report says the tokens were killed, not that a credential still works
    if fmt == "json":
        report = json.loads(proc.stdout)
        assert report["auth"] == "token" and report["markedRevoked"] is True
        assert report["tokensInvalidated"] == [created["boundSecret"]]
        assert report["serviceAccountDeleted"] is True
        assert report["serviceAccount"] == f"{registry_ns}/{name}"
        assert report["residual"]["credentialStillAuthenticates"] is False
        assert report["residual"]["certificatesStillValid"] == []
        assert token not in proc.stdout
    else:
        text = proc.stdout
        assert f"revoked {name}" in text
        assert f"1 token Secret(s) and ServiceAccount {registry_ns}/{name} deleted" in text
        assert "401 Unauthorized" in text and "AUTHENTICATES" not in text
        assert "Kubernetes cannot revoke" not in text


# --------------------------------------------------------------------------- 3. renew


def test_renew_kills_the_previous_token_and_the_new_one_works(
    control_plane: Cluster, namespace: str, registry_ns: str, tmp_path: Path
) -> None:
    cp, name = control_plane, uname("tokrn")
    ctx = context_of(cp, name)
    first = create_token_user(name, namespace)
    old_kc = tmp_path / "old.kubeconfig"
    shutil.copy(home_kubeconfig(), old_kc)
    old_token = token_in(old_kc, ctx)
    assert as_context(cp, old_kc, ctx, "get", "pods", "-n", namespace).returncode == 0

    began = time.monotonic()
    renewed = json.loads(ok(kubeuser("renew", name, "-o", "json")).stdout)
    took = wait_for_401(lambda: as_context(cp, old_kc, ctx, "get", "pods", "-n", namespace), "renew", began)
    assert took < REVOCATION_DEADLINE

    new_token = token_in(home_kubeconfig(), ctx)
    assert new_token != old_token
    assert as_context(cp, home_kubeconfig(), ctx, "get", "pods", "-n", namespace).returncode == 0
    assert token_review(cp, new_token)["authenticated"] is True
    assert renewed["auth"] == "token"
    assert renewed["previousBoundSecret"] == first["boundSecret"]
    assert renewed["invalidatedSecrets"] == [first["boundSecret"]]
    assert claims(new_token)["kubernetes.io"]["secret"]["name"] == renewed["boundSecret"]
    # the previous Secret is gone, the new one is the only one; the ServiceAccount is the same object
    assert not exists(cp, "secret", first["boundSecret"], registry_ns)
    assert [s["metadata"]["name"] for s in binding_secrets(cp, registry_ns, name)] == [renewed["boundSecret"]]
    assert claims(new_token)["kubernetes.io"]["serviceaccount"] == claims(old_token)["kubernetes.io"]["serviceaccount"]
    # still one user entry, and the record knows the old token was invalidated
    assert len(entries(kc_doc(home_kubeconfig()), "users", ctx)) == 1
    rec = cp.record(registry_ns, name)
    assert rec["certificate"]["serial"] == renewed["boundSecret"]
    assert [(h["serial"], bool(h["invalidated_at"])) for h in rec["history"]] == [(first["boundSecret"], True)]


# --------------------------------------------------------------------------- 4. kubeuser token


def test_token_command_prints_a_working_token_that_revoke_kills(
    control_plane: Cluster, namespace: str, registry_ns: str
) -> None:
    cp, name = control_plane, uname("tokcmd")
    who = sa_user(registry_ns, name)
    create_token_user(name, namespace)

    proc = ok(kubeuser("token", name, "--ttl", "1h"))
    token = proc.stdout.removesuffix("\n")
    assert proc.stdout == token + "\n" and JWT.match(token), "stdout must be the token and a newline only"
    assert token not in proc.stderr
    # kubectl with only --server/--certificate-authority/--token
    pods = with_token(cp, token, "get", "pods", "-n", namespace)
    assert pods.returncode == 0, pods.stderr
    review = token_review(cp, token)
    assert review["authenticated"] is True and review["user"]["username"] == who
    # the expiry, on stderr, is the token's own exp; the lifetime asked for
    c = claims(token)
    exp = datetime.fromtimestamp(c["exp"], timezone.utc)
    assert f"valid until {exp:%Y-%m-%d %H:%M} UTC" in proc.stderr, proc.stderr
    assert abs(c["exp"] - c["iat"] - 3600) <= 60
    sign_in_secret = c["kubernetes.io"]["secret"]["name"]
    secret = json.loads(cp.kubectl("get", "secret", sign_in_secret, "-n", registry_ns, "-o", "json").stdout)
    assert secret["type"] == BINDING_TYPE
    assert secret["metadata"]["annotations"]["kubeuser.io/token-purpose"] == "sign-in"

    as_json = json.loads(ok(kubeuser("token", name, "-o", "json")).stdout)
    json_token = as_json["token"]
    assert JWT.match(json_token) and json_token != token
    jc = claims(json_token)
    assert as_json["expirationTimestamp"] == datetime.fromtimestamp(jc["exp"], timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert with_token(cp, json_token, "get", "pods", "-n", namespace).returncode == 0
    # the kubeconfig's token and the two sign-in tokens: three Secrets, each token bound to its own
    assert len(binding_secrets(cp, registry_ns, name)) == 3
    rec = cp.record(registry_ns, name)
    assert sorted(t["serial"] for t in rec["sign_in_tokens"]) == sorted(
        [sign_in_secret, jc["kubernetes.io"]["secret"]["name"]]
    )
    assert token not in json.dumps(rec) and json_token not in json.dumps(rec)

    report = json.loads(ok(kubeuser("revoke", name, "-o", "json")).stdout)
    assert sign_in_secret in report["tokensInvalidated"] and len(report["tokensInvalidated"]) == 3
    wait_for_401(lambda: with_token(cp, token, "get", "pods", "-n", namespace), "revoke (sign-in token)")
    wait_for_401(lambda: with_token(cp, json_token, "get", "pods", "-n", namespace), "revoke (json sign-in token)")
    assert binding_secrets(cp, registry_ns, name) == []
    # a revoked user gets no new token
    refused = kubeuser("token", name)
    assert refused.returncode == 7 and refused.stdout == "", refused


# --------------------------------------------------------------------------- 5. handout


def test_handout_with_a_token_works_from_a_fresh_home(
    control_plane: Cluster, namespace: str, registry_ns: str, tmp_path: Path
) -> None:
    cp, name = control_plane, uname("tokout")
    before = home_kubeconfig().read_bytes()
    out = tmp_path / "handout.kubeconfig"
    created = create_token_user(name, namespace, "--out", str(out))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert home_kubeconfig().read_bytes() == before  # a handout is not merged here
    doc = kc_doc(out)
    assert doc["current-context"] and [u["name"] for u in doc["users"]] == [name]
    token = token_in(out, name)
    assert token not in json.dumps(created)

    fresh = tmp_path / "fresh-home"
    fresh.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"} | {"HOME": str(fresh)}
    proc = subprocess.run([KUBECTL, "--kubeconfig", str(out), "get", "pods", "-n", namespace],
                          capture_output=True, text=True, env=env, timeout=KUBECTL_TIMEOUT, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([KUBECTL, "--kubeconfig", str(out), "get", "pods", "-n", "kube-system"],
                          capture_output=True, text=True, env=env, timeout=KUBECTL_TIMEOUT, check=False)  # fmt: skip
    assert proc.returncode != 0 and "forbidden" in proc.stderr.lower()
    (secret,) = binding_secrets(cp, registry_ns, name)
    assert secret["metadata"]["annotations"]["kubeuser.io/token-purpose"] == "handout"
    assert cp.record(registry_ns, name)["delivery"] == "handout"


# --------------------------------------------------------------------------- 6. ownership


def test_a_hand_made_service_account_of_the_name_is_a_conflict(
    control_plane: Cluster, namespace: str, registry_ns: str
) -> None:
    cp, name = control_plane, uname("toksa")
    cp.kubectl("create", "namespace", registry_ns)
    cp.kubectl("create", "sa", name, "-n", registry_ns)
    sa_before = json.loads(cp.kubectl("get", "sa", name, "-n", registry_ns, "-o", "json").stdout)["metadata"]
    kc_before = home_kubeconfig().read_bytes()

    proc = kubeuser("create", name, "--auth", "token", "--clusterrole", "view", "-n", namespace)
    assert proc.returncode == 7, proc
    assert f"ServiceAccount {registry_ns}/{name}" in proc.stderr and "Traceback" not in proc.stderr

    sa_after = json.loads(cp.kubectl("get", "sa", name, "-n", registry_ns, "-o", "json").stdout)["metadata"]
    assert sa_after["uid"] == sa_before["uid"] and sa_after["resourceVersion"] == sa_before["resourceVersion"]
    assert "kubeuser.io/user" not in (sa_after.get("labels") or {})
    assert "kubeuser.io/user" not in (sa_after.get("annotations") or {})
    secrets = json.loads(cp.kubectl("get", "secret", "-n", registry_ns, "-o", "json").stdout)["items"]
    assert [s for s in secrets if s.get("type") == BINDING_TYPE] == []
    assert objects(cp, "configmap", registry_ns, name) == []
    assert objects(cp, "rolebinding", namespace, name) == []
    assert home_kubeconfig().read_bytes() == kc_before
    # nor does any other command take it over
    assert kubeuser("token", name).returncode == 10
    assert kubeuser("revoke", name).returncode == 10
    assert exists(cp, "sa", name, registry_ns)


# --------------------------------------------------------------------------- 7. create --force, x509 <-> token


def subjects(cp: Cluster, namespace: str, name: str) -> list[dict[str, Any]]:
    (rb,) = objects(cp, "rolebinding", namespace, name)
    found = rb["subjects"]
    assert isinstance(found, list)
    return found


def test_force_switches_between_certificate_and_token(
    control_plane: Cluster, namespace: str, registry_ns: str, tmp_path: Path
) -> None:
    cp, name = control_plane, uname("toksw")
    ctx = context_of(cp, name)
    kc = home_kubeconfig()
    grant = ("--rule", "get,list:pods", "-n", namespace)

    ok(kubeuser("create", name, *grant))
    assert [s["kind"] for s in subjects(cp, namespace, name)] == ["User"]
    cert_kc = tmp_path / "cert.kubeconfig"
    shutil.copy(kc, cert_kc)
    assert "client-certificate-data" in user_body(kc, ctx)

    # x509 → token: the binding names the ServiceAccount; one user entry, now with a token
    switched = json.loads(ok(kubeuser("create", name, "--auth", "token", "--force", *grant, "-o", "json")).stdout)
    assert subjects(cp, namespace, name) == [{"kind": "ServiceAccount", "name": name, "namespace": registry_ns}]
    doc = kc_doc(kc)
    assert len(entries(doc, "users", ctx)) == 1 and len(entries(doc, "contexts", ctx)) == 1
    assert set(user_body(kc, ctx)) == {"token"}
    assert as_context(cp, kc, ctx, "get", "pods", "-n", namespace).returncode == 0
    # the earlier certificate still authenticates (Kubernetes cannot revoke it) but its binding is gone: 403
    old = as_context(cp, cert_kc, ctx, "get", "pods", "-n", namespace)
    assert old.returncode != 0 and "forbidden" in old.stderr.lower() and f'User "{name}"' in old.stderr
    assert any("still authenticates" in w for w in switched["warnings"])
    assert cp.record(registry_ns, name)["auth"] == "token"
    first_token_kc = tmp_path / "first-token.kubeconfig"
    shutil.copy(kc, first_token_kc)

    # token → token (--force reissues): the earlier token is killed, not left working
    again = json.loads(ok(kubeuser("create", name, "--auth", "token", "--force", *grant, "-o", "json")).stdout)
    assert again["invalidatedSecrets"] == [switched["boundSecret"]] and again["serviceAccountDeleted"] is None
    wait_for_401(lambda: as_context(cp, first_token_kc, ctx, "get", "pods", "-n", namespace), "create --force (token)")
    assert [s["metadata"]["name"] for s in binding_secrets(cp, registry_ns, name)] == [again["boundSecret"]]
    assert as_context(cp, kc, ctx, "get", "pods", "-n", namespace).returncode == 0
    assert not any(switched["boundSecret"] in w for w in again["warnings"])
    token_kc = tmp_path / "token.kubeconfig"
    shutil.copy(kc, token_kc)

    # token → x509: the binding names the User again; one user entry, with a certificate and no token
    back = json.loads(ok(kubeuser("create", name, "--force", *grant, "-o", "json")).stdout)
    assert subjects(cp, namespace, name) == [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": name}]
    doc = kc_doc(kc)
    assert len(entries(doc, "users", ctx)) == 1 and len(entries(doc, "contexts", ctx)) == 1
    body = user_body(kc, ctx)
    assert "client-certificate-data" in body and "token" not in body
    assert as_context(cp, kc, ctx, "get", "pods", "-n", namespace).returncode == 0
    # a token can be killed, so it is: no ServiceAccount or bound Secret is left behind to keep it alive
    assert back["invalidatedSecrets"] == [again["boundSecret"]]
    assert back["serviceAccountDeleted"] == f"{registry_ns}/{name}"
    wait_for_401(lambda: as_context(cp, token_kc, ctx, "get", "pods", "-n", namespace), "create --force (to x509)")
    assert not exists(cp, "sa", name, registry_ns)
    assert binding_secrets(cp, registry_ns, name) == []
    rec = cp.record(registry_ns, name)
    # the ServiceAccount's name stays on the record (cleanup's clue, should its deletion fail); it is deleted
    assert rec["auth"] == "x509" and rec["service_account"] == name
    assert all(h["invalidated_at"] for h in rec["history"] if h["kind"] == "token")

    # revoke afterwards removes the rest; only the certificates are reported as still authenticating
    report = json.loads(ok(kubeuser("revoke", name, "-o", "json")).stdout)
    assert report["markedRevoked"] is True and report["errors"] == []
    assert objects(cp, "rolebinding", namespace, name) == []
    still = {c["serial"] for c in report["residual"]["certificatesStillValid"]}
    assert still == {rec["history"][0]["serial"], back["serial"]}, still


# --------------------------------------------------------------------------- a name that is not an object name


def test_a_user_name_that_is_no_object_name_is_mapped_safely(
    control_plane: Cluster, namespace: str, registry_ns: str, tmp_path: Path
) -> None:
    cp = control_plane
    name = f"Dana.{uname('Tok')}@Example.com"  # upper case and '@': not a valid ServiceAccount name
    ctx = context_of(cp, name)
    created = create_token_user(name, namespace)
    sa_name = created["serviceAccount"]["name"]
    assert sa_name != name and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", sa_name), sa_name
    sa = json.loads(cp.kubectl("get", "sa", sa_name, "-n", registry_ns, "-o", "json").stdout)
    assert sa["metadata"]["annotations"]["kubeuser.io/user"] == name
    (secret,) = [s for s in json.loads(cp.kubectl("get", "secret", "-n", registry_ns, "-o", "json").stdout)["items"]
                 if s.get("type") == BINDING_TYPE]  # fmt: skip
    assert secret["metadata"]["annotations"]["kubeuser.io/user"] == name
    assert secret["metadata"]["annotations"]["kubeuser.io/service-account"] == sa_name
    who = sa_user(registry_ns, sa_name)
    assert can_i(cp, who, "list", "pods", "-n", namespace) and not can_i(cp, who, "delete", "pods", "-n", namespace)
    old_kc = tmp_path / "old.kubeconfig"
    shutil.copy(home_kubeconfig(), old_kc)
    assert as_context(cp, old_kc, ctx, "get", "pods", "-n", namespace).returncode == 0
    cms = json.loads(cp.kubectl("get", "configmap", "-n", registry_ns, "-o", "json").stdout)["items"]
    (rec,) = [r for r in (json.loads(c["data"]["record.json"]) for c in cms if "record.json" in (c.get("data") or {}))
              if r["user"] == name]  # fmt: skip
    assert rec["service_account"] == sa_name and rec["auth"] == "token"

    report = json.loads(ok(kubeuser("revoke", name, "-o", "json")).stdout)
    assert report["serviceAccountDeleted"] is True and report["tokensInvalidated"] == [secret["metadata"]["name"]]
    wait_for_401(lambda: as_context(cp, old_kc, ctx, "get", "pods", "-n", namespace), "revoke (mapped name)")
    assert not exists(cp, "sa", sa_name, registry_ns)
