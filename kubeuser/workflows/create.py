"""``kubeuser create``: onboard one user end to end, and prove the result works.

validate → (preflight) → key → CSR → approve → wait → verify → prove authentication →
RBAC → registry → kubeconfig → access summary. Every failure after the CSR exists undoes
what this run created (CSR, RBAC objects, registry record) or says what is left.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeuser import kubeconfig, naming, pki, rbac, registry, rolecheck
from kubeuser.connect import Target
from kubeuser.csr import csr_manifest
from kubeuser.errors import (
    ConflictError,
    KubeuserError,
    NotFoundError,
    UnauthenticatedError,
    UsageError,
)
from kubeuser.gateway import Gateway, Identity, ServerVersion
from kubeuser.progress import Reporter
from kubeuser.workflows.issue import IssuedCertificate, issue
from kubeuser.workflows.preflight import require_onboarding_permissions

DEFAULT_TTL = 30 * 86400
DEFAULT_TIMEOUT = 60.0


@dataclass
class CreateOptions:
    name: str
    groups: list[str] = field(default_factory=list)
    ttl_seconds: int = DEFAULT_TTL
    namespace: str | None = None
    rules: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    cluster_roles: list[str] = field(default_factory=list)
    cluster_wide: bool = False
    key_type: str = "ecdsa"
    key_size: int | None = None
    out: str | None = None  # a path, or "-" for stdout
    context_name: str | None = None
    set_current: bool = False
    allow_system_names: bool = False
    force: bool = False
    timeout: float = DEFAULT_TIMEOUT
    registry_namespace: str | None = None
    key_dir: Path | None = None  # where client.key/client.crt go; None → kubeuser_home()/CLUSTER/USER
    write_key_files: bool = True
    issued_by: str | None = None  # who issues (default: asked from the server); batch callers ask once
    allow_missing_roles: bool = False  # bind --role/--clusterrole names that do not exist (yet): a warning


@dataclass
class Plan:
    user: str
    groups: list[str]
    ttl_seconds: int
    key_type: pki.KeyType
    key_size: int | None
    rbac: rbac.RbacRequest
    warnings: list[str]


def plan(opts: CreateOptions, default_namespace: str) -> Plan:
    """Validate everything that needs no cluster. Raises UsageError; touches nothing."""
    v = naming.validate_identity(opts.name, opts.groups, allow_system_names=opts.allow_system_names)
    key_type, key_size = pki.validate_key_spec(opts.key_type, opts.key_size)
    namespace = opts.namespace or default_namespace
    req = rbac.build_request(namespace, opts.rules, opts.roles, opts.cluster_roles, opts.cluster_wide)
    check_timeout(opts.timeout)
    return Plan(v.user, v.groups, opts.ttl_seconds, key_type, key_size, req, list(v.warnings))


def check_timeout(seconds: float) -> float:
    if not math.isfinite(seconds) or seconds <= 0:
        raise UsageError("--timeout must be a positive number of seconds", hint="e.g. --timeout 60")
    return seconds


def kubeuser_home(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    if env.get("KUBEUSER_HOME"):
        return Path(env["KUBEUSER_HOME"]).expanduser()
    return Path(env.get("HOME") or Path.home()) / ".kube" / "kubeuser"


def key_dir_for(cluster: str, user: str) -> Path:
    return kubeuser_home() / naming.safe_id(cluster) / naming.safe_id(user)


def names_for(user: str, cluster: str, context_name: str | None) -> tuple[str, str]:
    """(kubeconfig user entry name, context name)."""
    entry = f"{user}@{cluster}"
    return entry, context_name or entry


def dry_run_manifests(p: Plan) -> list[dict[str, Any]]:
    """The CSR and RBAC objects ``create`` would send (the CSR carries a throwaway key's request)."""
    key = pki.generate_key(p.key_type, p.key_size)
    csr = csr_manifest(
        naming.csr_name(p.user),
        pki.build_csr(key, p.user, p.groups),
        usages=pki.usages_for(key),
        expiration_seconds=p.ttl_seconds,
        labels=naming.managed_labels(p.user),
        annotations=naming.managed_annotations(p.user, p.groups),
    )
    return [csr, *rbac.objects_for(p.user, p.groups, p.rbac)]


@dataclass
class CreateResult:
    user: str
    groups: list[str]
    cluster: str
    server: str
    server_version: str
    namespace: str
    issued: IssuedCertificate
    context: str
    kubeconfig: str | None  # the file merged into
    out: str | None  # standalone file written ("-" → printed)
    standalone_yaml: str | None
    key_file: str | None
    cert_file: str | None
    rbac_objects: list[dict[str, Any]]
    identity: Identity
    access: list[str]
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        info = self.issued.info
        return {
            "user": self.user,
            "groups": self.groups,
            "cluster": self.cluster,
            "server": self.server,
            "serverVersion": self.server_version,
            "namespace": self.namespace,
            "csrName": self.issued.csr_name,
            "serial": info.serial,
            "notBefore": info.to_dict()["not_before"],
            "notAfter": info.to_dict()["not_after"],
            "requestedSeconds": self.issued.lifetime.requested_seconds,
            "grantedSeconds": self.issued.lifetime.granted_seconds,
            "lifetime": self.issued.lifetime.verdict,
            "issuer": info.issuer,
            "chainVerified": self.issued.chain_verified,
            "context": self.context,
            "kubeconfig": self.kubeconfig,
            "out": self.out,
            "keyFile": self.key_file,
            "certFile": self.cert_file,
            "rbac": [
                {
                    "kind": o["kind"],
                    "name": o["metadata"]["name"],
                    "namespace": o["metadata"].get("namespace"),
                    **({"roleRef": o["roleRef"]} if "roleRef" in o else {}),
                }
                for o in self.rbac_objects
            ],
            "identity": {
                "username": self.identity.username,
                "groups": list(self.identity.groups),
                "method": self.identity.method,
            },
            "access": self.access,
            "warnings": self.warnings,
        }


def admin_identity(gw: Gateway, target: Target, version: ServerVersion) -> str:
    """Who is issuing: the server's word where it has SelfSubjectReview, else the admin cert's CN."""
    try:
        if version.at_least(1, 27):
            ident = gw.whoami()
            if ident.username:
                return ident.username
    except KubeuserError:
        pass
    cert_pem = target.ctx.client_certificate_pem()
    if cert_pem:
        try:
            return pki.parse_cert(cert_pem).common_name
        except KubeuserError:
            pass
    return f"kubeconfig user {target.ctx.user_name}"


def preflight(gw: Gateway, p: Plan, registry_ns: str) -> None:
    """Cheap permission checks (SelfSubjectAccessReviews, in parallel) before anything is created.

    One implementation with ``kubeuser preflight`` (same messages): ForbiddenError names the first
    missing permission, its hint lists all of them.
    """
    require_onboarding_permissions(gw, registry_ns, rbac.objects_for(p.user, p.groups, p.rbac))


def create(
    opts: CreateOptions,
    target: Target,
    gw: Gateway,
    reporter: Reporter,
    *,
    skip_preflight: bool = False,
    check_roles: bool = True,  # False: the caller checked already (apply checks all users at once)
) -> CreateResult:
    p = plan(opts, target.namespace)
    for w in p.warnings:
        reporter.warn(w)
    cluster = target.ctx.cluster_name
    user_entry_name, context_name = names_for(p.user, cluster, opts.context_name)
    reg = registry.Registry(gw, registry.namespace_from(opts.registry_namespace))

    # -- checks that change nothing --------------------------------------------------------
    destination: Path | None = None
    if opts.out is None:
        destination = target.loaded.destination(names=[("users", user_entry_name), ("contexts", context_name)])
        if not opts.force:
            for kind, n in (("users", user_entry_name), ("contexts", context_name)):
                if target.loaded.entry(kind, n) is not None:
                    raise ConflictError(
                        f"kubeconfig {target.loaded.origin.get((kind, n), destination)} already has {kind[:-1]} {n!r}",
                        hint=f"`kubeuser create {p.user} --force` reissues it, `kubeuser revoke {p.user}` "
                        "removes it, or choose --context-name",
                    )
    elif opts.out != "-" and Path(opts.out).expanduser().exists() and not opts.force:
        raise ConflictError(f"{opts.out} already exists", hint="use --force to overwrite it, or another --out")

    with reporter.step("Connect") as s:
        version = gw.version()
        s.detail = f"{gw.server} ({version.git_version})"
    if not skip_preflight:
        with reporter.step("Check permissions") as s:
            preflight(gw, p, reg.namespace)
            s.detail = "may create and approve CSRs" + (", RBAC" if not p.rbac.empty else "")
    namespaced = any(o["metadata"].get("namespace") for o in rbac.objects_for(p.user, p.groups, p.rbac))
    if namespaced and gw.get_object("Namespace", p.rbac.namespace) is None:
        raise NotFoundError(
            f"namespace {p.rbac.namespace!r} does not exist",
            hint=f"create it (kubectl create namespace {p.rbac.namespace}) or pick another with -n",
        )
    if check_roles:
        objs = rbac.objects_for(p.user, p.groups, p.rbac)
        p.warnings += rolecheck.require_roles_exist(gw, objs, allow_missing=opts.allow_missing_roles, reporter=reporter)
    existing = reg.get(p.user)
    if existing is not None and existing[0].status == "active" and not opts.force:
        rec = existing[0]
        raise ConflictError(
            f"user {p.user!r} already exists (certificate {rec.certificate.serial}, valid until "
            f"{rec.certificate.not_after})",
            hint=f"`kubeuser renew {p.user}` for a new certificate, `--force` to reissue, "
            f"`kubeuser revoke {p.user}` to remove",
        )
    issued_by = opts.issued_by or admin_identity(gw, target, version)

    # -- the certificate -------------------------------------------------------------------
    with reporter.step("Generate key") as s:
        key = pki.generate_key(p.key_type, p.key_size)
        s.detail = p.key_type + (f" {p.key_size}" if p.key_size else "")
    issued = issue(
        gw,
        user=p.user,
        groups=p.groups,
        ttl_seconds=p.ttl_seconds,
        key=key,
        ca_pem=target.ctx.ca_pem(),
        timeout=opts.timeout,
        reporter=reporter,
        version=version,
    )

    created: list[dict[str, Any]] = []
    wrote: list[Path] = []
    registry_written = False
    complete = False  # set once the kubeconfig is written: from then on nothing is rolled back
    user_gw: Gateway | None = None
    try:
        user_gw = gw.as_certificate(issued.cert_pem, issued.key_pem)
        with reporter.step("Prove the new identity authenticates") as s:
            try:
                identity = user_gw.whoami()
            except UnauthenticatedError as exc:
                raise UnauthenticatedError(
                    "the API server does not accept the new certificate (401)",
                    hint="the signer's CA is not in the API server's --client-ca-file",
                ) from exc
            if identity.username is not None and identity.username != p.user:
                raise KubeuserError(f"the server sees the new certificate as {identity.username!r}, not {p.user!r}")
            s.detail = _identity_text(identity, p.user, version.git_version)

        rbac_objects = rbac.objects_for(p.user, p.groups, p.rbac)
        with reporter.step("Grant access (RBAC)") as s:
            for obj in rbac_objects:
                if opts.force:
                    if gw.apply_object(obj) == "created":
                        created.append(obj)
                    continue
                try:
                    gw.create_object(obj)
                except ConflictError as exc:
                    raise ConflictError(
                        f"{rbac.describe(obj)} already exists",
                        hint=f"`kubeuser create {p.user} --force` takes it over, or remove it",
                    ) from exc
                created.append(obj)
            s.detail = ", ".join(rbac.describe(o) for o in rbac_objects) or "none (least privilege)"
            s.skipped = not rbac_objects

        with reporter.step("Record in registry") as s:
            record = build_record(
                user=p.user,
                groups=p.groups,
                ttl_seconds=p.ttl_seconds,
                namespace=p.rbac.namespace,
                cluster=cluster,
                issued=issued,
                bindings=[registry.BindingRef.of(o) for o in rbac_objects],
                context_name=context_name,
                issued_by=issued_by,
                existing=existing,
            )
            reg.put(record, issued.cert_pem)
            registry_written = True
            s.detail = f"{reg.namespace}/{registry.object_name(p.user)}"

        key_file = cert_file = None
        if opts.write_key_files:
            kdir = opts.key_dir or key_dir_for(cluster, p.user)
            pki.write_private_key(kdir / "client.key", issued.key_pem, overwrite=True)
            wrote.append(kdir / "client.key")
            pki.write_public_file(kdir / "client.crt", issued.cert_pem)
            wrote.append(kdir / "client.crt")
            key_file, cert_file = str(kdir / "client.key"), str(kdir / "client.crt")

        with reporter.step("Write kubeconfig") as s:
            standalone_yaml, s.detail = _write_kubeconfig(
                opts, target, p, issued, destination, user_entry_name, context_name
            )
            complete = True

    except BaseException as exc:
        if user_gw is not None:
            user_gw.close()
        if complete:  # interrupted right after the last write: the user exists and works; keep it
            if isinstance(exc, KubeuserError):
                exc.hint = (exc.hint + "; " if exc.hint else "") + f"user {p.user} was created completely"
            raise
        restore = existing if registry_written else None
        leftover = _rollback(gw, issued.csr_name, created, reg, p.user, registry_written, restore, wrote)
        if isinstance(exc, KubeuserError):
            exc.hint = (exc.hint + "; " if exc.hint else "") + leftover
        raise

    # The user exists and works from here on: a failing summary is reported, never rolled back.
    assert user_gw is not None
    access: list[str] = []
    late_warnings: list[str] = []
    try:
        with reporter.step("Summarize access") as s:
            access = [rbac.summarize_rule(r) for r in user_gw.rules_review(p.rbac.namespace)]
            access = [a for a in access if not _is_default_rule(a)]
            s.detail = f"{len(access)} rule(s) in namespace {p.rbac.namespace}"
    except KubeuserError as exc:
        late_warnings.append(f"the user was created, but summarizing its access failed: {exc.message}")
        reporter.warn(late_warnings[-1])
    finally:
        user_gw.close()
    warnings = list(p.warnings)
    if issued.lifetime.message:
        warnings.append(issued.lifetime.message)
    warnings += late_warnings
    if p.rbac.empty:
        reporter.note(
            f"{p.user} can authenticate but may do nothing yet: grant access with --rule/--role/--clusterrole "
            f"(e.g. `kubeuser create {p.user} --force --clusterrole view -n {p.rbac.namespace}`)"
        )
    return CreateResult(
        user=p.user,
        groups=p.groups,
        cluster=cluster,
        server=gw.server,
        server_version=version.git_version,
        namespace=p.rbac.namespace,
        issued=issued,
        context=context_name,
        kubeconfig=str(destination) if destination else None,
        out=opts.out,
        standalone_yaml=standalone_yaml,
        key_file=key_file,
        cert_file=cert_file,
        rbac_objects=rbac_objects,
        identity=identity,
        access=access,
        warnings=warnings,
    )


def merge_into_kubeconfig(
    target: Target,
    destination: Path,
    *,
    user_entry_name: str,
    context_name: str,
    namespace: str,
    cert_pem: bytes,
    key_pem: bytes,
    set_current: bool,
) -> None:
    """Add or replace the user + context in ``destination`` (locked, atomic), keeping everything else."""
    cluster = target.ctx.cluster_name
    user_body = kubeconfig.user_entry(cert_pem, key_pem)
    ctx_body = kubeconfig.context_entry(cluster, user_entry_name, namespace)
    cluster_elsewhere = target.loaded.origin.get(("clusters", cluster)) not in (None, destination)

    def mutate(doc: dict[str, Any]) -> None:
        if not cluster_elsewhere and not kubeconfig.has_entry(doc, "clusters", cluster):
            kubeconfig.set_entry(doc, "clusters", cluster, target.ctx.embedded_cluster())
        kubeconfig.set_entry(doc, "users", user_entry_name, user_body)
        kubeconfig.set_entry(doc, "contexts", context_name, ctx_body)
        if set_current:
            doc["current-context"] = context_name

    kubeconfig.update_file(destination, mutate)


def _write_kubeconfig(
    opts: CreateOptions,
    target: Target,
    p: Plan,
    issued: IssuedCertificate,
    destination: Path | None,
    user_entry_name: str,
    context_name: str,
) -> tuple[str | None, str]:
    """Merge into the admin's kubeconfig, or write/print a standalone one. Returns (yaml for stdout, detail)."""
    cluster = target.ctx.cluster_name
    if opts.out is None:
        assert destination is not None
        merge_into_kubeconfig(
            target,
            destination,
            user_entry_name=user_entry_name,
            context_name=context_name,
            namespace=p.rbac.namespace,
            cert_pem=issued.cert_pem,
            key_pem=issued.key_pem,
            set_current=opts.set_current,
        )
        return None, f"context {context_name} in {destination}" + (" (current)" if opts.set_current else "")
    doc = kubeconfig.standalone(
        cluster_name=cluster,
        cluster=target.ctx.embedded_cluster(),
        user_name=p.user,
        user=kubeconfig.user_entry(issued.cert_pem, issued.key_pem),
        context_name=context_name,
        namespace=p.rbac.namespace,
    )
    if opts.out == "-":
        return kubeconfig.dump(doc), "standalone kubeconfig on stdout"
    kubeconfig.write_new(Path(opts.out).expanduser(), doc, force=opts.force)
    return None, f"standalone kubeconfig {opts.out}"


# SelfSubjectRulesReview always lists what every authenticated user may do; leave that out of summaries
_DEFAULT_RULE_PREFIXES = (
    "create selfsubjectaccessreviews",
    "create selfsubjectreviews",
    "create selfsubjectrulesreviews",
)


def _is_default_rule(text: str) -> bool:
    return text.startswith(_DEFAULT_RULE_PREFIXES)


def _identity_text(identity: Identity, user: str, version: str) -> str:
    if identity.username is not None:
        groups = ", ".join(g for g in identity.groups if g != "system:authenticated")
        return f"server says: {identity.username}" + (f" (groups {groups})" if groups else "")
    return (
        f"authenticated (SelfSubjectAccessReview); {version} has no SelfSubjectReview, "
        f"so the name {user!r} comes from the certificate"
    )


def build_record(
    *,
    user: str,
    groups: list[str],
    ttl_seconds: int,
    namespace: str,
    cluster: str,
    issued: IssuedCertificate,
    bindings: list[registry.BindingRef],
    context_name: str,
    issued_by: str,
    existing: tuple[registry.UserRecord, bytes | None] | None,
) -> registry.UserRecord:
    """The registry record for a freshly issued certificate; an existing record's certificate moves to history."""
    info = issued.info.to_dict()
    cert = registry.CertRecord(
        serial=issued.info.serial,
        not_before=info["not_before"],
        not_after=info["not_after"],
        issued_at=registry.now_iso(),
        issued_by=issued_by,
        csr_name=issued.csr_name,
        requested_seconds=ttl_seconds,
    )
    history: list[registry.CertRecord] = []
    created_at, created_by = cert.issued_at, issued_by
    if existing is not None:
        old = existing[0]
        old.certificate.replaced_at = cert.issued_at
        history = [*old.history, old.certificate]
        created_at, created_by = old.created_at or created_at, old.created_by or created_by
    return registry.UserRecord(
        user=user,
        groups=groups,
        status="active",
        cluster=cluster,
        context=context_name,
        namespace=namespace,
        certificate=cert,
        bindings=bindings,
        history=history,
        created_at=created_at,
        created_by=created_by,
    )


def _rollback(
    gw: Gateway,
    csr_name: str,
    created: list[dict[str, Any]],
    reg: registry.Registry,
    user: str,
    registry_written: bool,
    previous: tuple[registry.UserRecord, bytes | None] | None,
    files: list[Path],
) -> str:
    """Undo what this run created; return a sentence saying what was undone or is left."""
    left: list[str] = []
    for f in files:
        f.unlink(missing_ok=True)
    for obj in reversed(created):
        meta = obj["metadata"]
        try:
            gw.delete_object(obj["kind"], meta["name"], meta.get("namespace"))
        except KubeuserError:
            left.append(rbac.describe(obj))
    if registry_written:
        try:
            if previous is not None:
                reg.put(*previous)  # put the earlier record back as it was
            else:
                reg.delete(user)
        except KubeuserError:
            left.append(f"registry record {reg.namespace}/{registry.object_name(user)}")
    try:
        gw.delete_csr(csr_name)
    except KubeuserError:
        left.append(f"CSR {csr_name}")
    if left:
        return "left behind: " + ", ".join(left) + f" (`kubeuser revoke {user}` removes them)"
    return "everything this run created was removed"
