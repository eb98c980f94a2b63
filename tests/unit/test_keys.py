"""Where private keys are: a handed-out key is nowhere else, revoke names the key files it leaves, and
``--out -`` prints a key to a terminal only when asked (``--print-key``); the terminal is a real pty."""

from __future__ import annotations

import base64
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_gateway import FakeGateway
from kubeuser_runner import read_pty

from kubeuser import connect
from kubeuser.cli import main
from kubeuser.errors import ExitCode
from kubeuser.workflows import steps


def key_files(home: Path) -> list[Path]:
    root = home / ".kube" / "kubeuser"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_handed_out_key_is_kept_nowhere_else(cli: Any, env: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "alice.kubeconfig"
    code, stdout, err = cli("create", "alice", "--out", str(out))
    assert code == 0, err
    assert "PRIVATE KEY" not in stdout + err and "client-key-data" in out.read_text()
    assert key_files(env["home"]) == []  # the handout is the only copy
    assert "\nkey " not in "\n" + stdout + err
    code, stdout, err = cli("create", "alice", "--out", str(out), "--force", "-o", "json")
    assert code == 0 and '"keyFile": null' in stdout and key_files(env["home"]) == []


def test_a_merged_user_keeps_its_key_files_and_revoke_names_them(cli: Any, env: dict[str, Any]) -> None:
    code, stdout, err = cli("create", "bob")
    assert code == 0, err
    kdir = steps.key_dir_for("prod", "bob")
    assert key_files(env["home"]) == [kdir / "client.crt", kdir / "client.key"]
    assert (kdir / "client.key").stat().st_mode & 0o777 == 0o600 and kdir.stat().st_mode & 0o777 == 0o700
    code, stdout, err = cli("revoke", "bob")
    assert code == 0, err
    assert f"kept on this machine: {kdir / 'client.key'}, {kdir / 'client.crt'} (--purge-local deletes them)" in stdout
    assert (kdir / "client.key").exists()
    code, stdout, err = cli("revoke", "bob", "--purge-local")
    assert code == 0, err
    assert "kept on this machine" not in stdout and not (kdir / "client.key").exists()


def run_on_pty(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """``kubeuser ARGS`` with stdout on a pseudo-terminal: (exit code, what the terminal showed, stderr)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "kubeuser", *args], stdout=slave, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=env)  # fmt: skip
    os.close(slave)
    shown = read_pty(master)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    return proc.wait(timeout=30), shown.decode(errors="replace"), err


def test_out_dash_on_a_terminal_is_refused_without_print_key(env: dict[str, Any]) -> None:
    environ = {**os.environ, "HOME": str(env["home"]), "PYTHONPATH": os.pathsep.join(sys.path)}
    environ.pop("KUBECONFIG", None)
    code, shown, err = run_on_pty("create", "carol", "--out", "-", env=environ)
    assert code == ExitCode.USAGE, err
    assert err.splitlines() == [
        "error: --out - would print the user's private key on this terminal",
        "hint: redirect stdout (`… --out - > FILE`), write a file with --out FILE, or add --print-key to show it "
        "on screen",
    ]
    assert "PRIVATE KEY" not in shown and shown == ""
    assert env["kc"].read_bytes() == env["before"]  # nothing changed
    code, _shown, err = run_on_pty("renew", "carol", "--out", "-", env=environ)
    assert code == ExitCode.USAGE and err.startswith("error: --out - would print the user's private key")


def test_print_key_shows_it_on_a_terminal(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gw: FakeGateway = env["gw"]
    monkeypatch.setattr(connect, "open_gateway", lambda target: gw)
    master, slave = pty.openpty()
    with os.fdopen(slave, "w") as terminal:
        monkeypatch.setattr(sys, "stdout", terminal)
        with pytest.raises(SystemExit) as ei:
            main(["create", "dave", "--out", "-", "--print-key"])
        terminal.flush()
    shown = read_pty(master)
    assert ei.value.code in (0, None), capsys.readouterr().err
    assert b"client-key-data" in shown and b"current-context: dave@prod" in shown
    assert key_files(env["home"]) == []


def test_out_dash_into_a_pipe_needs_no_flag(cli: Any, env: dict[str, Any]) -> None:
    code, stdout, err = cli("create", "erin", "--out", "-")
    assert code == 0, err
    assert "client-key-data" in stdout and key_files(env["home"]) == []


def insecure_admin(env: dict[str, Any]) -> None:
    doc = yaml.safe_load(env["kc"].read_text())
    cluster = doc["clusters"][0]["cluster"]
    del cluster["certificate-authority-data"]
    cluster["insecure-skip-tls-verify"] = True
    env["kc"].write_text(yaml.safe_dump(doc))


def test_a_handout_gets_the_cluster_ca_instead_of_insecure_skip_tls_verify(
    cli: Any, env: dict[str, Any], tmp_path: Path
) -> None:
    gw: FakeGateway = env["gw"]
    insecure_admin(env)
    gw.objects[("ConfigMap", "default", "kube-root-ca.crt")] = {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt", "namespace": "default"},
        "data": {"ca.crt": gw.ca_pem.decode()},
    }  # fmt: skip
    out = tmp_path / "h.kubeconfig"
    code, _out, err = cli("create", "frank", "--out", str(out))
    assert code == 0, err
    cluster = yaml.safe_load(out.read_text())["clusters"][0]["cluster"]
    assert "insecure-skip-tls-verify" not in cluster
    assert base64.b64decode(cluster["certificate-authority-data"]) == gw.ca_pem
    assert "the handout verifies the server instead, with the cluster CA of ConfigMap default/kube-root-ca.crt" in err


def test_a_handout_that_must_inherit_insecure_says_so(cli: Any, env: dict[str, Any], tmp_path: Path) -> None:
    insecure_admin(env)  # and no kube-root-ca.crt: nothing that verifies the server
    out = tmp_path / "h.kubeconfig"
    code, _out, err = cli("create", "gina", "--out", str(out))
    assert code == 0, err
    assert yaml.safe_load(out.read_text())["clusters"][0]["cluster"]["insecure-skip-tls-verify"] is True
    assert "warning: the handout inherits insecure-skip-tls-verify from cluster 'prod'" in err
