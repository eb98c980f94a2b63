"""Everything that reads or writes kubeconfig files.

This is the only module in kubeuser that touches kubeconfig files. It works on plain
dicts (the kubeconfig YAML structure) so unknown keys and entries survive a
read-modify-write untouched.

Reading follows kubectl's rules:

* ``--kubeconfig PATH`` -> exactly that file (it must exist);
* else ``$KUBECONFIG`` -> an ``os.pathsep`` list (empty entries ignored, duplicates
  dropped, missing files ignored for reading);
* else ``~/.kube/config``.

Several files are merged like kubectl does: for clusters/users/contexts the *first*
file defining a name wins (whole entry, no field-wise merge); scalar settings such as
``current-context`` come from the first file that sets them to a non-empty value.

Writing goes through :func:`update_file` (modify an existing kubeconfig under kubectl's
lock, atomically, keeping its mode and owner) or :func:`write_new` (create a standalone file);
both use :mod:`kubeuser.files`, which writes every file kubeuser writes.
"""

from __future__ import annotations

import base64
import binascii
import copy
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kubeuser import files
from kubeuser.errors import ConflictError, KubeconfigError

__all__ = [
    "INNER_KEYS",
    "KINDS",
    "KubeconfigSources",
    "LoadedKubeconfig",
    "ResolvedContext",
    "context_entry",
    "dump",
    "empty_config",
    "has_entry",
    "load",
    "parse",
    "remove_entry",
    "resolve_sources",
    "set_entry",
    "standalone",
    "update_file",
    "user_entry",
    "validate",
    "write_new",
]

#: kind (top-level list key) -> key of the inner dict of each named entry
INNER_KEYS: dict[str, str] = {"clusters": "cluster", "users": "user", "contexts": "context"}
KINDS: tuple[str, ...] = tuple(INNER_KEYS)

#: top-level (and preferences-level) lists whose entries are merged by ``name``
_NAMED_LISTS = frozenset({"clusters", "users", "contexts", "extensions"})

_MALFORMED_HINT = "fix or move the file; kubeuser did not change it"


def empty_config() -> dict[str, Any]:
    """The skeleton kubectl itself writes for a brand-new kubeconfig."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [],
        "users": [],
        "contexts": [],
        "current-context": "",
        "preferences": {},
    }


# --------------------------------------------------------------------------- sources


def _expand(raw: str, env: Mapping[str, str]) -> Path:
    """``~`` expansion (using *env*'s HOME) and absolutisation, without resolving symlinks."""
    if raw == "~" or raw.startswith("~/") or raw.startswith("~" + os.sep):
        home = env.get("HOME") or str(Path.home())
        raw = home + raw[1:]
    elif raw.startswith("~"):
        raw = os.path.expanduser(raw)
    return Path(os.path.abspath(raw))


def _default_path(env: Mapping[str, str]) -> Path:
    home = env.get("HOME") or str(Path.home())
    return Path(os.path.abspath(os.path.join(home, ".kube", "config")))


@dataclass(frozen=True)
class KubeconfigSources:
    """Which kubeconfig files are in play, in precedence order."""

    paths: list[Path]
    explicit: bool  # True when from --kubeconfig

    def existing(self) -> list[Path]:
        """The paths that currently exist (the ones that are read)."""
        return [p for p in self.paths if p.exists()]

    def default_file(self) -> Path:
        """Where kubectl writes a *new* entry (client-go's ``GetDefaultFilename``): ``--kubeconfig``; else
        the first file of ``$KUBECONFIG`` that exists (an empty one counts), else its last one; else
        ``~/.kube/config``."""
        if self.explicit or len(self.paths) == 1:
            return self.paths[0]
        existing = self.existing()
        return existing[0] if existing else self.paths[-1]


def resolve_sources(kubeconfig: str | None, env: Mapping[str, str] | None = None) -> KubeconfigSources:
    """Apply kubectl's precedence rules to find the kubeconfig file(s)."""
    env = os.environ if env is None else env
    if kubeconfig is not None and kubeconfig != "":
        path = _expand(kubeconfig, env)
        if not path.exists():
            raise KubeconfigError(
                f"kubeconfig {path} does not exist",
                hint="check the --kubeconfig path (it must name an existing file)",
            )
        if path.is_dir():
            raise KubeconfigError(
                f"kubeconfig {path} is a directory, not a file", hint="pass the path of the kubeconfig file"
            )
        return KubeconfigSources(paths=[path], explicit=True)

    env_value = env.get("KUBECONFIG", "")
    paths: list[Path] = []
    for raw in env_value.split(os.pathsep):
        if not raw:
            continue
        path = _expand(raw, env)
        if path not in paths:
            paths.append(path)
    if not paths:  # KUBECONFIG unset, empty, or only separators
        paths = [_default_path(env)]
    return KubeconfigSources(paths=paths, explicit=False)


# --------------------------------------------------------------------------- parsing / validation


def _is_empty(value: Any) -> bool:
    """mergo's notion of "empty": such values never override anything."""
    if isinstance(value, (str, list, dict, bool, int, float)):
        return not value
    return value is None


def _malformed(path: Path | str, problem: str) -> KubeconfigError:
    return KubeconfigError(f"kubeconfig {path} is malformed: {problem}", hint=_MALFORMED_HINT)


def parse(text: str, path: Path | str = "<kubeconfig>") -> dict[str, Any]:
    """Parse and validate kubeconfig text; ``{}`` for an empty document.

    Raises :class:`KubeconfigError` naming *path* (and line:column for YAML errors).
    """
    try:
        doc = _safe_load(text)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow; its own message spans lines
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        what = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(str(exc.character))[:12]
        raise KubeconfigError(
            f"kubeconfig {path}:{line}: invalid YAML: character {what} is not allowed", hint=_MALFORMED_HINT
        ) from None
    except RecursionError:
        raise KubeconfigError(f"kubeconfig {path}: invalid YAML: nested too deeply", hint=_MALFORMED_HINT) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = exc.problem or exc.context or "invalid YAML"
        raise KubeconfigError(f"kubeconfig {where}: invalid YAML: {problem}", hint=_MALFORMED_HINT) from exc
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())[:120]
        raise KubeconfigError(f"kubeconfig {path}: invalid YAML: {first}", hint=_MALFORMED_HINT) from exc
    if doc is None:
        return {}
    validate(doc, path)
    assert isinstance(doc, dict)
    return doc


def _safe_load(text: str) -> Any:
    """``yaml.safe_load``, through libyaml's parser when PyYAML has it: the same constructor and result, about
    15 times faster on a large kubeconfig. On an error the pure-Python loader reads the text again, so that the
    message and its line:column are always the same ones."""
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is not None:
        try:
            return yaml.load(text, Loader=loader)  # CSafeLoader: the safe loader, in C
        except (yaml.YAMLError, ValueError):  # ValueError: e.g. a lone surrogate libyaml cannot encode
            pass
    return yaml.safe_load(text)


def validate(doc: Any, path: Path | str = "<kubeconfig>") -> None:
    """Check the structure kubectl insists on; raise :class:`KubeconfigError` otherwise."""
    if not isinstance(doc, dict):
        raise _malformed(path, f"the top level is a {_type_name(doc)}, not a mapping")
    for key in doc:
        if not isinstance(key, str):
            raise _malformed(path, f"top-level key {key!r} is not a string")
    for kind, inner in INNER_KEYS.items():
        entries = doc.get(kind)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise _malformed(path, f"'{kind}' must be a list, not a {_type_name(entries)}")
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise _malformed(path, f"{kind}[{index}] must be a mapping, not a {_type_name(entry)}")
            name = entry.get("name", "")
            if name is None:
                name = ""
            if not isinstance(name, str):
                raise _malformed(path, f"{kind}[{index}].name must be a string, not a {_type_name(name)}")
            if name in seen:
                raise _malformed(path, f"duplicate name {name!r} in '{kind}'")
            seen.add(name)
            body = entry.get(inner)
            if body is not None and not isinstance(body, dict):
                raise _malformed(
                    path, f"{kind}[{index}] ({name!r}).{inner} must be a mapping, not a {_type_name(body)}"
                )
    current = doc.get("current-context")
    if current is not None and not isinstance(current, str):
        raise _malformed(path, f"'current-context' must be a string, not a {_type_name(current)}")
    prefs = doc.get("preferences")
    if prefs is not None and not isinstance(prefs, dict):
        raise _malformed(path, f"'preferences' must be a mapping, not a {_type_name(prefs)}")


def _type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


def _read_text(path: Path) -> str | None:
    """File contents, or None if the file does not exist."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise KubeconfigError(
            f"kubeconfig {path} is a directory, not a file", hint="fix KUBECONFIG / --kubeconfig"
        ) from None
    except UnicodeDecodeError as exc:
        raise _malformed(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise KubeconfigError(
            f"cannot read kubeconfig {path}: {exc.strerror or exc}",
            hint="check the file's permissions",
        ) from exc


# --------------------------------------------------------------------------- loading / merging


def _entry_name(entry: dict[str, Any]) -> str:
    name = entry.get("name")
    return name if isinstance(name, str) else ""


def _merge_named(target: list[Any], seen: set[str], entries: list[Any]) -> list[str]:
    """Append entries whose name is not yet in *seen*; return the names added."""
    added: list[str] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        name = _entry_name(entry)
        if name in seen:
            continue
        seen.add(name)
        target.append(copy.deepcopy(entry))
        added.append(name)
    return added


def _merge_mapping(
    target: dict[str, Any], named_seen: dict[str, set[str]], doc: Mapping[str, Any], prefix: str = ""
) -> None:
    """Merge one lower-priority mapping into *target* (values already there win).

    Named lists (clusters/users/contexts/extensions) merge per ``name``, first wins;
    nested mappings (preferences) merge key by key; anything else is taken from the
    first document that sets it to a non-empty value (mergo's ``WithOverride``).
    """
    for key, value in doc.items():
        seen_key = f"{prefix}{key}"
        if key in _NAMED_LISTS and isinstance(value, list):
            existing = target.get(key)
            if not isinstance(existing, list):
                existing = target[key] = []
            seen = named_seen.setdefault(seen_key, {_entry_name(e) for e in existing if isinstance(e, dict)})
            _merge_named(existing, seen, value)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_mapping(target[key], named_seen, value, prefix=f"{seen_key}.")
        elif key not in target or (_is_empty(target[key]) and not _is_empty(value)):
            target[key] = copy.deepcopy(value)


@dataclass(frozen=True)
class ResolvedContext:
    """A context together with the cluster and user it points at."""

    name: str
    cluster_name: str
    user_name: str
    namespace: str | None
    cluster: dict[str, Any]  # the cluster entry's inner dict
    user: dict[str, Any]  # the user entry's inner dict
    cluster_origin: Path | None = None  # file that defined the cluster (for relative paths)
    user_origin: Path | None = None  # file that defined the user

    def server(self) -> str:
        server = self.cluster.get("server")
        if not isinstance(server, str) or not server:
            raise KubeconfigError(
                f"cluster {self.cluster_name!r} (context {self.name!r}) has no server URL",
                hint=f"set it with: kubectl config set-cluster {self.cluster_name} --server=https://HOST:6443",
            )
        return server

    def ca_pem(self) -> bytes | None:
        """The cluster CA bundle (``certificate-authority-data`` or the ``certificate-authority`` file)."""
        return _ca_pem(self.cluster, self.cluster_name, self.cluster_origin)

    def embedded_cluster(self) -> dict[str, Any]:
        """A copy of the cluster dict with a CA *file* replaced by ``certificate-authority-data``."""
        origin = self.cluster_origin
        base = origin.parent if origin is not None else None
        return _embed_files(self.cluster, _CLUSTER_FILE_KEYS, base, f"cluster {self.cluster_name!r}", origin)

    def embedded_user(self) -> dict[str, Any]:
        """A copy of the user dict with ``client-certificate``/``client-key`` files embedded as data."""
        origin = self.user_origin
        base = origin.parent if origin is not None else None
        return _embed_files(self.user, _USER_FILE_KEYS, base, f"user {self.user_name!r}", origin)

    def client_config(self) -> dict[str, Any]:
        """A minimal self-contained kubeconfig (this context only, files embedded) for an API client."""
        ctx: dict[str, Any] = {"cluster": self.cluster_name, "user": self.user_name}
        if self.namespace:
            ctx["namespace"] = self.namespace
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": self.cluster_name, "cluster": self.embedded_cluster()}],
            "users": [{"name": self.user_name, "user": self.embedded_user()}],
            "contexts": [{"name": self.name, "context": ctx}],
            "current-context": self.name,
        }

    def client_certificate_pem(self) -> bytes | None:
        """The context's client certificate (PEM), or None for token/exec/other users."""
        data = self.embedded_user().get("client-certificate-data")
        return decode_b64(data, f"client-certificate-data of user {self.user_name!r}") if data else None


_CLUSTER_FILE_KEYS = {"certificate-authority": "certificate-authority-data"}
_USER_FILE_KEYS = {"client-certificate": "client-certificate-data", "client-key": "client-key-data"}


def resolve_ref(ref: str, base: Path | None) -> Path:
    """A file reference as kubectl resolves it: relative to the defining kubeconfig's directory."""
    path = Path(os.path.expanduser(ref))
    if not path.is_absolute():
        path = (base if base is not None else Path.cwd()) / path
    return path


def read_ref(ref: str, base: Path | None, what: str, origin: Path | None = None) -> bytes:
    path = resolve_ref(ref, base)
    try:
        return path.read_bytes()
    except OSError as exc:
        where = f" (referenced from {origin})" if origin is not None else ""
        raise KubeconfigError(
            f"cannot read {what} file {path}{where}: {exc.strerror or exc}",
            hint="fix the path in the kubeconfig or embed the data (*-data fields)",
        ) from exc


def decode_b64(value: Any, what: str) -> bytes:
    """A ``*-data`` field's bytes; :class:`KubeconfigError` ("*what* is not valid base64") otherwise."""
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise KubeconfigError(f"{what} is not a base64 string", hint=_MALFORMED_HINT)
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KubeconfigError(f"{what} is not valid base64", hint=_MALFORMED_HINT) from exc


def _ca_pem(cluster: Mapping[str, Any], cluster_name: str, origin: Path | None) -> bytes | None:
    data = cluster.get("certificate-authority-data")
    if data:
        return decode_b64(data, f"certificate-authority-data of cluster {cluster_name!r}")
    ref = cluster.get("certificate-authority")
    if isinstance(ref, str) and ref:
        base = origin.parent if origin is not None else None
        return read_ref(ref, base, f"certificate-authority of cluster {cluster_name!r}", origin)
    return None


def _embed_files(
    body: Mapping[str, Any], keys: Mapping[str, str], base: Path | None, what: str, origin: Path | None = None
) -> dict[str, Any]:
    """Copy of *body* with file references (*keys*) replaced by their base64 ``*-data``."""
    out = copy.deepcopy(dict(body))
    for file_key, data_key in keys.items():
        ref = out.get(file_key)
        if not isinstance(ref, str) or not ref:
            out.pop(file_key, None)
            continue
        if not out.get(data_key):
            content = read_ref(ref, base, f"{file_key} of {what}", origin)
            out[data_key] = base64.b64encode(content).decode("ascii")
        del out[file_key]
    return out


@dataclass
class LoadedKubeconfig:
    """The merged view of all kubeconfig files, plus where each entry came from."""

    sources: KubeconfigSources
    merged: dict[str, Any]
    origin: dict[tuple[str, str], Path]  # ("clusters"|"users"|"contexts", name) -> defining file
    current_context_origin: Path | None
    documents: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)  # files actually read

    @property
    def current_context(self) -> str | None:
        value = self.merged.get("current-context")
        return value if isinstance(value, str) and value else None

    def names(self, kind: str) -> list[str]:
        """Names defined for *kind* in the merged view, in merge order."""
        _check_kind(kind)
        return [_entry_name(e) for e in self.merged.get(kind) or [] if isinstance(e, dict)]

    def entry(self, kind: str, name: str) -> dict[str, Any] | None:
        """The inner dict of a merged entry (``None`` if not defined)."""
        _check_kind(kind)
        for e in self.merged.get(kind) or []:
            if isinstance(e, dict) and _entry_name(e) == name:
                body = e.get(INNER_KEYS[kind])
                return body if isinstance(body, dict) else {}
        return None

    def context(self, name: str | None = None) -> ResolvedContext:
        where = self._where()
        if name is None or name == "":
            name = self.current_context
            if name is None:
                raise KubeconfigError(
                    f"no current context set in {where}",
                    hint="pass --context NAME or run: kubectl config use-context NAME" + self._available_hint(),
                )
        body = self.entry("contexts", name)
        if body is None:
            raise KubeconfigError(
                f"context {name!r} not found in {where}",
                hint="pick an existing context" + self._available_hint(),
            )
        cluster_name = body.get("cluster")
        user_name = body.get("user")
        origin = self.origin.get(("contexts", name))
        if not isinstance(cluster_name, str) or not cluster_name:
            raise KubeconfigError(
                f"context {name!r} (in {origin}) does not name a cluster",
                hint=f"set one with: kubectl config set-context {name} --cluster=CLUSTER",
            )
        if not isinstance(user_name, str) or not user_name:
            raise KubeconfigError(
                f"context {name!r} (in {origin}) does not name a user",
                hint=f"set one with: kubectl config set-context {name} --user=USER",
            )
        cluster = self.entry("clusters", cluster_name)
        if cluster is None:
            raise KubeconfigError(
                f"context {name!r} refers to cluster {cluster_name!r}, which is not defined in {where}",
                hint="add the cluster (kubectl config set-cluster) or fix the context",
            )
        user = self.entry("users", user_name)
        if user is None:
            raise KubeconfigError(
                f"context {name!r} refers to user {user_name!r}, which is not defined in {where}",
                hint="add the user (kubectl config set-credentials) or fix the context",
            )
        namespace = body.get("namespace")
        return ResolvedContext(
            name=name,
            cluster_name=cluster_name,
            user_name=user_name,
            namespace=namespace if isinstance(namespace, str) and namespace else None,
            cluster=copy.deepcopy(cluster),
            user=copy.deepcopy(user),
            cluster_origin=self.origin.get(("clusters", cluster_name)),
            user_origin=self.origin.get(("users", user_name)),
        )

    def destination(self, *, names: Iterable[tuple[str, str]] = ()) -> Path:
        """The file a modification should go to: what ``kubectl config set-*`` picks (client-go's
        ``ModifyConfig``).

        An entry that already exists is changed where it is defined (the first of *names*, ``(kind, name)``
        pairs, that is defined wins); a new one goes to :meth:`KubeconfigSources.default_file`.
        """
        for key in names:
            found = self.origin.get(key)
            if found is not None:
                return found
        return self.sources.default_file()

    def _where(self) -> str:
        paths = [str(p) for p, _ in self.documents] or [str(p) for p in self.sources.paths]
        return ", ".join(paths)

    def _available_hint(self) -> str:
        names = self.names("contexts")
        if not names:
            return " (no contexts are defined)"
        shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
        return f" (available: {shown})"


def load(kubeconfig: str | None = None, env: Mapping[str, str] | None = None) -> LoadedKubeconfig:
    """Read and merge the kubeconfig file(s) selected by kubectl's rules."""
    sources = resolve_sources(kubeconfig, env)
    documents: list[tuple[Path, dict[str, Any]]] = []
    for path in sources.paths:
        text = _read_text(path)
        if text is None:
            if sources.explicit:
                raise KubeconfigError(f"kubeconfig {path} does not exist", hint="check the --kubeconfig path")
            continue
        documents.append((path, parse(text, path)))
    if not documents:
        listed = ", ".join(str(p) for p in sources.paths)
        raise KubeconfigError(
            f"no kubeconfig found (looked for {listed})",
            hint="pass --kubeconfig PATH, set KUBECONFIG, or put your admin kubeconfig at ~/.kube/config",
        )

    merged: dict[str, Any] = {}
    named_seen: dict[str, set[str]] = {}
    origin: dict[tuple[str, str], Path] = {}
    current_origin: Path | None = None
    for path, doc in documents:
        for kind in KINDS:
            entries = doc.get(kind)
            if isinstance(entries, list):
                for entry in entries:
                    origin.setdefault((kind, _entry_name(entry)), path)
        current = doc.get("current-context")
        if current_origin is None and isinstance(current, str) and current:
            current_origin = path
        _merge_mapping(merged, named_seen, doc)
    merged.setdefault("apiVersion", "v1")
    merged.setdefault("kind", "Config")
    for kind in KINDS:
        if merged.get(kind) is None:
            merged[kind] = []
    if merged.get("current-context") is None:
        merged["current-context"] = ""
    if merged.get("preferences") is None:
        merged["preferences"] = {}
    return LoadedKubeconfig(
        sources=sources,
        merged=merged,
        origin=origin,
        current_context_origin=current_origin,
        documents=documents,
    )


# --------------------------------------------------------------------------- entry helpers


def _check_kind(kind: str) -> None:
    if kind not in INNER_KEYS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")


def set_entry(doc: dict[str, Any], kind: str, name: str, body: dict[str, Any]) -> None:
    """Replace (in place, keeping its position) or append the entry *name* of *kind*."""
    _check_kind(kind)
    new = {"name": name, INNER_KEYS[kind]: body}
    entries = doc.get(kind)
    if not isinstance(entries, list):
        doc[kind] = [new]
        return
    replaced = False
    kept: list[Any] = []
    for entry in entries:
        if isinstance(entry, dict) and _entry_name(entry) == name:
            if not replaced:
                kept.append(new)
                replaced = True
            continue
        kept.append(entry)
    if not replaced:
        kept.append(new)
    entries[:] = kept


def remove_entry(doc: dict[str, Any], kind: str, name: str) -> bool:
    """Remove the entry *name* of *kind*; True if something was removed."""
    _check_kind(kind)
    entries = doc.get(kind)
    if not isinstance(entries, list):
        return False
    kept = [e for e in entries if not (isinstance(e, dict) and _entry_name(e) == name)]
    removed = len(kept) != len(entries)
    entries[:] = kept
    return removed


def has_entry(doc: dict[str, Any], kind: str, name: str) -> bool:
    _check_kind(kind)
    entries = doc.get(kind)
    if not isinstance(entries, list):
        return False
    return any(isinstance(e, dict) and _entry_name(e) == name for e in entries)


def user_entry(cert_pem: bytes, key_pem: bytes) -> dict[str, Any]:
    return {
        "client-certificate-data": base64.b64encode(cert_pem).decode("ascii"),
        "client-key-data": base64.b64encode(key_pem).decode("ascii"),
    }


def certificate_only_entry(cert_pem: bytes) -> dict[str, Any]:
    """A user entry with the certificate and no key (a bring-your-own-key handout: ``kubeuser import`` adds it)."""
    return {"client-certificate-data": base64.b64encode(cert_pem).decode("ascii")}


def context_entry(cluster: str, user: str, namespace: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"cluster": cluster, "user": user}
    if namespace:
        body["namespace"] = namespace
    return body


def standalone(
    *,
    cluster_name: str,
    cluster: dict[str, Any],
    user_name: str,
    user: dict[str, Any],
    context_name: str,
    namespace: str | None,
    base_dir: Path | None = None,
) -> dict[str, Any]:
    """A complete, self-contained kubeconfig with one cluster, user and context.

    File references (``certificate-authority``, ``client-certificate``, ``client-key``) are
    embedded as ``*-data``; relative ones resolve against *base_dir* (default: the cwd).
    Pass ``ResolvedContext.embedded_cluster()`` to resolve against the defining kubeconfig.
    """
    cluster_body = _embed_files(cluster, _CLUSTER_FILE_KEYS, base_dir, f"cluster {cluster_name!r}")
    user_body = _embed_files(user, _USER_FILE_KEYS, base_dir, f"user {user_name!r}")
    doc = empty_config()
    doc["clusters"] = [{"name": cluster_name, "cluster": cluster_body}]
    doc["users"] = [{"name": user_name, "user": user_body}]
    doc["contexts"] = [{"name": context_name, "context": context_entry(cluster_name, user_name, namespace)}]
    doc["current-context"] = context_name
    return doc


def dump(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, default_flow_style=False, sort_keys=False)


# --------------------------------------------------------------------------- writing
#
# All file writing (atomic replace, modes, symlinks, kubectl's lock) is kubeuser.files; this
# module only decides what goes into a kubeconfig.


def update_file(path: Path, mutate: Callable[[dict[str, Any]], None]) -> list[str]:
    """The single kubeconfig writer: lock, re-read, validate, mutate, atomically replace.

    Takes kubectl's lock (``PATH.lock``, see :mod:`kubeuser.files`) for the whole
    read-modify-write. A missing file starts from :func:`empty_config` and is created 0600 (a
    missing directory 0700). An existing file keeps its mode and owner, except that the bits for
    others are removed. If the existing file is malformed or *mutate* raises, nothing is written.
    A symlinked *path* is written through to its target (the link stays).

    Returns notes for the user (normally none), e.g. that a world-readable file was tightened.
    """
    path = _expand(str(path), os.environ)
    target = files.resolve(path)
    files.ensure_dir(target.parent, files.KUBECONFIG)
    with files.kubectl_lock(path):
        text = _read_text(target)
        doc = empty_config() if text is None else parse(text, target)
        if text is not None and not doc:  # an empty file
            doc = empty_config()
        mutate(doc)
        validate(doc, target)
        data = dump(doc).encode("utf-8")
        return files.write(target, data, kind=files.KUBECONFIG, mode=0o600, replace=True, keep_attrs=True)


def write_new(path: Path, doc: dict[str, Any], *, force: bool = False) -> None:
    """Write a standalone kubeconfig atomically (mode 0600; directory 0700 if created).

    Refuses to replace an existing file (or symlink) unless *force*; the check is atomic (the file
    is published with a hard link, which fails if something appeared meanwhile). Takes kubectl's
    lock like :func:`update_file`. Problems with the path are :class:`~kubeuser.errors.UsageError`
    (it is the user's ``--out``), an existing file :class:`ConflictError`.
    """
    path = _expand(str(path), os.environ)
    kind = files.OUTPUT_KUBECONFIG
    if not force and os.path.lexists(path):
        raise _exists(path)
    target = files.resolve(path)
    if target.is_dir():
        raise kind.error(f"{files.show(target)} is a directory", hint="pass a file path")
    validate(doc, target)
    files.ensure_dir(target.parent, kind)
    with files.kubectl_lock(path):
        try:
            files.write(path, dump(doc).encode("utf-8"), kind=kind, mode=0o600, replace=force)
        except ConflictError:
            raise _exists(path) from None


def _exists(path: Path) -> ConflictError:
    return ConflictError(f"{files.show(path)} already exists", hint="pass --force to overwrite it")
