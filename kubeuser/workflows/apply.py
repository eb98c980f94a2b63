"""``kubeuser apply``: users as code.

A users file (:mod:`kubeuser.usersfile`) declares who should have access. ``apply`` reads the
registry and kubeuser's RBAC objects once, computes a plan, and makes the cluster match:

* ``create``    — declared but not onboarded (no record, or a revoked one);
* ``renew``     — the certificate expires within ``--renew-before`` (or has expired);
* ``reissue``   — the declared groups differ from the certificate's (groups live in the certificate),
                  or the declared ``auth`` kind differs from the user's (x509 ↔ token);
* ``update``    — the certificate is fine but kubeuser's RBAC objects differ from the declaration;
* ``unchanged`` — nothing to do (no new key, so no kubeconfig file either);
* ``prune``     — (``--prune``) an active registry record no longer declared: revoked.

Renewed and reissued users also get their RBAC reconciled. Users are processed concurrently
over ONE gateway (one API client and connection pool); the permission preflight and the
admin identity are computed once. A failing user does not stop the others: every outcome is
reported, and the result's exit code is the first failure's.
"""

from __future__ import annotations

import contextlib
import secrets
import stat
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kubeuser import durations, hints, naming, ownership, pruneguard, rbac, registry, rolecheck, tokens
from kubeuser.connect import Target
from kubeuser.errors import ConflictError, ExitCode, ForbiddenError, KubeuserError, NotFoundError, UsageError
from kubeuser.gateway import Gateway
from kubeuser.permissions import require_onboarding_permissions
from kubeuser.progress import RecordingReporter, Reporter
from kubeuser.usersfile import UserList, UserSpec
from kubeuser.workflows import create as createwf
from kubeuser.workflows import renew as renewwf
from kubeuser.workflows import revoke as revokewf
from kubeuser.workflows import steps

CREATE = "create"
RENEW = "renew"
REISSUE = "reissue"
UPDATE = "update"
UNCHANGED = "unchanged"
PRUNE = "prune"
ACTIONS = (CREATE, RENEW, REISSUE, UPDATE, UNCHANGED, PRUNE)
ISSUING = (CREATE, RENEW, REISSUE)  # actions that mint a new key and certificate

DEFAULT_RENEW_BEFORE = 7 * 86400
DEFAULT_PARALLEL = 4
MAX_PARALLEL = 32

RBAC_KINDS = ("Role", "RoleBinding", "ClusterRoleBinding")
ALLOW_MISSING_ROLES = "`allowMissingRoles: true` for the user (or --allow-missing-roles)"


@dataclass
class ApplyOptions:
    renew_before_seconds: int = DEFAULT_RENEW_BEFORE
    prune: bool = False
    out_dir: Path | None = None  # one standalone kubeconfig per created/renewed user; None → merge into yours
    force_out: bool = False
    dry_run: bool = False
    parallel: int = DEFAULT_PARALLEL
    timeout: float = steps.DEFAULT_TIMEOUT
    registry_namespace: str | None = None
    allow_missing_roles: bool = False  # for every user (a user's allowMissingRoles: true is for that user)
    max_prune: int | None = None  # refuse a prune of more users than this (besides more than half)
    allow_mass_prune: bool = False  # confirm a prune over the limit

    def validate(self) -> None:
        if not 1 <= self.parallel <= MAX_PARALLEL:
            raise UsageError(f"--parallel must be between 1 and {MAX_PARALLEL}, got {self.parallel}")
        if not self.prune and (self.max_prune is not None or self.allow_mass_prune):
            flag = pruneguard.LIMIT_FLAG if self.max_prune is not None else pruneguard.CONFIRM_FLAG
            raise UsageError(f"{flag} only applies with --prune", hint="add --prune, or leave it out")
        if self.max_prune is not None and self.max_prune < 0:
            raise UsageError(f"{pruneguard.LIMIT_FLAG} must not be negative", hint=f"e.g. {pruneguard.LIMIT_FLAG} 5")
        if self.renew_before_seconds < 0:
            raise UsageError("--renew-before must not be negative")
        if self.timeout <= 0:
            raise UsageError("--timeout must be positive", hint="e.g. --timeout 60")


# --------------------------------------------------------------------------- the plan


@dataclass
class RbacChange:
    op: str  # create | update | delete
    obj: dict[str, Any]

    def describe(self) -> str:
        return {"create": "+", "update": "~", "delete": "-"}[self.op] + " " + rbac.describe(self.obj)


@dataclass
class PlannedUser:
    user: str
    action: str
    reason: str
    spec: UserSpec | None = None
    record: registry.UserRecord | None = None
    rbac_changes: list[RbacChange] = field(default_factory=list)


@dataclass
class ClusterState:
    """What the plan is computed from: registry records and kubeuser's RBAC objects, by user."""

    records: dict[str, registry.UserRecord]
    rbac_objects: dict[str, list[dict[str, Any]]]


def read_state(gw: Gateway, registry_namespace: str) -> ClusterState:
    """Four list calls: the registry, and kubeuser-managed Roles, RoleBindings and ClusterRoleBindings."""
    records = {r.user: r for r in registry.Registry(gw, registry_namespace).list()}
    objs: dict[str, list[dict[str, Any]]] = {}
    for kind in RBAC_KINDS:
        for obj in gw.list_objects(kind, label_selector=naming.MANAGED_SELECTOR):
            obj.setdefault("kind", kind)
            user = ownership.user_of(obj)
            if user and ownership.registry_of(obj) in (registry_namespace, None):  # never another registry's
                objs.setdefault(user, []).append(obj)
    return ClusterState(records, objs)


def _key(obj: dict[str, Any]) -> tuple[str, str | None, str]:
    meta = obj["metadata"]
    return obj["kind"], meta.get("namespace"), meta["name"]


def rbac_diff(desired: Sequence[dict[str, Any]], actual: Sequence[dict[str, Any]]) -> list[RbacChange]:
    """What to create, update and delete so that ``actual`` (kubeuser's objects of a user) matches."""
    have = {_key(o): o for o in actual}
    want = {_key(o) for o in desired}
    changes: list[RbacChange] = []
    for obj in desired:
        cur = have.get(_key(obj))
        if cur is None:
            changes.append(RbacChange("create", obj))
        elif steps.essence(cur, marks=False) != steps.essence(obj, marks=False):  # what grants access
            changes.append(RbacChange("update", obj))
    changes += [RbacChange("delete", o) for k, o in have.items() if k not in want]
    return changes


def compute_plan(
    users: UserList,
    state: ClusterState,
    *,
    default_namespace: str,
    renew_before_seconds: int = DEFAULT_RENEW_BEFORE,
    prune: bool = False,
    now: datetime | None = None,
    registry_namespace: str = registry.DEFAULT_NAMESPACE,
) -> list[PlannedUser]:
    """One entry per declared user (in file order), then the users to prune (by name). Pure: no I/O.
    *registry_namespace*: where a new token identity's ServiceAccount goes (its bindings name it)."""
    now = now or datetime.now(timezone.utc)
    plan: list[PlannedUser] = []
    for spec in users.users:
        rec = state.records.get(spec.name)
        desired = spec.rbac_objects(default_namespace, _subject(spec, rec, registry_namespace))
        if rec is None:
            plan.append(PlannedUser(spec.name, CREATE, "not onboarded yet", spec))
            continue
        if rec.status == "revoked":
            plan.append(PlannedUser(spec.name, CREATE, f"revoked at {rec.revoked_at}: onboarding again", spec, rec))
            continue
        changes = rbac_diff(desired, state.rbac_objects.get(spec.name, []))
        if rec.auth != spec.auth:
            reason = f"auth {rec.auth} → {spec.auth}: " + (
                "a ServiceAccount with tokens replaces the certificate"
                if spec.auth == tokens.AUTH_TOKEN
                else "a certificate replaces the ServiceAccount and its tokens"
            )
            plan.append(PlannedUser(spec.name, REISSUE, reason, spec, rec, changes))
            continue
        if sorted(rec.groups) != sorted(spec.groups):
            reason = f"groups {_fmt_groups(rec.groups)} → {_fmt_groups(spec.groups)}: groups live in the certificate"
            plan.append(PlannedUser(spec.name, REISSUE, reason, spec, rec, changes))
            continue
        if spec.csr_pem is not None and rec.certificate.public_key_sha256 != spec.csr_public_key_sha256:
            why = (
                "a new certificate request (a new key)"
                if rec.key_holder == registry.KEY_HOLDER_USER
                else "the user brings their own key now (csr)"
            )
            plan.append(PlannedUser(spec.name, RENEW, why, spec, rec, changes))
            continue
        left = (registry.parse_time(rec.certificate.not_after) - now).total_seconds()
        window = renew_window(renew_before_seconds, spec.ttl_seconds)
        if left <= window:
            reason = (
                f"expired at {rec.certificate.not_after}"
                if left <= 0
                else f"expires in {durations.format(left)} (renews within {durations.format(window)} of expiry)"
            )
            plan.append(PlannedUser(spec.name, RENEW, reason, spec, rec, changes))
        elif changes:
            plan.append(PlannedUser(spec.name, UPDATE, "RBAC differs from the file", spec, rec, changes))
        else:
            reason = f"valid until {rec.certificate.not_after} ({durations.format(left)} left)"
            plan.append(PlannedUser(spec.name, UNCHANGED, reason, spec, rec))
    if prune:
        declared = set(users.names())
        for user in sorted(state.records):
            rec = state.records[user]
            if rec.status == "active" and user not in declared:
                plan.append(PlannedUser(user, PRUNE, f"not declared in {users.file}", None, rec))
    return plan


def _subject(spec: UserSpec, rec: registry.UserRecord | None, registry_namespace: str) -> dict[str, str] | None:
    """The subject a declared user's bindings name: the User (x509), or the ServiceAccount of a token identity
    (the record's, else the one a create would make in the registry namespace)."""
    if spec.auth != tokens.AUTH_TOKEN:
        return None
    if rec is not None and rec.is_token and rec.status == "active":
        found = steps.subject_of(rec)
        if found is not None:
            return found
    return tokens.subject(registry_namespace, tokens.service_account_name(spec.name))


def renew_window(renew_before_seconds: int, ttl_seconds: int) -> int:
    """How close to expiry a certificate is renewed: ``--renew-before``, but at most half the user's ttl.

    Without the cap, a user whose ttl is not longer than ``--renew-before`` would get a new certificate
    on every apply.
    """
    return min(renew_before_seconds, ttl_seconds // 2)


def _fmt_groups(groups: Sequence[str]) -> str:
    return "[" + ", ".join(groups) + "]"


# --------------------------------------------------------------------------- outcomes


@dataclass
class UserOutcome:
    user: str
    action: str
    reason: str
    done: bool = False  # False in --dry-run, and when the user failed
    serial: str | None = None
    not_after: str | None = None
    kubeconfig: str | None = None  # the file holding the user's new credentials
    context: str | None = None
    note: str | None = None
    rbac: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    hint: str | None = None
    exit_code: int | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.error is not None

    def fail(self, exc: KubeuserError) -> None:
        self.error, self.hint, self.exit_code = exc.message, exc.hint, int(exc.exit_code)
        self.done = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "action": self.action,
            "reason": self.reason,
            "status": "failed" if self.failed else ("done" if self.done else "planned"),
            "serial": self.serial,
            "notAfter": self.not_after,
            "kubeconfig": self.kubeconfig,
            "context": self.context,
            "note": self.note,
            "rbac": self.rbac,
            "warnings": self.warnings,
            "error": None if self.error is None else {"message": self.error, "hint": self.hint,
                                                      "exitCode": self.exit_code},
            "seconds": round(self.seconds, 2),
        }  # fmt: skip


@dataclass
class ApplyResult:
    file: str
    dry_run: bool
    registry_namespace: str
    out_dir: str | None
    parallel: int
    outcomes: list[UserOutcome]
    seconds: float = 0.0
    prune_check: pruneguard.PruneCheck | None = None  # with --prune; refused only in --dry-run (else raised)

    @property
    def exit_code(self) -> int:
        """0, or 2 for a refused prune (--dry-run), or the exit code of the first failed user (in plan order)."""
        if self.prune_check is not None and self.prune_check.refused:
            return int(ExitCode.USAGE)
        for o in self.outcomes:
            if o.failed:
                return o.exit_code or int(ExitCode.ERROR)
        return 0

    def counts(self) -> dict[str, int]:
        c = {a: 0 for a in ACTIONS}
        for o in self.outcomes:
            c[o.action] += 1
        c["failed"] = sum(1 for o in self.outcomes if o.failed)
        return c

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "ApplyResult",
            "file": self.file,
            "dryRun": self.dry_run,
            "registryNamespace": self.registry_namespace,
            "outDir": self.out_dir,
            "parallel": self.parallel,
            "summary": self.counts(),
            **({"prune": self.prune_check.to_dict()} if self.prune_check is not None else {}),
            "users": [o.to_dict() for o in self.outcomes],
            "seconds": round(self.seconds, 2),
        }


def out_file(out_dir: Path, user: str) -> Path:
    """``DIR/<user>.kubeconfig`` (a safe file name for any user name)."""
    return out_dir / f"{naming.safe_id(user)}.kubeconfig"


# --------------------------------------------------------------------------- apply


OnDone = Callable[[UserOutcome], None]


def apply(
    users: UserList,
    opts: ApplyOptions,
    target: Target,
    gw: Gateway,
    reporter: Reporter,
    *,
    on_done: OnDone | None = None,
) -> ApplyResult:
    opts.validate()
    t0 = time.monotonic()
    reg_ns = registry.namespace_from(opts.registry_namespace)
    default_ns = target.namespace
    with reporter.step("Read registry and kubeuser's RBAC objects") as s:
        version = gw.version()
        state = read_state(gw, reg_ns)
        plan = compute_plan(
            users,
            state,
            default_namespace=default_ns,
            renew_before_seconds=opts.renew_before_seconds,
            prune=opts.prune,
            registry_namespace=reg_ns,
        )
        s.detail = f"{len(state.records)} record(s) in {reg_ns}; plan: " + _plan_text(plan)
    prune_check = None
    if opts.prune:  # the brake: refuse before anything else happens
        active = sum(1 for r in state.records.values() if r.status == "active")
        revoke = sum(1 for i in plan if i.action == PRUNE)
        prune_check = pruneguard.check(revoke, active, max_prune=opts.max_prune, confirmed=opts.allow_mass_prune)
        if prune_check.refused and not opts.dry_run:
            raise prune_check.error(users.file)
        if prune_check.over_limit:
            verdict = "would be refused" if prune_check.refused else f"confirmed by {pruneguard.CONFIRM_FLAG}"
            reporter.warn(f"{prune_check.summary()}: {verdict}")
    result = ApplyResult(
        file=users.file,
        dry_run=opts.dry_run,
        registry_namespace=reg_ns,
        out_dir=str(opts.out_dir) if opts.out_dir else None,
        parallel=opts.parallel,
        outcomes=[],
        prune_check=prune_check,
    )
    outcomes = [_planned(item) for item in plan]
    result.outcomes = outcomes
    issuing = [i for i in plan if i.action in ISSUING]
    if opts.out_dir is not None:
        existing = [out_file(opts.out_dir, i.user) for i in issuing if out_file(opts.out_dir, i.user).exists()]
        if existing and not opts.force_out:
            names = ", ".join(p.name for p in existing[:5]) + (" …" if len(existing) > 5 else "")
            if opts.dry_run:
                reporter.warn(f"{len(existing)} kubeconfig file(s) already exist in {opts.out_dir}: {names}")
            else:
                raise ConflictError(
                    f"{len(existing)} kubeconfig file(s) already exist in {opts.out_dir}: {names}",
                    hint="--force-out replaces them, or choose another --out-dir; nothing was changed",
                )
    onboarding = [i for i in plan if i.action not in (UNCHANGED, PRUNE)]
    if onboarding:
        objs = [o for i in onboarding if i.spec is not None for o in i.spec.rbac_objects(default_ns)]
        kinds = {i.spec.auth for i in onboarding if i.spec is not None and i.action in ISSUING}
        with reporter.step("Check permissions") as s:
            try:
                require_onboarding_permissions(
                    gw,
                    reg_ns,
                    objs,
                    reg_ns if tokens.AUTH_TOKEN in kinds else None,
                    certificates=tokens.AUTH_X509 in kinds or tokens.AUTH_TOKEN not in kinds,
                )
            except ForbiddenError as exc:
                if not opts.dry_run:
                    raise
                reporter.warn(f"{exc.message} ({exc.hint})" if exc.hint else exc.message)
                s.detail = "missing permissions (see the warning)"
                s.failed = True
            else:
                creds = " and ".join(
                    what
                    for kind, what in ((tokens.AUTH_X509, "approve CSRs"), (tokens.AUTH_TOKEN, "request tokens"))
                    if kind in kinds
                )
                s.detail = (f"may {creds} and " if creds else "may ") + f"grant what {len(onboarding)} user(s) need"
        missing = _missing_namespaces(gw, onboarding, reporter)
        onboarding_ids = {id(i) for i in onboarding}
        for o, item in zip(outcomes, plan, strict=True):
            spec = item.spec
            gone = [n.namespace for n in spec.namespaces if n.namespace in missing] if spec else []
            if id(item) not in onboarding_ids or not gone:
                continue
            if opts.dry_run:
                o.warnings.append(f"namespace {gone[0]!r} does not exist: applying would fail for {item.user}")
                continue
            o.fail(
                NotFoundError(
                    f"namespace {gone[0]!r} does not exist",
                    hint=f"create it (kubectl create namespace {gone[0]}) or change {users.file}; "
                    f"{item.user} was left as it was",
                )
            )
        # roles the new bindings name must exist (one read per role for all users)
        batch = {
            id(i): (
                i.spec.rbac_objects(default_ns)
                if i.action == CREATE
                else [c.obj for c in i.rbac_changes if c.op != "delete"],
                opts.allow_missing_roles or i.spec.allow_missing_roles,
            )
            for i in onboarding
            if i.spec is not None
        }
        role_errors, role_warnings = rolecheck.check_batch(gw, batch, reporter=reporter, allow=ALLOW_MISSING_ROLES)
        for o, item in zip(outcomes, plan, strict=True):
            if id(item) in role_warnings:
                o.warnings.append(role_warnings[id(item)])
            if id(item) in role_errors and not o.failed:
                err = role_errors[id(item)]
                err.hint = f"{err.hint}; {item.user} was left as it was"
                o.fail(err)

    if opts.dry_run:
        for o, item in zip(outcomes, plan, strict=True):
            if opts.out_dir is not None and item.action in ISSUING:
                o.kubeconfig = str(out_file(opts.out_dir, item.user))
        result.seconds = time.monotonic() - t0
        return result

    for o, item in zip(outcomes, plan, strict=True):
        if item.action == UNCHANGED:
            o.done = True
            new = "no new token" if item.spec is not None and item.spec.auth == tokens.AUTH_TOKEN else "no new key"
            o.note = f"{new}, so no kubeconfig file" if opts.out_dir else new
    for o in outcomes:
        if o.failed and on_done is not None:
            on_done(o)
    todo = [(o, item) for o, item in zip(outcomes, plan, strict=True) if item.action != UNCHANGED and not o.failed]
    if not todo:
        result.seconds = time.monotonic() - t0
        return result
    if opts.out_dir is not None and any(item.action in ISSUING for _, item in todo):
        _ensure_out_dir(opts.out_dir, reporter)

    ctx = _Context(opts, target, gw, reg_ns, default_ns, steps.admin_identity(gw, target, version))
    with reporter.step(f"Apply {len(todo)} change(s), {opts.parallel} at a time") as s:
        _run_all(ctx, todo, opts.parallel, on_done)
        failed = sum(1 for o, _ in todo if o.failed)
        s.detail = f"{len(todo) - failed} done" + (f", {failed} FAILED" if failed else "")
        s.failed = bool(failed)
    result.seconds = time.monotonic() - t0
    return result


def _plan_text(plan: Sequence[PlannedUser]) -> str:
    counts = {a: sum(1 for i in plan if i.action == a) for a in ACTIONS}
    return ", ".join(f"{n} {a}" for a, n in counts.items() if n) or "nothing declared"


def _planned(item: PlannedUser) -> UserOutcome:
    o = UserOutcome(item.user, item.action, item.reason)
    o.rbac = [c.describe() for c in item.rbac_changes]
    rec = item.record
    if rec is not None and item.action in (UNCHANGED, UPDATE, PRUNE):
        o.serial, o.not_after = rec.certificate.serial, rec.certificate.not_after
    return o


def _missing_namespaces(gw: Gateway, items: Sequence[PlannedUser], reporter: Reporter) -> set[str]:
    wanted = sorted({n.namespace for i in items if i.spec is not None for n in i.spec.namespaces})
    if not wanted:
        return set()
    with reporter.step("Check namespaces") as s:
        missing = {ns for ns in wanted if gw.get_object("Namespace", ns) is None}
        s.detail = f"{len(wanted)} exist" if not missing else "missing: " + ", ".join(sorted(missing))
        s.failed = bool(missing)
    return missing


def _ensure_out_dir(out_dir: Path, reporter: Reporter) -> None:
    if not out_dir.exists():
        try:
            out_dir.mkdir(parents=True, mode=0o700)
            out_dir.chmod(0o700)  # independent of the umask
        except OSError as exc:
            raise UsageError(f"cannot create --out-dir {out_dir}: {exc.strerror or exc}") from exc
        return
    if not out_dir.is_dir():
        raise UsageError(f"--out-dir {out_dir} is not a directory")
    mode = stat.S_IMODE(out_dir.stat().st_mode)
    if mode & 0o077:
        reporter.warn(f"{out_dir} is accessible by others (mode {mode:04o}); the kubeconfig files in it are 0600")


@dataclass
class _Context:
    opts: ApplyOptions
    target: Target
    gw: Gateway
    registry_namespace: str
    default_namespace: str
    admin: str


def _run_all(ctx: _Context, todo: list[tuple[UserOutcome, PlannedUser]], parallel: int, on_done: OnDone | None) -> None:
    def one(o: UserOutcome, item: PlannedUser) -> None:
        t0 = time.monotonic()
        try:
            _execute(ctx, o, item)
        except KubeuserError as exc:
            o.fail(exc)
        except Exception as exc:  # a bug: keep the other users going, report it with this user
            o.fail(KubeuserError(f"internal error: {type(exc).__name__}: {exc}", hint="run with --debug and report it"))
        o.seconds = time.monotonic() - t0
        if on_done is not None:
            on_done(o)

    pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="kubeuser-apply")
    futures: list[Future[None]] = []
    try:
        futures = [pool.submit(one, o, item) for o, item in todo]
        for f in futures:
            f.result()
    except BaseException:
        # Ctrl-C: start nothing new; users already in flight finish (or roll back) before we return
        for f in futures:
            f.cancel()
        with contextlib.suppress(BaseException):
            wait(futures)
        raise
    finally:
        pool.shutdown(wait=True)


def _execute(ctx: _Context, o: UserOutcome, item: PlannedUser) -> None:
    rep = RecordingReporter()
    try:
        if item.action in (CREATE, REISSUE):
            _create(ctx, o, item, rep)
        elif item.action == RENEW:
            _renew(ctx, o, item, rep)
        elif item.action == UPDATE:
            _reconcile(ctx, item, rep)
            token = item.spec is not None and item.spec.auth == tokens.AUTH_TOKEN
            o.note = "token unchanged; no new token" if token else "certificate unchanged; no new key"
        elif item.action == PRUNE:
            _prune(ctx, o, item, rep)
        o.done = True
    finally:
        o.warnings += rep.warnings


def _tmp_out(ctx: _Context, user: str) -> Path | None:
    if ctx.opts.out_dir is None:
        return None
    final = out_file(ctx.opts.out_dir, user)
    return final.with_name(f".{final.name}.{secrets.token_hex(4)}.tmp")


def _publish(tmp: Path, final: Path, force: bool) -> None:
    """Move the finished kubeconfig into place (no-clobber unless ``force``)."""
    try:
        _move(tmp, final, force)
    except OSError as exc:
        raise UsageError(f"cannot write {final}: {exc.strerror or exc}", hint="check --out-dir") from None


def _move(tmp: Path, final: Path, force: bool) -> None:
    """kubeuser.files writes it: atomic, 0600, through a symlink, under kubectl's lock; *tmp* is removed."""
    from kubeuser import files  # here, not at the top: keeps this module's imports as they are

    kind = files.Kind("kubeconfig", UsageError, "check --out-dir", "--force-out replaces it")
    with files.kubectl_lock(final):
        files.publish(tmp, final, kind=kind, replace=force)


def _create(ctx: _Context, o: UserOutcome, item: PlannedUser, rep: RecordingReporter) -> None:
    spec = item.spec
    assert spec is not None
    opts = createwf.CreateOptions(
        name=spec.name,
        groups=list(spec.groups),
        ttl_seconds=spec.ttl_seconds,
        key_type=spec.key_type,
        key_size=spec.key_size,
        force=item.action == REISSUE,  # reissue: replace the certificate and take over the RBAC objects
        timeout=ctx.opts.timeout,
        registry_namespace=ctx.opts.registry_namespace,
        write_key_files=ctx.opts.out_dir is None,
        issued_by=ctx.admin,
        auth=spec.auth,
    )
    if spec.csr_pem is not None:
        if ctx.opts.out_dir is None:
            raise UsageError(
                f"{spec.name} brings their own key (csr: {spec.csr_path}): the handout needs --out-dir",
                hint="kubeuser apply -f FILE --out-dir DIR; nothing was created for this user",
            )
        opts.csr_pem, opts.key_type, opts.key_size = spec.csr_pem, spec.key_type, spec.key_size
    opts.access = spec_access(spec, ctx.default_namespace)
    opts.namespace = spec.primary_namespace
    opts.delivery = registry.DELIVERY_HANDOUT if ctx.opts.out_dir is not None else registry.DELIVERY_KUBECONFIG
    if ctx.opts.out_dir is not None:
        opts.recorded_out = str(out_file(ctx.opts.out_dir, spec.name))
    tmp = _tmp_out(ctx, spec.name)
    opts.out = str(tmp) if tmp is not None else None
    try:
        res = createwf.create(opts, ctx.target, ctx.gw, rep, skip_preflight=True, check_roles=False)
        o.serial, o.not_after = res.serial, res.not_after
        o.context = res.context
        # hand out the credentials first: if granting the rest of the access fails, the next apply finishes it
        if tmp is not None and ctx.opts.out_dir is not None:
            final = out_file(ctx.opts.out_dir, spec.name)
            try:
                _publish(tmp, final, ctx.opts.force_out)
            except KubeuserError as exc:
                _undo(ctx, spec.name, exc, rep)
                raise
            o.kubeconfig = str(final)
        else:
            o.kubeconfig = res.kubeconfig
        o.rbac = [rbac.describe(x) for x in res.rbac_objects]
        old = item.record
        if item.action == REISSUE and old is not None and old.is_token:
            o.note = (
                f"the previous ServiceAccount {old.service_account_namespace}/{old.service_account} and its "
                "token Secrets were deleted: its tokens get 401 within about 10 s"
            )
        elif item.action == REISSUE and old is not None:
            o.note = (
                f"the previous certificate {old.certificate.serial} (groups {_fmt_groups(old.groups)}) still "
                f"authenticates until {old.certificate.not_after} (Kubernetes cannot revoke it)"
            )
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()


def _undo(ctx: _Context, user: str, exc: KubeuserError, rep: RecordingReporter) -> None:
    """The new key could not be handed out: revoke the user again, so the next apply creates it anew."""
    try:
        revokewf.revoke(
            revokewf.RevokeOptions(name=user, registry_namespace=ctx.opts.registry_namespace, revoked_by=ctx.admin),
            ctx.target,
            ctx.gw,
            rep,
        )
        undone = f"{user} was revoked again; the next apply creates it anew"
    except KubeuserError as inner:
        undone = (
            f"revoking {user} again failed too ({inner.message}): `{hints.kubeuser('revoke', user)}`, then apply again"
        )
    exc.hint = (exc.hint + "; " if exc.hint else "") + undone


def _renew(ctx: _Context, o: UserOutcome, item: PlannedUser, rep: RecordingReporter) -> None:
    spec = item.spec
    assert spec is not None
    tmp = _tmp_out(ctx, spec.name)
    byok = spec.csr_pem is not None
    no_key = byok or spec.auth == tokens.AUTH_TOKEN  # the request carries the key, or there is none
    if byok and ctx.opts.out_dir is None:
        raise UsageError(
            f"{spec.name} brings their own key (csr: {spec.csr_path}): the new handout needs --out-dir",
            hint="kubeuser apply -f FILE --out-dir DIR",
        )
    opts = renewwf.RenewOptions(
        name=spec.name,
        ttl_seconds=spec.ttl_seconds,
        key_type=None if no_key else spec.key_type,
        key_size=None if no_key else spec.key_size,
        csr_pem=spec.csr_pem,
        out=str(tmp) if tmp is not None else None,
        timeout=ctx.opts.timeout,
        registry_namespace=ctx.opts.registry_namespace,
        write_key_files=ctx.opts.out_dir is None,
        issued_by=ctx.admin,
        recorded_out=str(out_file(ctx.opts.out_dir, spec.name)) if ctx.opts.out_dir is not None else None,
    )
    if item.rbac_changes:  # access first (same code as `update`), then the new certificate
        try:
            _reconcile(ctx, item, rep)
        except KubeuserError as exc:
            exc.message = f"updating the access of {spec.name} failed (not renewed): {exc.message}"
            raise
    try:
        res = renewwf.renew(opts, ctx.target, ctx.gw, rep)
        o.serial, o.not_after = res.serial, res.not_after
        o.context = res.context
        if tmp is not None and ctx.opts.out_dir is not None:
            final = out_file(ctx.opts.out_dir, spec.name)
            try:
                _publish(tmp, final, ctx.opts.force_out)
            except KubeuserError as exc:
                exc.message = f"{spec.name} was renewed, but its kubeconfig could not be written: {exc.message}"
                exc.hint = f"get a new one with `{hints.kubeuser('renew', spec.name, options=('--out', 'FILE'))}`"
                raise
            o.kubeconfig = str(final)
        else:
            o.kubeconfig = res.kubeconfig
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()


def spec_access(spec: UserSpec, default_namespace: str) -> rbac.Access:
    """Everything a declared user should be granted."""
    return rbac.Access.of(*spec.requests(default_namespace))


def _reconcile(ctx: _Context, item: PlannedUser, rep: RecordingReporter) -> None:
    """``update``: the same code as ``kubeuser grant``/``ungrant`` (RBAC made exactly as declared, recorded)."""
    spec = item.spec
    assert spec is not None
    reg = registry.Registry(ctx.gw, ctx.registry_namespace)
    found = reg.get(spec.name)
    if found is None:
        raise NotFoundError(f"the registry record of {spec.name} disappeared", hint="apply the file again")
    steps.change_access(ctx.gw, reg, found, spec_access(spec, ctx.default_namespace), rep)


def _prune(ctx: _Context, o: UserOutcome, item: PlannedUser, rep: RecordingReporter) -> None:
    res = revokewf.revoke(
        revokewf.RevokeOptions(name=item.user, registry_namespace=ctx.opts.registry_namespace, revoked_by=ctx.admin),
        ctx.target,
        ctx.gw,
        rep,
    )
    o.rbac = [f"- {d}" for d in res.deleted]
    if res.still_authenticates:
        o.note = f"revoked; the certificate still authenticates until {res.not_after} (Kubernetes cannot revoke it)"
    elif res.auth == tokens.AUTH_TOKEN:
        o.note = "revoked; its ServiceAccount and token Secrets were deleted: its tokens get 401 within about 10 s"
    else:
        o.note = "revoked"
    if res.residual_bindings:
        o.warnings.append("still bound: " + "; ".join(b.describe() for b in res.residual_bindings))
