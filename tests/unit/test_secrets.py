"""Secrets: private keys stay in 0600 files in 0700 directories, and never reach output, errors or tracebacks.

Runs the create workflow and the real CLI (``kubeuser.cli.main``) over the fake gateway, records every
private key kubeuser generates (by wrapping ``pki.key_to_pem``), and scans every stdout, stderr,
exception message, hint and ``--debug`` traceback for any of them.
"""

from __future__ import annotations

import base64
import contextlib
import os
import stat
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pki_factory
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fake_gateway import FakeGateway
from workflow_env import run

from kubeuser import connect, k8s, pki
from kubeuser.cli import main
from kubeuser.cli.app import app
from kubeuser.errors import ForbiddenError, KubeuserError, UnreachableError
from kubeuser.progress import RecordingReporter
from kubeuser.workflows import create as createwf

# base64 of "-----BEGIN PRIVATE KEY-----" / "-----BEGIN EC PRIVATE KEY-----" at the start of an encoded PEM
_B64_MARKERS = tuple(base64.b64encode(m).decode()[:32] for m in (b"-----BEGIN PRIVATE KEY-----", b"-----BEGIN EC "))


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every private key PEM kubeuser serialises during the test."""
    seen: list[bytes] = []
    real = pki.key_to_pem

    def recording(key: pki.PrivateKey) -> bytes:
        pem = real(key)
        seen.append(pem)
        return pem

    monkeypatch.setattr(pki, "key_to_pem", recording)
    return seen


def secret_needles(pem: bytes) -> list[str]:
    """Short strings that can only come from the *secret* part of a key, in every form it could leak in.

    The public half of a key legitimately appears in CSRs and certificates, so whole PEM lines would give
    false alarms; instead: 16-character windows of the base64 (PEM body, and base64 of the whole PEM as in
    ``client-key-data``) that encode only secret bytes, and the secret in hex.
    """
    key = serialization.load_pem_private_key(pem, password=None)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        secret = key.private_numbers().private_value.to_bytes((key.curve.key_size + 7) // 8, "big")
    elif isinstance(key, rsa.RSAPrivateKey):
        d = key.private_numbers().d
        secret = d.to_bytes((d.bit_length() + 7) // 8, "big")
    else:
        secret = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                   serialization.NoEncryption())  # fmt: skip
    start = der.find(secret)
    assert start > 0, "secret not found in the DER encoding"
    end = start + len(secret)

    def windows(text: str, first_byte: int, end_byte: int) -> list[str]:
        a, b = -(-first_byte // 3) * 4, (end_byte // 3) * 4  # base64 chars that encode only these bytes
        return [text[i : i + 16] for i in range(a, b - 15, 16)]

    body = base64.b64encode(der).decode()
    assert body == "".join(ln for ln in pem.decode().splitlines() if not ln.startswith("-----"))
    header = len(pem.decode().splitlines()[0]) + 1
    a, b = -(-start // 3) * 4, (end // 3) * 4

    def in_pem(i: int) -> int:  # body char index → PEM byte index (64 characters a line)
        return header + i + i // 64

    needles = windows(body, start, end)
    needles += windows(base64.b64encode(pem).decode(), in_pem(a), in_pem(b))
    needles += [secret.hex()[:24], secret.hex()[:24].upper()]
    return needles


def leaks(text: str, keys: list[bytes]) -> list[str]:
    """What of any private key appears in *text*: PEM markers, or any form of a key's secret."""
    found = [m for m in ("PRIVATE KEY", *_B64_MARKERS) if m in text]
    flat = text.replace("\n", "").replace("\r", "")
    for pem in keys:
        found += [f"secret of a key ({n[:6]}…)" for n in secret_needles(pem) if n in flat]
    return found


# ---------------------------------------------------------------------------------------------- files


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o077], ids=["umask000", "umask022", "umask077"])
def test_key_files_0600_in_0700_dirs_whatever_the_umask(env: dict[str, Any], tmp_path: Path, mask: int) -> None:
    home: Path = env["home"]
    env["kc"].chmod(0o644)  # a world-readable kubeconfig loses the bits for others on the next write
    with umask(mask):
        res = run(env, groups=["dev"], rules=["get:pods"])
        out = tmp_path / "fresh" / "dir" / "carol.kubeconfig"
        run(env, name="carol", out=str(out))
    key, crt = Path(res.key_file or ""), Path(res.cert_file or "")
    assert key == home / ".kube" / "kubeuser" / "prod" / "user01" / "client.key"
    assert mode(key) == 0o600 and mode(crt) == 0o644
    for d in (home / ".kube" / "kubeuser", key.parent.parent, key.parent):
        assert mode(d) == 0o700, d
    assert mode(env["kc"]) == 0o640  # the rest of its mode (and its owner) is the admin's choice
    assert mode(out) == 0o600 and mode(out.parent) == 0o700 and mode(out.parent.parent) == 0o700
    assert not list(env["kc"].parent.glob("*.lock")) and not list(env["kc"].parent.glob(".*.tmp"))
    # the key file, the kubeconfig entry and the certificate belong together
    doc = yaml.safe_load(env["kc"].read_text())
    (entry,) = [u["user"] for u in doc["users"] if u["name"] == "user01@prod"]
    assert base64.b64decode(entry["client-key-data"]) == key.read_bytes()
    assert pki.cert_matches_key(crt.read_bytes(), key.read_bytes())


def test_private_key_write_is_0600_even_under_umask_0_and_replaces_atomically(tmp_path: Path) -> None:
    pem = pki.key_to_pem(pki.generate_key())
    target = tmp_path / "a" / "b" / "client.key"
    with umask(0):
        pki.write_private_key(target, pem)
        target.chmod(0o666)
        pki.write_private_key(target, pem, overwrite=True)  # the replacement is 0600 again
    assert mode(target) == 0o600 and mode(target.parent) == 0o700 and mode(target.parent.parent) == 0o700
    assert sorted(p.name for p in target.parent.iterdir()) == ["client.key"]  # no temp file left


def _config(user: dict[str, Any], cluster_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1", **(cluster_extra or {})}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
    }


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$TMPDIR for this test: anything kubeuser or the kubernetes client writes there is seen."""
    import tempfile

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


def _files_with_keys(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and b"PRIVATE KEY" in p.read_bytes()]


def _key_paths(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bytes]]:
    """Every (path, data) the in-memory files hand out from now on (the TLS stack reads keys from them)."""
    from kubeuser.secretfiles import InMemoryFiles

    seen: list[tuple[str, bytes]] = []
    original = InMemoryFiles.path

    def path(self: InMemoryFiles, name: str, data: bytes) -> str:
        p = original(self, name, data)
        seen.append((p, data))
        return p

    monkeypatch.setattr(InMemoryFiles, "path", path)
    return seen


def _client_pair(gw: FakeGateway, cn: str) -> tuple[bytes, bytes]:
    key = pki.generate_key()
    return pki_factory.issue_client_cert(gw.ca, gw.ca_key, key, cn=cn, groups=[]), pki.key_to_pem(key)


@pytest.mark.skipif(not hasattr(os, "memfd_create"), reason="memfd_create is Linux-only (the fallback is tested below)")
def test_keys_for_tls_live_in_memfds_never_on_disk(private_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gw: FakeGateway = FakeGateway()
    admin_cert, admin_key = _client_pair(gw, "admin")
    user_cert, user_key = _client_pair(gw, "ann")
    inline = {"client-key-data": base64.b64encode(admin_key).decode(),
              "client-certificate-data": base64.b64encode(admin_cert).decode()}  # fmt: skip
    seen = _key_paths(monkeypatch)
    admin = k8s.K8sGateway.from_config_dict(
        _config(inline, {"certificate-authority-data": base64.b64encode(gw.ca_pem).decode()}), "x", ca_pem=gw.ca_pem
    )
    user_gw = admin.as_certificate(user_cert, user_key)
    admin._transport.pool()  # the TLS context is made (and the key loaded) for the first request
    user_gw._transport.pool()
    keys = [(p, data) for p, data in seen if b"PRIVATE KEY" in data]
    assert sorted(data for _p, data in keys) == sorted([admin_key, user_key])
    for p, _data in keys:
        assert p.startswith("/proc/self/fd/"), p
        assert not os.path.exists(p)  # closed as soon as TLS has loaded it: the data is in no file any more
    assert _files_with_keys(private_tmp) == []  # nothing copied the inline key to $TMPDIR
    assert "PRIVATE" not in repr(admin._transport.creds) and "PRIVATE" not in repr(user_gw._transport.creds)
    user_gw.close()
    admin.close()


def test_the_cluster_entry_is_left_for_exec_plugins() -> None:
    """The client passes the cluster entry to exec plugins (provideClusterInfo): it keeps its inline CA data."""
    ca = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n").decode()
    config = _config({"exec": {"command": "x", "apiVersion": "client.authentication.k8s.io/v1"}},
                     {"certificate-authority-data": ca})  # fmt: skip
    files = k8s.SecretFiles()
    try:
        assert files.inline_data_as_files(config, "x") == config
    finally:
        files.close()


def test_without_memfd_keys_go_to_a_private_temp_dir_removed_at_once(
    private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "memfd_create", raising=False)
    gw: FakeGateway = FakeGateway()
    admin = k8s.K8sGateway.from_config_dict(_config({"token": "t"}), "x", ca_pem=gw.ca_pem)
    cert, key = _client_pair(gw, "ann")
    seen = _key_paths(monkeypatch)
    with umask(0):
        user_gw = admin.as_certificate(cert, key)
        user_gw._transport.pool()
    (key_file,) = [Path(p) for p, data in seen if data == key]
    assert key_file.parent.parent == private_tmp and key_file.parent.name.startswith("kubeuser-")
    assert not key_file.parent.exists() and _files_with_keys(private_tmp) == []
    user_gw.close()
    admin.close()


def test_inline_data_that_is_not_base64_is_a_kubeconfig_error(private_tmp: Path) -> None:
    key = base64.b64encode(pki.key_to_pem(pki.generate_key())).decode()
    config = _config({"client-key-data": key, "client-certificate-data": "%%% not base64"})
    with pytest.raises(KubeuserError) as exc:
        k8s.K8sGateway.from_config_dict(config, "x", ca_pem=None)
    assert exc.value.exit_code == 3  # KubeconfigError: one line, with a hint
    assert str(exc.value) == "client-certificate-data of user 'u' is not valid base64" and exc.value.hint
    assert key not in str(exc.value) and _files_with_keys(private_tmp) == []


def test_registry_and_csrs_hold_no_private_key(env: dict[str, Any], keys: list[bytes]) -> None:
    gw: FakeGateway = env["gw"]
    run(env, groups=["dev"], rules=["get:pods"])
    assert keys
    (cm,) = [o for (k, _, _), o in gw.objects.items() if k == "ConfigMap"]
    assert "certificate.pem" in cm["data"]  # the public certificate only
    assert leaks(repr(gw.objects), keys) == [] and leaks(repr(gw.csrs), keys) == []


# ---------------------------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    monkeypatch.setattr(connect, "open_gateway", lambda target: env["gw"])
    runs: list[tuple[list[str], int, str, str]] = []

    def run_cli(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as ei:
            main(list(args))
        out, err = capsys.readouterr()
        code = int(ei.value.code or 0)
        runs.append((list(args), code, out, err))
        return code, out, err

    run_cli.runs = runs  # type: ignore[attr-defined]
    return run_cli


def test_typer_never_shows_locals() -> None:
    assert app.pretty_exceptions_show_locals is False
    assert app.pretty_exceptions_enable is False


def test_no_key_material_in_any_cli_output(cli: Any, env: dict[str, Any], tmp_path: Path, keys: list[bytes]) -> None:
    gw: FakeGateway = env["gw"]
    ok = [
        ("create", "alice", "-g", "dev", "--rule", "get,list:pods"),
        ("create", "bob", "-o", "json"),
        ("create", "carol", "-o", "yaml", "--clusterrole", "view"),
        ("create", "dave", "--out", str(tmp_path / "dave.kubeconfig")),
        ("list",),
        ("list", "-o", "json"),
        ("show", "alice"),
        ("show", "alice", "-o", "yaml"),
        ("renew", "alice"),
        ("renew", "bob", "-o", "json"),
        ("revoke", "carol"),
        ("revoke", "dave", "-o", "json", "--purge-local"),
        ("cleanup",),
        ("cleanup", "-o", "json", "--delete"),
        ("create", "alice"),  # conflict: exists
        ("create", "system:masters"),  # usage error
        ("create", "mallory", "-g", "system:masters"),  # refused
    ]
    for args in ok:
        cli(*args)
    # failures after the key exists: rollback paths and their hints (a failed summary is only a warning)
    for method, exc, want in [
        ("approve_csr", ForbiddenError("approving CSR x: forbidden"), "error: "),
        ("create_object", ForbiddenError("creating Role dev/kubeuser:erin: forbidden"), "error: "),
        ("apply_object", UnreachableError("updating ConfigMap: the API server answered 503"), "error: "),
        ("rules_review", UnreachableError("listing what we may do in dev: timeout"), "warning: "),
    ]:
        gw.fail[method] = exc
        code, _, err = cli("create", "erin", "--rule", "get:pods")
        assert code == (0 if want == "warning: " else exc.exit_code) and want in err, err
        gw.fail.clear()
        with contextlib.suppress(SystemExit):
            cli("revoke", "erin")
    runs = cli.runs
    assert len(keys) >= 6, "expected kubeuser to have generated keys"
    assert [r for r in runs if r[1] == 0], "no successful runs"
    for args, code, out, err in runs:
        assert leaks(out + err, keys) == [], f"kubeuser {' '.join(args)} (exit {code}) printed key material"
        assert "Traceback" not in err


def test_out_dash_puts_the_key_on_stdout_only(cli: Any, keys: list[bytes]) -> None:
    code, out, err = cli("create", "dave", "--out", "-")
    assert code == 0
    assert leaks(err, keys) == []
    doc = yaml.safe_load(out)  # the user asked for the credential on stdout: it is there, and only there
    (user,) = doc["users"]
    assert base64.b64decode(user["user"]["client-key-data"]) == keys[-1]


def test_internal_error_with_debug_shows_no_locals_and_no_key(cli: Any, env: dict[str, Any], keys: list[bytes]) -> None:
    gw: FakeGateway = env["gw"]
    gw.fail["create_object"] = RuntimeError("boom")  # a bug, after the key and certificate exist
    code, out, err = cli("create", "erin", "--rule", "get:pods", "--debug")
    assert code == 1 and out == ""
    assert "Traceback (most recent call last)" in err  # --debug works …
    assert "error: internal error: RuntimeError: boom" in err
    assert leaks(err, keys) == []  # … without key material
    for local_dump in ("locals", "ECPrivateKey object", "key_pem =", "b'-----BEGIN"):
        assert local_dump not in err
    assert gw.csrs == {}  # the rollback ran for a non-KubeuserError too

    gw.fail["create_object"] = RuntimeError("boom")
    code, _, err = cli("create", "erin", "--rule", "get:pods")  # without --debug: two lines, no traceback
    assert code == 1 and "Traceback" not in err
    assert err.splitlines()[-2:] == [
        "error: internal error: RuntimeError: boom",
        "hint: run again with --debug for a traceback and report it",
    ]


@pytest.mark.parametrize("method", ["approve_csr", "wait_for_certificate", "create_object", "apply_object", "whoami"])
def test_exceptions_carry_no_key_material(env: dict[str, Any], keys: list[bytes], method: str) -> None:
    gw: FakeGateway = env["gw"]
    if method == "whoami":
        gw.ver = type(gw.ver)("v1.26.0", 1, 26)  # so the only whoami is the new identity's proof
    gw.fail[method] = ForbiddenError(f"{method}: forbidden")
    with pytest.raises(KubeuserError) as ei:
        createwf.create(
            createwf.CreateOptions(name="user01", rules=["get:pods"]),
            connect.resolve(None, None),
            gw,
            RecordingReporter(),
        )
    exc = ei.value
    text = "".join(traceback.format_exception(exc)) + repr(exc) + str(exc) + (exc.hint or "")
    assert keys and leaks(text, keys) == []
    assert exc.__context__ is None or leaks(repr(exc.__context__), keys) == []


def test_result_reprs_hold_no_key_material(env: dict[str, Any], keys: list[bytes]) -> None:
    """A repr ends up in assertion messages, logs and debuggers: it must not show the private key."""
    res = run(env)
    assert keys and leaks(repr(res), keys) == [] and leaks(repr(res.issued), keys) == []


@pytest.mark.parametrize("key_type", ["ecdsa", "rsa", "ed25519"])
def test_the_leak_detector_finds_keys_in_every_form(key_type: str) -> None:
    key = pki.generate_key(key_type)  # type: ignore[arg-type]
    pem = pki.key_to_pem(key)
    bare = pem.decode().replace("-----BEGIN PRIVATE KEY-----", "").replace("-----END PRIVATE KEY-----", "")
    kubeconfig = yaml.safe_dump({"users": [{"name": "u", "user": {"client-key-data": base64.b64encode(pem).decode()}}]})
    for form in (pem.decode(), bare, repr(pem), kubeconfig, base64.b64encode(pem).decode()[100:]):
        assert leaks(form, [pem]), form[:80]
    # the public half is no secret: a CSR and the public key may be shown
    csr = pki.build_csr(key, "alice", ["dev"])
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for form in (csr.decode(), base64.b64encode(csr).decode(), public.decode()):
        assert leaks(form, [pem]) == []
