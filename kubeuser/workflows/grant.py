"""``kubeuser grant`` / ``kubeuser ungrant``: change what a user may do, keep the certificate.

The record's access is the source of truth: grant adds to it, ungrant takes from it (``--all``
empties it), then the user's kubeuser-made RBAC objects are reconciled to exactly that and the
record is written. The certificate, kubeconfig entries and key stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubeuser import hints, naming, rbac, registry
from kubeuser.errors import ConflictError, NotFoundError, UsageError
from kubeuser.gateway import Gateway
from kubeuser.progress import Reporter
from kubeuser.workflows import steps


@dataclass
class GrantOptions:
    name: str
    namespace: str | None = None  # default: the record's namespace
    rules: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    cluster_roles: list[str] = field(default_factory=list)
    cluster_wide: bool = False
    all: bool = False  # ungrant only: take everything away
    registry_namespace: str | None = None
    dry_run: bool = False


@dataclass
class GrantResult:
    user: str
    changes: list[str]
    access: rbac.Access
    objects: list[dict[str, Any]]
    dry_run: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "dryRun": self.dry_run,
            "changes": self.changes,
            "access": self.access.grants(self.user),
            "grants": self.access.describe(),
            "rbac": [rbac.ref_of(o) for o in self.objects],
        }


def change(opts: GrantOptions, gw: Gateway, reporter: Reporter, *, remove: bool) -> GrantResult:
    user = naming.check_user_name(opts.name)
    verb = "ungrant" if remove else "grant"
    if remove and opts.all and (opts.rules or opts.roles or opts.cluster_roles):
        raise UsageError(
            "--all takes everything away; give it alone", hint=hints.kubeuser("ungrant", user, options=("--all",))
        )
    if not opts.all and not (opts.rules or opts.roles or opts.cluster_roles):
        raise UsageError(
            f"nothing to {verb}",
            hint=f"name what to {verb}: --rule VERBS:RESOURCES, --role NAME, --clusterrole NAME"
            + (" (or --all)" if remove else ""),
        )
    reg = registry.Registry(gw, registry.namespace_from(opts.registry_namespace))
    with reporter.step("Read registry") as s:
        found = reg.get(user)
        if found is None:
            raise NotFoundError(
                f"no kubeuser record for user {user!r} in registry {reg.namespace}",
                hint=f"`{hints.kubeuser('list')}` shows known users; `{hints.kubeuser('create', user)}` onboards one",
            )
        record = found[0]
        if record.status == "revoked":
            raise ConflictError(
                f"user {user!r} was revoked at {record.revoked_at}",
                hint=f"`{hints.kubeuser('create', user)}` onboards them again",
            )
        access = steps.migrate_access(gw, record, reg.namespace)
        s.detail = f"{len(access.describe())} grant(s) now"
    req = rbac.build_request(
        opts.namespace or record.namespace, opts.rules, opts.roles, opts.cluster_roles, opts.cluster_wide
    )
    new = rbac.Access.from_dict(access.to_dict())
    if remove:
        if opts.all:
            new = rbac.Access()
        else:
            missing = new.remove(req)
            if missing:
                have = "; ".join(access.describe()) or "nothing"
                raise NotFoundError(
                    f"{user} has no {missing[0]} to take away" + (f" (and {len(missing) - 1} more)" if len(missing) > 1
                                                                     else ""),
                    hint=f"{user} is granted: {have}; nothing was changed",
                )  # fmt: skip
    else:
        new.add(req)
        for ns in {n.namespace for n in new.namespaces} - {n.namespace for n in access.namespaces}:
            if gw.get_object("Namespace", ns) is None:
                raise NotFoundError(
                    f"namespace {ns!r} does not exist",
                    hint=f"create it (kubectl create namespace {ns}) or pick another with -n",
                )
    done = steps.change_access(gw, reg, found, new, reporter, dry_run=opts.dry_run)
    return GrantResult(user, done.plan.describe(), new, done.plan.desired, opts.dry_run)
