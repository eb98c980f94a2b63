"""Issue 14: every command's ``-o json`` document matches its schema (kubeuser/output/schemas.py), the
schemas match docs/reference/json-output.md, and one vocabulary (camelCase) is used throughout.

Each command runs through the real CLI over the fake gateway, in states that fill the optional parts of
its document (a grant from a rule and from roles, a renewed certificate in the history, a leftover to
clean up, a prune, a pending request of someone else's, a bring-your-own-key import).
"""

from __future__ import annotations

import base64
import dataclasses
import importlib.util
import json
import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_gateway import FakeGateway
from json_schema import errors

from kubeuser import registry
from kubeuser.gateway import SIGNER, Gateway
from kubeuser.output import schemas

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "tools" / "gen_output_reference.py"
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")

Cli = Callable[..., tuple[int, str, str]]
Setup = Callable[[Cli, dict[str, Any], Path, pytest.MonkeyPatch], list[str]]


def ok(result: tuple[int, str, str]) -> str:
    code, out, err = result
    assert code == 0, err
    return out


def onboard(cli: Cli) -> None:
    """alice: groups, a rule and two roles in dev, a ClusterRole cluster-wide, and an earlier certificate."""
    ok(cli("create", "alice", "-g", "dev", "-n", "dev", "--rule", "get,list:pods,pods/log",
           "--clusterrole", "view", "--role", "reader", "--allow-missing-roles"))  # fmt: skip
    ok(cli("grant", "alice", "--clusterrole", "view", "--cluster-wide"))
    ok(cli("renew", "alice"))


def users_file(tmp_path: Path, *names: str) -> Path:
    f = tmp_path / "users.yaml"
    users = [{"name": n, "namespaces": {"dev": {"rules": ["get,list:pods"]}}} for n in names]
    f.write_text("apiVersion: kubeuser.io/v1alpha1\nkind: UserList\n" + yaml.safe_dump({"users": users}))
    return f


def submit_foreign_csr(gw: FakeGateway) -> None:
    """A pending request someone else submitted (approve judges it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "carol"), x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                      "system:masters")])  # fmt: skip
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(ec.generate_private_key(ec.SECP256R1()),
                                                                          hashes.SHA256())  # fmt: skip
    spec = {
        "request": base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode(),
        "signerName": SIGNER,
        "usages": ["client auth", "digital signature"],
        "username": "bob",
        "groups": ["system:authenticated"],
    }
    gw.create_csr({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
                   "metadata": {"name": "csr-carol"}, "spec": spec})  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# per command: what to run before it; returns its argv (without -o)
def _list(cli: Cli, env: dict[str, Any], tmp_path: Path, mp: pytest.MonkeyPatch) -> list[str]:
    onboard(cli)
    ok(cli("create", "gone"))
    ok(cli("revoke", "gone"))
    return ["list"]


def _show(cli: Cli, env: dict[str, Any], tmp_path: Path, mp: pytest.MonkeyPatch) -> list[str]:
    onboard(cli)
    return ["show", "alice"]


def _create(cli: Cli, env: dict[str, Any], tmp_path: Path, mp: pytest.MonkeyPatch) -> list[str]:
    ok(cli("create", "alice", "--clusterrole", "view", "-n", "dev"))
    return ["create", "alice", "--force", "--rule", "get:secrets", "-n", "dev", "-g", "ops"]


def _create_dry_run(cli: Cli, env: dict[str, Any], tmp_path: Path, mp: pytest.MonkeyPatch) -> list[str]:
    return ["create", "alice", "--rule", "get:pods", "--clusterrole", "view", "--dry-run"]


def _renew(cli: Cli, env: dict[str, Any], tmp_path: Path, mp: pytest.MonkeyPatch) -> list[str]:
    onboard(cli)
    return ["renew", "alice"]


def _revoke(cli: Cli, env: dict[str, Any], tmp_path: Path, mp: pytest.MonkeyPatch) -> list[str]:
    onboard(cli)
    return ["revoke", "alice"]


def _grant(cli: Cli, env: dict[str, Any], tmp_path: Path, mp: pytest.MonkeyPatch) -> list[str]:
    onboard(cli)
    return ["grant", "alice", "--rule", "get:secrets:", "-n", "default"]


def _ungrant(cli: Cli, env: dict[str, Any], tmp_path: Path, mp: pytest.MonkeyPatch) -> list[str]:
    onboard(cli)
    return ["ungrant", "alice", "--clusterrole", "view", "-n", "dev"]


def _apply(cli: Cli, env: dict[str, Any], tmp_path: Path, mp: pytest.MonkeyPatch) -> list[str]:
    ok(cli("apply", "-f", str(users_file(tmp_path, "a", "b", "c")), "--parallel", "1"))
    return ["apply", "-f", str(users_file(tmp_path, "a", "b", "d")), "--prune", "--parallel", "1"]


def _cleanup(cli: Cli, env: dict[str, Any], tmp_path: Path, mp: pytest.MonkeyPatch) -> list[str]:
    ok(cli("create", "alice", "--clusterrole", "view", "-n", "dev"))
    env["gw"].delete_object("ConfigMap", registry.object_name("alice"), registry.DEFAULT_NAMESPACE)  # an orphan
    return ["cleanup", "--delete", "--min-age", "0"]


def _approve(cli: Cli, env: dict[str, Any], tmp_path: Path, mp: pytest.MonkeyPatch) -> list[str]:
    submit_foreign_csr(env["gw"])
    return ["approve"]


def _doctor(cli: Cli, env: dict[str, Any], tmp_path: Path, mp: pytest.MonkeyPatch) -> list[str]:
    kc = tmp_path / "alice.kubeconfig"
    ok(cli("create", "alice", "--out", str(kc)))
    doc = yaml.safe_load(kc.read_text())
    doc["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{free_port()}"  # nothing listens: checks fail
    kc.write_text(yaml.safe_dump(doc))
    return ["doctor", "--kubeconfig", str(kc), "--timeout", "1"]


def _preflight(cli: Cli, env: dict[str, Any], tmp_path: Path, mp: pytest.MonkeyPatch) -> list[str]:
    return ["preflight"]


def _request(cli: Cli, env: dict[str, Any], tmp_path: Path, mp: pytest.MonkeyPatch) -> list[str]:
    mp.setenv("KUBEUSER_HOME", str(tmp_path / "user-home"))
    return ["request", "bob", "-g", "dev"]


def _import(cli: Cli, env: dict[str, Any], tmp_path: Path, mp: pytest.MonkeyPatch) -> list[str]:
    gw: FakeGateway = env["gw"]
    mp.setenv("KUBEUSER_HOME", str(tmp_path / "user-home"))
    csr, handout = tmp_path / "bob.csr", tmp_path / "bob.kubeconfig"
    ok(cli("request", "bob", "--out", str(csr)))
    ok(cli("create", "bob", "--csr", str(csr), "--out", str(handout), "--clusterrole", "view"))

    def open_handout(
        config: dict[str, Any], context: str, ca_pem: bytes | None, *, request_timeout: float | None = None
    ) -> Gateway:
        user = config["users"][0]["user"]
        cert, key = (base64.b64decode(user[k]) for k in ("client-certificate-data", "client-key-data"))
        return gw.as_certificate(cert, key)

    mp.setattr("kubeuser.cli.byok.open_handout_gateway", open_handout)
    return ["import", str(handout), "--kubeconfig", str(tmp_path / "user.kubeconfig")]


def _token(cli: Cli, env: dict[str, Any], tmp_path: Path, mp: pytest.MonkeyPatch) -> list[str]:
    ok(cli("create", "dash", "--auth", "token", "--clusterrole", "view", "-n", "dev"))
    return ["token", "dash", "--ttl", "1h"]


RUNS: dict[str, tuple[Setup, tuple[int, ...]]] = {  # command → (setup → argv but -o, the exit codes it ends with)
    "list": (_list, (0,)),
    "show": (_show, (0,)),
    "create": (_create, (0,)),
    "create --dry-run": (_create_dry_run, (0,)),
    "renew": (_renew, (0,)),
    "revoke": (_revoke, (0,)),
    "token": (_token, (0,)),
    "grant": (_grant, (0,)),
    "ungrant": (_ungrant, (0,)),
    "apply": (_apply, (0,)),
    "cleanup": (_cleanup, (0,)),
    "approve": (_approve, (12,)),  # carol asks for system:masters: fails the policy
    "doctor": (_doctor, (12,)),  # nothing listens: not authenticated
    "preflight": (_preflight, (0,)),
    "request": (_request, (0,)),
    "import": (_import, (0,)),
}


def keys(value: Any) -> Iterator[str]:
    """Every object key in a document, at any depth (Kubernetes manifests of --dry-run excepted)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from keys(v)


@pytest.mark.parametrize("fmt", ["json", "yaml"])
@pytest.mark.parametrize("command", list(RUNS))
def test_output_matches_the_commands_schema(
    command: str, fmt: str, cli: Cli, env: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup, codes = RUNS[command]
    code, out, err = cli(*setup(cli, env, tmp_path, monkeypatch), "-o", fmt)
    assert code in codes, err + out
    if command == "create --dry-run" and fmt == "yaml":  # one document per object, for kubectl apply -f -
        doc = {"apiVersion": "v1", "kind": "List", "items": list(yaml.safe_load_all(out))}
    else:
        doc = json.loads(out) if fmt == "json" else yaml.safe_load(out)  # exactly one document on stdout
    assert errors(doc, schemas.COMMANDS[command]) == []
    if command != "create --dry-run":  # (its items are Kubernetes manifests, in Kubernetes' own keys)
        odd = sorted({k for k in keys(doc) if not CAMEL.match(k)})
        assert odd == [], f"keys not in camelCase: {odd}"


def test_every_command_with_output_formats_has_a_schema_and_a_run() -> None:
    import typer.main

    from kubeuser.cli.app import app
    from kubeuser.cli.commands import COMMANDS

    group: Any = typer.main.get_command(app)
    with_output = {
        c.name for c in COMMANDS if any("-o" in p.opts for p in group.get_command(None, c.name).params)
    }  # the lazy group builds each command on request
    assert with_output == {c.partition(" ")[0] for c in schemas.COMMANDS}
    assert "run" not in with_output  # its stdout is CMD's
    assert set(RUNS) == set(schemas.COMMANDS)


def test_list_and_show_say_a_users_access_as_the_record_holds_it(cli: Cli) -> None:
    onboard(cli)
    (row,) = json.loads(ok(cli("list", "-o", "json")))["users"]
    assert row["auth"] == "x509" and row["keyHolder"] == "admin" and row["delivery"] == "kubeconfig"
    assert row["access"] == [
        {"namespace": "dev", "verbs": ["get", "list"], "resources": ["pods", "pods/log"], "apiGroups": [""],
         "roleRef": {"kind": "Role", "name": "kubeuser:alice"}},
        {"namespace": "dev", "roleRef": {"kind": "Role", "name": "reader"}},
        {"namespace": "dev", "roleRef": {"kind": "ClusterRole", "name": "view"}},
        {"namespace": None, "roleRef": {"kind": "ClusterRole", "name": "view"}},
    ]  # fmt: skip
    assert {(b["kind"], b["namespace"], b["name"]) for b in row["bindings"]} == {
        ("Role", "dev", "kubeuser:alice"),
        ("RoleBinding", "dev", "kubeuser:alice"),
        ("RoleBinding", "dev", "kubeuser:alice:role:reader"),
        ("RoleBinding", "dev", "kubeuser:alice:clusterrole:view"),
        ("ClusterRoleBinding", None, "kubeuser:alice:view"),
    }
    crb = next(b for b in row["bindings"] if b["kind"] == "ClusterRoleBinding")
    assert crb["roleRef"] == {"kind": "ClusterRole", "name": "view"}
    assert len(row["history"]) == 1 and row["history"][0]["replacedAt"] and row["certificate"]["csrName"]
    shown = json.loads(ok(cli("show", "alice", "-o", "json")))
    assert sorted(shown["bindings"], key=str) == sorted(row["bindings"], key=str)  # show: as recorded
    skip = ("effectiveAccess", "daysLeft", "bindings")
    assert {k: v for k, v in shown.items() if k not in skip} == {k: v for k, v in row.items() if k not in skip}


def test_the_output_keeps_every_field_of_the_record(cli: Cli) -> None:
    """A field added to the stored record must reach the output (and its schema) in camelCase."""

    def camel(name: str) -> str:
        head, *rest = name.split("_")
        return head + "".join(p.title() for p in rest)

    user_keys = set(schemas.USER["properties"])
    cert_keys = set(schemas.CERT_RECORD["properties"])
    assert {camel(f.name) for f in dataclasses.fields(registry.CertRecord)} == cert_keys
    # the ServiceAccount's namespace and name are one object, `serviceAccount`
    record_keys = {camel(f.name) for f in dataclasses.fields(registry.UserRecord)} - {"serviceAccountNamespace"}
    assert record_keys <= user_keys
    assert set(schemas.USER["properties"]["serviceAccount"]["properties"]) == {"namespace", "name"}
    assert user_keys - record_keys == {"effectiveStatus", "daysLeft"}


def test_the_validator_finds_what_does_not_match() -> None:
    schema = schemas.obj("x", {"a": schemas.integer("a"), "b": schemas.strings("b", null=True)}, optional=("b",))
    assert errors({"a": 1}, schema) == [] and errors({"a": 1, "b": None}, schema) == []
    assert errors({"a": True}, schema) == ["$.a: True is not integer"]
    assert errors({}, schema) == ["$: 'a' is missing"]
    assert errors({"a": 1, "c": 2}, schema) == ["$: 'c' is not in the schema"]
    assert errors({"a": 1, "b": ["x", 2]}, schema) == ["$.b[1]: 2 is not string"]
    assert errors("on", schemas.string("s", enum=["off"])) == ["$: 'on' is not one of ['off']"]
    assert errors(1, {"type": "integer", "minimum": 0}) != []  # a keyword it does not check is an error


def test_every_schema_property_is_described() -> None:
    def walk(schema: dict[str, Any], path: str) -> Iterator[str]:
        if not schema.get("description"):
            yield path
        for k, sub in (schema.get("properties") or {}).items():
            yield from walk(sub, f"{path}.{k}")
        if (schema.get("items") or {}).get("properties"):
            yield from walk(schema["items"], f"{path}[]")

    assert [p for c, s in schemas.COMMANDS.items() for p in walk(s, c)] == []


def test_the_output_reference_is_generated_from_the_schemas() -> None:
    spec = importlib.util.spec_from_file_location("gen_output_reference", GENERATOR)
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    committed = (ROOT / gen.TARGET).read_text(encoding="utf-8")
    assert committed == gen.render(), f"{gen.TARGET} does not match the schemas: run `python {GENERATOR.name}`"


# token identities: the same commands' schemas hold for both kinds of identity
TOKEN_RUNS: dict[str, list[list[str]]] = {  # schema → commands to run first, the last one with -o
    "create": [["create", "dash", "--auth", "token", "--clusterrole", "view", "-n", "dev"]],
    "renew": [["create", "dash", "--auth", "token", "-n", "dev"], ["token", "dash"], ["renew", "dash"]],
    "revoke": [["create", "dash", "--auth", "token", "-n", "dev"], ["revoke", "dash"]],
    "show": [["create", "dash", "--auth", "token", "-n", "dev"], ["token", "dash"], ["show", "dash"]],
    "list": [["create", "dash", "--auth", "token", "-n", "dev"], ["renew", "dash"], ["list"]],
}


@pytest.mark.parametrize("command", list(TOKEN_RUNS))
def test_token_identities_match_the_same_schemas(command: str, cli: Cli) -> None:
    *before, last = TOKEN_RUNS[command]
    for argv in before:
        ok(cli(*argv))
    code, out, err = cli(*last, "-o", "json")
    assert code == 0, err + out
    doc = json.loads(out)
    assert errors(doc, schemas.COMMANDS[command]) == []
    text = json.dumps(doc)
    assert '"auth": "token"' in text
    assert "eyJ" not in text  # never a token (a JWT) in these documents: only `kubeuser token` prints one
