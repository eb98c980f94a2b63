"""Bring your own key over the fake gateway: request → create --csr → import, renew --csr, apply csr:.

The e2e suite (tests/e2e/test_byok.py) replays the flow on the real control plane with kubectl and
openssl as witnesses; these tests pin the rules and the failure modes.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_gateway import FakeGateway
from workflow_env import run

from kubeuser import connect, pki, registry, usersfile
from kubeuser.errors import NotFoundError, UnauthenticatedError, UsageError, VerificationError
from kubeuser.gateway import Gateway
from kubeuser.progress import RecordingReporter
from kubeuser.workflows import apply as applywf
from kubeuser.workflows import byok
from kubeuser.workflows import renew as renewwf

REG = registry.DEFAULT_NAMESPACE


@pytest.fixture
def user_home(env: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's machine: its own KUBEUSER_HOME for pending keys (HOME stays the admin's for the fixture)."""
    home = tmp_path / "user"
    monkeypatch.setenv("KUBEUSER_HOME", str(home / ".kube" / "kubeuser"))
    return home


def request(name: str, **kw: Any) -> byok.RequestResult:
    return byok.request(byok.RequestOptions(name=name, **kw), RecordingReporter())


def handout(env: dict[str, Any], tmp_path: Path, name: str, csr: bytes, **kw: Any) -> Path:
    out = tmp_path / f"{name}.kubeconfig"
    run(env, name=name, csr_pem=csr, out=str(out), **kw)
    return out


def opener(gw: FakeGateway) -> byok.OpenGateway:
    def open_gateway(config: dict[str, Any], context: str, ca_pem: bytes | None) -> Gateway:
        user = config["users"][0]["user"]
        cert = base64.b64decode(user["client-certificate-data"])
        key = base64.b64decode(user["client-key-data"])
        return gw.as_certificate(cert, key)

    return open_gateway


def do_import(gw: FakeGateway, path: Path, user_home: Path, **kw: Any) -> byok.ImportResult:
    opts = byok.ImportOptions(
        handout=path.read_bytes(), source=str(path), kubeconfig_path=str(user_home / "config"), **kw
    )
    return byok.import_handout(opts, opener(gw), RecordingReporter())


def no_private_key_under(root: Path) -> bool:
    return not any(b"PRIVATE KEY" in p.read_bytes() for p in root.rglob("*") if p.is_file())


def test_request_create_import(env: dict[str, Any], user_home: Path, tmp_path: Path) -> None:
    gw: FakeGateway = env["gw"]
    req = request("bob", groups=["dev"], key_type="rsa", key_size=3072)
    key_file = req.directory / byok.KEY_FILE
    assert os.stat(key_file).st_mode & 0o777 == 0o600 and os.stat(req.directory).st_mode & 0o777 == 0o700
    assert b"PRIVATE KEY" not in req.csr_pem
    (user_home / "config").parent.mkdir(parents=True, exist_ok=True)
    out = handout(env, tmp_path, "bob", req.csr_pem, cluster_roles=["view"])
    doc = yaml.safe_load(out.read_text())
    assert (
        "client-key-data" not in doc["users"][0]["user"] and doc["clusters"][0]["cluster"]["certificate-authority-data"]
    )
    rec = registry.Registry(gw, REG).get("bob")
    assert rec is not None and rec[0].key_holder == registry.KEY_HOLDER_USER
    assert (rec[0].key_type, rec[0].key_size, rec[0].groups) == ("rsa", 3072, ["dev"])
    assert no_private_key_under(env["home"]) and env["kc"].read_bytes() == env["before"]  # admin side: no key

    res = do_import(gw, out, user_home, set_current=True)
    assert res.user == "bob" and not req.directory.exists()
    cfg = yaml.safe_load((user_home / "config").read_text())
    entry = next(u["user"] for u in cfg["users"] if u["name"] == res.context)
    cert = base64.b64decode(entry["client-certificate-data"])
    assert pki.cert_matches_key(cert, base64.b64decode(entry["client-key-data"]))
    assert cfg["current-context"] == res.context and os.stat(user_home / "config").st_mode & 0o777 == 0o600


def test_create_csr_refuses_before_anything_is_created(env: dict[str, Any], user_home: Path, tmp_path: Path) -> None:
    gw: FakeGateway = env["gw"]
    req = request("alice", groups=["dev"])
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": "bob", "csr_pem": req.csr_pem, "out": str(tmp_path / "x")}, "CN"),
        ({"name": "alice", "groups": ["ops"], "csr_pem": req.csr_pem, "out": str(tmp_path / "x")}, "O"),
        ({"name": "alice", "csr_pem": req.csr_pem}, "--out"),
        ({"name": "alice", "csr_pem": b"garbage", "out": str(tmp_path / "x")}, "not a readable"),
        ({"name": "alice", "csr_pem": req.csr_pem, "out": str(tmp_path / "x"), "key_spec_given": True}, "--key-type"),
    ]
    for kw, field in cases:
        with pytest.raises(UsageError) as ei:
            run(env, **kw)
        assert field in ei.value.message and "\n" not in ei.value.message
    masters_key = pki.generate_key()
    masters = pki.build_csr(masters_key, "alice", ["system:masters"])
    with pytest.raises(UsageError, match="system:masters"):
        run(env, name="alice", csr_pem=masters, out=str(tmp_path / "x"))
    assert gw.calls["create_csr"] == 0 and not (tmp_path / "x").exists()


def test_import_refuses_and_changes_nothing(env: dict[str, Any], user_home: Path, tmp_path: Path) -> None:
    gw: FakeGateway = env["gw"]
    req = request("carol")
    out = handout(env, tmp_path, "carol", req.csr_pem)
    # a tampered certificate: the same public key, signed by another CA
    import pki_factory

    other_ca, other_key = pki_factory.make_ca("evil-ca")
    doc = yaml.safe_load(out.read_text())
    forged = pki_factory.issue_client_cert(other_ca, other_key, req.csr_pem)
    doc["users"][0]["user"]["client-certificate-data"] = base64.b64encode(forged).decode()
    tampered = tmp_path / "tampered.kubeconfig"
    tampered.write_text(yaml.safe_dump(doc))
    with pytest.raises(VerificationError):
        do_import(gw, tampered, user_home)
    assert not (user_home / "config").exists() and req.directory.exists()
    # a complete kubeconfig (it has a key) is not a handout
    full = tmp_path / "full.kubeconfig"
    run(env, name="dave", out=str(full))
    with pytest.raises(UsageError, match="already holds a private key"):
        do_import(gw, full, user_home)
    # the cluster refuses the certificate (its API server trusts another CA): nothing is written
    gw.trusts_signer = False
    with pytest.raises(UnauthenticatedError):
        do_import(gw, out, user_home)
    assert not (user_home / "config").exists() and req.directory.exists()


def test_import_without_the_pending_key(
    env: dict[str, Any], user_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    req = request("erin")
    out = handout(env, tmp_path, "erin", req.csr_pem)
    monkeypatch.setenv("KUBEUSER_HOME", str(tmp_path / "another-machine"))
    with pytest.raises(NotFoundError):
        do_import(env["gw"], out, user_home)
    assert not (user_home / "config").exists()


def test_two_requests_keep_both_keys_until_one_is_imported(
    env: dict[str, Any], user_home: Path, tmp_path: Path
) -> None:
    first, second = request("fay"), request("fay")
    assert first.directory.exists() and second.directory.exists() and second.others_pending == 1
    out = handout(env, tmp_path, "fay", second.csr_pem)
    res = do_import(env["gw"], out, user_home)
    assert set(res.removed_pending) == {str(first.directory), str(second.directory)}


def test_renew_needs_a_new_request(env: dict[str, Any], user_home: Path, tmp_path: Path) -> None:
    gw: FakeGateway = env["gw"]
    target = connect.resolve(None, None)
    first = request("gus")
    handout(env, tmp_path, "gus", first.csr_pem)
    with pytest.raises(UsageError) as ei:
        renewwf.renew(renewwf.RenewOptions(name="gus", out=str(tmp_path / "n.kc")), target, gw, RecordingReporter())
    assert "new certificate request" in ei.value.message and "kubeuser request gus" in (ei.value.hint or "")
    second = request("gus")
    res = renewwf.renew(
        renewwf.RenewOptions(name="gus", csr_pem=second.csr_pem, out=str(tmp_path / "n.kc")),
        target,
        gw,
        RecordingReporter(),
    )
    assert pki.cert_matches_key(res.cert.cert_pem, (second.directory / byok.KEY_FILE).read_bytes())
    assert res.cert.key_pem == b"" and no_private_key_under(env["home"])
    rec = registry.Registry(gw, REG).get("gus")
    assert rec is not None and rec[0].key_holder == registry.KEY_HOLDER_USER and len(rec[0].history) == 1


def test_apply_with_csr(env: dict[str, Any], user_home: Path, tmp_path: Path) -> None:
    gw: FakeGateway = env["gw"]
    req = request("hal", groups=["dev"])
    (tmp_path / "hal.csr").write_bytes(req.csr_pem)
    text = "apiVersion: kubeuser.io/v1alpha1\nkind: UserList\nusers:\n  - name: hal\n    csr: hal.csr\n"
    users_file = tmp_path / "users.yaml"
    users_file.write_text(text)
    out = tmp_path / "out"

    def apply(**kw: Any) -> applywf.ApplyResult:
        ul = usersfile.load(users_file)
        opts = applywf.ApplyOptions(**kw)
        return applywf.apply(ul, opts, connect.resolve(None, None), gw, RecordingReporter())

    res = apply()  # no --out-dir: the user fails, nothing is created
    assert res.outcomes[0].failed and "--out-dir" in (res.outcomes[0].error or "")
    assert registry.Registry(gw, REG).get("hal") is None
    res = apply(out_dir=out)
    assert res.outcomes[0].action == "create" and not res.outcomes[0].failed
    assert "client-key-data" not in (out / "hal.kubeconfig").read_text()
    assert apply(out_dir=out, force_out=True).outcomes[0].action == "unchanged"
    new = request("hal", groups=["dev"])
    (tmp_path / "hal.csr").write_bytes(new.csr_pem)
    res = apply(out_dir=out, force_out=True)
    assert (res.outcomes[0].action, res.outcomes[0].failed) == ("renew", False)
    cert = base64.b64decode(
        yaml.safe_load((out / "hal.kubeconfig").read_text())["users"][0]["user"]["client-certificate-data"]
    )
    assert pki.cert_matches_key(cert, (new.directory / byok.KEY_FILE).read_bytes())
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("name: hal", "name: ivy"))
    with pytest.raises(UsageError, match=r"bad.yaml:5: users\[0\].csr"):
        usersfile.load(bad)
