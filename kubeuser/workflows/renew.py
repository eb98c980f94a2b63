"""``kubeuser renew``: a new certificate for a known user through the same CSR flow.

New key by default (``--reuse-key`` keeps the old one); the kubeconfig entry is updated in place
(or a standalone file written with ``--out``); the registry record keeps the old certificate in
its history. Bindings are left as they are.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubeuser import kubeconfig, naming, pki, registry
from kubeuser.connect import Target
from kubeuser.errors import ConflictError, KubeuserError, NotFoundError, UnauthenticatedError, UsageError
from kubeuser.gateway import Gateway
from kubeuser.progress import Reporter
from kubeuser.workflows import create as createwf
from kubeuser.workflows.issue import IssuedCertificate, issue


@dataclass
class RenewOptions:
    name: str
    ttl_seconds: int | None = None  # None → the lifetime asked for last time
    reuse_key: bool = False
    key_type: str = "ecdsa"
    key_size: int | None = None
    out: str | None = None
    force: bool = False
    timeout: float = createwf.DEFAULT_TIMEOUT
    registry_namespace: str | None = None
    write_key_files: bool = True  # client.key/client.crt under kubeuser_home()
    issued_by: str | None = None  # default: asked from the server


@dataclass
class RenewResult:
    user: str
    previous_serial: str
    issued: IssuedCertificate
    kubeconfig: str | None
    out: str | None
    context: str
    key_reused: bool

    def to_dict(self) -> dict[str, Any]:
        info = self.issued.info.to_dict()
        return {
            "user": self.user,
            "previousSerial": self.previous_serial,
            "serial": self.issued.info.serial,
            "csrName": self.issued.csr_name,
            "notBefore": info["not_before"],
            "notAfter": info["not_after"],
            "requestedSeconds": self.issued.lifetime.requested_seconds,
            "grantedSeconds": self.issued.lifetime.granted_seconds,
            "lifetime": self.issued.lifetime.verdict,
            "context": self.context,
            "kubeconfig": self.kubeconfig,
            "out": self.out,
            "keyReused": self.key_reused,
        }


def _old_key(target: Target, user: str, user_entry_name: str) -> bytes:
    """The current private key: the local key file, else the kubeconfig entry."""
    key_file = createwf.key_dir_for(target.ctx.cluster_name, user) / "client.key"
    if key_file.is_file():
        return key_file.read_bytes()
    entry = target.loaded.entry("users", user_entry_name) or {}
    data = entry.get("client-key-data")
    if isinstance(data, str) and data:
        return base64.b64decode(data)
    raise UsageError(
        f"--reuse-key: no private key of {user!r} on this machine ({key_file} or kubeconfig user {user_entry_name})",
        hint="renew without --reuse-key to get a new key",
    )


def renew(opts: RenewOptions, target: Target, gw: Gateway, reporter: Reporter) -> RenewResult:
    naming.check_user_name(opts.name)
    createwf.check_timeout(opts.timeout)
    reg = registry.Registry(gw, registry.namespace_from(opts.registry_namespace))
    with reporter.step("Read registry") as s:
        version = gw.version()
        found = reg.get(opts.name)
        if found is None:
            raise NotFoundError(
                f"no kubeuser record for user {opts.name!r}",
                hint=f"`kubeuser create {opts.name}` onboards a new user; `kubeuser list` shows known ones",
            )
        record, _ = found
        if record.status == "revoked":
            raise ConflictError(
                f"user {opts.name!r} was revoked at {record.revoked_at}",
                hint=f"`kubeuser create {opts.name} --force` onboards them again",
            )
        s.detail = f"current serial {record.certificate.serial}, until {record.certificate.not_after}"
    cluster = target.ctx.cluster_name
    user_entry_name, _ = createwf.names_for(record.user, cluster, None)
    context_name = record.context or user_entry_name
    ttl = opts.ttl_seconds or record.certificate.requested_seconds or createwf.DEFAULT_TTL
    if opts.out is not None and opts.out != "-" and Path(opts.out).expanduser().exists() and not opts.force:
        raise ConflictError(f"{opts.out} already exists", hint="use --force to overwrite it, or another --out")

    with reporter.step("Key") as s:
        if opts.reuse_key:
            key = pki.load_key_pem(_old_key(target, record.user, user_entry_name))
            s.detail = "reusing the current key"
        else:
            kt, ks = pki.validate_key_spec(opts.key_type, opts.key_size)
            key = pki.generate_key(kt, ks)
            s.detail = f"new {kt} key"
    issued = issue(
        gw,
        user=record.user,
        groups=list(record.groups),
        ttl_seconds=ttl,
        key=key,
        ca_pem=target.ctx.ca_pem(),
        timeout=opts.timeout,
        reporter=reporter,
        version=version,
    )
    user_gw = gw.as_certificate(issued.cert_pem, issued.key_pem)
    try:
        with reporter.step("Prove the new certificate authenticates") as s:
            try:
                ident = user_gw.whoami()
            except UnauthenticatedError as exc:
                raise UnauthenticatedError(
                    "the API server does not accept the renewed certificate (401)",
                    hint="the signer's CA is not in the API server's --client-ca-file",
                ) from exc
            s.detail = ident.username or "authenticated"
    except KubeuserError:
        gw.delete_csr(issued.csr_name)
        raise
    finally:
        user_gw.close()

    with reporter.step("Record in registry") as s:
        new = createwf.build_record(
            user=record.user,
            groups=list(record.groups),
            ttl_seconds=ttl,
            namespace=record.namespace,
            cluster=cluster,
            issued=issued,
            bindings=record.bindings,
            context_name=context_name,
            issued_by=opts.issued_by or createwf.admin_identity(gw, target, version),
            existing=found,
        )
        reg.put(new, issued.cert_pem)
        s.detail = f"history: {len(new.history)} earlier certificate(s)"

    if opts.write_key_files:
        kdir = createwf.key_dir_for(cluster, record.user)
        pki.write_private_key(kdir / "client.key", issued.key_pem, overwrite=True)
        pki.write_public_file(kdir / "client.crt", issued.cert_pem)

    destination: Path | None = None
    with reporter.step("Update kubeconfig") as s:
        if opts.out is None:
            destination = target.loaded.destination(names=[("users", user_entry_name), ("contexts", context_name)])
            notes = createwf.merge_into_kubeconfig(
                target,
                destination,
                user_entry_name=user_entry_name,
                context_name=context_name,
                namespace=record.namespace,
                cert_pem=issued.cert_pem,
                key_pem=issued.key_pem,
                set_current=False,
            )
            for note in notes:
                reporter.warn(note)
            s.detail = f"user {user_entry_name} in {destination}"
        else:
            doc = kubeconfig.standalone(
                cluster_name=cluster,
                cluster=target.ctx.embedded_cluster(),
                user_name=record.user,
                user=kubeconfig.user_entry(issued.cert_pem, issued.key_pem),
                context_name=context_name,
                namespace=record.namespace,
            )
            if opts.out == "-":
                import sys

                sys.stdout.write(kubeconfig.dump(doc))
            else:
                kubeconfig.write_new(Path(opts.out).expanduser(), doc, force=opts.force)
            s.detail = f"standalone kubeconfig {opts.out}"
    return RenewResult(
        record.user,
        record.certificate.serial,
        issued,
        str(destination) if destination else None,
        opts.out,
        context_name,
        opts.reuse_key,
    )
