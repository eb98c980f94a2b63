"""Token identities over the fake gateway: what the v1.20 control plane cannot show (a server that cuts token
lifetimes, a TokenRequest refused after the permission check passed) and the parts that need no server
(reading a token's claims, recognising kubeuser's kubeconfig entries, what the record says after renew and
revoke). The fake's ``token_valid`` is the API server's verdict: known, unexpired, ServiceAccount and bound
Secret still there (same uid)."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import yaml
from fake_gateway import FakeGateway
from workflow_env import run

from kubeuser import connect, ownership, registry, tokens
from kubeuser.errors import ExitCode, ForbiddenError
from kubeuser.progress import RecordingReporter
from kubeuser.workflows import renew as renewwf
from kubeuser.workflows import revoke as revokewf
from kubeuser.workflows import token as tokenwf
from kubeuser.workflows.issue import IssuedToken, judge_token_lifetime

REG = "kubeuser-system"
SA_USER = f"system:serviceaccount:{REG}:user01"


# --------------------------------------------------------------------------- helpers


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt(payload: Any, header: Any = None) -> str:
    return f"{b64(json.dumps(header or {'alg': 'RS256'}).encode())}.{b64(json.dumps(payload).encode())}.c2ln"


def kube_token(env: dict[str, Any], entry: str = "user01@prod") -> str:
    doc = yaml.safe_load(env["kc"].read_text())
    (body,) = [u["user"] for u in doc["users"] if u["name"] == entry]
    token = body["token"]
    assert isinstance(token, str)
    return token


def record(gw: FakeGateway, user: str = "user01") -> registry.UserRecord:
    found = registry.Registry(gw, REG).get(user)
    assert found is not None
    return found[0]


def kinds(gw: FakeGateway, kind: str, namespace: str = REG) -> list[str]:
    return sorted(name for (k, ns, name) in gw.objects if k == kind and ns == namespace)


def expiry_of(gw: FakeGateway, token: str) -> datetime:
    return gw.tokens[token][4]


# --------------------------------------------------------------------------- a server that cuts token lifetimes


def test_server_cap_cuts_the_token_lifetime_and_says_until_when(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    gw.max_token_seconds = 3600  # --service-account-max-token-expiration=1h
    res = run(env, auth="token", ttl_seconds=7 * 86400, rules=["get:pods"])
    assert isinstance(res.issued, IssuedToken)
    lt = res.issued.lifetime
    assert lt.verdict == "cut" and lt.requested_seconds == 7 * 86400
    assert 3590 <= lt.granted_seconds <= 3600
    exp = expiry_of(gw, kube_token(env))
    assert res.issued.expires_at == exp
    (warning,) = [w for w in res.warnings if "cut" in w]
    assert "7d" in warning and "1h" in warning and f"until {exp:%Y-%m-%d %H:%M} UTC" in warning
    assert "--service-account-max-token-expiration" in warning
    d = res.to_dict()
    assert d["lifetime"] == "cut" and d["grantedSeconds"] == lt.granted_seconds and d["requestedSeconds"] == 7 * 86400
    assert d["notAfter"] == exp.strftime("%Y-%m-%dT%H:%M:%SZ")
    # the record keeps the real expiry, not the one asked for
    assert record(gw).certificate.not_after == exp.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_token_command_warns_when_cut_and_prints_only_the_token(env: dict[str, Any], cli: Any) -> None:
    gw: FakeGateway = env["gw"]
    code, _, err = cli("create", "user01", "--auth", "token", "--rule", "get:pods", "-n", "dev")
    assert code == 0, err
    gw.max_token_seconds = 1800
    code, out, err = cli("token", "user01", "--ttl", "8h")
    assert code == 0, err
    token = out.removesuffix("\n")
    assert out == token + "\n" and token in gw.tokens and gw.token_valid(token)
    exp = expiry_of(gw, token)
    assert f"valid until {exp:%Y-%m-%d %H:%M} UTC" in err
    assert "warning: the API server cut the requested token lifetime of 8h to 30m" in err
    code, out, err = cli("token", "user01", "--ttl", "8h", "-o", "json")
    assert code == 0, err
    d = json.loads(out)
    assert d["lifetime"] == "cut" and d["requestedSeconds"] == 8 * 3600 and d["grantedSeconds"] <= 1800
    assert d["expirationTimestamp"] == expiry_of(gw, d["token"]).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_renew_reports_a_cut_lifetime(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    run(env, auth="token", ttl_seconds=86400)
    gw.max_token_seconds = 600
    res = renewwf.renew(renewwf.RenewOptions("user01"), connect.resolve(None, None), gw, RecordingReporter())
    assert res.issued.lifetime.verdict == "cut" and res.to_dict()["lifetime"] == "cut"
    assert any("cut the requested token lifetime of 1d to 10m" in w for w in res.warnings)


def test_judge_token_lifetime() -> None:
    t0 = datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert judge_token_lifetime(3600, t0, t0 + timedelta(seconds=3600)).verdict == "honoured"
    assert judge_token_lifetime(3600, t0, t0 + timedelta(seconds=3630)).verdict == "honoured"  # clock skew
    cut = judge_token_lifetime(86400, t0, t0 + timedelta(hours=1))
    assert cut.verdict == "cut" and cut.granted_seconds == 3600 and "until 2030-01-01 01:00 UTC" in (cut.message or "")
    longer = judge_token_lifetime(600, t0, t0 + timedelta(hours=1))
    assert longer.verdict == "extended" and "revoking still kills it" in (longer.message or "")


# --------------------------------------------------------------------------- reading claims (never trusted)


def good_payload() -> dict[str, Any]:
    return {
        "aud": ["https://kubernetes.default.svc"],
        "exp": 1_900_000_000,
        "iat": 1_899_996_400,
        "iss": "https://kubernetes.default.svc",
        "sub": SA_USER,
        "kubernetes.io": {
            "namespace": REG,
            "serviceaccount": {"name": "user01", "uid": "sa-uid"},
            "secret": {"name": "user01-token-abcd1234", "uid": "secret-uid"},
        },
    }


def test_read_claims_of_a_good_token() -> None:
    c = tokens.read_claims(jwt(good_payload()))
    assert c is not None
    assert c.subject == SA_USER and c.namespace == REG
    assert (c.service_account, c.service_account_uid) == ("user01", "sa-uid")
    assert (c.bound_kind, c.bound_name, c.bound_uid) == ("Secret", "user01-token-abcd1234", "secret-uid")
    assert c.audiences == ("https://kubernetes.default.svc",) and c.issuer == "https://kubernetes.default.svc"
    assert c.expires_at == datetime.fromtimestamp(1_900_000_000, timezone.utc)
    assert c.issued_at == datetime.fromtimestamp(1_899_996_400, timezone.utc)
    assert not c.expired(datetime(2030, 1, 1, tzinfo=timezone.utc))
    assert c.expired(datetime(2031, 1, 1, tzinfo=timezone.utc))
    # surrounding whitespace (a token pasted with its newline) is no obstacle
    assert tokens.read_claims(f"  {jwt(good_payload())}\n") == c


def test_read_claims_of_a_token_from_the_server(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    res = run(env, auth="token")
    assert isinstance(res.issued, IssuedToken)
    c = tokens.read_claims(kube_token(env))
    assert c is not None and c.subject == SA_USER
    assert c.bound_kind == "Secret" and c.bound_name == res.issued.secret_name
    assert c.bound_uid == gw.objects[("Secret", REG, res.issued.secret_name)]["metadata"]["uid"]
    assert c.expires_at == res.issued.expires_at


def test_read_claims_of_odd_but_valid_shapes() -> None:
    p = good_payload()
    p["aud"] = "api"  # a single audience as a string
    p["kubernetes.io"] = {"namespace": "apps", "serviceaccount": {"name": "x"}, "pod": {"name": "web-0", "uid": "u"}}
    c = tokens.read_claims(jwt(p))
    assert c is not None and c.audiences == ("api",) and (c.bound_kind, c.bound_name) == ("Pod", "web-0")
    # claims of the wrong type are left out, never trusted or crashed on
    c = tokens.read_claims(jwt({"sub": 5, "exp": "soon", "iat": True, "kubernetes.io": "x", "aud": None}))
    assert c is not None
    assert (c.subject, c.expires_at, c.issued_at, c.bound_kind, c.service_account) == (None, None, None, None, None)
    assert c.audiences == () and not c.expired()
    assert tokens.read_claims(jwt({"exp": 10**20})) is not None  # a time past year 9999: no expiry read
    assert tokens.read_claims(jwt({"exp": 10**20})).expires_at is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-real-token",  # an opaque token (static token file, cloud provider)
        "a.b",  # two parts
        "a.b.c.d",  # four parts (a JWE)
        "eyJhbGciOiJSUzI1NiJ9.!!!!.c2ln",  # the payload is not base64url
        f"x.{b64(b'not json')}.y",
        f"x.{b64(bytes([0xFF, 0xFE, 0x00]))}.y",  # not UTF-8
        f"x.{b64(b'[1, 2]')}.y",  # JSON, but not an object
        f"x.{b64(b'null')}.y",
        jwt(good_payload())[:-40] + "." + "sig",  # truncated payload
    ],
)
def test_read_claims_of_damaged_or_non_jwt_tokens_is_none(token: str) -> None:
    assert tokens.read_claims(token) is None


# --------------------------------------------------------------------------- ownership of kubeconfig token entries


def test_user_entry_is_ours_only_for_a_token_bound_to_a_recorded_secret() -> None:
    entry = {"token": jwt(good_payload())}
    assert ownership.user_entry_is_ours(entry, SA_USER, {"user01-token-abcd1234"})
    assert ownership.user_entry_is_ours(entry, SA_USER, {"USER01-TOKEN-ABCD1234"})  # serials compare case-blind
    assert not ownership.user_entry_is_ours(entry, SA_USER, {"user01-token-other"})  # not a Secret we recorded
    assert not ownership.user_entry_is_ours(entry, SA_USER, set())
    assert not ownership.user_entry_is_ours(entry, "user01", {"user01-token-abcd1234"})  # the SA's name, not the user
    assert not ownership.user_entry_is_ours(entry, "system:serviceaccount:other:user01", {"user01-token-abcd1234"})
    # a token bound to a Pod, not bound at all, or not a JWT: never kubeuser's
    p = good_payload()
    p["kubernetes.io"] = {
        "namespace": REG,
        "serviceaccount": {"name": "user01"},
        "pod": {"name": "user01-token-abcd1234"},
    }
    assert not ownership.user_entry_is_ours({"token": jwt(p)}, SA_USER, {"user01-token-abcd1234"})
    p["kubernetes.io"] = {"namespace": REG, "serviceaccount": {"name": "user01"}}
    assert not ownership.user_entry_is_ours({"token": jwt(p)}, SA_USER, {"user01-token-abcd1234"})
    assert not ownership.user_entry_is_ours({"token": "not-a-real-token"}, SA_USER, {"not-a-real-token"})
    assert not ownership.user_entry_is_ours({"token": ""}, SA_USER, {""})
    assert not ownership.user_entry_is_ours({}, SA_USER, {"user01-token-abcd1234"})
    assert not ownership.user_entry_is_ours(None, SA_USER, {"user01-token-abcd1234"})


def test_judge_user_entry_says_whose_token_it_is() -> None:
    entry = {"token": jwt(good_payload())}
    mine = ownership.judge_user_entry(entry, "e", "user01", {"user01-token-abcd1234"}, also=[SA_USER])
    assert mine.ours and not mine.foreign
    other = ownership.judge_user_entry(entry, "e", SA_USER, {"user01-token-zzz"})
    assert other.foreign and "bound to Secret user01-token-abcd1234" in other.why
    stranger = ownership.judge_user_entry(entry, "e", "bob", set())
    assert stranger.foreign and SA_USER in stranger.why


def test_revoke_removes_only_the_kubeconfig_entries_holding_our_tokens(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    run(env, auth="token", rules=["get:pods"])
    # a hand-made entry with a token of the same ServiceAccount, but not one kubeuser requested
    doc = yaml.safe_load(env["kc"].read_text())
    p = good_payload()
    p["kubernetes.io"]["secret"]["name"] = "someone-elses-secret"
    doc["users"].append({"name": "by-hand", "user": {"token": jwt(p)}})
    env["kc"].write_text(yaml.safe_dump(doc))
    revokewf.revoke(revokewf.RevokeOptions("user01"), connect.resolve(None, None), gw, RecordingReporter())
    names = {u["name"] for u in yaml.safe_load(env["kc"].read_text())["users"]}
    assert "user01@prod" not in names and "by-hand" in names


# --------------------------------------------------------------------------- renew and revoke, as recorded


def test_renew_invalidates_every_earlier_token_and_records_it(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    first = run(env, auth="token", rules=["get:pods"])
    assert isinstance(first.issued, IssuedToken)
    first_token = kube_token(env)
    target = connect.resolve(None, None)
    sign_in = tokenwf.token(gw, target, name="user01", ttl_seconds=None, registry_namespace=None,
                            reporter=RecordingReporter())  # fmt: skip
    assert gw.token_valid(first_token) and gw.token_valid(sign_in.issued.token)
    assert len(kinds(gw, "Secret")) == 2

    res = renewwf.renew(renewwf.RenewOptions("user01"), target, gw, RecordingReporter())
    assert isinstance(res.issued, IssuedToken)
    assert sorted(res.invalidated) == sorted([first.issued.secret_name, sign_in.issued.secret_name])
    assert not gw.token_valid(first_token) and not gw.token_valid(sign_in.issued.token)
    new_token = kube_token(env)
    assert new_token != first_token and gw.token_valid(new_token)
    assert kinds(gw, "Secret") == [res.issued.secret_name]
    assert kinds(gw, "ServiceAccount") == ["user01"]
    rec = record(gw)
    assert rec.certificate.serial == res.issued.secret_name and rec.certificate.invalidated_at is None
    assert [(h.serial, bool(h.invalidated_at)) for h in rec.history] == [(first.issued.secret_name, True)]
    assert [(t.serial, bool(t.invalidated_at)) for t in rec.sign_in_tokens] == [(sign_in.issued.secret_name, True)]
    assert [t.serial for t in rec.token_secrets()] == [res.issued.secret_name]
    assert rec.still_valid_earlier() == [] and res.earlier_valid == []
    assert res.to_dict()["invalidatedSecrets"] == res.invalidated


def test_revoke_kills_every_token_and_records_it(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    run(env, auth="token", rules=["get:pods"])
    kube = kube_token(env)
    target = connect.resolve(None, None)
    sign_in = tokenwf.token(gw, target, name="user01", ttl_seconds=3600, registry_namespace=None,
                            reporter=RecordingReporter())  # fmt: skip
    secrets_before = kinds(gw, "Secret")

    res = revokewf.revoke(revokewf.RevokeOptions("user01"), target, gw, RecordingReporter())
    assert sorted(res.tokens_killed) == secrets_before and res.service_account_deleted
    assert not gw.token_valid(kube) and not gw.token_valid(sign_in.issued.token)
    assert kinds(gw, "Secret") == [] and kinds(gw, "ServiceAccount") == []
    assert not res.still_authenticates and res.errors == []
    d = res.to_dict()
    assert d["tokensInvalidated"] == res.tokens_killed and d["serviceAccountDeleted"] is True
    assert d["residual"]["credentialStillAuthenticates"] is False
    rec = record(gw)
    assert rec.status == "revoked" and rec.token_secrets() == [] and rec.still_valid() == []
    assert rec.certificate.invalidated_at and all(t.invalidated_at for t in rec.sign_in_tokens)
    # revoking again changes nothing and kills nothing more
    again = revokewf.revoke(revokewf.RevokeOptions("user01"), target, gw, RecordingReporter())
    assert again.already_revoked and again.tokens_killed == [] and not again.service_account_deleted


def test_create_force_from_token_to_certificate_kills_the_tokens(env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    run(env, auth="token", rules=["get:pods"])
    old = kube_token(env)
    res = run(env, rules=["get:pods"], force=True)
    assert not gw.token_valid(old)
    assert kinds(gw, "Secret") == [] and kinds(gw, "ServiceAccount") == []
    assert res.service_account_deleted == f"{REG}/user01" and len(res.invalidated) == 1
    rec = record(gw)
    # the ServiceAccount's name stays on the record (cleanup finds it should its deletion ever fail); it is gone
    assert rec.auth == "x509" and rec.service_account == "user01" and rec.token_secrets() == []
    binding = gw.objects[("RoleBinding", "dev", "kubeuser:user01")]
    assert binding["subjects"] == [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "user01"}]


# --------------------------------------------------------------------------- TokenRequest forbidden


def nothing_left(env: dict[str, Any], gw: FakeGateway) -> None:
    assert kinds(gw, "ServiceAccount") == [] and kinds(gw, "Secret") == []
    assert [k for k in gw.objects if k[0] in ("ConfigMap", "Role", "RoleBinding", "ClusterRoleBinding")] == []
    assert gw.tokens == {}
    assert env["kc"].read_bytes() == env["before"]


def test_token_request_forbidden_by_the_permission_check(env: dict[str, Any], cli: Any) -> None:
    gw: FakeGateway = env["gw"]
    gw.deny = {"create serviceaccounts/token"}
    code, out, err = cli("create", "user01", "--auth", "token", "--rule", "get:pods", "-n", "dev")
    assert code == int(ExitCode.FORBIDDEN) == 6, err
    assert "serviceaccounts/token" in err and "Traceback" not in err and out == ""
    assert gw.calls["request_token"] == 0  # found before anything was made
    nothing_left(env, gw)


def test_token_request_forbidden_by_the_server_after_the_check_passed(env: dict[str, Any], cli: Any) -> None:
    """The SSAR said yes, the TokenRequest itself is refused (an admission webhook, RBAC changed meanwhile):
    the ServiceAccount and the Secret made for the token are deleted again; no record."""
    gw: FakeGateway = env["gw"]
    gw.fail["request_token"] = ForbiddenError(
        "requesting a token for ServiceAccount kubeuser-system/user01: forbidden",
        hint="needs `create` on serviceaccounts/token in namespace kubeuser-system",
    )
    code, out, err = cli("create", "user01", "--auth", "token", "--rule", "get:pods", "-n", "dev")
    assert code == ExitCode.FORBIDDEN, err
    assert gw.calls["request_token"] == 1 and "forbidden" in err and out == ""
    assert "left behind" not in err
    nothing_left(env, gw)
