"""users.yaml: the schema, and problems reported as FILE:LINE: PATH: message."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kubeuser import usersfile
from kubeuser.errors import ExitCode, UsageError
from kubeuser.usersfile import SchemaError

HEAD = "apiVersion: kubeuser.io/v1alpha1\nkind: UserList\n"


def parse(body: str, head: str = HEAD) -> usersfile.UserList:
    return usersfile.parse(head + textwrap.dedent(body), "users.yaml")


def problems(body: str, head: str = HEAD) -> list[str]:
    with pytest.raises(SchemaError) as ei:
        parse(body, head)
    assert ei.value.exit_code == ExitCode.USAGE
    return [str(p) for p in ei.value.problems]


def test_full_example() -> None:
    ul = parse(
        """\
        users:
          - name: alice
            groups: [dev, ops, dev]
            ttl: 30d
            keyType: ECDSA
            namespaces:
              dev: {rules: ["get,list,watch:pods"], roles: [deployer], clusterRoles: [view]}
              staging:
                clusterRoles: [edit]
            clusterRoles: [view]
          - name: bob@example.com
            days: 7
            keyType: rsa
            keySize: 3072
          - name: ci
            ttl: 3600
        """
    )
    alice, bob, ci = ul.users
    assert ul.names() == ["alice", "bob@example.com", "ci"]
    assert alice.groups == ["dev", "ops"] and alice.ttl_seconds == 30 * 86400 and alice.key_type == "ecdsa"
    assert alice.line == 4 and alice.primary_namespace == "dev"
    assert [n.namespace for n in alice.namespaces] == ["dev", "staging"]
    assert alice.namespaces[0].rules == ("get,list,watch:pods",) and alice.cluster_roles == ["view"]
    objs = [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in alice.rbac_objects("x")]
    assert objs == [
        ("Role", "dev", "kubeuser:alice"),
        ("RoleBinding", "dev", "kubeuser:alice"),
        ("RoleBinding", "dev", "kubeuser:alice:role:deployer"),
        ("RoleBinding", "dev", "kubeuser:alice:clusterrole:view"),
        ("RoleBinding", "staging", "kubeuser:alice:clusterrole:edit"),
        ("ClusterRoleBinding", None, "kubeuser:alice:view"),
    ]
    assert (bob.ttl_seconds, bob.key_type, bob.key_size, bob.groups) == (7 * 86400, "rsa", 3072, [])
    assert ci.ttl_seconds == 3600 and ci.ttl_seconds != usersfile.DEFAULT_TTL and ci.rbac_objects("x") == []
    assert bob.primary_namespace is None


def test_defaults_and_empty_list_refused() -> None:
    (u,) = parse("users:\n  - name: carol\n").users
    assert (u.ttl_seconds, u.key_type, u.key_size, u.namespaces, u.cluster_roles) == (30 * 86400, "ecdsa", None, [], [])
    # no users at all is refused (with --prune it would revoke everyone), whether `users: []` or `users:`
    assert problems("users: []\n") == ["users.yaml:3: users: declares no users"]
    assert problems("users:\n# everyone left\n") == ["users.yaml:3: users: declares no users"]


def test_the_issue_example_message() -> None:
    body = """\
    users:
      - name: alice
        ttl: 30d
      - name: bob
        groups: [dev]
        ttl: abc
    """
    with pytest.raises(SchemaError) as ei:
        parse(body)
    assert str(ei.value) == "users.yaml:8: users[1].ttl: cannot read duration 'abc'"
    assert "10m, 2h, 7d" in (ei.value.hint or "")


def test_every_problem_is_reported_in_line_order() -> None:
    found = problems(
        """\
        users:
          - name: bob
            ttl: 5m
            namespaces:
              dev: {rules: ["get,list:pods", "frob:pods"], roles: [deployer]}
              Bad_NS: {roles: [x]}
              empty: {}
            clusterRoles: view
            groupz: [x]
          - name: bob
          - name: "system:x"
            days: true
            keyType: dsa
          - groups: [a]
        """
    )
    assert found == [
        "users.yaml:5: users[0].ttl: duration 5m is shorter than the 10-minute minimum Kubernetes accepts",
        "users.yaml:7: users[0].namespaces.dev.rules[1]: unknown verb 'frob' in rule 'frob:pods'",
        "users.yaml:8: users[0].namespaces.Bad_NS: 'Bad_NS' is not a valid namespace name",
        "users.yaml:9: users[0].namespaces.empty: grants nothing",
        "users.yaml:10: users[0].clusterRoles: must be a list, not the value 'view'",
        "users.yaml:11: users[0].groupz: unknown field 'groupz' (did you mean 'groups'?)",
        "users.yaml:12: users[1].name: duplicate user 'bob' (also users[0])",
        "users.yaml:13: users[2].name: user name 'system:x' is in the reserved 'system:' namespace",
        "users.yaml:14: users[2].days: must be a whole number, not bool True",
        "users.yaml:15: users[2].keyType: unsupported key type 'dsa'",
        "users.yaml:16: users[3].name: missing",
    ]


def test_first_problem_is_the_message_the_rest_in_the_hint() -> None:
    with pytest.raises(SchemaError) as ei:
        parse("users:\n  - name: a\n    ttl: x\n  - name: b\n    days: 0\n")
    assert str(ei.value) == "users.yaml:5: users[0].ttl: cannot read duration 'x'"
    assert "1 more problem(s):\n  users.yaml:7: users[1].days: --days must be positive, got 0" in (ei.value.hint or "")
    assert isinstance(ei.value, UsageError)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("users:\n  - name: a\n    groups: [dev, system:masters]\n", "users.yaml:5: users[0].groups[1]: refusing"),
        ("users:\n  - name: a\n    groups: dev\n", "users.yaml:5: users[0].groups: must be a list"),
        ("users:\n  - name: a\n    ttl: 1h\n    days: 3\n", "users.yaml:6: users[0].days: give ttl or days, not both"),
        ("users:\n  - name: a\n    ttl: [1h]\n", "users.yaml:5: users[0].ttl: must be a single value, not a list"),
        ("users:\n  - name: a\n    keyType: rsa\n    keySize: 1024\n", "users.yaml:6: users[0].keySize:"),
        (
            "users:\n  - name: a\n    keyType: dsa\n    keySize: 2048\n",
            "users.yaml:5: users[0].keyType: unsupported key type 'dsa'",
        ),
        ("users:\n  - name: a\n    keySize: 2048\n    keyType: dsa\n", "users.yaml:6: users[0].keyType: unsupported"),
        ("users:\n  - name: a\n    keyType: ed25519\n    keySize: 256\n", "users.yaml:6: users[0].keySize: ed25519"),
        ("users:\n  - name: ''\n", "users.yaml:4: users[0].name: user name is empty"),
        ("users:\n  - name: 12\n", "users.yaml:4: users[0].name: must be a string, not int 12"),
        ("users:\n  - name: a\n    name: b\n", "users.yaml:5: users[0].name: duplicate key 'name' (also on line 4)"),
        ("users:\n  - name: a\n    namespaces: [dev]\n", "users.yaml:5: users[0].namespaces: must be a mapping"),
        ("users:\n  - name: a\n    namespaces:\n      dev:\n", "users.yaml:6: users[0].namespaces.dev: grants nothing"),
        (
            "users:\n  - name: a\n    namespaces:\n      dev: {rules: [get]}\n",
            "users.yaml:6: users[0].namespaces.dev.rules[0]: cannot read rule 'get'",
        ),
        (
            "users:\n  - name: a\n    namespaces:\n      dev: {role: [x]}\n",
            "users.yaml:6: users[0].namespaces.dev.role: unknown field 'role' (did you mean 'roles'?)",
        ),
        (
            "users:\n  - name: a\n    clusterRoles: [view, 'a/b']\n",
            "users.yaml:5: users[0].clusterRoles[1]: invalid ClusterRole name 'a/b'",
        ),
        ("users:\n  - just-a-name\n", "users.yaml:4: users[0]: must be a mapping, not the value 'just-a-name'"),
        ("users: {alice: {}}\n", "users.yaml:3: users: must be a list, not a mapping"),
        ("users:\n  - name: a\n  extra: 1\n", "users.yaml:"),  # YAML syntax error
    ],
)
def test_single_problems(body: str, expected: str) -> None:
    found = problems(body)
    assert found[0].startswith(expected), found


def test_header_problems() -> None:
    assert problems("users: [{name: a}]\n", head="apiVersion: v1\nkind: List\n") == [
        "users.yaml:1: apiVersion: must be 'kubeuser.io/v1alpha1', not 'v1'",
        "users.yaml:2: kind: must be 'UserList', not 'List'",
    ]
    assert problems("users: [{name: a}]\n", head="") == [
        "users.yaml:1: apiVersion: missing",
        "users.yaml:1: kind: missing",
    ]
    assert problems("", head=HEAD) == ["users.yaml:1: users: missing"]
    assert problems("", head="") == ["users.yaml:1: the file is empty"]
    assert problems("users: [{name: a}]\nspec: {}\n")[0] == "users.yaml:4: spec: unknown field 'spec'"
    assert problems("- a\n", head="")[0] == "users.yaml:1: must be a mapping, not a list"


def test_yaml_syntax_error_has_a_line() -> None:
    found = problems("users:\n  - name: a\n    groups: [dev\n")
    assert found[0].startswith("users.yaml:") and "not valid YAML" in found[0]
    line = int(found[0].split(":")[1])
    assert line >= 5


def test_load_file_and_errors(tmp_path: Path) -> None:
    f = tmp_path / "team.yaml"
    f.write_text(HEAD + "users:\n  - name: a\n    ttl: nope\n")
    with pytest.raises(SchemaError) as ei:
        usersfile.load(f)
    assert str(ei.value) == f"{f}:5: users[0].ttl: cannot read duration 'nope'"
    with pytest.raises(UsageError, match="does not exist"):
        usersfile.load(tmp_path / "missing.yaml")
    with pytest.raises(UsageError, match="is a directory"):
        usersfile.load(tmp_path)
    f.write_text(HEAD + "users:\n  - name: a\n")
    assert usersfile.load(f).file == str(f)


def test_anchors_and_merge_keys_for_shared_settings() -> None:
    ul = parse(
        """\
        x-team: &team
          groups: [dev]
          ttl: 7d
          namespaces:
            dev: {rules: ["get,list:pods"]}
        users:
          - <<: *team
            name: alice
          - <<: *team
            name: bob
            ttl: 1d
            groups: [dev, ops]
        """
    )
    alice, bob = ul.users
    assert (alice.groups, alice.ttl_seconds, alice.primary_namespace) == (["dev"], 7 * 86400, "dev")
    assert (bob.groups, bob.ttl_seconds, bob.primary_namespace) == (["dev", "ops"], 86400, "dev")
    # a problem in the shared block is reported where it is written
    found = problems("x-team: &team\n  ttl: soon\nusers:\n  - <<: *team\n    name: a\n  - <<: *team\n    name: b\n")
    assert found[0] == "users.yaml:4: users[0].ttl: cannot read duration 'soon'"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: \x00", "users.yaml:1: not valid YAML: character #x0000 is not allowed"),
        ("[" * 10_000, "users.yaml:1: not usable: the YAML is nested too deeply"),
        (HEAD + 'users:\n- "\\x1F": null\n', "users.yaml:4: users[0]['\\x1f']: unknown field '\\x1f'"),
        (HEAD + "users:\n- name: a\n  keySize: " + "9" * 5000, "users.yaml:5: users[0].keySize: cannot read the value"),
        (HEAD + "users:\n- name: a\n  ttl: '²'", "users.yaml:5: users[0].ttl: cannot read duration '²'"),
        (HEAD + "users:\n- name: a\n  keyType: " + "x" * 2000, "users.yaml:5: users[0].keyType: unsupported key type"),
    ],
)
def test_hostile_input_gives_one_short_clean_line(text: str, expected: str) -> None:
    import unicodedata

    with pytest.raises(SchemaError) as ei:
        usersfile.parse(text, "users.yaml")
    msg = ei.value.message
    assert msg.startswith(expected), msg
    assert "\n" not in msg and len(msg) <= 300
    assert not [c for c in msg if unicodedata.category(c) in ("Cc", "Cs")]
