"""``users.yaml``: the declarative user list of ``kubeuser apply`` — schema, loader, and errors with file:line.

The file is read with PyYAML's composer, so every value keeps the line it came from, and every
problem is reported as ``FILE:LINE: PATH: message`` (``users.yaml:7: users[1].ttl: cannot read
duration 'abc'``). All users are validated — names, groups, lifetimes, key specs, rules, role
names, namespaces — before anything talks to a cluster; one :class:`SchemaError` lists every
problem found. Top-level ``x-*`` fields are ignored (a place for anchors) and YAML merge keys
(``<<: *defaults``) work, explicit fields winning. The format is documented in
``docs/users-as-code.md``::

    apiVersion: kubeuser.io/v1alpha1
    kind: UserList
    users:
      - name: alice
        groups: [dev]
        ttl: 30d            # or days: 30 (default 30 days)
        keyType: ecdsa      # ecdsa | rsa | ed25519; keySize optional
        namespaces:
          dev: {rules: ["get,list,watch:pods"], roles: [deployer], clusterRoles: [view]}
        clusterRoles: [view]   # cluster-wide ClusterRoleBindings
        allowMissingRoles: false  # true: bind roles that do not exist yet (otherwise an error)
        csr: alice.csr      # bring your own key: her request (relative to this file); needs --out-dir
      - name: dash-ro
        auth: token         # x509 (default) | token: a ServiceAccount with short-lived tokens (no groups, key or csr)
        ttl: 8h
        namespaces:
          apps: {clusterRoles: [view]}
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kubeuser import csrpolicy, durations, naming, pki, rbac
from kubeuser.errors import KubeuserError, UsageError

API_VERSION = "kubeuser.io/v1alpha1"
KIND = "UserList"
DEFAULT_TTL = 30 * 86400

TOP_FIELDS = ("apiVersion", "kind", "users")
USER_FIELDS = (
    "name", "auth", "groups", "ttl", "days", "keyType", "keySize", "namespaces", "clusterRoles", "allowMissingRoles",
    "csr",
)  # fmt: skip
AUTH_KINDS = ("x509", "token")  # kubeuser.tokens.AUTH_KINDS: a client certificate, or a ServiceAccount with tokens
NO_USERS_HINT = (
    "apply never revokes everyone: list who keeps access, or revoke users with `kubeuser revoke NAME` "
    "(`kubeuser users` lists them)"
)
NAMESPACE_FIELDS = ("rules", "roles", "clusterRoles")

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    path: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SchemaError(UsageError):
    """The users file cannot be used. ``problems`` holds every problem; the message names the first."""

    def __init__(self, problems: list[Problem]) -> None:
        problems = sorted(problems, key=lambda p: p.line)
        first = problems[0]
        hint = first.hint
        if len(problems) > 1:
            more = "\n".join(f"  {p}" for p in problems[1:])
            hint = (f"{hint}\n" if hint else "") + f"{len(problems) - 1} more problem(s):\n{more}"
        super().__init__(str(first), hint=hint)
        self.problems = problems


@dataclass(frozen=True)
class NamespaceAccess:
    """What a user may do in one namespace."""

    namespace: str
    rules: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    cluster_roles: tuple[str, ...] = ()

    def request(self) -> rbac.RbacRequest:
        return rbac.build_request(self.namespace, self.rules, self.roles, self.cluster_roles)


@dataclass
class UserSpec:
    """One declared user, validated."""

    name: str
    groups: list[str] = field(default_factory=list)
    ttl_seconds: int = DEFAULT_TTL
    key_type: str = "ecdsa"
    key_size: int | None = None
    namespaces: list[NamespaceAccess] = field(default_factory=list)
    cluster_roles: list[str] = field(default_factory=list)  # bound cluster-wide (ClusterRoleBindings)
    allow_missing_roles: bool = False  # bind roles that do not exist (yet): pre-provisioning
    csr_path: str | None = None  # bring your own key: the user's request file (resolved against the users file)
    csr_pem: bytes | None = field(default=None, repr=False)
    csr_public_key_sha256: str | None = None
    auth: str = "x509"  # x509: a client certificate; token: a ServiceAccount with TokenRequest tokens
    line: int = 0

    @property
    def primary_namespace(self) -> str | None:
        """The first declared namespace: the kubeconfig context's namespace and the registry record's."""
        return self.namespaces[0].namespace if self.namespaces else None

    def requests(self, default_namespace: str) -> list[rbac.RbacRequest]:
        """Every RBAC request: one per namespace, then the cluster-wide ClusterRoles."""
        reqs = [ns.request() for ns in self.namespaces]
        if self.cluster_roles:
            ns = self.primary_namespace or default_namespace
            reqs.append(rbac.build_request(ns, cluster_roles=self.cluster_roles, cluster_wide=True))
        return reqs

    def rbac_objects(self, default_namespace: str, subject_of: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Every RBAC object this user should have, in creation order; the bindings name the User, or
        *subject_of* (a token identity's ServiceAccount)."""
        objs: list[dict[str, Any]] = []
        for req in self.requests(default_namespace):
            objs += rbac.Access.of(req).objects(self.name, self.groups, None, subject_of)
        return objs


@dataclass
class UserList:
    file: str
    users: list[UserSpec]

    def names(self) -> list[str]:
        return [u.name for u in self.users]


# --------------------------------------------------------------------------- loading


def load(path: str | Path) -> UserList:
    """Read and validate a users file; ``-`` reads stdin. Raises SchemaError (exit 2) or UsageError."""
    if str(path) == "-":
        import sys

        return parse(sys.stdin.read(), "<stdin>")
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"users file {path} does not exist", hint="pass the path of a users.yaml with -f") from None
    except IsADirectoryError:
        raise UsageError(f"users file {path} is a directory", hint="pass the path of a users.yaml with -f") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read users file {path}: {exc}") from None
    return parse(text, str(path))


def parse(text: str, file: str = "users.yaml") -> UserList:
    """Validate the text of a users file (``file`` names it in messages)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (its message spans lines)
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        what = f"#x{exc.character:04x}" if isinstance(exc.character, int) else _q(str(exc.character))
        raise SchemaError([Problem(file, line, "", f"not valid YAML: character {what} is not allowed")]) from None
    except RecursionError:
        raise SchemaError([Problem(file, 1, "", "not usable: the YAML is nested too deeply")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = " ".join(x for x in (exc.context, exc.problem) if x)
        raise SchemaError([Problem(file, line, "", f"not valid YAML: {_oneline(what)}")]) from None
    except yaml.YAMLError as exc:
        raise SchemaError([Problem(file, 1, "", f"not valid YAML: {_oneline(str(exc))}")]) from None
    v = _Validator(file)
    try:
        users = v.document(root)
    except RecursionError:
        raise SchemaError([Problem(file, 1, "", "not usable: the YAML is nested too deeply")]) from None
    if v.problems:
        raise SchemaError(v.problems)
    return UserList(file, users)


class _Invalid(Exception):
    """A value was reported as a problem; skip what depends on it."""


class _Validator:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self._constructor = SafeConstructor()

    # reporting ------------------------------------------------------------------------------

    def report(self, node: Node | None, path: str, message: str, hint: str | None = None) -> _Invalid:
        line = node.start_mark.line + 1 if node is not None else 1
        self.problems.append(Problem(self.file, line, path, message, hint))
        return _Invalid()

    def check(self, node: Node, path: str, fn: Callable[[], T]) -> T:
        """Run a validator from the rest of kubeuser; its UsageError becomes a located problem."""
        try:
            return fn()
        except KubeuserError as exc:
            raise self.report(node, path, _oneline(exc.message, 200), exc.hint) from None
        except (ValueError, OverflowError):
            raise self.report(node, path, f"invalid value {_q(_scalar_text(node))}") from None

    # node readers ---------------------------------------------------------------------------

    def mapping(self, node: Node, path: str, allowed: tuple[str, ...] | None) -> dict[str, tuple[Node, Node]]:
        if not isinstance(node, MappingNode):
            raise self.report(node, path, f"must be a mapping, not {_kind(node)}")
        node = MappingNode(node.tag, list(node.value), node.start_mark, node.end_mark, node.flow_style)
        explicit = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
        try:
            self._constructor.flatten_mapping(node)  # YAML merge keys (<<: *defaults) come first, then the rest
        except yaml.MarkedYAMLError as exc:
            raise self.report(node, path, f"cannot merge: {exc.problem}") from None
        n_merged = len(node.value) - explicit
        out: dict[str, tuple[Node, Node]] = {}
        from_merge: set[str] = set()
        for i, (key_node, value_node) in enumerate(node.value):
            key = self.scalar(key_node, path or "(top level)")
            if not isinstance(key, str):
                self.report(key_node, path, f"keys must be strings, not {_q(key)}")
                continue
            if path == "" and key.startswith("x-"):
                continue  # extension fields: a place for YAML anchors
            sub = _join(path, key)
            if key in out and key in from_merge:  # a merged value, overridden
                del out[key]
                from_merge.discard(key)
            if key in out:
                self.report(key_node, sub, f"duplicate key {_q(key)} (also on line {out[key][0].start_mark.line + 1})")
                continue
            if i < n_merged:
                from_merge.add(key)
            if allowed is not None and key not in allowed:
                near = _near(key, allowed)
                self.report(
                    key_node,
                    sub,
                    f"unknown field {_q(key)}" + (f" (did you mean {near!r}?)" if near else ""),
                    hint="fields here: " + ", ".join(allowed),
                )
                continue
            out[key] = (key_node, value_node)
        return out

    def scalar(self, node: Node, path: str) -> Any:
        if not isinstance(node, ScalarNode):
            raise self.report(node, path, f"must be a single value, not {_kind(node)}")
        try:
            return self._constructor.construct_object(node, deep=True)
        except (ValueError, OverflowError, yaml.YAMLError):
            raise self.report(node, path, f"cannot read the value {_q(_scalar_text(node))}") from None

    def string(self, node: Node, path: str) -> str:
        value = self.scalar(node, path)
        if not isinstance(value, str):
            raise self.report(node, path, f"must be a string, not {_describe(value)}")
        return value

    def integer(self, node: Node, path: str) -> int:
        value = self.scalar(node, path)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.report(node, path, f"must be a whole number, not {_describe(value)}")
        return value

    def strings(self, node: Node, path: str, example: str) -> list[tuple[str, Node, str]]:
        """A list of strings → [(value, node, path)]; a bad item is reported and skipped."""
        if isinstance(node, ScalarNode) and node.tag.endswith(":null"):
            return []
        if not isinstance(node, SequenceNode):
            raise self.report(node, path, f"must be a list, not {_kind(node)}", hint=f"e.g. {example}")
        items: list[tuple[str, Node, str]] = []
        for i, item in enumerate(node.value):
            sub = f"{path}[{i}]"
            try:
                items.append((self.string(item, sub), item, sub))
            except _Invalid:
                continue
        return items

    # the schema -----------------------------------------------------------------------------

    def document(self, root: Node | None) -> list[UserSpec]:
        if root is None:
            self.report(None, "", "the file is empty", hint=f"start with apiVersion: {API_VERSION}, kind: {KIND}")
            return []
        try:
            top = self.mapping(root, "", TOP_FIELDS)
        except _Invalid:
            return []
        for key, expected in (("apiVersion", API_VERSION), ("kind", KIND)):
            if key not in top:
                self.report(root, key, "missing", hint=f"add `{key}: {expected}`")
                continue
            try:
                value = self.string(top[key][1], key)
            except _Invalid:
                continue
            if value != expected:
                self.report(top[key][1], key, f"must be {expected!r}, not {_q(value)}")
        if "users" not in top:
            self.report(root, "users", "missing", hint="add `users:` with a list of users")
            return []
        node = top["users"][1]
        empty = (isinstance(node, ScalarNode) and node.tag.endswith(":null")) or (
            isinstance(node, SequenceNode) and not node.value
        )
        if empty:
            # an empty list is always a mistake worth stopping for: with --prune it would revoke everyone
            self.report(top["users"][0], "users", "declares no users", hint=NO_USERS_HINT)
            return []
        if not isinstance(node, SequenceNode):
            self.report(node, "users", f"must be a list, not {_kind(node)}", hint="each user is a `- name: ...` item")
            return []
        users: list[UserSpec] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(node.value):
            path = f"users[{i}]"
            name, name_node = _peek_name(item)
            if name is not None and name in seen:
                self.report(name_node, f"{path}.name", f"duplicate user {_q(name)} (also users[{seen[name]}])")
                continue
            if name is not None:
                seen[name] = i
            try:
                users.append(self.user(item, path))
            except _Invalid:
                continue
        return users

    def user(self, node: Node, path: str) -> UserSpec:
        fields = self.mapping(node, path, USER_FIELDS)
        if "name" not in fields:
            raise self.report(node, f"{path}.name", "missing", hint="every user needs a name (the certificate CN)")
        name_node = fields["name"][1]
        name = self.string(name_node, f"{path}.name")
        ok = True
        spec = UserSpec(name=name, line=name_node.start_mark.line + 1)

        def field_ok(fn: Callable[[], None]) -> None:
            nonlocal ok
            try:
                fn()
            except _Invalid:
                ok = False

        def groups() -> None:
            if "groups" not in fields or spec.auth == "token":  # token: reported by token_conflicts
                return
            for g, gnode, gpath in self.strings(fields["groups"][1], f"{path}.groups", "groups: [dev, ops]"):
                try:
                    v = self.check(gnode, gpath, functools.partial(naming.validate_identity, "user", [g]))
                except _Invalid:
                    continue
                if v.groups and v.groups[0] not in spec.groups:
                    spec.groups.append(v.groups[0])

        def lifetime() -> None:
            if "ttl" in fields and "days" in fields:
                raise self.report(fields["days"][0], f"{path}.days", "give ttl or days, not both")
            if "ttl" in fields:
                tnode = fields["ttl"][1]
                raw = self.scalar(tnode, f"{path}.ttl")
                if isinstance(raw, bool) or not isinstance(raw, (str, int)):
                    raise self.report(tnode, f"{path}.ttl", f"must be a duration such as 30d, not {_describe(raw)}")
                spec.ttl_seconds = self.check(tnode, f"{path}.ttl", lambda: durations.parse(str(raw)))
            elif "days" in fields:
                dnode = fields["days"][1]
                days = self.integer(dnode, f"{path}.days")
                spec.ttl_seconds = self.check(dnode, f"{path}.days", lambda: durations.from_days(days))

        def key_spec() -> None:
            if spec.auth == "token":  # reported by token_conflicts
                return
            if "keyType" in fields:  # the type on its own line first: `keyType: dsa` is keyType's fault
                spec.key_type = self.string(fields["keyType"][1], f"{path}.keyType").lower()
                self.check(fields["keyType"][1], f"{path}.keyType", lambda: pki.validate_key_spec(spec.key_type, None))
            if "keySize" in fields:  # then the size, for that type
                spec.key_size = self.integer(fields["keySize"][1], f"{path}.keySize")
                self.check(
                    fields["keySize"][1], f"{path}.keySize", lambda: pki.validate_key_spec(spec.key_type, spec.key_size)
                )

        def namespaces() -> None:
            if "namespaces" not in fields:
                return
            nsnode = fields["namespaces"][1]
            if isinstance(nsnode, ScalarNode) and nsnode.tag.endswith(":null"):
                return
            example = 'namespaces: {dev: {rules: ["get,list:pods"]}}'
            if not isinstance(nsnode, MappingNode):
                raise self.report(nsnode, f"{path}.namespaces", f"must be a mapping, not {_kind(nsnode)}",
                                  hint=f"e.g. {example}")  # fmt: skip
            for ns, (knode, vnode) in self.mapping(nsnode, f"{path}.namespaces", None).items():
                try:
                    spec.namespaces.append(self.namespace(ns, knode, vnode, _join(f"{path}.namespaces", ns)))
                except _Invalid:
                    continue

        def cluster_roles() -> None:
            if "clusterRoles" not in fields:
                return
            for cr, crnode, crpath in self.strings(fields["clusterRoles"][1], f"{path}.clusterRoles",
                                                   "clusterRoles: [view]"):  # fmt: skip
                try:
                    self.check(crnode, crpath, functools.partial(rbac.check_ref_name, "ClusterRole", cr))
                except _Invalid:
                    continue
                if cr not in spec.cluster_roles:
                    spec.cluster_roles.append(cr)

        def identity() -> None:
            self.check(name_node, f"{path}.name", functools.partial(naming.validate_identity, name, []))

        def auth() -> None:
            if "auth" not in fields:
                return
            anode = fields["auth"][1]
            value = self.string(anode, f"{path}.auth").lower()
            if value not in AUTH_KINDS:
                raise self.report(
                    anode,
                    f"{path}.auth",
                    f"must be x509 or token, not {_q(value)}",
                    hint="x509: a client certificate (the default); token: a ServiceAccount with short-lived tokens",
                )
            spec.auth = value

        def token_conflicts() -> None:
            """What a token identity cannot have, reported at the field's own line."""
            if spec.auth != "token":
                return
            why = {
                "groups": "a ServiceAccount's groups are fixed by Kubernetes (system:serviceaccounts and "
                "system:serviceaccounts:NAMESPACE)",
                "keyType": "a token identity has no key",
                "keySize": "a token identity has no key",
                "csr": "a token identity has no key or certificate request",
            }
            found = [key for key in why if key in fields]
            for key in found:
                self.report(
                    fields[key][0],
                    f"{path}.{key}",
                    f"does not go with auth: token: {why[key]}",
                    hint="grant the access itself (namespaces, clusterRoles), or use auth: x509"
                    if key == "groups"
                    else f"drop {key}, or use auth: x509",
                )
            if found:
                raise _Invalid()

        def allow_missing_roles() -> None:
            if "allowMissingRoles" not in fields:
                return
            anode = fields["allowMissingRoles"][1]
            value = self.scalar(anode, f"{path}.allowMissingRoles")
            if not isinstance(value, bool):
                raise self.report(anode, f"{path}.allowMissingRoles", f"must be true or false, not {_describe(value)}")
            spec.allow_missing_roles = value

        def csr() -> None:
            if "csr" not in fields or spec.auth == "token":  # token: reported by token_conflicts
                return
            cnode = fields["csr"][1]
            raw = self.string(cnode, f"{path}.csr")
            if "keyType" in fields or "keySize" in fields:
                raise self.report(cnode, f"{path}.csr", "the request carries the key: drop keyType/keySize")
            base = Path(self.file).parent if self.file not in ("<stdin>", "") else Path.cwd()
            file = Path(raw).expanduser()
            file = file if file.is_absolute() else base / file
            try:
                data = file.read_bytes()[: csrpolicy.MAX_CSR_BYTES + 1]
            except OSError as exc:
                raise self.report(cnode, f"{path}.csr", f"cannot read {file}: {exc.strerror or exc}") from None
            request = self.check(cnode, f"{path}.csr", lambda: csrpolicy.read(data, str(file)))
            violations = csrpolicy.check(request, user=name, groups=spec.groups if "groups" in fields else None)
            if violations:
                raise self.report(cnode, f"{path}.csr", f"{file}: {violations[0]}",
                                  hint="; ".join(str(v) for v in violations[1:]) or None)  # fmt: skip
            spec.csr_path, spec.csr_pem = str(file), request.pem
            spec.csr_public_key_sha256 = pki.public_key_fingerprint(request.csr)
            if "groups" not in fields:
                spec.groups = list(request.organizations)
            spec.key_type, spec.key_size = request.key_type, request.key_size

        parts = (identity, auth, token_conflicts, groups, lifetime, key_spec, namespaces, cluster_roles,
                 allow_missing_roles, csr)  # fmt: skip
        for part in parts:
            field_ok(part)
        if not ok:
            raise _Invalid()
        return spec

    def namespace(self, ns: str, key_node: Node, node: Node, path: str) -> NamespaceAccess:
        if len(ns) > 63 or not _DNS1123_LABEL.match(ns):
            raise self.report(
                key_node, path, f"{_q(ns)} is not a valid namespace name",
                hint="namespace names are lowercase letters, digits and '-', at most 63 characters",
            )  # fmt: skip
        grants = 'give rules, roles or clusterRoles, e.g. {rules: ["get,list:pods"]}'
        if isinstance(node, ScalarNode) and node.tag.endswith(":null"):
            raise self.report(key_node, path, "grants nothing", hint=grants)
        fields = self.mapping(node, path, NAMESPACE_FIELDS)
        found: dict[str, list[str]] = {"rules": [], "roles": [], "clusterRoles": []}
        bad = False
        checks: dict[str, Callable[[str], object]] = {
            "rules": rbac.parse_rule,
            "roles": lambda r: rbac.check_ref_name("Role", r),
            "clusterRoles": lambda c: rbac.check_ref_name("ClusterRole", c),
        }
        examples = {"rules": 'rules: ["get,list,watch:pods"]', "roles": "roles: [deployer]",
                    "clusterRoles": "clusterRoles: [view]"}  # fmt: skip
        for key, fn in checks.items():
            if key not in fields:
                continue
            try:
                items = self.strings(fields[key][1], f"{path}.{key}", examples[key])
            except _Invalid:
                bad = True
                continue
            for value, vnode, vpath in items:
                try:
                    self.check(vnode, vpath, functools.partial(fn, value))
                except _Invalid:
                    bad = True
                    continue
                if value not in found[key]:
                    found[key].append(value)
        if bad:
            raise _Invalid()
        if not any(found.values()):
            raise self.report(key_node, path, "grants nothing", hint=grants)
        return NamespaceAccess(ns, tuple(found["rules"]), tuple(found["roles"]), tuple(found["clusterRoles"]))


def _peek_name(node: Node) -> tuple[str | None, Node]:
    """The ``name`` of a user item, if it has a plain one (to catch duplicates even in invalid users)."""
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(k, ScalarNode) and k.value == "name" and isinstance(v, ScalarNode) and v.tag.endswith(":str"):
                return str(v.value), v
    return None, node


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, ScalarNode) and node.tag.endswith(":null"):
        return "empty"
    return f"the value {_q(str(node.value))}" if isinstance(node, ScalarNode) else "this"


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    return f"{type(value).__name__} {_q(value)}"


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_.:@+/-]{1,63}$")


def _q(value: Any, limit: int = 40) -> str:
    """``repr`` of a value from the file, cut to ``limit`` characters (messages stay one short line)."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    return repr(text) if isinstance(value, str) else text


def _join(path: str, key: str) -> str:
    """``path.key``, or ``path['odd key']`` for keys that are not plain words."""
    seg = key if _PLAIN_KEY.match(key) else f"[{_q(key)}]"
    if not path:
        return seg
    return f"{path}{seg}" if seg.startswith("[") else f"{path}.{seg}"


def _scalar_text(node: Node) -> str:
    return str(node.value) if isinstance(node, ScalarNode) else _kind(node)


def _oneline(text: str, limit: int = 200) -> str:
    """One line, no raw control characters, at most ``limit`` characters."""
    text = " ".join(text.split())
    text = "".join(c if unicodedata.category(c) not in ("Cc", "Cs") else f"\\x{ord(c):02x}" for c in text)
    return text if len(text) <= limit else text[:limit] + "…"


def _near(key: str, allowed: tuple[str, ...]) -> str | None:
    import difflib

    low = {a.lower(): a for a in allowed}
    if key.lower() in low:
        return low[key.lower()]
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.75)
    return close[0] if close else None
