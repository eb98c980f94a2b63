"""``kubeuser create``: onboard one user end to end, and prove the result works.

validate → (preflight) → ownership checks → key → CSR → approve → wait → verify → prove
authentication → RBAC → registry → kubeconfig (the commit point) → access summary. The steps
run in a :class:`~kubeuser.workflows.steps.Transaction`: every failure before the commit undoes
what this run changed (CSR, RBAC objects, registry record, key files) or says what is left.

Before anything is created, every name the run will write is checked: RBAC objects and
kubeconfig entries that exist must be kubeuser's own for this user (``--force`` reissues those);
anything else of the same name is a conflict, with or without ``--force``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubeuser import hints, keyspec, naming, rbac, registry, rolecheck, tokens
from kubeuser.connect import Target
from kubeuser.csr import csr_manifest
from kubeuser.errors import ConflictError, KubeuserError, NotFoundError, UsageError
from kubeuser.gateway import Gateway, Identity, ServerVersion
from kubeuser.permissions import require_onboarding_permissions
from kubeuser.progress import Reporter
from kubeuser.workflows import steps
from kubeuser.workflows.issue import IssuedCertificate, IssuedCredential, IssuedToken
from kubeuser.workflows.steps import (  # shared steps, re-exported for callers of this module
    DEFAULT_TIMEOUT,
    DEFAULT_TTL,
    admin_identity,
    build_record,
    check_timeout,
    key_dir_for,
    still_valid_warning,
    write_handout,
)

if TYPE_CHECKING:  # cryptography loads only when a key or certificate is made: not for a token identity
    from kubeuser import csrpolicy, pki


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
    allow_missing_roles: bool = False  # bind Roles/ClusterRoles that do not exist yet (pre-provisioning)
    delivery: str | None = None  # recorded delivery; None → "handout" with --out, else "kubeconfig"
    access: rbac.Access | None = None  # the whole access to grant (apply: several namespaces); None → from flags
    recorded_out: str | None = None  # the handout path to record when --out is a temporary file (apply)
    csr_pem: bytes | None = None  # bring your own key: the user's certificate request (no private key here)
    key_spec_given: bool = False  # --key-type/--key-size were given (an error with --csr: the request decides)
    auth: str = "x509"  # x509: a client certificate; token: a ServiceAccount with TokenRequest tokens
    service_account_namespace: str | None = None  # token identities: where the ServiceAccount lives (registry's)


@dataclass
class Plan:
    user: str
    groups: list[str]
    ttl_seconds: int
    key_type: keyspec.KeyType
    key_size: int | None
    rbac: rbac.RbacRequest
    warnings: list[str]
    request: csrpolicy.Request | None = None  # bring your own key: the user's request, checked
    auth: str = "x509"


def plan(opts: CreateOptions, default_namespace: str) -> Plan:
    """Validate everything that needs no cluster. Raises UsageError; touches nothing."""
    v = naming.validate_identity(opts.name, opts.groups, allow_system_names=opts.allow_system_names)
    key_type, key_size = keyspec.validate_key_spec(opts.key_type, opts.key_size)
    namespace = opts.namespace or default_namespace
    req = rbac.build_request(namespace, opts.rules, opts.roles, opts.cluster_roles, opts.cluster_wide)
    check_timeout(opts.timeout)
    request: csrpolicy.Request | None = None
    groups = v.groups
    if opts.auth not in (*tokens.AUTH_KINDS, tokens.AUTH_AUTO):
        raise UsageError(f"--auth must be x509, token or auto, not {opts.auth!r}")
    if opts.auth == tokens.AUTH_TOKEN:
        check_token_options(groups=opts.groups, csr=opts.csr_pem is not None, key_spec_given=opts.key_spec_given)
    if opts.csr_pem is not None:
        request = steps.check_request(opts.csr_pem, v.user, opts.groups or None, opts.allow_system_names)
        handout = f"{v.user}.kubeconfig"
        if opts.out is None:
            raise UsageError(
                "--csr needs --out FILE (or --out - for stdout): the key is with the user, so there is nothing to "
                "merge into your kubeconfig",
                hint=f"{hints.kubeuser('create', v.user, options=('--csr', 'FILE', '--out', handout))}, then the "
                f"user runs `{hints.kubeuser('import', handout, connection=hints.Connection())}`",
            )
        if opts.key_spec_given:
            raise UsageError("--key-type/--key-size do not go with --csr: the request carries the user's key")
        groups = list(request.organizations)
        key_type, key_size = request.key_type, request.key_size  # type: ignore[assignment]
    return Plan(v.user, groups, opts.ttl_seconds, key_type, key_size, req, list(v.warnings), request, opts.auth)


AUTO_PROBE_TIMEOUT = 20.0  # --auth auto: how long to wait for a signer that may never issue (EKS)


def choose_auth(gw: Gateway, target: Target, version: ServerVersion, opts: CreateOptions, reporter: Reporter) -> str:
    """``--auth auto``: a client certificate when a throwaway one is issued *and* accepted here, else a token."""
    from kubeuser.workflows.preflight import probe_x509

    with reporter.step("Choose the kind of identity (--auth auto)") as s:
        if opts.csr_pem is not None:
            s.detail = "x509: a certificate request was given (--csr)"
            return tokens.AUTH_X509
        works, why = probe_x509(gw, ca_pem=target.ctx.ca_pem(), timeout=min(opts.timeout, AUTO_PROBE_TIMEOUT),
                                version=version)  # fmt: skip
        s.detail = f"x509: {why}" if works else f"token, because {why}"
    if works:
        return tokens.AUTH_X509
    check_token_options(groups=opts.groups, csr=False, key_spec_given=opts.key_spec_given)
    reporter.warn(f"--auth auto: onboarding {opts.name} as a ServiceAccount token identity: {why}")
    return tokens.AUTH_TOKEN


def check_token_options(*, groups: list[str], csr: bool, key_spec_given: bool) -> None:
    """Options that cannot go with ``--auth token``: UsageError saying why."""
    if groups:
        raise UsageError(
            "-g/--group does not go with --auth token: a ServiceAccount's groups are fixed by Kubernetes "
            "(system:serviceaccounts and system:serviceaccounts:NAMESPACE)",
            hint="grant the access itself with --rule/--role/--clusterrole, or use --auth x509 for group membership",
        )
    if csr:
        raise UsageError(
            "--csr does not go with --auth token: a token identity has no key or certificate request",
            hint="drop --csr for a token identity, or drop --auth token to sign the user's request",
        )
    if key_spec_given:
        raise UsageError(
            "--key-type/--key-size do not go with --auth token: a token identity has no key",
            hint="drop --key-type/--key-size, or use --auth x509 for a key and certificate",
        )


def names_for(user: str, cluster: str, context_name: str | None) -> tuple[str, str]:
    """(kubeconfig user entry name, context name)."""
    return steps.entry_names(user, cluster, context_name)


@dataclass
class Manifests:
    """``create --dry-run``: the objects it would send; ``-o json`` a v1 List of them, text and ``-o yaml``
    one YAML document each (for ``kubectl apply -f -``)."""

    items: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "List", "items": self.items}


def dry_run_manifests(p: Plan, registry_ns: str | None = None) -> list[dict[str, Any]]:
    """The CSR and RBAC objects ``create`` would send (the CSR carries a throwaway key's request, or the
    user's own request with ``--csr``)."""
    from kubeuser import pki

    if p.request is not None:  # bring your own key: the user's own request, as it will be sent
        request, usages = p.request.pem, pki.usages_for(p.request.csr.public_key())  # type: ignore[arg-type]
    else:
        key = pki.generate_key(p.key_type, p.key_size)
        request, usages = pki.build_csr(key, p.user, p.groups), pki.usages_for(key)
    csr = csr_manifest(
        naming.csr_name(p.user),
        request,
        usages=usages,
        expiration_seconds=p.ttl_seconds,
        labels=naming.managed_labels(p.user, registry_ns),
        annotations=naming.managed_annotations(p.user, p.groups, registry_ns),
    )
    return [csr, *rbac.objects_for(p.user, p.groups, p.rbac, registry_ns)]


@dataclass
class CreateResult(IssuedCredential):
    user: str
    groups: list[str]
    cluster: str
    server: str
    server_version: str
    namespace: str
    issued: IssuedCertificate | IssuedToken
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
    removed_grants: list[str] = field(default_factory=list)  # --force: earlier kubeuser objects that were deleted
    earlier_valid: list[registry.CertRecord] = field(default_factory=list)  # --force: still-valid older certificates
    # the rules behind ``access`` (rules review in ``namespace``); None: not reviewed (bring your own key, or it failed)
    access_rules: list[dict[str, Any]] | None = None
    granted: rbac.Access = field(default_factory=rbac.Access)  # what the record says is granted
    invalidated: list[str] = field(default_factory=list)  # --force over a token identity: earlier tokens' Secrets
    service_account_deleted: str | None = None  # --force from a token identity to a certificate (NAMESPACE/NAME)

    def credential_dict(self) -> dict[str, Any]:
        """The credential's fields; the same keys for both kinds (null where one does not apply)."""
        issued = self.issued
        common = {
            "requestedSeconds": issued.lifetime.requested_seconds,
            "grantedSeconds": issued.lifetime.granted_seconds,
            "lifetime": issued.lifetime.verdict,
        }
        if isinstance(issued, IssuedToken):  # never the token itself: it is in the kubeconfig or handout only
            return {
                "auth": tokens.AUTH_TOKEN,
                "csrName": None,
                "serial": None,
                "notBefore": issued.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "notAfter": self.not_after,
                **common,
                "issuer": None,
                "chainVerified": False,
                "serviceAccount": {"namespace": issued.namespace, "name": issued.service_account},
                "boundSecret": issued.secret_name,
            }
        info = issued.info
        return {
            "auth": tokens.AUTH_X509,
            "csrName": issued.csr_name,
            "serial": info.serial,
            "notBefore": info.to_dict()["not_before"],
            "notAfter": info.to_dict()["not_after"],
            **common,
            "issuer": info.issuer,
            "chainVerified": issued.chain_verified,
            "serviceAccount": None,
            "boundSecret": None,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "groups": self.groups,
            "cluster": self.cluster,
            "server": self.server,
            "serverVersion": self.server_version,
            "namespace": self.namespace,
            **self.credential_dict(),
            "context": self.context,
            "kubeconfig": self.kubeconfig,
            "out": self.out,
            "keyFile": self.key_file,
            "certFile": self.cert_file,
            "rbac": [rbac.ref_of(o) for o in self.rbac_objects],
            "identity": {
                "username": self.identity.username,
                "groups": list(self.identity.groups),
                "method": self.identity.method,
            },
            "access": self.granted.grants(self.user),
            "effectiveRules": self.access_rules,
            "removedGrants": self.removed_grants,
            "earlierCertificatesStillValid": [
                {"serial": c.serial, "notAfter": c.not_after} for c in self.earlier_valid
            ],
            "invalidatedSecrets": self.invalidated,
            "serviceAccountDeleted": self.service_account_deleted,
            "warnings": self.warnings,
        }


def preflight(
    gw: Gateway, p: Plan, registry_ns: str, access: rbac.Access | None = None, token_namespace: str | None = None
) -> None:
    """Cheap permission checks (SelfSubjectAccessReviews, in parallel) before anything is created.

    One implementation with ``kubeuser preflight`` (same messages): ForbiddenError names the first
    missing permission, its hint lists all of them. *token_namespace*: a token identity's ServiceAccount
    namespace (TokenRequest instead of CSRs).
    """
    acc = access if access is not None else rbac.Access.of(p.rbac)
    require_onboarding_permissions(gw, registry_ns, acc.objects(p.user, p.groups, registry_ns), token_namespace)


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
    access = opts.access if opts.access is not None else rbac.Access.of(p.rbac)
    delivery = opts.delivery or (registry.DELIVERY_HANDOUT if opts.out is not None else registry.DELIVERY_KUBECONFIG)

    # -- checks that change nothing --------------------------------------------------------
    if opts.out is not None and opts.out != "-" and Path(opts.out).expanduser().exists() and not opts.force:
        raise ConflictError(f"{opts.out} already exists", hint="use --force to overwrite it, or another --out")

    with reporter.step("Connect") as s:
        version = gw.version()
        s.detail = f"{gw.server} ({version.git_version})"
    if p.auth == tokens.AUTH_AUTO:
        p.auth = choose_auth(gw, target, version, opts, reporter)
    token = p.auth == tokens.AUTH_TOKEN
    sa_ns = (opts.service_account_namespace or reg.namespace) if token else None
    subject = tokens.subject(sa_ns, tokens.service_account_name(p.user)) if sa_ns is not None else None
    if not skip_preflight:
        with reporter.step("Check permissions") as s:
            preflight(gw, p, reg.namespace, access, sa_ns)
            s.detail = ("may create ServiceAccount tokens" if token else "may create and approve CSRs") + (
                ", RBAC" if not access.empty else ""
            )
    missing_ns = [n.namespace for n in access.namespaces if gw.get_object("Namespace", n.namespace) is None]
    granted = {n.namespace for n in access.namespaces}
    # …and the context's namespace, without grants in it: a context pointing nowhere is as wrong as a Role nowhere
    if not missing_ns and p.rbac.namespace not in granted and gw.get_object("Namespace", p.rbac.namespace) is None:
        missing_ns = [p.rbac.namespace]
    if missing_ns:
        raise NotFoundError(
            f"namespace {missing_ns[0]!r} does not exist",
            hint=f"create it (kubectl create namespace {missing_ns[0]}) or pick another with -n",
        )
    if check_roles:
        objs = access.objects(p.user, p.groups, reg.namespace)
        p.warnings += rolecheck.require_roles_exist(gw, objs, allow_missing=opts.allow_missing_roles, reporter=reporter)
    existing = reg.get(p.user)
    record = existing[0] if existing else None
    if record is not None and record.status == "active" and not opts.force:
        raise ConflictError(
            f"user {p.user!r} already exists (certificate {record.certificate.serial}, valid until "
            f"{record.certificate.not_after})",
            hint=f"`{hints.kubeuser('renew', p.user)}` for a new certificate, `{hints.kubeuser('grant', p.user)} …` to "
            f"change access, `{hints.kubeuser('create', p.user, options=('--force',))}` to reissue, "
            f"`{hints.kubeuser('revoke', p.user)}` to remove",
        )
    with reporter.step("Check ownership") as s:
        rbac_plan = steps.plan_rbac(
            gw,
            user=p.user,
            groups=p.groups,
            access=access,
            registry_ns=reg.namespace,
            record=record,
            existing=[] if record is None else None,  # a new user: only the names it will use need checking
            subject_of=subject,
        )
        if sa_ns is not None:
            steps.check_service_account(gw, user=p.user, namespace=sa_ns, registry_ns=reg.namespace)
        kc_plan: steps.KubeconfigPlan | None = None
        if opts.out is None:
            kc_plan = steps.plan_kubeconfig(
                target,
                user=p.user,
                serials=record.serials() if record else set(),
                user_entry=user_entry_name,
                context=context_name,
                may_replace=opts.force or record is None or record.status != "active",
                replace_hint=f"`{hints.kubeuser('create', p.user, options=('--force',))}` reissues it, "
                f"`{hints.kubeuser('revoke', p.user)}` removes it",
                also=steps.principals(record),
            )
        s.detail = "no conflicts" + (
            f"; replacing kubeuser's {', '.join(kc_plan.replaces)}" if kc_plan and kc_plan.replaces else ""
        )
    issued_by = opts.issued_by or admin_identity(gw, target, version)

    key_file = cert_file = None
    standalone_yaml: str | None = None
    with steps.Transaction(reporter, user=p.user) as tx:
        issued: IssuedCertificate | IssuedToken
        user_gw: Gateway | None
        if sa_ns is not None:
            reg.ensure_namespace()
            issued, identity, user_gw = steps.issue_and_prove_token(
                tx,
                gw,
                user=p.user,
                namespace=sa_ns,
                ttl_seconds=p.ttl_seconds,
                registry_ns=reg.namespace,
                purpose=delivery,
                version=version,
            )
            user_body = tokens.user_entry(issued.token)
        else:
            from kubeuser import pki

            key: pki.PrivateKey | pki.PublicKey
            if p.request is not None:
                key = p.request.csr.public_key()  # type: ignore[assignment]  # checked by csrpolicy
            else:
                with tx.step("Generate key") as s:
                    key = pki.generate_key(p.key_type, p.key_size)
                    s.detail = p.key_type + (f" {p.key_size}" if p.key_size else "")
            issued, identity, user_gw = steps.issue_and_prove(
                tx,
                gw,
                target,
                user=p.user,
                groups=p.groups,
                ttl_seconds=p.ttl_seconds,
                key=key,
                timeout=opts.timeout,
                version=version,
                registry_ns=reg.namespace,
                csr_pem=p.request.pem if p.request is not None else None,
            )
            user_body = steps.certificate_entry(issued)

        with tx.step("Grant access (RBAC)") as s:
            steps.apply_rbac(tx, gw, rbac_plan)
            s.detail = ", ".join(rbac.describe(o) for o in rbac_plan.desired) or "none (least privilege)"
            if rbac_plan.delete:
                s.detail += "; removed earlier: " + ", ".join(rbac.describe(o) for o in rbac_plan.delete)
            s.skipped = not rbac_plan.desired and not rbac_plan.delete

        with tx.step("Record in registry") as s:
            new_record = build_record(
                user=p.user,
                groups=p.groups,
                ttl_seconds=p.ttl_seconds,
                namespace=p.rbac.namespace,
                cluster=cluster,
                issued=issued,
                bindings=steps.binding_refs(rbac_plan.desired),
                context_name=context_name,
                issued_by=issued_by,
                existing=existing,
                access=access,
                key_type=None if token else p.key_type,  # a token identity has no key
                key_size=None if token else p.key_size,
                delivery=delivery,
                out=opts.recorded_out or opts.out,
                kubeconfig_user=user_entry_name if kc_plan else None,
                kubeconfig_file=str(kc_plan.destination) if kc_plan else None,
                key_holder=registry.KEY_HOLDER_USER if p.request is not None else None,
            )
            steps.write_record(
                tx, reg, new_record, issued.cert_pem if isinstance(issued, IssuedCertificate) else None, existing
            )
            s.detail = f"{reg.namespace}/{registry.object_name(p.user)}"

        if opts.write_key_files and kc_plan is not None and p.request is None and isinstance(issued, IssuedCertificate):
            from kubeuser import pki

            kdir = opts.key_dir or key_dir_for(cluster, p.user)
            pki.write_private_key(kdir / "client.key", issued.key_pem, overwrite=True)
            tx.on_undo(str(kdir / "client.key"), lambda: (kdir / "client.key").unlink(missing_ok=True))
            pki.write_public_file(kdir / "client.crt", issued.cert_pem)
            tx.on_undo(str(kdir / "client.crt"), lambda: (kdir / "client.crt").unlink(missing_ok=True))
            key_file, cert_file = str(kdir / "client.key"), str(kdir / "client.crt")

        with tx.step("Write kubeconfig") as s:
            if kc_plan is not None:
                for note in steps.merge_kubeconfig(
                    target,
                    kc_plan,
                    namespace=p.rbac.namespace,
                    user_body=user_body,
                    set_current=opts.set_current,
                    user=p.user,
                    serials=new_record.serials(),
                    also=steps.principals(new_record) + steps.principals(record),
                ):
                    reporter.warn(note)
                s.detail = f"context {context_name} in {kc_plan.destination}" + (
                    " (current)" if opts.set_current else ""
                )
            else:
                standalone_yaml, s.detail = write_handout(
                    target,
                    opts.out or "-",
                    p.user,
                    context_name,
                    p.rbac.namespace,
                    user_body,
                    opts.force,
                    gw=gw,
                    reporter=reporter,
                )
            tx.commit()  # the user exists and works from here on: nothing is rolled back

    retired = steps.RetiredTokens()
    if record is not None and record.token_secrets():
        with reporter.step("Invalidate the earlier tokens") as s:
            retired = steps.retire_tokens(
                gw,
                record,
                new_record,
                reg.namespace,
                keep=issued.secret_name if isinstance(issued, IssuedToken) else None,
            )
            s.detail = (
                f"deleted {len(retired.invalidated)} bound Secret(s)"
                + (f" and ServiceAccount {retired.service_account_deleted}" if retired.service_account_deleted else "")
                + ": the earlier tokens get 401 within about 10 s"
            )
        if retired.invalidated or retired.service_account_deleted:
            try:
                reg.put(new_record, issued.cert_pem if isinstance(issued, IssuedCertificate) else None)
            except KubeuserError as exc:
                p.warnings.append(f"the earlier tokens are dead, but recording that failed: {exc.message}")
                reporter.warn(p.warnings[-1])
    for f in retired.failed:
        p.warnings.append(f"an earlier token may still work: {f}")
        reporter.warn(p.warnings[-1])

    # A failing summary is reported, never rolled back.
    access_lines: list[str] = []
    access_rules: list[dict[str, Any]] | None = None
    late_warnings: list[str] = []
    if user_gw is None:  # bring your own key: the grants, as recorded (the user's import proves the identity)
        access_lines = access.describe()
    else:
        try:
            with reporter.step("Summarize access") as s:
                reviewed = user_gw.rules_review(p.rbac.namespace)
                access_rules = [r for r in reviewed if not _is_default_rule(rbac.summarize_rule(r))]
                access_lines = [rbac.summarize_rule(r) for r in access_rules]
                s.detail = f"{len(access_lines)} rule(s) in namespace {p.rbac.namespace}"
        except KubeuserError as exc:
            late_warnings.append(f"the user was created, but summarizing its access failed: {exc.message}")
            reporter.warn(late_warnings[-1])
        finally:
            user_gw.close()
    warnings = list(p.warnings)
    if issued.lifetime.message:
        warnings.append(issued.lifetime.message)
    earlier = new_record.still_valid_earlier()
    for c in earlier:
        warnings.append(still_valid_warning(p.user, c))
        reporter.warn(warnings[-1])
    warnings += late_warnings
    if access.empty:
        reporter.note(
            f"{p.user} can authenticate but may do nothing yet: grant access with "
            f"`{hints.kubeuser('grant', p.user, options=('--clusterrole', 'view', '-n', p.rbac.namespace))}` "
            "(or --rule/--role)"
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
        kubeconfig=str(kc_plan.destination) if kc_plan else None,
        out=opts.out,
        standalone_yaml=standalone_yaml,
        key_file=key_file,
        cert_file=cert_file,
        rbac_objects=rbac_plan.desired,
        identity=identity,
        access=access_lines,
        warnings=warnings,
        removed_grants=[rbac.describe(o) for o in rbac_plan.delete],
        earlier_valid=earlier,
        access_rules=access_rules,
        granted=access,
        invalidated=retired.invalidated,
        service_account_deleted=retired.service_account_deleted,
    )


# SelfSubjectRulesReview always lists what every authenticated user may do; leave that out of summaries
_DEFAULT_RULE_PREFIXES = (
    "create selfsubjectaccessreviews",
    "create selfsubjectreviews",
    "create selfsubjectrulesreviews",
)


def _is_default_rule(text: str) -> bool:
    return text.startswith(_DEFAULT_RULE_PREFIXES)
