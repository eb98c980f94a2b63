"""Bad input, property-based: whatever a user types or a file holds, kubeuser answers with a KubeuserError.

For user and group names (unicode, surrogates, control characters, 10 kB, empty, ``system:`` prefixes),
durations, ``--rule`` strings, users files (``kubeuser apply -f``) and malformed kubeconfigs, every
outcome is either a valid result or a :class:`KubeuserError` with an ExitCode and a clear message:
one line, bounded, no raw control characters. Never another exception, and no file changes.
The real CLI is driven too (``kubeuser.cli.main`` in-process, and a few ``python -m kubeuser`` runs):
exit code 2 or 3, stderr starting with ``error:``, no traceback.

The bugs these fuzzers found are pinned by the regression tests at the end of this file.
``KUBEUSER_FUZZ_SCALE=10`` runs ten times as many examples.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import re
import subprocess
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_gateway import FakeGateway
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kubeuser import connect, durations, k8s, kubeconfig, naming, pki, rbac, registry, usersfile
from kubeuser.cli import main
from kubeuser.errors import ExitCode, KubeuserError

EXAMPLES: Counter[str] = Counter()  # examples run per property (reported by the last test)
MAX_MESSAGE = 400

FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)


SCALE = float(os.environ.get("KUBEUSER_FUZZ_SCALE", "1"))  # e.g. 10 for a long, deep run


def fuzz(examples: int) -> settings:
    return settings(FUZZ, max_examples=max(1, int(examples * SCALE)))


# ============================================================================ helpers


def check_error(exc: BaseException) -> KubeuserError:
    """*exc* must be a KubeuserError with an exit code and a clear message."""
    assert isinstance(exc, KubeuserError), f"not a KubeuserError: {type(exc).__name__}: {exc!r}"[:500]
    assert isinstance(exc.exit_code, ExitCode) and exc.exit_code != ExitCode.OK
    msg = exc.message
    assert isinstance(msg, str) and msg.strip() == msg and msg, repr(msg)
    assert "\n" not in msg and "\r" not in msg, f"message is not one line: {msg!r}"
    assert len(msg) <= MAX_MESSAGE, f"message of {len(msg)} characters: {msg[:200]!r}…"
    assert not [c for c in msg if unicodedata.category(c) in ("Cc", "Cs")], f"raw control character in {msg!r}"
    assert exc.hint is None or isinstance(exc.hint, str)
    return exc


@contextlib.contextmanager
def expect_clean_failure(*allowed: ExitCode) -> Iterator[list[KubeuserError]]:
    """Run the body; it may succeed, or raise a KubeuserError (with one of *allowed* exit codes if given)."""
    caught: list[KubeuserError] = []
    try:
        yield caught
    except Exception as exc:
        err = check_error(exc)
        assert not allowed or err.exit_code in allowed, f"exit code {err.exit_code!r}: {err.message}"
        caught.append(err)


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file and directory under *root*: mode and content."""
    out: dict[str, tuple[int, bytes]] = {}
    for p in sorted(root.rglob("*")):
        st_ = p.lstat()
        out[str(p.relative_to(root))] = (st_.st_mode, p.read_bytes() if p.is_file() else b"")
    return out


# ============================================================================ strategies

_surrogate = st.integers(0xD800, 0xDFFF).map(chr)
_control = st.one_of(
    st.integers(0, 0x1F).map(chr),
    st.sampled_from(["\x7f", "\x85", "\u200b", "\u200e", "\u2028", "\u2029", "\ufeff", "\x1b[31m", "\ue000"]),
)
any_char = st.one_of(st.characters(), _control, _surrogate)
any_text = st.lists(any_char, max_size=60).map("".join)
plausible = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9@._:+=-]{0,70}", fullmatch=True)
system = st.builds(
    lambda p, s: p + s,
    st.sampled_from(["system:", "SYSTEM:", "System:", "system:masters", "SYSTEM:MASTERS", "system:serviceaccount:"]),
    st.one_of(st.just(""), plausible, any_text),
)
huge = st.builds(
    lambda c, n: c * n,
    st.one_of(st.sampled_from(["a", "é", "\x00", " ", "😀", ":"]), any_char),
    st.integers(9_000, 11_000),
)
padded = st.builds(
    lambda w, s, w2: w + s + w2,
    st.sampled_from(["", " ", "\t", "\u3000"]),
    plausible,
    st.sampled_from(["", " ", "\n", "\u00a0"]),
)
names = st.one_of(
    st.just(""), any_text, plausible, system, huge, padded, st.lists(_control, min_size=1, max_size=5).map("".join)
)

_dur_piece = st.builds(
    lambda n, u: f"{n}{u}",
    st.integers(0, 10**6),
    st.sampled_from(["", "s", "m", "h", "d", "w", "M", "H", "y", "ms", " "]),
)
durations_text = st.one_of(
    any_text,
    st.lists(_dur_piece, min_size=1, max_size=4).map("".join),
    st.builds(lambda a, b: f"{a}{b}", st.sampled_from(["-", "+", " ", "0x", "1e", "²", "٣", "½", "∞"]), _dur_piece),
    st.integers().map(str),
    st.builds(lambda n: "9" * n, st.integers(1, 6000)),
)

_verbs = st.lists(st.one_of(st.sampled_from(sorted(rbac.KNOWN_VERBS)), any_text), max_size=4).map(",".join)
_resources = st.lists(
    st.one_of(st.sampled_from(["pods", "pods/log", "*", "deployments", "Pods", "a/b/c", ""]), any_text), max_size=4
).map(",".join)
rules_text = st.one_of(
    any_text,
    st.builds(lambda v, r: f"{v}:{r}", _verbs, _resources),
    st.builds(
        lambda v, r, g: f"{v}:{r}:{g}",
        _verbs,
        _resources,
        st.one_of(st.sampled_from(["apps", "core", "*", ""]), any_text),
    ),
    st.lists(any_text, max_size=5).map(":".join),
)

# YAML-able values of any shape (for the "wrong type here" cases)
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20), st.binary(max_size=8)
)
values = st.recursive(
    _scalars,
    lambda c: st.one_of(
        st.lists(c, max_size=3), st.dictionaries(st.one_of(st.text(max_size=6), st.integers()), c, max_size=3)
    ),
    max_leaves=8,
)


# ============================================================================ names


KEY = pki.generate_key("ecdsa")


@fuzz(400)
@given(user=names, groups=st.lists(names, max_size=4), allow_system=st.booleans())
def test_user_and_group_names(user: str, groups: list[str], allow_system: bool) -> None:
    EXAMPLES["names"] += 1
    with expect_clean_failure(ExitCode.USAGE) as failed:
        v = naming.validate_identity(user, groups, allow_system_names=allow_system)
    if failed:
        return
    # whatever validation accepts can really be used: in a CSR, in object names and labels
    assert v.user == user and set(v.groups) == set(groups)
    assert all(g.lower() != naming.MASTERS for g in v.groups)
    if not allow_system:
        assert not any(n.lower().startswith("system:") for n in [v.user, *v.groups])
    assert pki.validate_subject(v.user, v.groups) == (v.user, tuple(v.groups))
    assert pki.build_csr(KEY, v.user, v.groups).startswith(b"-----BEGIN CERTIFICATE REQUEST-----")
    assert naming.is_dns_subdomain(naming.csr_name(v.user))
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", registry.object_name(v.user))
    assert len(naming.label_value(v.user)) <= 63 and naming.user_selector(v.user).count(",") == 1
    assert not re.search(r"[/%]", naming.rbac_name(v.user)) and naming.rbac_name(v.user) not in (".", "..")


# ============================================================================ durations and rules


@fuzz(400)
@given(text=durations_text)
def test_durations(text: str) -> None:
    EXAMPLES["durations"] += 1
    with expect_clean_failure(ExitCode.USAGE) as failed:
        seconds = durations.parse(text)
    if not failed:
        assert durations.MIN_SECONDS <= seconds <= durations.MAX_SECONDS


@fuzz(100)
@given(days=st.integers(-(10**30), 10**30))
def test_days(days: int) -> None:
    EXAMPLES["days"] += 1
    with expect_clean_failure(ExitCode.USAGE) as failed:
        seconds = durations.from_days(days)
    if not failed:
        assert seconds == days * 86400


@fuzz(300)
@given(
    rules=st.lists(rules_text, max_size=3),
    roles=st.lists(st.one_of(any_text, plausible), max_size=2),
    cluster_roles=st.lists(st.one_of(any_text, plausible), max_size=2),
    cluster_wide=st.booleans(),
    namespace=st.one_of(st.just("dev"), plausible),
)
def test_rules_and_rbac_requests(
    rules: list[str], roles: list[str], cluster_roles: list[str], cluster_wide: bool, namespace: str
) -> None:
    EXAMPLES["rules"] += 1
    with expect_clean_failure(ExitCode.USAGE) as failed:
        req = rbac.build_request(namespace, rules, roles, cluster_roles, cluster_wide)
    if failed:
        return
    for rule in req.rules:
        assert set(rule["verbs"]) <= rbac.KNOWN_VERBS and rule["resources"] and len(rule["apiGroups"]) == 1
    objs = rbac.objects_for("alice", ["dev"], req)
    assert all(o["metadata"]["labels"][naming.MANAGED_BY_LABEL] == naming.MANAGED_BY for o in objs)


@fuzz(150)
@given(
    key_type=st.one_of(st.sampled_from(["ecdsa", "RSA", "ed25519", "dsa", ""]), any_text),
    key_size=st.one_of(st.none(), st.integers(-(2**70), 2**70), st.sampled_from([256, 384, 2048, 1024])),
)
def test_key_specs(key_type: str, key_size: int | None) -> None:
    EXAMPLES["key specs"] += 1
    with expect_clean_failure(ExitCode.USAGE):
        pki.validate_key_spec(key_type, key_size)


# ============================================================================ users files


_user_spec = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(plausible, names.filter(lambda s: len(s) < 200), values),
        "groups": st.one_of(st.lists(st.one_of(plausible, any_text), max_size=3), values),
        "ttl": st.one_of(durations_text.filter(lambda s: len(s) < 100), values),
        "days": st.one_of(st.integers(-5, 4000), values),
        "keyType": st.one_of(st.sampled_from(["ecdsa", "rsa", "ed25519", "dsa"]), values),
        "keySize": st.one_of(st.sampled_from([256, 384, 2048, 7]), values),
        "namespaces": st.one_of(
            st.dictionaries(
                st.one_of(st.sampled_from(["dev", "prod", "Bad_NS", ""]), st.text(max_size=8)),
                st.one_of(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "rules": st.one_of(st.lists(rules_text.filter(lambda s: len(s) < 100), max_size=2), values),
                            "roles": st.one_of(st.lists(plausible, max_size=2), values),
                            "clusterRoles": st.one_of(st.lists(plausible, max_size=2), values),
                            "extra": values,
                        },
                    ),
                    values,
                ),
                max_size=2,
            ),
            values,
        ),
        "clusterRoles": st.one_of(st.lists(plausible, max_size=2), values),
        "nmae": values,
    },
)
users_doc = st.fixed_dictionaries(
    {},
    optional={
        "apiVersion": st.one_of(st.sampled_from([usersfile.API_VERSION, "v1"]), values),
        "kind": st.one_of(st.sampled_from([usersfile.KIND, "List"]), values),
        "users": st.one_of(st.lists(_user_spec, max_size=4), values),
        "extra": values,
    },
)


@fuzz(300)
@given(doc=users_doc)
def test_users_files_structured(doc: dict[str, Any]) -> None:
    text = yaml.safe_dump(doc, allow_unicode=True)
    EXAMPLES["users files (structured)"] += 1
    with expect_clean_failure(ExitCode.USAGE) as failed:
        result = usersfile.parse(text, "users.yaml")
    if failed:
        assert failed[0].message.startswith("users.yaml:")
    else:
        assert all(naming.validate_identity(u.name, list(u.groups), allow_system_names=True) for u in result.users)


@fuzz(200)
@given(text=st.one_of(any_text, st.text(st.sampled_from("users:-[]{}&*!|>'\"#\n\t :,?ab1"), max_size=120)))
def test_users_files_text(text: str) -> None:
    EXAMPLES["users files (text)"] += 1
    with expect_clean_failure(ExitCode.USAGE):
        usersfile.parse(text, "users.yaml")


@fuzz(50)
@given(data=st.binary(max_size=200))
def test_users_file_bytes(tmp_path: Path, data: bytes) -> None:
    EXAMPLES["users files (bytes)"] += 1
    path = tmp_path / "users.yaml"
    path.write_bytes(data)
    with expect_clean_failure(ExitCode.USAGE):
        usersfile.load(path)
    assert path.read_bytes() == data


# ============================================================================ kubeconfigs


_name = st.one_of(st.sampled_from(["a", "b", "prod", "admin", ""]), st.text(max_size=6), st.integers(), st.none())
_CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").decode()
_cluster = st.fixed_dictionaries(
    {},
    optional={
        "server": st.one_of(
            st.sampled_from(["https://127.0.0.1:6443", "", "http://[::1", "ftp://x", "127.0.0.1"]), values
        ),
        "certificate-authority-data": st.one_of(st.sampled_from([_CA, "!!not base64", ""]), values),
        "certificate-authority": st.one_of(st.sampled_from(["/nonexistent/ca.crt", "ca.crt", "", "/"]), values),
        "insecure-skip-tls-verify": values,
        "tls-server-name": values,
        "proxy-url": values,
    },
)
_user = st.fixed_dictionaries(
    {},
    optional={
        "token": st.one_of(st.just("t0ken"), values),
        "client-certificate-data": st.one_of(st.sampled_from([_CA, "%%%", ""]), values),
        "client-key-data": st.one_of(st.sampled_from(["a2V5", "%%%"]), values),
        "client-certificate": st.one_of(st.sampled_from(["/nonexistent/c.crt", "", "/"]), values),
        "client-key": st.one_of(st.sampled_from(["/nonexistent/c.key", ""]), values),
        "username": values,
        "password": values,
        "tokenFile": st.one_of(st.sampled_from(["/nonexistent/token"]), values),
    },
)
_context = st.fixed_dictionaries(
    {}, optional={"cluster": _name, "user": _name, "namespace": st.one_of(st.sampled_from(["dev", ""]), values)}
)


def _entries(inner: str, body: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    entry = st.fixed_dictionaries({}, optional={"name": _name, inner: st.one_of(body, values)})
    return st.one_of(st.lists(st.one_of(entry, values), max_size=3), values)


kubeconfig_doc = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "apiVersion": st.one_of(st.just("v1"), values),
            "kind": st.one_of(st.just("Config"), values),
            "clusters": _entries("cluster", _cluster),
            "users": _entries("user", _user),
            "contexts": _entries("context", _context),
            "current-context": _name,
            "preferences": values,
            "extensions": values,
        },
    ),
    values,
)


def _use(path: Path, context: str | None) -> None:
    """Everything kubeuser does with a kubeconfig before the first request (no network)."""
    target = connect.resolve(str(path), context)
    ctx = target.ctx
    assert isinstance(target.namespace, str)
    ctx.server()
    ctx.ca_pem()
    ctx.client_certificate_pem()
    config = ctx.client_config()
    target.loaded.destination(names=[("users", "x"), ("contexts", "x")])
    # the official client's parsing of it (exec/auth-provider would run programs: never generated)
    k8s.K8sGateway.from_config_dict(config, ctx.name, ca_pem=None).close()


@fuzz(250)
@given(doc=kubeconfig_doc, context=st.one_of(st.none(), _name.map(lambda n: n if isinstance(n, str) else None)))
def test_malformed_kubeconfigs_structured(tmp_path: Path, doc: Any, context: str | None) -> None:
    EXAMPLES["kubeconfigs (structured)"] += 1
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    before = snapshot(tmp_path)
    with expect_clean_failure():
        _use(path, context)
    assert snapshot(tmp_path) == before


@fuzz(200)
@given(
    text=st.one_of(
        any_text,
        st.text(st.sampled_from("clusters:users:contexts:-[]{}&*!|>'\"#\n\t :,?name"), max_size=150),
        st.builds(
            lambda a, b: a + b,
            st.sampled_from(["apiVersion: v1\nclusters:\n", "users: 5\n", "---\n", "%YAML"]),
            any_text,
        ),
    )
)
def test_malformed_kubeconfigs_text(tmp_path: Path, text: str) -> None:
    EXAMPLES["kubeconfigs (text)"] += 1
    with expect_clean_failure():
        kubeconfig.parse(text, "config")
    path = tmp_path / "config"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))  # lone surrogates: not UTF-8
    data = path.read_bytes()
    with expect_clean_failure():
        _use(path, None)

    # the single writer refuses a broken file and leaves it exactly as it was
    def mutate(doc: dict[str, Any]) -> None:
        kubeconfig.set_entry(doc, "users", "x", {"token": "t"})

    with expect_clean_failure(ExitCode.KUBECONFIG) as failed:
        kubeconfig.update_file(path, mutate)
    if failed:
        assert path.read_bytes() == data
        assert sorted(p.name for p in tmp_path.iterdir()) == ["config"]


@fuzz(50)
@given(data=st.binary(max_size=300))
def test_kubeconfig_bytes(tmp_path: Path, data: bytes) -> None:
    EXAMPLES["kubeconfigs (bytes)"] += 1
    path = tmp_path / "config"
    path.write_bytes(data)
    with expect_clean_failure():
        _use(path, None)
    assert path.read_bytes() == data


# ============================================================================ the real CLI


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME with no kubeconfig: valid input then fails with exit 3, so nothing is ever created."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KUBECONFIG", str(home / ".kube" / "config"))
    monkeypatch.delenv("KUBEUSER_HOME", raising=False)
    monkeypatch.delenv("KUBEUSER_DEBUG", raising=False)

    def no_cluster(target: object) -> None:
        raise AssertionError("the CLI must not get as far as connecting")

    monkeypatch.setattr(connect, "open_gateway", no_cluster)
    return home


def run_main(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        else:
            code = 0
    return code, out.getvalue(), err.getvalue()


def assert_clean_cli_failure(code: int, out: str, err: str) -> None:
    assert code in (2, 3), f"exit {code}: {err[-500:]}"
    assert "Traceback" not in err and "internal error" not in err, err[-2000:]
    if err.startswith("Usage:"):  # click's own parse errors (e.g. --days abc): usage, then the error
        assert "\nError: " in err
    else:
        assert err.startswith("error: "), err[:300]
        first = err.splitlines()[0]
        assert len(first) <= MAX_MESSAGE + 10
    assert out == ""


_opt = st.one_of(plausible, any_text, durations_text.filter(lambda s: len(s) < 50))


@st.composite
def create_args(draw: st.DrawFn) -> list[str]:
    args = ["create"]
    for g in draw(st.lists(names.filter(lambda s: len(s) < 300), max_size=2)):
        args += ["-g", g]
    lifetime = draw(st.sampled_from(["none", "ttl", "days", "both"]))
    if lifetime in ("ttl", "both"):
        args += ["--ttl", draw(durations_text.filter(lambda s: len(s) < 100))]
    if lifetime in ("days", "both"):
        args += ["--days", draw(st.one_of(st.integers(-10, 10**6).map(str), _opt))]
    for r in draw(st.lists(rules_text, max_size=2)):
        args += ["--rule", r]
    for flag, strategy in (
        ("--role", _opt),
        ("--clusterrole", _opt),
        ("--key-type", st.one_of(st.sampled_from(["ecdsa", "rsa", "ed25519", "dsa"]), _opt)),
        ("--key-size", st.one_of(st.sampled_from(["256", "384", "2048", "1"]), _opt)),
        ("-o", st.one_of(st.sampled_from(["json", "yaml", "text", "xml"]), _opt)),
        ("-n", st.one_of(st.sampled_from(["dev", "Bad_NS"]), _opt)),
        ("--out", st.sampled_from(["-"])),
    ):
        if draw(st.booleans()):
            args += [flag, draw(strategy)]
    for flag in ("--cluster-wide", "--allow-system-names", "--force"):
        if draw(st.integers(0, 3)) == 0:
            args.append(flag)
    return [*args, "--", draw(names)]


@fuzz(100)
@given(args=create_args())
def test_cli_create_with_bad_input(cli_home: Path, args: list[str]) -> None:
    EXAMPLES["CLI create"] += 1
    before = snapshot(cli_home)
    code, out, err = run_main(args)
    assert_clean_cli_failure(code, out, err)
    assert snapshot(cli_home) == before


@fuzz(60)
@given(
    doc=kubeconfig_doc,
    text=any_text,
    which=st.sampled_from(["structured", "text"]),
    cmd=st.sampled_from(
        [
            ["create", "alice"],
            ["list"],
            ["show", "alice"],
            ["revoke", "alice"],
            ["renew", "alice"],
            ["cleanup"],
            ["doctor"],
            ["preflight"],
        ]
    ),
)
def test_cli_with_malformed_kubeconfig(cli_home: Path, doc: Any, text: str, which: str, cmd: list[str]) -> None:
    kc = cli_home / "bad.kubeconfig"
    content = yaml.safe_dump(doc, allow_unicode=True) if which == "structured" else text
    kc.write_bytes(content.encode("utf-8", "surrogatepass"))
    try:  # only kubeconfigs that kubeuser cannot use (a usable one would need a cluster)
        _use(kc, None)
        assume(False)
    except KubeuserError:
        pass
    EXAMPLES["CLI malformed kubeconfig"] += 1
    before = snapshot(cli_home)
    code, out, err = run_main([*cmd, "--kubeconfig", str(kc)])
    if cmd == ["doctor"]:  # doctor reports its checks on stdout; an unusable file or context is exit 3, else 12
        assert code in (ExitCode.KUBECONFIG, ExitCode.CHECK_FAILED), err
        assert err.startswith("error: ") and "Traceback" not in err, err
    else:
        assert_clean_cli_failure(code, out, err)
    assert snapshot(cli_home) == before


@pytest.fixture
def admin_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME with an admin kubeconfig; the 'cluster' is the fake gateway."""
    from workflow_env import write_admin_kubeconfig

    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBEUSER_HOME", raising=False)
    gw = FakeGateway()
    write_admin_kubeconfig(home / ".kube" / "config", gw.ca_pem)
    monkeypatch.setattr(connect, "open_gateway", lambda target: gw)
    return home


@fuzz(60)
@given(
    name=names,
    cmd=st.sampled_from(
        [
            ["show"],
            ["revoke"],
            ["renew"],
            ["revoke", "--purge-local"],
            ["show", "-o", "json"],
            ["cleanup", "--delete", "--user"],
        ]
    ),
)
def test_cli_commands_naming_an_unknown_user(admin_home: Path, name: str, cmd: list[str]) -> None:
    EXAMPLES["CLI unknown user"] += 1
    before = snapshot(admin_home)
    args = [*cmd[:-1], f"{cmd[-1]}={name}"] if cmd[-1] == "--user" else [*cmd, "--", name]
    code, out, err = run_main(args)
    assert "Traceback" not in err and "internal error" not in err, err
    if cmd[0] == "cleanup":
        assert code == 0 and out.startswith("nothing to clean up"), err
    else:
        assert code in (ExitCode.NOT_FOUND, ExitCode.USAGE), err
        (line,) = [ln for ln in err.splitlines() if ln.startswith("error: ")]
        assert len(line) <= MAX_MESSAGE + 10
    assert snapshot(admin_home) == before


SUBPROCESS_CASES = [
    (["create", "--", ""], 2, "error: user name is empty"),
    (["create", "--", "a\x01b"], 2, "error: user name contains a control or invisible character (U+0001)"),
    (["create", "--", "x" * 10_000], 2, "error: user name is 10000 characters long"),
    (["create", "-g", "system:masters", "--", "mallory"], 2, "error: refusing group 'system:masters'"),
    (["create", "--ttl", "5s", "--rule", "get:pods", "--", "bob"], 2, "error: duration 5s is shorter than the"),
    (["create", "--kubeconfig", "/nonexistent/kc", "--", "bob"], 3, "error: kubeconfig /nonexistent/kc does not exist"),
]


def test_cli_subprocess_sample(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "KUBECONFIG": str(home / ".kube" / "config")}
    env.pop("KUBEUSER_DEBUG", None)
    for args, code, start in SUBPROCESS_CASES:
        EXAMPLES["CLI subprocess"] += 1
        proc = subprocess.run(
            [sys.executable, "-m", "kubeuser", *args], capture_output=True, text=True, env=env, timeout=60, check=False
        )
        assert proc.returncode == code, (args[:4], proc.stderr)
        assert proc.stderr.startswith(start), (args[:4], proc.stderr)
        assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert list(home.iterdir()) == []  # nothing was created


# ============================================================================ regressions: bugs the fuzzers found


@pytest.mark.parametrize(
    "text",
    ["²", "\u0663\u0660\u0660\u0660\u0660x", "9" * 5000, "9" * 5000 + "s", "9" * 1000],
    ids=["superscript", "arabic", "5000-digits", "5000-digits-s", "1000-digits"],
)
def test_regression_durations(text: str) -> None:
    """Non-decimal digits and > 4300 digits crashed int(); long input was echoed in full."""
    with expect_clean_failure(ExitCode.USAGE) as failed:
        durations.parse(text)
    assert failed


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(t, id=i)
        for t, i in (("5s\n", "trailing-newline"), ("0\x85", "trailing-NEL"), ("99999999999999999999\t", "tab"))
    ],
)
def test_regression_duration_with_white_space_is_shown_escaped(text: str) -> None:
    with expect_clean_failure(ExitCode.USAGE) as failed:
        durations.parse(text)
    assert failed


@pytest.mark.parametrize("parse", [kubeconfig.parse, usersfile.parse], ids=["kubeconfig", "usersfile"])
@pytest.mark.parametrize(
    "text",
    ["a: \x00", "[" * 10_000, "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 3000))],
    ids=["nul", "deep-flow", "deep-block"],
)
def test_regression_hostile_yaml(parse: Callable[[str], object], text: str) -> None:
    """PyYAML's ReaderError gave a two-line message; deep nesting raised RecursionError."""
    with expect_clean_failure() as failed:
        parse(text)
    assert failed


def test_regression_usersfile_key_with_control_characters() -> None:
    """An unknown key was shown raw: a users file could put terminal escapes into the error line."""
    with expect_clean_failure(ExitCode.USAGE) as failed:
        usersfile.parse(f'apiVersion: {usersfile.API_VERSION}\nkind: UserList\nusers:\n- "\\x1b[2J": 1\n')
    assert failed


@pytest.mark.parametrize("cmd", ["show", "revoke", "renew"])
@pytest.mark.parametrize("name", ["\udcff", "x" * 1000], ids=["undecodable-byte", "1000-chars"])
def test_regression_names_of_show_revoke_renew(admin_home: Path, cmd: str, name: str) -> None:
    """`kubeuser show $'\\xff'` crashed (UnicodeEncodeError); a 1000-character NAME was echoed in full."""
    code, _, err = run_main([cmd, "--", name])
    assert code in (ExitCode.USAGE, ExitCode.NOT_FOUND) and "internal error" not in err, err
    (line,) = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert len(line) <= MAX_MESSAGE + 10


def test_regression_error_text_is_printed_verbatim(cli_home: Path) -> None:
    """rich's emoji codes turned an error about 'system:x:smile:' into 'system❌smile:'."""
    name = "system:x:smile:"
    with pytest.raises(KubeuserError) as ei:
        naming.validate_identity(name, [])
    code, _, err = run_main(["create", "--", name])
    assert code == 2 and err.splitlines()[0] == f"error: {ei.value.message}", err


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -1.0, 0.0], ids=["nan", "inf", "negative", "zero"])
def test_regression_timeout_must_be_finite_and_positive(timeout: float) -> None:
    """--timeout nan/inf passed validation and crashed math.ceil in the watch."""
    from kubeuser.workflows import create as createwf

    with expect_clean_failure(ExitCode.USAGE) as failed:
        createwf.plan(createwf.CreateOptions(name="alice", timeout=timeout), "default")
    assert failed


# ============================================================================ report


def test_zz_examples_ran(request: pytest.FixtureRequest) -> None:
    """Runs last: every property that ran here ran a real number of examples (printed with -s / -rA)."""
    total = sum(EXAMPLES.values())
    lines = [f"{k}: {v}" for k, v in sorted(EXAMPLES.items())]
    print(f"\nfuzz examples run: {total}\n  " + "\n  ".join(lines))
    for name, n in EXAMPLES.items():
        assert n >= 10 or name == "CLI subprocess", f"only {n} examples for {name}"
