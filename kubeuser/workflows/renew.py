"""``kubeuser renew``: a new certificate for a known user through the same CSR flow.

It keeps what the record says unless told otherwise: the key spec (type and size), the groups,
the lifetime asked for last time, and how the credentials were delivered. A user whose
kubeconfig was handed out (``create --out``, ``apply --out-dir``) gets a new handout (``--out
FILE|-`` is required) and is told the old one is stale; a user merged into a kubeconfig gets its
entries rewritten there, and only if they are provably kubeuser's (:mod:`kubeuser.ownership`).
The user's RBAC objects are reconciled to the record. The earlier certificate is not revoked
(Kubernetes cannot): renew says until when every earlier certificate still authenticates.
"""

from __future__ import annotations

import base64
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeuser import hints, naming, pki, registry, tokens
from kubeuser.connect import Target
from kubeuser.errors import ConflictError, KubeuserError, NotFoundError, UsageError
from kubeuser.gateway import Gateway, ServerVersion
from kubeuser.progress import Reporter
from kubeuser.workflows import steps
from kubeuser.workflows.issue import IssuedCertificate, IssuedCredential, IssuedToken


@dataclass
class RenewOptions:
    name: str
    ttl_seconds: int | None = None  # None → the lifetime asked for last time
    reuse_key: bool = False
    key_type: str | None = None  # None → the record's key type (the current certificate's)
    key_size: int | None = None
    out: str | None = None
    force: bool = False
    timeout: float = steps.DEFAULT_TIMEOUT
    registry_namespace: str | None = None
    write_key_files: bool = True  # client.key/client.crt under kubeuser_home()
    issued_by: str | None = None  # default: asked from the server
    recorded_out: str | None = None  # the handout path to record when --out is a temporary file (apply)
    csr_pem: bytes | None = None  # bring your own key: the user's new certificate request


@dataclass
class RenewResult(IssuedCredential):
    user: str
    previous_serial: str
    issued: IssuedCertificate | IssuedToken
    kubeconfig: str | None
    out: str | None
    context: str
    key_reused: bool
    key_type: str = "ecdsa"
    key_size: int | None = None
    delivery: str = registry.DELIVERY_KUBECONFIG
    stale_handout: str | None = None  # the earlier handout file, now holding an old certificate
    standalone_yaml: str | None = None
    earlier_valid: list[registry.CertRecord] = field(default_factory=list)
    rbac_changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    invalidated: list[str] = field(default_factory=list)  # token identities: Secrets deleted (old tokens dead)

    def to_dict(self) -> dict[str, Any]:
        issued = self.issued
        if isinstance(issued, IssuedToken):  # the same keys for both kinds (null where one does not apply)
            credential: dict[str, Any] = {
                "auth": tokens.AUTH_TOKEN,
                "previousSerial": None,
                "serial": None,
                "csrName": None,
                "notBefore": issued.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "notAfter": self.not_after,
                "serviceAccount": {"namespace": issued.namespace, "name": issued.service_account},
                "previousBoundSecret": self.previous_serial,
                "boundSecret": issued.secret_name,
                "invalidatedSecrets": self.invalidated,
            }
        else:
            info = issued.info.to_dict()
            credential = {
                "auth": tokens.AUTH_X509,
                "previousSerial": self.previous_serial,
                "serial": issued.info.serial,
                "csrName": issued.csr_name,
                "notBefore": info["not_before"],
                "notAfter": info["not_after"],
                "serviceAccount": None,
                "previousBoundSecret": None,
                "boundSecret": None,
                "invalidatedSecrets": [],
            }
        return {
            "user": self.user,
            **credential,
            "requestedSeconds": issued.lifetime.requested_seconds,
            "grantedSeconds": issued.lifetime.granted_seconds,
            "lifetime": issued.lifetime.verdict,
            "context": self.context,
            "kubeconfig": self.kubeconfig,
            "out": self.out,
            "keyReused": self.key_reused,
            "keyType": self.key_type,
            "keySize": self.key_size,
            "delivery": self.delivery,
            "staleHandout": self.stale_handout,
            "earlierCertificatesStillValid": [
                {"serial": c.serial, "notAfter": c.not_after} for c in self.earlier_valid
            ],
            "rbacChanges": self.rbac_changes,
            "warnings": self.warnings,
        }


def key_spec_of(record: registry.UserRecord, cert_pem: bytes | None) -> tuple[str, int | None]:
    """The key spec to keep: the record's, else (format 1) what the current certificate's key is."""
    if record.key_type:
        return record.key_type, record.key_size
    if cert_pem:
        try:
            return pki.key_spec_of_certificate(cert_pem)
        except Exception:
            pass
    return "ecdsa", None


def _old_key(target: Target, user: str, user_entry_name: str, current_cert: bytes | None) -> bytes:
    """The key of the user's *current* certificate: the local key file, else the kubeconfig entry.

    A key that does not match the current certificate (an earlier handout's, say) is never reused:
    whoever still holds a stale key must not get a fresh certificate for it.
    """
    key_file = steps.key_dir_for(target.ctx.cluster_name, user) / "client.key"
    candidates: list[bytes] = []
    if key_file.is_file():
        candidates.append(key_file.read_bytes())
    entry = target.loaded.entry("users", user_entry_name) or {}
    data = entry.get("client-key-data")
    if isinstance(data, str) and data:
        with contextlib.suppress(ValueError):
            candidates.append(base64.b64decode(data))
    for pem in candidates:
        try:
            if current_cert is None or pki.cert_matches_key(current_cert, pem):
                return pem
        except KubeuserError:
            continue
    found = "the keys found here belong to earlier certificates" if candidates else "none was found"
    raise UsageError(
        f"--reuse-key: the private key of {user!r}'s current certificate is not on this machine ({found}; "
        f"looked at {key_file} and kubeconfig user {user_entry_name})",
        hint="renew without --reuse-key to get a new key",
    )


def renew(opts: RenewOptions, target: Target, gw: Gateway, reporter: Reporter) -> RenewResult:
    naming.check_user_name(opts.name)
    steps.check_timeout(opts.timeout)
    reg = registry.Registry(gw, registry.namespace_from(opts.registry_namespace))
    with reporter.step("Read registry") as s:
        version = gw.version()
        found = reg.get(opts.name)
        if found is None:
            raise NotFoundError(
                f"no kubeuser record for user {opts.name!r} in registry {reg.namespace}",
                hint=f"`{hints.kubeuser('create', opts.name)}` onboards a new user; `{hints.kubeuser('list')}` shows "
                "known ones",
            )
        record, current_cert = found
        if record.status == "revoked":
            raise ConflictError(
                f"user {opts.name!r} was revoked at {record.revoked_at}",
                hint=f"`{hints.kubeuser('create', opts.name)}` onboards them again",
            )
        s.detail = (
            f"current token bound to Secret {record.certificate.serial}"
            if record.is_token
            else f"current serial {record.certificate.serial}"
        ) + f", until {record.certificate.not_after}"
    if record.is_token:
        return _renew_token(opts, target, gw, reporter, reg, found, version)
    cluster = target.ctx.cluster_name
    default_entry, default_context = steps.entry_names(record.user, cluster, None)
    user_entry_name = record.kubeconfig_user or default_entry
    context_name = record.context or default_context
    ttl = opts.ttl_seconds or record.certificate.requested_seconds or steps.DEFAULT_TTL

    # -- how the credentials go out: as they went last time, unless told otherwise ---------------
    delivery = record.delivery
    if delivery is None:  # format 1: merged here if this kubeconfig holds kubeuser's entry, else handed out
        entry = target.loaded.entry("users", user_entry_name)
        from kubeuser import ownership

        ours = ownership.user_entry_is_ours(entry, record.user, record.serials())
        delivery = registry.DELIVERY_KUBECONFIG if ours else registry.DELIVERY_HANDOUT
    byok = record.key_holder == registry.KEY_HOLDER_USER
    handout = f"{record.user}.kubeconfig"
    if byok and opts.csr_pem is None:
        raise UsageError(
            f"{record.user!r} keeps their own private key: a renewal needs a new certificate request from them",
            hint=f"they run `{hints.kubeuser('request', record.user, connection=hints.Connection())}` and send you the "
            f"request; then `{hints.kubeuser('renew', record.user, options=('--csr', 'FILE', '--out', handout))}`",
        )
    request = None
    if opts.csr_pem is not None:
        if opts.reuse_key or opts.key_type is not None or opts.key_size is not None:
            raise UsageError("--reuse-key/--key-type/--key-size do not go with --csr: the request carries the key")
        system = any(n.lower().startswith(naming.SYSTEM_PREFIX) for n in [record.user, *record.groups])
        request = steps.check_request(opts.csr_pem, record.user, list(record.groups), system)
        if opts.out is None:
            raise UsageError(
                "--csr needs --out FILE (or --out - for stdout): the new certificate goes back to the user",
                hint=hints.kubeuser("renew", record.user, options=("--csr", "FILE", "--out", handout)),
            )
    delivery = _delivery(record, opts, delivery)

    cur_type, cur_size = key_spec_of(record, current_cert)
    if request is not None:
        key_type, key_size = request.key_type, request.key_size
    elif opts.reuse_key:
        key_type, key_size = cur_type, cur_size
    else:  # what is not given is kept: --key-size alone keeps the type, --key-type alone the size if it fits
        key_type = opts.key_type or cur_type
        key_size = opts.key_size if opts.key_size is not None else (cur_size if key_type == cur_type else None)
    kt, ks = pki.validate_key_spec(key_type, key_size)

    with reporter.step("Check ownership") as s:
        access = steps.migrate_access(gw, record, reg.namespace)
        rbac_plan = steps.plan_rbac(
            gw, user=record.user, groups=record.groups, access=access, registry_ns=reg.namespace, record=record
        )
        kc_plan: steps.KubeconfigPlan | None = None
        if opts.out is None:
            kc_plan = steps.plan_kubeconfig(
                target,
                user=record.user,
                serials=record.serials(),
                user_entry=user_entry_name,
                context=context_name,
                may_replace=True,
                replace_hint="",
            )
        s.detail = "RBAC " + ("as recorded" if rbac_plan.empty else "; ".join(rbac_plan.describe()))

    issued_by = opts.issued_by or steps.admin_identity(gw, target, version)
    standalone_yaml: str | None = None
    warnings: list[str] = []
    with steps.Transaction(reporter, user=record.user) as tx:
        with tx.step("Key") as s:
            key: pki.PrivateKey | pki.PublicKey
            if request is not None:
                key = request.csr.public_key()  # type: ignore[assignment]  # checked by csrpolicy
                s.detail = f"the user's own {request.key_text} key (from the request; never seen here)"
            elif opts.reuse_key:
                key = pki.load_key_pem(_old_key(target, record.user, user_entry_name, current_cert))
                s.detail = "reusing the current key"
            else:
                key = pki.generate_key(kt, ks)
                s.detail = f"new {kt} key" + (f" ({ks} bits)" if ks else "")
        issued, _identity, user_gw = steps.issue_and_prove(
            tx,
            gw,
            target,
            user=record.user,
            groups=record.groups,
            ttl_seconds=ttl,
            key=key,
            timeout=opts.timeout,
            version=version,
            registry_ns=reg.namespace,
            csr_pem=request.pem if request is not None else None,
        )
        if user_gw is not None:
            user_gw.close()

        if not rbac_plan.empty:
            with tx.step("Reconcile access (RBAC)") as s:
                steps.apply_rbac(tx, gw, rbac_plan)
                s.detail = "; ".join(rbac_plan.describe())

        with tx.step("Record in registry") as s:
            new = steps.build_record(
                user=record.user,
                groups=list(record.groups),
                ttl_seconds=ttl,
                namespace=record.namespace,
                cluster=record.cluster or cluster,
                issued=issued,
                bindings=steps.binding_refs(rbac_plan.desired),
                context_name=context_name,
                issued_by=issued_by,
                existing=found,
                access=access,
                key_type=kt,
                key_size=ks,
                delivery=delivery,
                out=(opts.recorded_out or opts.out) if delivery == registry.DELIVERY_HANDOUT else None,
                kubeconfig_user=user_entry_name if kc_plan else record.kubeconfig_user,
                kubeconfig_file=str(kc_plan.destination) if kc_plan else record.kubeconfig_file,
                key_holder=registry.KEY_HOLDER_USER if request is not None else None,
            )
            steps.write_record(tx, reg, new, issued.cert_pem, found)
            s.detail = f"history: {len(new.history)} earlier certificate(s)"

        if opts.write_key_files and kc_plan is not None and request is None:
            kdir = steps.key_dir_for(cluster, record.user)
            pki.write_private_key(kdir / "client.key", issued.key_pem, overwrite=True)
            pki.write_public_file(kdir / "client.crt", issued.cert_pem)

        standalone_yaml = _deliver(tx, target, gw, opts, kc_plan, new, steps.certificate_entry(issued), context_name)

    stale = record.out if record.delivery == registry.DELIVERY_HANDOUT and record.out not in (None, "-") else None
    new_out = opts.recorded_out or opts.out
    if stale is not None and new_out is not None and Path(stale).expanduser() == Path(new_out).expanduser():
        stale = None
    if record.delivery == registry.DELIVERY_HANDOUT:
        what = f"the earlier handout {stale}" if stale else "the earlier handout"
        warnings.append(
            f"{what} is stale: give {record.user} the new kubeconfig; the old one's certificate "
            f"(serial {record.certificate.serial}) still authenticates until {record.certificate.not_after}"
        )
        reporter.warn(warnings[-1])
    earlier = new.still_valid_earlier()
    for c in earlier:
        if record.delivery == registry.DELIVERY_HANDOUT and c.serial == record.certificate.serial:
            continue  # already said above
        warnings.append(steps.still_valid_warning(record.user, c))
        reporter.warn(warnings[-1])
    if issued.lifetime.message:
        warnings.append(issued.lifetime.message)
    return RenewResult(
        record.user,
        record.certificate.serial,
        issued,
        str(kc_plan.destination) if kc_plan else None,
        opts.out,
        context_name,
        opts.reuse_key,
        key_type=kt,
        key_size=ks,
        delivery=delivery,
        stale_handout=stale,
        standalone_yaml=standalone_yaml,
        earlier_valid=earlier,
        rbac_changes=rbac_plan.describe(),
        warnings=warnings,
    )


def _renew_token(
    opts: RenewOptions,
    target: Target,
    gw: Gateway,
    reporter: Reporter,
    reg: registry.Registry,
    found: tuple[registry.UserRecord, bytes | None],
    version: ServerVersion,
) -> RenewResult:
    """A token identity: a new token bound to a new Secret; once it is delivered, the Secrets of every earlier
    token (the kubeconfig's, handouts', and `kubeuser token`'s) are deleted, so those tokens stop working."""
    record = found[0]
    if opts.reuse_key or opts.key_type is not None or opts.key_size is not None or opts.csr_pem is not None:
        raise UsageError(
            f"{record.user!r} is a token identity: --reuse-key/--key-type/--key-size/--csr do not apply",
            hint=hints.kubeuser(
                "renew", record.user, options=("--out", "FILE") if record.delivery != "kubeconfig" else ()
            ),
        )
    cluster = target.ctx.cluster_name
    default_entry, default_context = steps.entry_names(record.user, cluster, None)
    user_entry_name = record.kubeconfig_user or default_entry
    context_name = record.context or default_context
    ttl = opts.ttl_seconds or record.certificate.requested_seconds or steps.DEFAULT_TTL
    sa_ns = record.service_account_namespace or reg.namespace
    delivery = record.delivery or registry.DELIVERY_KUBECONFIG
    delivery = _delivery(record, opts, delivery)

    with reporter.step("Check ownership") as s:
        access = steps.migrate_access(gw, record, reg.namespace)
        rbac_plan = steps.plan_rbac(gw, user=record.user, groups=[], access=access, registry_ns=reg.namespace,
                                    record=record, subject_of=steps.subject_of(record))  # fmt: skip
        steps.check_service_account(gw, user=record.user, namespace=sa_ns, registry_ns=reg.namespace)
        kc_plan: steps.KubeconfigPlan | None = None
        if opts.out is None:
            kc_plan = steps.plan_kubeconfig(
                target,
                user=record.user,
                serials=record.serials(),
                user_entry=user_entry_name,
                context=context_name,
                may_replace=True,
                replace_hint="",
                also=steps.principals(record),
            )
        s.detail = "RBAC " + ("as recorded" if rbac_plan.empty else "; ".join(rbac_plan.describe()))

    issued_by = opts.issued_by or steps.admin_identity(gw, target, version)
    standalone_yaml: str | None = None
    with steps.Transaction(reporter, user=record.user) as tx:
        issued, _identity, user_gw = steps.issue_and_prove_token(
            tx,
            gw,
            user=record.user,
            namespace=sa_ns,
            ttl_seconds=ttl,
            registry_ns=reg.namespace,
            purpose=delivery,
            version=version,
        )
        user_gw.close()
        if not rbac_plan.empty:
            with tx.step("Reconcile access (RBAC)") as s:
                steps.apply_rbac(tx, gw, rbac_plan)
                s.detail = "; ".join(rbac_plan.describe())
        with tx.step("Record in registry") as s:
            new = steps.build_record(
                user=record.user,
                groups=[],
                ttl_seconds=ttl,
                namespace=record.namespace,
                cluster=record.cluster or cluster,
                issued=issued,
                bindings=steps.binding_refs(rbac_plan.desired),
                context_name=context_name,
                issued_by=issued_by,
                existing=found,
                access=access,
                delivery=delivery,
                out=(opts.recorded_out or opts.out) if delivery == registry.DELIVERY_HANDOUT else None,
                kubeconfig_user=user_entry_name if kc_plan else record.kubeconfig_user,
                kubeconfig_file=str(kc_plan.destination) if kc_plan else record.kubeconfig_file,
            )
            steps.write_record(tx, reg, new, None, found)
            s.detail = f"{reg.namespace}/{registry.object_name(record.user)}"
        standalone_yaml = _deliver(tx, target, gw, opts, kc_plan, new, tokens.user_entry(issued.token), context_name)

    warnings: list[str] = []
    with reporter.step("Invalidate the earlier tokens") as s:
        deleted, failed = steps.invalidate_tokens(gw, new, reg.namespace, keep=issued.secret_name)
        s.detail = (
            f"deleted {len(deleted)} bound Secret(s): the earlier tokens get 401 within about 10 s"
            if deleted
            else "none was still valid"
        )
    for f in failed:
        warnings.append(f"an earlier token may still work: {f}")
        reporter.warn(warnings[-1])
    if deleted:
        try:
            reg.put(new, None)  # the invalidation, recorded
        except KubeuserError as exc:
            warnings.append(f"the earlier tokens are dead, but recording that failed: {exc.message}")
            reporter.warn(warnings[-1])
    earlier = new.still_valid_earlier()
    for c in earlier:
        warnings.append(steps.still_valid_warning(record.user, c))
        reporter.warn(warnings[-1])
    if issued.lifetime.message:
        warnings.append(issued.lifetime.message)
    stale = record.out if record.delivery == registry.DELIVERY_HANDOUT and record.out not in (None, "-") else None
    return RenewResult(
        record.user,
        record.certificate.serial,
        issued,
        str(kc_plan.destination) if kc_plan else None,
        opts.out,
        context_name,
        False,
        key_type="",
        key_size=None,
        delivery=delivery,
        stale_handout=stale,
        standalone_yaml=standalone_yaml,
        earlier_valid=earlier,
        rbac_changes=rbac_plan.describe(),
        warnings=warnings,
        invalidated=deleted,
    )


def _delivery(record: registry.UserRecord, opts: RenewOptions, delivery: str) -> str:
    """How the renewed credentials go out: a user handed a file needs ``--out``; ``--out`` makes it a handout."""
    if delivery in (registry.DELIVERY_HANDOUT, registry.DELIVERY_EPHEMERAL) and opts.out is None:
        where = f" ({record.out})" if record.out and record.out != "-" else ""
        raise UsageError(
            f"{record.user!r} was handed a standalone kubeconfig{where}, not merged into a kubeconfig here: "
            "renew needs --out FILE (or --out - for stdout) for the new one",
            hint="e.g. " + hints.kubeuser("renew", record.user, options=("--out", f"{record.user}.kubeconfig")),
        )
    if opts.out is not None:
        delivery = registry.DELIVERY_HANDOUT
        if opts.out != "-" and Path(opts.out).expanduser().exists() and not opts.force:
            raise ConflictError(f"{opts.out} already exists", hint="use --force to overwrite it, or another --out")
    return delivery


def _deliver(
    tx: steps.Transaction,
    target: Target,
    gw: Gateway,
    opts: RenewOptions,
    kc_plan: steps.KubeconfigPlan | None,
    new: registry.UserRecord,
    user_body: dict[str, Any],
    context_name: str,
) -> str | None:
    """The commit point: the new credential into the kubeconfig entry (proven kubeuser's), or a new handout.
    Returns the handout's YAML when it goes to stdout."""
    standalone_yaml: str | None = None
    with tx.step("Update kubeconfig" if kc_plan else "Write the new handout") as s:
        if kc_plan is not None:
            for note in steps.merge_kubeconfig(
                target,
                kc_plan,
                namespace=new.namespace,
                user_body=user_body,
                set_current=False,
                user=new.user,
                serials=new.serials(),
                also=steps.principals(new),
            ):
                tx.reporter.warn(note)
            s.detail = f"user {kc_plan.user_entry} in {kc_plan.destination}"
        else:
            standalone_yaml, s.detail = steps.write_handout(
                target, opts.out or "-", new.user, context_name, new.namespace, user_body, opts.force,
                gw=gw, reporter=tx.reporter,
            )  # fmt: skip
        tx.commit()
    return standalone_yaml
