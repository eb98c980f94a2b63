"""Every command's result on stdout, in one place: :func:`emit` (the CLI parses, calls a workflow, emits).

``-o json`` / ``-o yaml`` print the result's ``to_dict()`` as one document (camelCase keys, as Kubernetes
spells them; the schemas are in :mod:`kubeuser.output.schemas`). ``text`` (and ``list``'s ``wide``) print
what a person reads; those renderers live in this package, one module per group of commands, imported only
for the result being shown.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from kubeuser.render import ConsoleReporter

TEXT_FORMATS = ("text", "wide")

# result type name → "module:function" of its text renderer (modules of this package)
TEXT_RENDERERS: dict[str, str] = {
    "UserList": "users:user_list",
    "ShowResult": "users:show",
    "CreateResult": "lifecycle:create",
    "Manifests": "lifecycle:manifests",
    "RenewResult": "lifecycle:renew",
    "RevokeResult": "lifecycle:revoke",
    "TokenResult": "lifecycle:token",
    "GrantResult": "lifecycle:grant",
    "CleanupResult": "lifecycle:cleanup",
    "ApplyResult": "apply:apply",
    "ApproveResult": "approve:approve",
    "DoctorReport": "checks:report",
    "PreflightReport": "checks:report",
    "RequestResult": "byok:request",
    "ImportResult": "byok:import_",
}
# results whose -o yaml is their text (YAML documents already): create --dry-run's manifests
YAML_IS_TEXT = frozenset({"Manifests"})


class Result(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


def renderer(result: object) -> Any:
    """The text renderer of *result*'s type (a function taking the result and ``wide=``)."""
    module, _, func = TEXT_RENDERERS[type(result).__name__].partition(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), func)


def progress_reporter(fmt: str) -> ConsoleReporter:
    """The progress reporter (stderr) for a command printing *fmt*: steps for text, only warnings otherwise."""
    from kubeuser import render

    return render.ConsoleReporter(quiet=fmt not in TEXT_FORMATS)


def emit(result: Result, fmt: str) -> None:
    """Print *result* on stdout as *fmt*: ``json`` or ``yaml`` (one document), ``text`` or ``wide``."""
    from kubeuser import render

    if fmt == "json" or (fmt == "yaml" and type(result).__name__ not in YAML_IS_TEXT):
        render.out(render.dump(result.to_dict(), fmt))
    elif fmt in (*TEXT_FORMATS, "yaml"):
        renderer(result)(result, wide=fmt == "wide")
    else:
        raise ValueError(f"unknown output format {fmt!r}")
