"""Shell completion (issue 14): what ``kubeuser … <TAB>`` offers, and that a cluster lookup never hangs a shell.

The bash tests source the script ``kubeuser --show-completion bash`` prints and call its function with
COMP_WORDS/COMP_CWORD set, exactly as bash does on TAB. The cluster is a small local API server (plain HTTP)
that answers the two lists completion asks for, or a socket that accepts connections and never answers.
"""

from __future__ import annotations

import http.server
import json
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from http_thread import send_json

from kubeuser import completion, naming, registry

ROOT = Path(__file__).resolve().parents[2]
REGISTRY_NS = "kubeuser-system"
NAMESPACES = ["default", "dev", "kube-system", "prod"]


# ------------------------------------------------------------------------------------------ fixtures
def _record(user: str) -> dict[str, Any]:
    cert = registry.CertRecord("0a", "2026-01-01T00:00:00Z", "2036-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "t", "c")
    return registry.to_configmap(registry.UserRecord(user, [], "active", "c", None, "dev", cert), REGISTRY_NS, None)


class FakeApiServer(http.server.ThreadingHTTPServer):
    """Answers GET /api/v1/namespaces and the registry's ConfigMaps; remembers what it was asked."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, str | None]] = []  # (path with query, Authorization header)
        damaged = _record("damaged")
        damaged["data"][registry.RECORD_KEY] = "{not json"
        not_a_record = {"metadata": {"name": "other", "namespace": REGISTRY_NS}, "data": {}}
        self.configmaps = [_record("bob"), _record("alice"), _record("alina"), damaged, not_a_record]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FakeApiServer

    def do_GET(self) -> None:
        self.server.requests.append((self.path, self.headers.get("Authorization")))
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/api/v1/namespaces" and not query:
            body: Any = {"items": [{"metadata": {"name": n}} for n in NAMESPACES]}
        elif url.path == f"/api/v1/namespaces/{REGISTRY_NS}/configmaps" and query == {
            "labelSelector": [naming.MANAGED_SELECTOR]
        }:
            body = {"items": self.server.configmaps}
        else:
            self.send_error(404)
            return
        send_json(self, body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[FakeApiServer]:
    server = FakeApiServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def blackhole() -> Iterator[str]:
    """An https:// server address whose port accepts TCP connections (the kernel completes them) and never
    says a word: the TLS handshake, and so any request, would wait forever."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"https://127.0.0.1:{sock.getsockname()[1]}"


def write_kubeconfig(path: Path, server: str, contexts: list[str], user: dict[str, Any] | None = None) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": user if user is not None else {"token": "s3cret"}}],
        "contexts": [{"name": n, "context": {"cluster": "c", "user": "u"}} for n in contexts],
        "current-context": contexts[0],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")  # JSON is YAML
    return path


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("KUBECONFIG", "KUBEUSER_REGISTRY_NAMESPACE", "KUBEUSER_DEBUG", "COLUMNS"):
        monkeypatch.delenv(var, raising=False)
    return dict(os.environ)


def _ctx(**params: str) -> typer.Context:
    """A context as completion gets it: the values given earlier on the command line in ``params``."""
    import typer.main

    from kubeuser.cli.app import app

    group = typer.main.get_command(app)
    ctx = typer.Context(group.get_command(typer.Context(group), "show"), info_name="show")  # type: ignore[attr-defined]
    ctx.params.update(params)
    return ctx


# ------------------------------------------------------------------------------------ as bash calls it
def bash_complete(env: dict[str, str], tmp_path: Path, *lines: list[str]) -> list[list[str]]:
    """For each command line (its words, the last one the word being completed), what bash offers on TAB,
    through the function of ``kubeuser --show-completion bash`` and a ``kubeuser`` on PATH."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    wrapper = bindir / "kubeuser"
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m kubeuser "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    calls = "\n".join(
        f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)}); COMP_CWORD={len(words) - 1}; COMPREPLY=()\n"
        '_kubeuser_completion kubeuser; printf "%s\\n" "${COMPREPLY[@]}"; echo "<end>"'
        for words in lines
    )
    script = f"source <(kubeuser --show-completion bash)\n{calls}\n"
    env = {**env, "PATH": f"{bindir}{os.pathsep}{env['PATH']}", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    answers = proc.stdout.split("<end>\n")
    assert answers[-1] == "", proc.stdout
    return [[ln for ln in a.splitlines() if ln] for a in answers[:-1]]


def test_bash_completes_commands_values_contexts_users_and_namespaces(
    clean_env: dict[str, str], tmp_path: Path, api: FakeApiServer
) -> None:
    kc = write_kubeconfig(tmp_path / "kc", api.url, ["admin@prod", "alice@dev", "bob@dev"])
    other = write_kubeconfig(tmp_path / "other", api.url, ["elsewhere"])
    answers = bash_complete(
        {**clean_env, "KUBECONFIG": str(kc)},
        tmp_path,
        ["kubeuser", "sh"],
        ["kubeuser", "show", "x", "-o", ""],
        ["kubeuser", "list", "-o", "w"],
        ["kubeuser", "create", "x", "--key-type", "e"],
        ["kubeuser", "renew", "x", "--key-type", ""],
        ["kubeuser", "grant", "x", "--context", "a"],
        ["kubeuser", "doctor", "--kubeconfig", str(other), "--context", ""],
        ["kubeuser", "show", "al"],
        ["kubeuser", "create", "x", "-n", "d"],
    )
    assert answers == [
        ["show"],
        ["text", "json", "yaml"],
        ["wide"],
        ["ecdsa", "ed25519"],
        ["ecdsa", "rsa", "ed25519"],
        ["admin@prod", "alice@dev"],
        ["elsewhere"],
        ["alice", "alina"],  # from the registry: bob does not match, damaged and foreign ConfigMaps are skipped
        ["default", "dev"],
    ]
    assert {auth for _, auth in api.requests} == {"Bearer s3cret"}  # as the context's user


# ------------------------------------------------------------------------------------- local values
def test_contexts_come_from_the_kubeconfig_the_command_line_names(
    clean_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = write_kubeconfig(tmp_path / "home" / ".kube" / "config", "https://127.0.0.1:1", ["home-a", "home-b"])
    named = write_kubeconfig(tmp_path / "named", "https://127.0.0.1:1", ["named-a", "other"])
    assert completion.contexts(_ctx(), "") == ["home-a", "home-b"]
    assert completion.contexts(_ctx(kubeconfig=str(named)), "named") == ["named-a"]
    monkeypatch.setenv("KUBECONFIG", f"{named}{os.pathsep}{default}")
    assert completion.contexts(_ctx(), "") == ["named-a", "other", "home-a", "home-b"]


def test_no_kubeconfig_or_a_broken_one_offers_nothing(clean_env: dict[str, str], tmp_path: Path) -> None:
    assert completion.contexts(_ctx(), "") == []
    broken = tmp_path / "broken"
    broken.write_text("contexts: [1, 2\n", encoding="utf-8")
    assert completion.contexts(_ctx(kubeconfig=str(broken)), "") == []
    assert completion.namespaces(_ctx(kubeconfig=str(broken)), "") == []


def test_fixed_values() -> None:
    assert completion.output_formats("") == ["text", "json", "yaml"]
    assert completion.output_formats("j") == ["json"]
    assert completion.list_output_formats("") == ["text", "wide", "json", "yaml"]
    assert completion.key_types("") == ["ecdsa", "rsa", "ed25519"] and completion.key_types("x") == []


# ----------------------------------------------------------------------------------- cluster lookups
def test_users_and_namespaces_from_the_api_server(
    clean_env: dict[str, str], tmp_path: Path, api: FakeApiServer
) -> None:
    kc = write_kubeconfig(tmp_path / "kc", api.url, ["admin"])
    assert completion.users(_ctx(kubeconfig=str(kc)), "") == ["alice", "alina", "bob"]
    assert completion.namespaces(_ctx(kubeconfig=str(kc)), "kube") == ["kube-system"]
    other = completion.users(_ctx(kubeconfig=str(kc), registry_namespace="elsewhere"), "")
    assert other == [] and api.requests[-1][0].startswith("/api/v1/namespaces/elsewhere/configmaps?")  # a 404


def test_a_token_file_is_read_relative_to_its_kubeconfig(
    clean_env: dict[str, str], tmp_path: Path, api: FakeApiServer
) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "token").write_text("from-a-file\n", encoding="utf-8")
    kc = write_kubeconfig(tmp_path / "conf" / "kc", api.url, ["admin"], {"tokenFile": "token"})
    assert completion.namespaces(_ctx(kubeconfig=str(kc)), "") == NAMESPACES
    assert api.requests[-1][1] == "Bearer from-a-file"


def test_a_credential_plugin_is_not_run(clean_env: dict[str, str], tmp_path: Path, api: FakeApiServer) -> None:
    marker = tmp_path / "plugin-ran"
    plugin = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "touch", "args": [str(marker)]}}
    kc = write_kubeconfig(tmp_path / "kc", api.url, ["admin"], plugin)
    assert completion.namespaces(_ctx(kubeconfig=str(kc)), "") == []
    assert not marker.exists() and api.requests == []


def test_a_silent_server_gives_nothing_within_the_budget(
    clean_env: dict[str, str], tmp_path: Path, blackhole: str
) -> None:
    kc = write_kubeconfig(tmp_path / "kc", blackhole, ["admin"], {"token": "t"})
    for lookup in (completion.namespaces, completion.users):
        started = time.monotonic()
        assert lookup(_ctx(kubeconfig=str(kc)), "") == []
        elapsed = time.monotonic() - started
        assert completion.LOOKUP_BUDGET <= 2.0
        assert elapsed <= completion.LOOKUP_BUDGET + 0.5, f"{lookup.__name__} took {elapsed:.1f}s"


def test_a_silent_server_does_not_hang_the_shell(clean_env: dict[str, str], tmp_path: Path, blackhole: str) -> None:
    """The whole TAB, a new kubeuser process included: without the bound it would wait for ever."""
    kc = write_kubeconfig(tmp_path / "kc", blackhole, ["admin"], {"token": "t"})
    env = {**clean_env, "KUBECONFIG": str(kc), "PYTHONPATH": str(ROOT), "_KUBEUSER_COMPLETE": "complete_bash"}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "kubeuser"],
        env={**env, "COMP_WORDS": "kubeuser show ", "COMP_CWORD": "2"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert (proc.returncode, proc.stdout.strip(), proc.stderr) == (0, "", "")
    assert elapsed < completion.LOOKUP_BUDGET + 8, f"kubeuser show <TAB> took {elapsed:.1f}s"
