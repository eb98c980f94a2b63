"""Bring your own key: the private key never leaves the person it identifies.

On the user's machine (no cluster access needed)::

    kubeuser request NAME [-g GROUP]...        → a key kept here (0600) + a PEM request to send
    kubeuser import FILE                       → the handout's certificate joined with its key

On the admin's machine, ``kubeuser create NAME --csr FILE --out FILE`` issues the certificate and
writes a *handout*: a kubeconfig with cluster (CA embedded), context and certificate, and no key.

Pending keys live in ``KUBEUSER_HOME/pending/<user>/<id>/`` (``key.pem`` 0600, ``request.pem``,
``meta.json``; directories 0700). ``request`` twice keeps both; ``import`` finds the one whose
public key the certificate carries, checks the certificate (issued by the handout's CA, CN and O
as requested, client auth, valid now), proves the cluster accepts it, merges user + context into
the kubeconfig (locked, atomic) and only then removes the pending requests of that user.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeuser import kubeconfig, naming, pki
from kubeuser.errors import (
    ConflictError,
    KubeconfigError,
    KubeuserError,
    NotFoundError,
    UnauthenticatedError,
    UsageError,
    VerificationError,
)
from kubeuser.gateway import Gateway, Identity
from kubeuser.progress import Reporter
from kubeuser.workflows import steps

KEY_FILE, REQUEST_FILE, META_FILE = "key.pem", "request.pem", "meta.json"

#: opens a gateway from a one-context kubeconfig dict (the real one uses the kubernetes client; tests swap it)
OpenGateway = Callable[[dict[str, Any], str, bytes | None], Gateway]


def pending_root() -> Path:
    return steps.kubeuser_home() / "pending"


# --------------------------------------------------------------------------- request


@dataclass
class RequestOptions:
    name: str
    groups: list[str] = field(default_factory=list)
    key_type: str = "ecdsa"
    key_size: int | None = None
    allow_system_names: bool = False


@dataclass
class RequestResult:
    user: str
    groups: list[str]
    csr_pem: bytes
    directory: Path
    key_type: str
    key_size: int | None
    public_key_sha256: str
    others_pending: int
    out: str | None = None  # where the CLI wrote the request (None or "-": stdout)

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "groups": self.groups,
            "keyType": self.key_type,
            "keySize": self.key_size,
            "publicKeySha256": self.public_key_sha256,
            "pendingDirectory": str(self.directory),
            "request": self.csr_pem.decode("ascii"),
            "otherPendingRequests": self.others_pending,
        }


def request(opts: RequestOptions, reporter: Reporter) -> RequestResult:
    """Generate a key here and the certificate request that goes to the admin. Talks to no cluster."""
    v = naming.validate_identity(opts.name, opts.groups, allow_system_names=opts.allow_system_names)
    for w in v.warnings:
        reporter.warn(w)
    kt, ks = pki.validate_key_spec(opts.key_type, opts.key_size)
    user_dir = pending_root() / naming.safe_id(v.user)
    others = len(_pending_dirs(user_dir))
    with reporter.step("Generate key") as s:
        key = pki.generate_key(kt, ks)
        csr_pem = pki.build_csr(key, v.user, v.groups)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        directory = user_dir / f"{stamp}-{secrets.token_hex(3)}"
        pki.write_private_key(directory / KEY_FILE, pki.key_to_pem(key))
        pki.write_public_file(directory / REQUEST_FILE, csr_pem)
        fingerprint = pki.public_key_fingerprint(key)
        meta = {"user": v.user, "groups": v.groups, "keyType": kt, "keySize": ks, "publicKeySha256": fingerprint}
        pki.write_public_file(directory / META_FILE, (json.dumps(meta, indent=1) + "\n").encode())
        s.detail = f"{kt}" + (f" {ks}" if ks else "") + f", kept in {directory} (0600)"
    return RequestResult(v.user, v.groups, csr_pem, directory, kt, ks, fingerprint, others)


def discard(directory: Path) -> None:
    """Remove one pending request (its key included)."""
    with contextlib.suppress(OSError):
        shutil.rmtree(directory)
    with contextlib.suppress(OSError):
        directory.parent.rmdir()


def _pending_dirs(user_dir: Path) -> list[Path]:
    try:
        return sorted(d for d in user_dir.iterdir() if (d / KEY_FILE).is_file())
    except OSError:
        return []


# --------------------------------------------------------------------------- import


@dataclass
class ImportOptions:
    handout: bytes
    source: str
    kubeconfig_path: str | None = None
    context_name: str | None = None
    set_current: bool = False


@dataclass
class ImportResult:
    user: str
    groups: list[str]
    serial: str
    not_after: str
    context: str
    kubeconfig: str
    identity: Identity
    removed_pending: list[str]
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "groups": self.groups,
            "serial": self.serial,
            "notAfter": self.not_after,
            "context": self.context,
            "kubeconfig": self.kubeconfig,
            "identity": {"username": self.identity.username, "method": self.identity.method},
            "removedPending": self.removed_pending,
        }


@dataclass
class _Handout:
    cluster_name: str
    cluster: dict[str, Any]
    context_name: str
    namespace: str | None
    cert_pem: bytes
    ca_pem: bytes | None


def _read_handout(data: bytes, source: str) -> _Handout:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{source} is not a kubeconfig (not UTF-8 text)") from None
    try:
        doc = kubeconfig.parse(text, source)
    except KubeconfigError as exc:
        raise UsageError(exc.message, hint="give the file your admin's `kubeuser create NAME --csr …` wrote") from None
    clusters, users, contexts = (doc.get(k) or [] for k in ("clusters", "users", "contexts"))
    if len(clusters) != 1 or len(users) != 1 or len(contexts) != 1:
        raise UsageError(
            f"{source} is not a kubeuser handout: it must hold exactly one cluster, user and context",
            hint="give the file `kubeuser create NAME --csr … --out FILE` wrote",
        )
    user = users[0].get("user") or {}
    if user.get("client-key-data") or user.get("client-key"):
        raise UsageError(
            f"{source} already holds a private key: it is a complete kubeconfig, not a handout for your own key",
            hint=f"use it as it is (KUBECONFIG={source})",
        )
    try:
        cert_pem = base64.b64decode(str(user.get("client-certificate-data") or ""), validate=True)
    except (binascii.Error, ValueError):
        cert_pem = b""
    if not cert_pem:
        raise UsageError(f"{source} holds no client certificate (client-certificate-data)")
    cluster = dict(clusters[0].get("cluster") or {})
    ca_pem: bytes | None = None
    if cluster.get("certificate-authority-data"):
        try:
            ca_pem = base64.b64decode(str(cluster["certificate-authority-data"]), validate=True)
        except (binascii.Error, ValueError):
            raise UsageError(f"{source}: the cluster's certificate-authority-data is not base64") from None
    ctx = contexts[0].get("context") or {}
    namespace = ctx.get("namespace")
    return _Handout(
        cluster_name=str(clusters[0].get("name") or ""),
        cluster=cluster,
        context_name=str(contexts[0].get("name") or ""),
        namespace=namespace if isinstance(namespace, str) and namespace else None,
        cert_pem=cert_pem,
        ca_pem=ca_pem,
    )


def _find_key(cert_pem: bytes, common_name: str) -> tuple[Path, bytes, dict[str, Any]]:
    """The pending key the certificate was issued for (NotFoundError if none on this machine)."""
    user_dir = pending_root() / naming.safe_id(common_name)
    for d in _pending_dirs(user_dir):
        key_pem = (d / KEY_FILE).read_bytes()
        try:
            if pki.cert_matches_key(cert_pem, key_pem):
                meta = json.loads((d / META_FILE).read_text())
                return d, key_pem, meta if isinstance(meta, dict) else {}
        except (KubeuserError, ValueError, OSError):
            continue
    raise NotFoundError(
        f"no pending key on this machine matches the certificate for {common_name!r}",
        hint=f"import on the machine where you ran `kubeuser request {common_name}` (its keys are under "
        f"{pending_root()}); a certificate issued for another request cannot be used",
    )


def import_handout(opts: ImportOptions, open_gateway: OpenGateway, reporter: Reporter) -> ImportResult:
    """Join the handout's certificate with the pending key, prove it works, merge it into the kubeconfig."""
    with reporter.step("Read the handout") as s:
        h = _read_handout(opts.handout, opts.source)
        info = pki.parse_cert(h.cert_pem)
        s.detail = f"certificate for {info.common_name!r} (serial {info.serial}), cluster {h.cluster_name}"
    with reporter.step("Find the pending key") as s:
        directory, key_pem, meta = _find_key(h.cert_pem, info.common_name)
        s.detail = str(directory)
    with reporter.step("Verify the certificate") as s:
        if h.ca_pem is None:
            raise VerificationError(
                f"{opts.source} carries no cluster CA (certificate-authority-data): the certificate cannot be checked",
                hint="ask your admin for a handout with the cluster CA embedded",
            )
        try:
            pki.verify_issued(
                h.cert_pem,
                pki.load_key_pem(key_pem),
                common_name=str(meta.get("user", info.common_name)),
                groups=[str(g) for g in meta.get("groups") or []],
                ca_pem=h.ca_pem,
            )
        except VerificationError as exc:
            raise VerificationError(
                f"the handout's certificate does not check out: {exc.message}",
                hint="it was altered, or the handout is for another cluster: ask your admin for a new one; "
                "nothing was changed (your key is still pending)",
            ) from None
        s.detail = (
            f"issued by the handout's cluster CA to {info.common_name}, valid until {info.not_after:%Y-%m-%d %H:%M} UTC"
        )

    context = opts.context_name or h.context_name or f"{info.common_name}@{h.cluster_name}"
    user_entry = context
    doc = kubeconfig.standalone(
        cluster_name=h.cluster_name,
        cluster=h.cluster,
        user_name=user_entry,
        user=kubeconfig.user_entry(h.cert_pem, key_pem),
        context_name=context,
        namespace=h.namespace,
    )
    destination = _destination(opts.kubeconfig_path)
    existing = _read_existing(destination)
    _check_names(existing, destination, h, context, user_entry, info.common_name)

    with reporter.step("Prove the cluster accepts it") as s:
        gw = open_gateway(doc, context, h.ca_pem)
        try:
            identity = gw.whoami()
        except UnauthenticatedError as exc:
            raise UnauthenticatedError(
                "the cluster does not accept the certificate (401); nothing was changed",
                hint="the handout may be for another cluster, or the API server trusts another CA: ask your admin "
                "(`kubeuser doctor` on their side)",
            ) from exc
        finally:
            gw.close()
        if identity.username is not None and identity.username != info.common_name:
            raise VerificationError(f"the cluster sees the certificate as {identity.username!r}")
        s.detail = (
            f"server says: {identity.username}"
            if identity.username
            else f"authenticated ({identity.method}; this server cannot name the user)"
        )

    with reporter.step("Write kubeconfig") as s:

        def mutate(d: dict[str, Any]) -> None:
            _check_names(d, destination, h, context, user_entry, info.common_name)
            if not kubeconfig.has_entry(d, "clusters", h.cluster_name):
                kubeconfig.set_entry(d, "clusters", h.cluster_name, h.cluster)
            kubeconfig.set_entry(d, "users", user_entry, doc["users"][0]["user"])
            kubeconfig.set_entry(d, "contexts", context, doc["contexts"][0]["context"])
            if opts.set_current:
                d["current-context"] = context

        notes = kubeconfig.update_file(destination, mutate)
        s.detail = f"context {context} in {destination}" + (" (current)" if opts.set_current else "")
    for note in notes:
        reporter.warn(note)

    removed: list[str] = []
    with reporter.step("Remove the pending request") as s:
        user_dir = directory.parent
        for d in _pending_dirs(user_dir):
            with contextlib.suppress(OSError):
                shutil.rmtree(d)
                removed.append(str(d))
        with contextlib.suppress(OSError):
            user_dir.rmdir()
        s.detail = f"{len(removed)} pending request(s) of {info.common_name} removed; the key is in the kubeconfig"
    return ImportResult(
        user=info.common_name,
        groups=list(info.groups),
        serial=info.serial,
        not_after=info.to_dict()["not_after"],
        context=context,
        kubeconfig=str(destination),
        identity=identity,
        removed_pending=removed,
        notes=list(notes),
    )


def _destination(kubeconfig_path: str | None) -> Path:
    """Where the entries go: --kubeconfig, else kubectl's rule (:meth:`KubeconfigSources.default_file`)."""
    if kubeconfig_path:  # like `kubectl config --kubeconfig FILE`: a missing file is created
        return Path(kubeconfig_path).expanduser().absolute()
    return kubeconfig.resolve_sources(None).default_file()


def _read_existing(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return kubeconfig.empty_config()
    except OSError as exc:
        raise KubeconfigError(f"cannot read kubeconfig {path}: {exc.strerror or exc}") from None
    return kubeconfig.parse(text, path) or kubeconfig.empty_config()


def _check_names(
    doc: dict[str, Any], destination: Path, h: _Handout, context: str, user_entry: str, common_name: str
) -> None:
    """Existing entries of the names the import writes must be this identity's own (an earlier import)."""
    for entry in doc.get("clusters") or []:
        if isinstance(entry, dict) and entry.get("name") == h.cluster_name:
            body = entry.get("cluster") or {}
            if body.get("server") != h.cluster.get("server") or (
                body.get("certificate-authority-data") != h.cluster.get("certificate-authority-data")
            ):
                raise ConflictError(
                    f"kubeconfig {destination} already has a cluster {h.cluster_name!r} with another server or CA; "
                    "the handout is for a different cluster of the same name",
                    hint="import into another file with --kubeconfig FILE; nothing was changed",
                )
    for entry in doc.get("users") or []:
        if isinstance(entry, dict) and entry.get("name") == user_entry:
            found = _cert_cn_and_issuer(entry.get("user") or {})
            if found is None or found[0] != common_name or h.ca_pem is None or not found[1](h.ca_pem):
                raise ConflictError(
                    f"kubeconfig {destination} already has a user {user_entry!r} that is not {common_name}'s "
                    "certificate from this cluster",
                    hint="choose another name with --context-name NAME; nothing was changed",
                )
    for entry in doc.get("contexts") or []:
        if isinstance(entry, dict) and entry.get("name") == context:
            body = entry.get("context") or {}
            if body.get("user") != user_entry or body.get("cluster") != h.cluster_name:
                raise ConflictError(
                    f"kubeconfig {destination} already has a context {context!r} for another user or cluster",
                    hint="choose another name with --context-name NAME; nothing was changed",
                )


def _cert_cn_and_issuer(user: dict[str, Any]) -> tuple[str, Callable[[bytes], bool]] | None:
    data = user.get("client-certificate-data")
    if not isinstance(data, str):
        return None
    try:
        pem = base64.b64decode(data)
        info = pki.parse_cert(pem)
    except (binascii.Error, ValueError, KubeuserError):
        return None

    return info.common_name, lambda ca_pem: pki.issued_by(pem, ca_pem)
