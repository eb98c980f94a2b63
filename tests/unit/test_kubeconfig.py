"""Tests for kubeuser.kubeconfig: real files in tmp_path, kubectl as the independent verifier."""

from __future__ import annotations

import base64
import datetime
import itertools
import json
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kubeuser import kubeconfig as kc
from kubeuser.errors import ConflictError, KubeconfigError

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl not installed")


# --------------------------------------------------------------------------- helpers


def write_yaml(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return path


def cluster(name: str, server: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "cluster": {"server": server, **extra}}


def user(name: str, token: str) -> dict[str, Any]:
    return {"name": name, "user": {"token": token}}


def context(name: str, cluster_name: str, user_name: str, namespace: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"cluster": cluster_name, "user": user_name}
    if namespace:
        body["namespace"] = namespace
    return {"name": name, "context": body}


def config(
    clusters: list[Any] | None = None,
    users: list[Any] | None = None,
    contexts: list[Any] | None = None,
    current: str | None = "",
    **extra: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"apiVersion": "v1", "kind": "Config"}
    doc["clusters"] = clusters if clusters is not None else []
    doc["users"] = users if users is not None else []
    doc["contexts"] = contexts if contexts is not None else []
    if current is not None:
        doc["current-context"] = current
    doc.update(extra)
    return doc


def kubectl_view(home: Path, *, kubeconfig_env: str | None = None, explicit: Path | None = None) -> Any:
    """`kubectl config view --raw -o json` with a controlled environment."""
    assert KUBECTL is not None
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    if kubeconfig_env is not None:
        env["KUBECONFIG"] = kubeconfig_env
    cmd = [KUBECTL, "config", "view", "--raw", "-o", "json"]
    if explicit is not None:
        cmd += ["--kubeconfig", str(explicit)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30, check=True)
    return json.loads(out.stdout)


def by_name(entries: list[Any] | None, inner: str) -> dict[str, Any]:
    return {e["name"]: e.get(inner) for e in entries or []}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An isolated HOME without KUBECONFIG (also applied to os.environ)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    return {"HOME": str(home)}


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


def make_ca_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def ca_pem() -> bytes:
    return make_ca_pem()


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# --------------------------------------------------------------------------- resolve_sources


def test_resolve_explicit_path_with_tilde(env: dict[str, str]) -> None:
    path = write_yaml(Path(env["HOME"]) / "cfg" / "admin.yaml", config())
    env_with_list = {**env, "KUBECONFIG": "/nonexistent/a"}
    sources = kc.resolve_sources("~/cfg/admin.yaml", env_with_list)
    assert sources == kc.KubeconfigSources(paths=[path], explicit=True)


def test_resolve_explicit_missing_file_is_an_error(env: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(KubeconfigError) as info:
        kc.resolve_sources(str(missing), env)
    assert str(missing) in info.value.message
    assert info.value.hint


def test_resolve_kubeconfig_list_drops_empties_and_duplicates(env: dict[str, str], tmp_path: Path) -> None:
    a = write_yaml(tmp_path / "a.yaml", config())
    b = write_yaml(tmp_path / "b.yaml", config())
    missing = tmp_path / "missing.yaml"
    value = os.pathsep.join(["", str(a), str(missing), "", str(b), str(a), str(missing), ""])
    sources = kc.resolve_sources(None, {**env, "KUBECONFIG": value})
    assert sources.explicit is False
    assert sources.paths == [a, missing, b]  # missing files are kept in the list ...
    assert sources.existing() == [a, b]  # ... but not read
    loaded = kc.load(None, {**env, "KUBECONFIG": value})
    assert [p for p, _ in loaded.documents] == [a, b]


def test_resolve_kubeconfig_entries_expand_tilde(env: dict[str, str]) -> None:
    sources = kc.resolve_sources(None, {**env, "KUBECONFIG": "~/x.yaml"})
    assert sources.paths == [Path(env["HOME"]) / "x.yaml"]


@pytest.mark.parametrize("value", [None, "", os.pathsep, os.pathsep * 3])
def test_resolve_defaults_to_home_kube_config(env: dict[str, str], value: str | None) -> None:
    e = dict(env)
    if value is not None:
        e["KUBECONFIG"] = value
    sources = kc.resolve_sources(None, e)
    assert sources == kc.KubeconfigSources(paths=[Path(env["HOME"]) / ".kube" / "config"], explicit=False)


def test_resolve_uses_os_environ_when_env_is_none(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert kc.resolve_sources(None).paths == [Path(env["HOME"]) / ".kube" / "config"]
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "k1"))
    assert kc.resolve_sources(None).paths == [tmp_path / "k1"]


# --------------------------------------------------------------------------- load / merge (vs kubectl)


def _three_files(tmp_path: Path) -> dict[str, Path]:
    a = write_yaml(
        tmp_path / "a.yaml",
        config(
            clusters=[cluster("shared", "https://a.example:6443"), cluster("only-a", "https://only-a")],
            users=[user("shared", "token-a")],
            contexts=[context("ctx-a", "shared", "shared")],
            current="",  # empty: must not win
            preferences={},
        ),
    )
    b = write_yaml(
        tmp_path / "b.yaml",
        config(
            clusters=[cluster("shared", "https://b.example:6443"), cluster("only-b", "https://only-b")],
            users=[user("shared", "token-b"), user("only-b", "token-only-b")],
            contexts=[context("ctx-b", "only-b", "only-b", "team-b"), context("ctx-a", "only-b", "only-b")],
            current="ctx-b",
            preferences={"colors": True},
        ),
    )
    c = write_yaml(
        tmp_path / "c.yaml",
        "current-context: ctx-c\n"
        "clusters:\n- name: only-c\n  cluster: {server: 'https://only-c'}\n"
        "- name: shared\n  cluster: {server: 'https://c.example:6443'}\n"
        "contexts:\n- name: ctx-c\n  context: {cluster: only-c, user: shared}\n"
        "users: null\n",
    )
    return {"a": a, "b": b, "c": c}


@needs_kubectl
@pytest.mark.parametrize("order", list(itertools.permutations("abc")))
def test_merge_matches_kubectl(env: dict[str, str], tmp_path: Path, order: tuple[str, ...]) -> None:
    files = _three_files(tmp_path)
    value = os.pathsep.join([str(files[k]) for k in order] + [str(tmp_path / "missing.yaml")])
    loaded = kc.load(None, {**env, "KUBECONFIG": value})
    expected = kubectl_view(Path(env["HOME"]), kubeconfig_env=value)

    assert loaded.merged["current-context"] == expected["current-context"]
    assert by_name(loaded.merged["clusters"], "cluster") == by_name(expected["clusters"], "cluster")
    assert by_name(loaded.merged["users"], "user") == by_name(expected["users"], "user")
    assert by_name(loaded.merged["contexts"], "context") == by_name(expected["contexts"], "context")
    assert bool(loaded.merged["preferences"].get("colors")) == bool(expected["preferences"].get("colors"))

    # origin: the first file (in this order) that defines each name
    for kind, inner in kc.INNER_KEYS.items():
        for name in by_name(loaded.merged[kind], inner):
            first = next(files[k] for k in order if name in by_name(yaml.safe_load(files[k].read_text())[kind], inner))
            assert loaded.origin[(kind, name)] == first
    # current-context origin: the first file setting it non-empty (a never does)
    first_setter = next(files[k] for k in order if k != "a")
    assert loaded.current_context_origin == first_setter
    assert loaded.destination() == files[order[0]]  # a new entry: the first existing file, as kubectl


def test_merge_whole_entry_wins_no_fieldwise_merge(env: dict[str, str], tmp_path: Path) -> None:
    a = write_yaml(tmp_path / "a.yaml", config(clusters=[cluster("c", "https://a")], current="x"))
    b = write_yaml(
        tmp_path / "b.yaml",
        config(clusters=[cluster("c", "https://b", **{"certificate-authority-data": "QUJD"})]),
    )
    loaded = kc.load(None, {**env, "KUBECONFIG": f"{a}{os.pathsep}{b}"})
    assert by_name(loaded.merged["clusters"], "cluster") == {"c": {"server": "https://a"}}
    if KUBECTL is not None:  # kubectl agrees: no field-wise merge of same-named entries
        expected = kubectl_view(Path(env["HOME"]), kubeconfig_env=f"{a}{os.pathsep}{b}")
        assert by_name(expected["clusters"], "cluster") == {"c": {"server": "https://a"}}


def test_merge_keeps_unknown_keys_first_non_empty_wins(env: dict[str, str], tmp_path: Path) -> None:
    a = write_yaml(tmp_path / "a.yaml", {"x-custom": "", "preferences": {"extensions": [{"name": "e1"}]}})
    b = write_yaml(
        tmp_path / "b.yaml",
        {"x-custom": "from-b", "preferences": {"colors": True, "extensions": [{"name": "e1", "v": 2}]}},
    )
    loaded = kc.load(None, {**env, "KUBECONFIG": f"{a}{os.pathsep}{b}"})
    assert loaded.merged["x-custom"] == "from-b"
    assert loaded.merged["preferences"] == {"extensions": [{"name": "e1"}], "colors": True}
    assert loaded.merged["clusters"] == [] and loaded.merged["current-context"] == ""


def test_destination_rules(env: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    a = write_yaml(tmp_path / "a.yaml", config(users=[user("alice", "t")]))
    b = write_yaml(tmp_path / "b.yaml", config(clusters=[cluster("k", "https://k")], current="ctx"))
    c = write_yaml(tmp_path / "c.yaml", config(current="other"))
    value = os.pathsep.join(map(str, [missing, a, b, c]))
    loaded = kc.load(None, {**env, "KUBECONFIG": value})
    # an already-defined name -> the file defining it (first match in `names` order)
    assert loaded.destination(names=[("users", "alice")]) == a
    assert loaded.destination(names=[("users", "bob"), ("clusters", "k"), ("users", "alice")]) == b
    # nothing defined -> the first file of the list that exists, whichever file sets current-context
    assert loaded.destination(names=[("users", "bob")]) == a
    assert loaded.destination() == a
    # explicit --kubeconfig always wins
    explicit = kc.load(str(c), env)
    assert explicit.destination(names=[("users", "alice")]) == c


def test_destination_without_current_context(env: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    a = write_yaml(tmp_path / "a.yaml", config())
    loaded = kc.load(None, {**env, "KUBECONFIG": f"{missing}{os.pathsep}{a}"})
    assert loaded.destination() == a  # first existing file (what kubectl does)
    default = Path(env["HOME"]) / ".kube" / "config"
    write_yaml(default, config())
    assert kc.load(None, env).destination() == default


def test_default_file_is_client_gos_rule(env: dict[str, str], tmp_path: Path) -> None:
    a, b, c = (tmp_path / n for n in ("a", "b", "c"))
    sources = kc.resolve_sources(None, {**env, "KUBECONFIG": os.pathsep.join(map(str, [a, b, c]))})
    assert sources.default_file() == c  # none exists: the last one
    b.write_text("")  # an empty file exists too
    assert sources.default_file() == b
    a.write_text("")
    assert sources.default_file() == a
    assert kc.resolve_sources(None, {**env, "KUBECONFIG": str(tmp_path / "gone")}).default_file() == tmp_path / "gone"


def _kubectl_writes_new_context_to(value: str, home: str, files: list[Path]) -> Path:
    """Run ``kubectl config set-context`` for a new name on KUBECONFIG=*value*: the one file that got it."""
    assert KUBECTL is not None
    subprocess.run(
        [KUBECTL, "config", "set-context", "kubectl-probe", "--cluster=k", "--user=u"],
        env={"PATH": os.environ["PATH"], "HOME": home, "KUBECONFIG": value},
        check=True,
        capture_output=True,
    )
    written = [f for f in files if f.exists() and "kubectl-probe" in f.read_text()]
    assert len(written) == 1, written
    return written[0]


@needs_kubectl
@pytest.mark.parametrize(
    "layout",
    [
        pytest.param({"b": None, "a": "ctx"}, id="b-missing"),
        pytest.param({"b": "", "a": "ctx"}, id="b-empty"),
        pytest.param({"b": "other", "a": "ctx"}, id="both-set-current"),
        pytest.param({"b": "-", "a": "ctx"}, id="b-without-current-context"),
        pytest.param({"c": "-", "b": None, "a": "ctx"}, id="three-files"),
    ],
)
def test_new_entry_lands_where_kubectl_puts_it(env: dict[str, str], tmp_path: Path, layout: dict[str, Any]) -> None:
    """KUBECONFIG=b:a (and variants): kubeuser picks the file kubectl's set-context picks for a new name."""
    files: list[Path] = []
    for name, current in layout.items():
        path = tmp_path / name
        files.append(path)
        if current == "":
            path.write_text("")
        elif current == "-":
            write_yaml(path, config(clusters=[cluster(f"k-{name}", "https://k")]))
        elif current is not None:
            write_yaml(path, config(current=current))
    value = os.pathsep.join(map(str, files))
    chosen = kc.load(None, {**env, "KUBECONFIG": value}).destination(names=[("users", "u@k"), ("contexts", "u@k")])
    assert chosen == _kubectl_writes_new_context_to(value, env["HOME"], files)


@needs_kubectl
def test_destination_for_existing_name_matches_kubectl(env: dict[str, str], tmp_path: Path) -> None:
    a = write_yaml(tmp_path / "a.yaml", config(current="ctx"))
    b = write_yaml(tmp_path / "b.yaml", config(users=[user("bob", "old")]))
    value = f"{a}{os.pathsep}{b}"
    loaded = kc.load(None, {**env, "KUBECONFIG": value})
    assert loaded.destination(names=[("users", "bob")]) == b
    subprocess.run(
        [str(KUBECTL), "config", "set-credentials", "bob", "--token=new"],
        env={"PATH": os.environ["PATH"], "HOME": env["HOME"], "KUBECONFIG": value},
        check=True,
        capture_output=True,
    )
    assert "new" in b.read_text() and "new" not in a.read_text()


def test_load_no_kubeconfig_anywhere(env: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError) as info:
        kc.load(None, env)
    assert "no kubeconfig found" in info.value.message
    assert info.value.hint and "--kubeconfig" in info.value.hint
    with pytest.raises(KubeconfigError, match="no kubeconfig found"):
        kc.load(None, {**env, "KUBECONFIG": str(tmp_path / "gone")})


def test_load_empty_file_is_an_empty_config(env: dict[str, str], tmp_path: Path) -> None:
    empty = write_yaml(tmp_path / "empty.yaml", "")
    loaded = kc.load(str(empty), env)
    assert loaded.merged["clusters"] == [] and loaded.merged["current-context"] == ""
    assert loaded.current_context_origin is None


# --------------------------------------------------------------------------- malformed files


MALFORMED_YAML = "apiVersion: v1\nclusters:\n- name: a\n  cluster: {server: [oops\nusers: []\n"


def test_malformed_yaml_names_path_and_line(env: dict[str, str], tmp_path: Path) -> None:
    bad = write_yaml(tmp_path / "bad.yaml", MALFORMED_YAML)
    with pytest.raises(KubeconfigError) as info:
        kc.load(str(bad), env)
    message = info.value.message
    assert str(bad) in message
    assert f"{bad}:5:" in message  # line 5 (1-based) is where the parser gives up
    assert info.value.hint == "fix or move the file; kubeuser did not change it"


def test_malformed_yaml_in_kubeconfig_list(env: dict[str, str], tmp_path: Path) -> None:
    good = write_yaml(tmp_path / "good.yaml", config(current="x"))
    bad = write_yaml(tmp_path / "bad.yaml", "a: b: c\n")
    with pytest.raises(KubeconfigError) as info:
        kc.load(None, {**env, "KUBECONFIG": f"{good}{os.pathsep}{bad}"})
    assert f"{bad}:1:" in info.value.message


def test_update_file_refuses_malformed_and_leaves_it_untouched(tmp_path: Path) -> None:
    bad = write_yaml(tmp_path / "bad.yaml", MALFORMED_YAML)
    before = bad.read_bytes()
    files_before = listing(tmp_path)
    called: list[dict[str, Any]] = []
    with pytest.raises(KubeconfigError) as info:
        kc.update_file(bad, called.append)
    assert str(bad) in info.value.message
    assert called == []
    assert bad.read_bytes() == before
    assert listing(tmp_path) == files_before  # no temp file, no lock file


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("users:\n  alice: {token: x}\n", "'users' must be a list"),
        ("clusters: https://x\n", "'clusters' must be a list"),
        ("contexts:\n- just-a-string\n", "contexts[0] must be a mapping"),
        ("users:\n- name: 12\n  user: {}\n", "users[0].name must be a string"),
        ("users:\n- name: u\n  user: [1]\n", "users[0] ('u').user must be a mapping"),
        ("clusters:\n- name: d\n  cluster: {}\n- name: d\n  cluster: {}\n", "duplicate name 'd'"),
        ("- a\n- b\n", "not a mapping"),
        ("current-context: [a]\n", "'current-context' must be a string"),
    ],
)
def test_structurally_invalid_documents(env: dict[str, str], tmp_path: Path, text: str, fragment: str) -> None:
    path = write_yaml(tmp_path / "k.yaml", text)
    before = path.read_bytes()
    with pytest.raises(KubeconfigError) as info:
        kc.load(str(path), env)
    assert fragment in info.value.message and str(path) in info.value.message
    assert info.value.hint == "fix or move the file; kubeuser did not change it"
    with pytest.raises(KubeconfigError):
        kc.update_file(path, lambda doc: None)
    assert path.read_bytes() == before
    if KUBECTL is not None:  # kubectl rejects these files as well
        proc = subprocess.run(
            [KUBECTL, "config", "view", "--kubeconfig", str(path)],
            env={"PATH": os.environ["PATH"], "HOME": env["HOME"]},
            capture_output=True,
        )
        assert proc.returncode != 0


# --------------------------------------------------------------------------- contexts


def test_context_resolution(env: dict[str, str], tmp_path: Path) -> None:
    path = write_yaml(
        tmp_path / "k.yaml",
        config(
            clusters=[cluster("prod", "https://prod:6443")],
            users=[user("admin", "t")],
            contexts=[
                context("main", "prod", "admin", "team-a"),
                context("nons", "prod", "admin"),
                context("no-cluster", "ghost", "admin"),
                context("no-user", "prod", "ghost"),
                {"name": "empty", "context": {}},
            ],
            current="main",
        ),
    )
    loaded = kc.load(str(path), env)
    ctx = loaded.context()
    assert (ctx.name, ctx.cluster_name, ctx.user_name, ctx.namespace) == ("main", "prod", "admin", "team-a")
    assert ctx.server() == "https://prod:6443"
    assert ctx.user == {"token": "t"}
    assert ctx.cluster_origin == path
    assert loaded.context("nons").namespace is None

    with pytest.raises(KubeconfigError) as info:
        loaded.context("nope")
    assert "'nope'" in info.value.message and info.value.hint and "main" in info.value.hint
    with pytest.raises(KubeconfigError, match="cluster 'ghost'") as info:
        loaded.context("no-cluster")
    assert info.value.hint
    with pytest.raises(KubeconfigError, match="user 'ghost'") as info:
        loaded.context("no-user")
    assert info.value.hint
    with pytest.raises(KubeconfigError, match="does not name a cluster"):
        loaded.context("empty")


def test_no_current_context(env: dict[str, str], tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "k.yaml", config(contexts=[context("a", "c", "u")], current=""))
    with pytest.raises(KubeconfigError) as info:
        kc.load(str(path), env).context()
    assert "no current context" in info.value.message
    assert info.value.hint and "--context" in info.value.hint and "a" in info.value.hint


def test_server_missing(env: dict[str, str], tmp_path: Path) -> None:
    path = write_yaml(
        tmp_path / "k.yaml",
        config([{"name": "c", "cluster": {}}], [user("u", "t")], [context("x", "c", "u")], "x"),
    )
    with pytest.raises(KubeconfigError, match="no server"):
        kc.load(str(path), env).context().server()


# --------------------------------------------------------------------------- ca_pem


def test_ca_pem_from_data(env: dict[str, str], tmp_path: Path, ca_pem: bytes) -> None:
    b64 = base64.b64encode(ca_pem).decode()
    path = write_yaml(
        tmp_path / "k.yaml",
        config(
            [cluster("c", "https://c", **{"certificate-authority-data": b64})],
            [user("u", "t")],
            [context("x", "c", "u")],
            "x",
        ),
    )
    assert kc.load(str(path), env).context().ca_pem() == ca_pem


def test_ca_pem_relative_file_resolves_against_defining_kubeconfig(
    env: dict[str, str], tmp_path: Path, ca_pem: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfgdir = tmp_path / "configs"
    (cfgdir / "pki").mkdir(parents=True)
    (cfgdir / "pki" / "ca.crt").write_bytes(ca_pem)
    (tmp_path / "u.crt").write_bytes(b"UCERT")
    first = write_yaml(
        tmp_path / "first.yaml",
        config(users=[{"name": "u", "user": {"client-certificate": "u.crt", "token": "t"}}], current="x"),
    )
    second = write_yaml(
        cfgdir / "second.yaml",
        config(
            [cluster("c", "https://c", **{"certificate-authority": "pki/ca.crt"})],
            contexts=[context("x", "c", "u")],
        ),
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the cwd must not matter
    ctx = kc.load(None, {**env, "KUBECONFIG": f"{first}{os.pathsep}{second}"}).context()
    assert ctx.cluster_origin == second
    assert ctx.ca_pem() == ca_pem
    embedded = ctx.embedded_cluster()
    assert "certificate-authority" not in embedded
    assert base64.b64decode(embedded["certificate-authority-data"]) == ca_pem
    assert ctx.user_origin == first  # user files resolve against *its* kubeconfig
    assert ctx.embedded_user() == {"client-certificate-data": base64.b64encode(b"UCERT").decode(), "token": "t"}


def test_ca_pem_none_and_errors(env: dict[str, str], tmp_path: Path) -> None:
    path = write_yaml(
        tmp_path / "k.yaml",
        config(
            [
                cluster("plain", "https://c"),
                cluster("badb64", "https://c", **{"certificate-authority-data": "!!!not base64"}),
                cluster("nofile", "https://c", **{"certificate-authority": "missing-ca.crt"}),
            ],
            [user("u", "t")],
            [context("plain", "plain", "u"), context("badb64", "badb64", "u"), context("nofile", "nofile", "u")],
            "plain",
        ),
    )
    loaded = kc.load(str(path), env)
    assert loaded.context().ca_pem() is None
    with pytest.raises(KubeconfigError, match="base64"):
        loaded.context("badb64").ca_pem()
    with pytest.raises(KubeconfigError) as info:
        loaded.context("nofile").ca_pem()
    assert str(tmp_path / "missing-ca.crt") in info.value.message


# --------------------------------------------------------------------------- update_file


def _rich_doc() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "x-unknown-top": {"keep": [1, 2, {"deep": True}]},
        "preferences": {"colors": True, "extensions": [{"name": "p", "extension": {"a": 1}}]},
        "clusters": [
            {
                "name": "prod",
                "cluster": {"server": "https://prod:6443", "certificate-authority-data": "QUJD", "x-k": "v"},
                "x-entry-extra": 7,
            },
            {"name": "dev", "cluster": {"server": "https://dev", "extensions": [{"name": "e", "extension": {}}]}},
        ],
        "users": [
            {"name": "admin", "user": {"exec": {"command": "aws", "args": ["eks", "get-token"], "env": None}}},
        ],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "admin", "namespace": "default"}}],
        "current-context": "prod",
        "extensions": [{"name": "top", "extension": {"when": "2024-01-02"}}],
    }


def test_update_file_noop_round_trip(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "config", _rich_doc())
    before = yaml.safe_load(path.read_text())
    kc.update_file(path, lambda doc: None)
    assert yaml.safe_load(path.read_text()) == before


def test_update_file_preserves_other_entries(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "config", _rich_doc())
    before = yaml.safe_load(path.read_text())

    def add(doc: dict[str, Any]) -> None:
        kc.set_entry(doc, "users", "new", kc.user_entry(b"CERT", b"KEY"))
        kc.set_entry(doc, "contexts", "new@prod", kc.context_entry("prod", "new", None))

    kc.update_file(path, add)
    after = yaml.safe_load(path.read_text())
    assert after["users"][:-1] == before["users"]
    assert after["users"][-1] == {
        "name": "new",
        "user": {"client-certificate-data": "Q0VSVA==", "client-key-data": "S0VZ"},
    }
    assert after["contexts"][-1] == {"name": "new@prod", "context": {"cluster": "prod", "user": "new"}}
    for key in before:
        if key not in ("users", "contexts"):
            assert after[key] == before[key], key
    assert list(after) == list(before)  # key order kept (sort_keys=False)


@pytest.mark.parametrize("mask", [0o022, 0o000, 0o077])
def test_update_file_modes_regardless_of_umask(tmp_path: Path, umask: None, mask: int) -> None:
    existing = write_yaml(tmp_path / "existing", config())
    existing.chmod(0o644)
    new = tmp_path / "fresh" / "sub" / "config"
    os.umask(mask)
    notes = kc.update_file(existing, lambda doc: kc.set_entry(doc, "users", "u", {"token": "t"}))
    assert kc.update_file(new, lambda doc: kc.set_entry(doc, "users", "u", {"token": "t"})) == []
    assert mode(existing) == 0o640  # kept, minus the bits for others
    assert notes == [f"kubeconfig {existing} was world-readable (0644); kubeuser wrote it 0640"]
    assert mode(new) == 0o600
    assert mode(new.parent) == 0o700
    assert mode(new.parent.parent) == 0o700
    assert yaml.safe_load(new.read_text()) == {
        **kc.empty_config(),
        "users": [{"name": "u", "user": {"token": "t"}}],
    }


def test_update_file_mutate_raising_writes_nothing(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "config", _rich_doc())
    before = path.read_bytes()
    names_before = listing(tmp_path)

    def boom(doc: dict[str, Any]) -> None:
        kc.set_entry(doc, "users", "half-done", {"token": "x"})
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        kc.update_file(path, boom)
    assert path.read_bytes() == before
    assert listing(tmp_path) == names_before


def test_update_file_mutate_raising_on_missing_file_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "config"

    def boom(doc: dict[str, Any]) -> None:
        raise KubeconfigError("nope")

    with pytest.raises(KubeconfigError):
        kc.update_file(path, boom)
    assert listing(tmp_path) == []


def test_update_file_invalid_result_is_not_written(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "config", config(users=[user("a", "t")]))
    before = path.read_bytes()

    def dup(doc: dict[str, Any]) -> None:
        doc["users"].append(user("a", "again"))

    with pytest.raises(KubeconfigError, match="duplicate"):
        kc.update_file(path, dup)
    assert path.read_bytes() == before


def test_update_file_through_symlink(tmp_path: Path) -> None:
    target = write_yaml(tmp_path / "real" / "kubeconfig.yaml", config(users=[user("old", "t")]))
    target.chmod(0o644)
    link = tmp_path / "home" / ".kube" / "config"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    kc.update_file(link, lambda doc: kc.set_entry(doc, "users", "new", {"token": "n"}))
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert [u["name"] for u in yaml.safe_load(target.read_text())["users"]] == ["old", "new"]
    assert mode(target) == 0o640  # the target's mode, minus the bits for others
    assert listing(link.parent) == ["config"]  # no temp/lock next to the link
    assert listing(target.parent) == ["kubeconfig.yaml"]


def test_update_file_expands_tilde(env: dict[str, str]) -> None:
    kc.update_file(Path("~/.kube/config"), lambda doc: kc.set_entry(doc, "clusters", "c", {"server": "s"}))
    created = Path(env["HOME"]) / ".kube" / "config"
    assert yaml.safe_load(created.read_text())["clusters"] == [{"name": "c", "cluster": {"server": "s"}}]


def test_update_file_empty_file_gets_skeleton(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "config", "")
    kc.update_file(path, lambda doc: None)
    assert yaml.safe_load(path.read_text()) == kc.empty_config()


@needs_kubectl
def test_update_file_leaves_no_lock_so_kubectl_can_still_write(env: dict[str, str], tmp_path: Path) -> None:
    # kubectl refuses to write while "<file>.lock" exists, so a leftover lock would break it.
    path = write_yaml(tmp_path / "config", config())
    kc.update_file(path, lambda doc: kc.set_entry(doc, "users", "a", {"token": "t"}))
    assert not Path(f"{path}.lock").exists()
    subprocess.run(
        [str(KUBECTL), "config", "set-credentials", "b", "--token=x", "--kubeconfig", str(path)],
        env={"PATH": os.environ["PATH"], "HOME": env["HOME"]},
        check=True,
        capture_output=True,
    )
    view = kubectl_view(Path(env["HOME"]), explicit=path)
    assert sorted(by_name(view["users"], "user")) == ["a", "b"]


# --------------------------------------------------------------------------- entry helpers


def test_set_has_remove_entry() -> None:
    doc: dict[str, Any] = {"clusters": [cluster("a", "1"), cluster("b", "2"), cluster("c", "3")]}
    kc.set_entry(doc, "clusters", "b", {"server": "22"})
    assert [(e["name"], e["cluster"]["server"]) for e in doc["clusters"]] == [("a", "1"), ("b", "22"), ("c", "3")]
    kc.set_entry(doc, "users", "u", {"token": "t"})  # list missing -> created
    assert doc["users"] == [{"name": "u", "user": {"token": "t"}}]
    kc.set_entry(doc, "contexts", "x", kc.context_entry("a", "u", "ns"))
    assert doc["contexts"] == [{"name": "x", "context": {"cluster": "a", "user": "u", "namespace": "ns"}}]
    assert kc.has_entry(doc, "clusters", "b") and not kc.has_entry(doc, "clusters", "z")
    assert kc.remove_entry(doc, "clusters", "b") is True
    assert kc.remove_entry(doc, "clusters", "b") is False
    assert kc.remove_entry({}, "users", "u") is False
    assert not kc.has_entry({"users": None}, "users", "u")
    assert [e["name"] for e in doc["clusters"]] == ["a", "c"]
    with pytest.raises(ValueError):
        kc.set_entry(doc, "cluster", "x", {})


def test_user_and_context_entries(ca_pem: bytes) -> None:
    entry = kc.user_entry(ca_pem, b"-----BEGIN PRIVATE KEY-----\n")
    assert base64.b64decode(entry["client-certificate-data"]) == ca_pem
    assert base64.b64decode(entry["client-key-data"]) == b"-----BEGIN PRIVATE KEY-----\n"
    assert kc.context_entry("c", "u", None) == {"cluster": "c", "user": "u"}
    assert kc.context_entry("c", "u", "") == {"cluster": "c", "user": "u"}


def test_dump_keeps_order_and_block_style() -> None:
    doc = {"z": 1, "a": {"b": [1, 2]}}
    text = kc.dump(doc)
    assert text.index("z:") < text.index("a:")
    assert "{" not in text and "[" not in text
    assert yaml.safe_load(text) == doc


# --------------------------------------------------------------------------- standalone / write_new


@needs_kubectl
def test_standalone_embeds_file_ca_and_kubectl_reads_it(
    env: dict[str, str], tmp_path: Path, ca_pem: bytes, umask: None
) -> None:
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(ca_pem)
    doc = kc.standalone(
        cluster_name="prod",
        cluster={"server": "https://prod:6443", "certificate-authority": str(ca_file)},
        user_name="alice",
        user=kc.user_entry(b"CERT-PEM", b"KEY-PEM"),
        context_name="alice@prod",
        namespace="team-a",
    )
    assert "certificate-authority" not in doc["clusters"][0]["cluster"]
    assert len(doc["clusters"]) == len(doc["users"]) == len(doc["contexts"]) == 1

    os.umask(0o000)
    out = tmp_path / "new-dir" / "alice.kubeconfig"
    kc.write_new(out, doc)
    assert mode(out) == 0o600 and mode(out.parent) == 0o700

    view = kubectl_view(Path(env["HOME"]), explicit=out)
    assert view["current-context"] == "alice@prod"
    assert by_name(view["clusters"], "cluster") == {
        "prod": {"server": "https://prod:6443", "certificate-authority-data": base64.b64encode(ca_pem).decode()}
    }
    assert by_name(view["contexts"], "context") == {
        "alice@prod": {"cluster": "prod", "user": "alice", "namespace": "team-a"}
    }
    assert base64.b64decode(by_name(view["users"], "user")["alice"]["client-key-data"]) == b"KEY-PEM"
    # and our own loader agrees
    ctx = kc.load(str(out), env).context()
    assert ctx.ca_pem() == ca_pem and ctx.namespace == "team-a"


def test_standalone_relative_refs_use_base_dir(tmp_path: Path, ca_pem: bytes) -> None:
    (tmp_path / "ca.crt").write_bytes(ca_pem)
    (tmp_path / "u.crt").write_bytes(b"UCERT")
    (tmp_path / "u.key").write_bytes(b"UKEY")
    doc = kc.standalone(
        cluster_name="c",
        cluster={"server": "https://c", "certificate-authority": "ca.crt"},
        user_name="u",
        user={"client-certificate": "u.crt", "client-key": "u.key"},
        context_name="x",
        namespace=None,
        base_dir=tmp_path,
    )
    assert base64.b64decode(doc["clusters"][0]["cluster"]["certificate-authority-data"]) == ca_pem
    assert doc["users"][0]["user"] == {
        "client-certificate-data": base64.b64encode(b"UCERT").decode(),
        "client-key-data": base64.b64encode(b"UKEY").decode(),
    }
    assert doc["contexts"] == [{"name": "x", "context": {"cluster": "c", "user": "u"}}]
    assert doc["current-context"] == "x"


def test_standalone_data_wins_and_missing_file_errors(tmp_path: Path) -> None:
    doc = kc.standalone(
        cluster_name="c",
        cluster={"server": "s", "certificate-authority-data": "QUJD", "certificate-authority": "/nope"},
        user_name="u",
        user={"token": "t"},
        context_name="x",
        namespace=None,
    )
    assert doc["clusters"][0]["cluster"] == {"server": "s", "certificate-authority-data": "QUJD"}
    with pytest.raises(KubeconfigError, match="/nope"):
        kc.standalone(
            cluster_name="c",
            cluster={"server": "s", "certificate-authority": "/nope"},
            user_name="u",
            user={"token": "t"},
            context_name="x",
            namespace=None,
        )


def test_write_new_refuses_existing_without_force(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "out.kubeconfig", "precious: true\n")
    before = path.read_bytes()
    doc = kc.empty_config()
    with pytest.raises(ConflictError) as info:
        kc.write_new(path, doc)
    assert "already exists" in info.value.message
    assert info.value.hint and "--force" in info.value.hint
    assert path.read_bytes() == before
    assert listing(tmp_path) == ["out.kubeconfig"]
    path.chmod(0o644)
    kc.write_new(path, doc, force=True)
    assert yaml.safe_load(path.read_text()) == doc
    assert mode(path) == 0o600


def test_write_new_refuses_dangling_symlink_without_force(tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "target")
    with pytest.raises(ConflictError):
        kc.write_new(link, kc.empty_config())
    kc.write_new(link, kc.empty_config(), force=True)
    assert link.is_symlink() and yaml.safe_load((tmp_path / "target").read_text()) == kc.empty_config()
