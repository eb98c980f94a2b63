"""Do the Roles and ClusterRoles a user is about to be bound to exist?

Kubernetes accepts a RoleBinding to a Role that does not exist: the binding grants nothing until
such a role appears. So ``--role deploryer`` would onboard a user that may do nothing, with exit 0.
Before anything is created, kubeuser reads every Role and ClusterRole that the new bindings name
(not the Roles it creates itself for ``--rule``). A missing one is an error (:class:`NotFoundError`,
exit 10) naming it, with the closest existing names as a hint — unless missing roles are allowed
(``--allow-missing-roles``, ``allowMissingRoles: true`` in a users file: pre-provisioning, the role
comes later), which turns it into a warning. When the admin may not read roles (403), existence
cannot be checked: a warning, and onboarding goes on.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kubeuser.errors import ForbiddenError, NotFoundError
from kubeuser.gateway import Gateway
from kubeuser.progress import Reporter

ALLOW_FLAG = "--allow-missing-roles"
K = TypeVar("K")
MAX_SUGGESTIONS = 3
_CUTOFF = 0.6


@dataclass(frozen=True, order=True)
class RoleRef:
    """A role named by a binding: a Role (in the binding's namespace) or a ClusterRole."""

    kind: str  # "Role" | "ClusterRole"
    name: str
    namespace: str | None = None  # a Role's namespace; None for a ClusterRole

    def describe(self) -> str:
        if self.kind == "Role":
            return f"Role {self.name!r} in namespace {self.namespace!r}"
        return f"ClusterRole {self.name!r}"


@dataclass(frozen=True)
class MissingRole:
    ref: RoleRef
    suggestions: tuple[str, ...] = ()  # "Role 'deployer'", "ClusterRole 'view'"


@dataclass
class RoleCheck:
    """What was found for every role referenced: missing ones (with suggestions) and unreadable ones."""

    refs: list[RoleRef] = field(default_factory=list)
    missing: dict[RoleRef, MissingRole] = field(default_factory=dict)
    unchecked: dict[RoleRef, str] = field(default_factory=dict)  # ref → why (the 403 message)

    def missing_for(self, objects: Sequence[dict[str, Any]]) -> list[MissingRole]:
        """The missing roles among those that ``objects`` reference (one user's share of a batch check)."""
        return [self.missing[r] for r in role_refs(objects) if r in self.missing]

    def unchecked_for(self, objects: Sequence[dict[str, Any]]) -> list[RoleRef]:
        return [r for r in role_refs(objects) if r in self.unchecked]


def role_refs(objects: Sequence[dict[str, Any]]) -> list[RoleRef]:
    """The roles that the bindings in ``objects`` name, in order, without the Roles ``objects`` create."""
    made = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects if "roleRef" not in o}
    refs: list[RoleRef] = []
    for o in objects:
        ref = o.get("roleRef")
        if not ref or ref.get("kind") not in ("Role", "ClusterRole"):
            continue
        ns = o["metadata"].get("namespace") if ref["kind"] == "Role" else None
        r = RoleRef(ref["kind"], ref["name"], ns)
        if (r.kind, r.namespace, r.name) in made or r in refs:
            continue
        refs.append(r)
    return refs


def check(gw: Gateway, objects: Sequence[dict[str, Any]]) -> RoleCheck:
    """Read every referenced role once (GET); list the namespace's Roles / the ClusterRoles only for suggestions."""
    result = RoleCheck(refs=role_refs(objects))
    listings: dict[tuple[str, str | None], list[str] | None] = {}

    def names(kind: str, namespace: str | None) -> list[str]:
        key = (kind, namespace)
        if key not in listings:
            try:
                listings[key] = [o["metadata"]["name"] for o in gw.list_objects(kind, namespace)]
            except ForbiddenError:
                listings[key] = None  # no suggestions, the error stands
        return listings[key] or []

    for ref in result.refs:
        try:
            found = gw.get_object(ref.kind, ref.name, ref.namespace)
        except ForbiddenError as exc:
            result.unchecked[ref] = exc.message
            continue
        if found is None:
            result.missing[ref] = MissingRole(ref, _suggest(ref, names))
    return result


def _suggest(ref: RoleRef, names: Any) -> tuple[str, ...]:
    """Close names of the same kind; and the same name of the other kind (``--role view`` → ClusterRole view)."""
    pool = [n for n in names(ref.kind, ref.namespace) if n != ref.name]
    if not ref.name.startswith("system:"):
        pool = [n for n in pool if not n.startswith("system:")]
    out = [f"{ref.kind} {n!r}" for n in _close(ref.name, pool)]
    if ref.kind == "Role" and ref.name in names("ClusterRole", None):
        out.append(f"ClusterRole {ref.name!r}")
    return tuple(out[: MAX_SUGGESTIONS + 1])


def _close(word: str, pool: Iterable[str]) -> list[str]:
    pool = list(pool)
    low = {p.lower(): p for p in pool}
    exact_case = [low[word.lower()]] if word.lower() in low else []
    close = difflib.get_close_matches(word, pool, n=MAX_SUGGESTIONS, cutoff=_CUTOFF)
    return list(dict.fromkeys(exact_case + close))[:MAX_SUGGESTIONS]


def missing_error(missing: Sequence[MissingRole], *, allow: str = ALLOW_FLAG) -> NotFoundError:
    """One error naming every missing role; the hint has the closest existing names and the way out."""
    what = [m.ref.describe() for m in missing]
    verb = "does not exist" if len(what) == 1 else "do not exist"
    message = f"{_join(what)} {verb}"
    guesses = [f"{' or '.join(m.suggestions)} for {m.ref.name!r}" for m in missing if m.suggestions]
    hint = f"did you mean {'; '.join(guesses)}? " if guesses else ""
    hint += f"fix the name or create the role first; {allow} binds it anyway (it grants nothing until it exists)"
    return NotFoundError(message, hint=hint)


def missing_warning(missing: Sequence[MissingRole]) -> str:
    what = _join([m.ref.describe() for m in missing])
    verb = "does not exist" if len(missing) == 1 else "do not exist"
    return f"{what} {verb} (yet): bound anyway; the binding grants nothing until it exists"


def unchecked_warning(refs: Sequence[RoleRef], reason: str) -> str:
    return (
        f"could not check that {_join([r.describe() for r in refs])} exist{'s' if len(refs) == 1 else ''} "
        f"({reason}); bound unchecked"
    )


def require_roles_exist(
    gw: Gateway,
    objects: Sequence[dict[str, Any]],
    *,
    allow_missing: bool = False,
    reporter: Reporter | None = None,
    allow: str = ALLOW_FLAG,
) -> list[str]:
    """Raise NotFoundError if a referenced role is missing (unless ``allow_missing``). Returns the warnings.

    Warnings (missing but allowed; unreadable because forbidden) are also given to ``reporter``.
    With no referenced roles it makes no API call and reports no step.
    """
    if not role_refs(objects):
        return []

    def run() -> tuple[RoleCheck, list[str]]:
        rc = check(gw, objects)
        warnings: list[str] = []
        if rc.unchecked:
            refs = list(rc.unchecked)
            warnings.append(unchecked_warning(refs, rc.unchecked[refs[0]]))
        missing = list(rc.missing.values())
        if missing:
            if not allow_missing:
                exc = missing_error(missing, allow=allow)
                exc.hint = f"{exc.hint}; nothing was created"
                raise exc
            warnings.append(missing_warning(missing))
        return rc, warnings

    if reporter is None:
        return run()[1]
    with reporter.step("Check roles") as s:
        rc, warnings = run()
        exist = [r for r in rc.refs if r not in rc.missing and r not in rc.unchecked]
        parts = [f"{_join([r.describe() for r in exist])} exist{'s' if len(exist) == 1 else ''}"] if exist else []
        if rc.missing:
            parts.append(f"{len(rc.missing)} missing (allowed)")
        if rc.unchecked:
            parts.append(f"{len(rc.unchecked)} not readable (forbidden)")
        s.detail = "; ".join(parts)
    for w in warnings:
        reporter.warn(w)
    return warnings


def _join(items: Sequence[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def check_batch(
    gw: Gateway,
    batch: Mapping[K, tuple[Sequence[dict[str, Any]], bool]],
    *,
    reporter: Reporter,
    allow: str = ALLOW_FLAG,
) -> tuple[dict[K, NotFoundError], dict[K, str]]:
    """Many users at once (``apply``): ``batch`` maps a key to (the user's objects, missing roles allowed).

    Every referenced role is read once. Returns (errors, warnings) by key: an error for a user with a
    missing role that is not allowed, a warning for one that is. "Could not check" (403) is reported once.
    """
    every = [o for objs, _ in batch.values() for o in objs]
    if not role_refs(every):
        return {}, {}
    with reporter.step("Check roles") as s:
        rc = check(gw, every)
        s.detail = f"{len(rc.refs)} referenced" + (f", {len(rc.missing)} missing" if rc.missing else ", all exist")
        if rc.unchecked:
            s.detail += f", {len(rc.unchecked)} not readable (forbidden)"
        errors: dict[K, NotFoundError] = {}
        warnings: dict[K, str] = {}
        for key, (objs, allowed) in batch.items():
            missing = rc.missing_for(objs)
            if not missing:
                continue
            if allowed:
                warnings[key] = missing_warning(missing)
            else:
                errors[key] = missing_error(missing, allow=allow)
        s.failed = bool(errors)  # a missing role some user may not do without
    if rc.unchecked:
        refs = list(rc.unchecked)
        reporter.warn(unchecked_warning(refs, rc.unchecked[refs[0]]))
    return errors, warnings
