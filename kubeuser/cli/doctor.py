"""``kubeuser doctor`` and ``kubeuser preflight``: run the checks, show them as a table, exit 12 on failure."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
from typing import Annotated, Any, Protocol

import typer

from kubeuser.cli.app import (
    ContextOpt,
    DebugOpt,
    KubeconfigOpt,
    NamespaceOpt,
    OutputOpt,
    RegistryNsOpt,
    RequestTimeoutOpt,
    app,
    check_output,
)

DOCTOR_EPILOG = """Examples:

  kubeuser doctor

  kubeuser doctor --context alice@prod -n dev

  kubeuser doctor --kubeconfig ./alice.kubeconfig -o json

Exit status: 0 when the identity authenticates (authorization problems are warnings), 12 otherwise.
"""

PREFLIGHT_EPILOG = """Examples:

  kubeuser preflight -n dev

  kubeuser preflight --context admin@prod --timeout 60 -o yaml

It submits one throwaway CSR (CN kubeuser-preflight-<random>, 10 minutes) to prove the signer issues,
and always deletes it. Exit status: 0 when every required check passes, 12 otherwise.
"""

MARKS_TTY = {"pass": "[green]✓[/green]", "fail": "[red]✗[/red]", "warn": "[yellow]![/yellow]", "skip": "[dim]-[/dim]"}
MARKS = {"pass": "✓", "fail": "✗", "warn": "!", "skip": "-"}


class _CheckLike(Protocol):
    id: str
    title: str
    status: str
    detail: str
    fix: str | None


@app.command(epilog=DOCTOR_EPILOG)
def doctor(
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = None,
    namespace: NamespaceOpt = None,
    output: OutputOpt = "text",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds for each network probe (DNS, TCP, TLS).")] = 3.0,
    debug: DebugOpt = False,
) -> None:
    """Check a kubeconfig identity step by step and say exactly why access fails."""
    from kubeuser import connect, durations, render
    from kubeuser.errors import CheckFailedError, KubeconfigError
    from kubeuser.workflows import doctor as wf

    fmt = check_output(output)
    durations.timeout(timeout, "--timeout")
    limit = connect.request_timeout(request_timeout)
    opts = wf.DoctorOptions(kubeconfig=kubeconfig, context=context, namespace=namespace, timeout=timeout)
    with _busy(fmt, "Checking the identity…"):
        report = wf.run(opts, lambda target: connect.open_gateway(dataclasses.replace(target, request_timeout=limit)))
    if fmt != "text":
        render.out(render.dump(report.to_dict(), fmt))
    else:
        head = [
            f"context {report.context or '?'} (cluster {report.cluster or '?'}, user {report.user or '?'})",
            f"server {report.server or '?'}, namespace {report.namespace or '?'}",
        ]
        if report.authenticated:
            who = report.identity.username if report.identity and report.identity.username else None
            tail = "authenticated" + (f" as {who}" if who else "")
        else:
            tail = "NOT authenticated"
        tail += _counts(report.checks)
        _table("kubeuser doctor", head, report.checks, tail)
    for cid in ("kubeconfig", "context"):  # no identity to check: the same error as every other command's
        c = report.check(cid)
        if c.status == "fail":
            raise KubeconfigError(c.detail, hint=c.fix)
    if not report.authenticated:
        auth = report.check("authentication")
        first = auth if auth.status == "fail" else (report.failures[0] if report.failures else None)
        raise CheckFailedError(
            "the identity does not authenticate" + (f": {first.id}: {first.detail}" if first is not None else ""),
            hint=first.fix if first is not None and first.fix else "see the checks above",
        )


@app.command(epilog=PREFLIGHT_EPILOG)
def preflight(
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = None,
    namespace: NamespaceOpt = None,
    registry_namespace: RegistryNsOpt = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the signer to issue the throwaway certificate.")
    ] = 30.0,
    output: OutputOpt = "text",
    debug: DebugOpt = False,
) -> None:
    """Before onboarding: may this admin create and approve CSRs and RBAC here, and does the signer issue?"""
    from kubeuser import durations, pki, registry, render
    from kubeuser.connect import connected
    from kubeuser.errors import CheckFailedError, KubeuserError
    from kubeuser.workflows import preflight as wf

    fmt = check_output(output)
    durations.timeout(timeout, "--timeout")
    reg_ns = registry.namespace_from(registry_namespace)
    with connected(kubeconfig, context, request_timeout) as (target, gw):
        cert_cn = None
        with contextlib.suppress(KubeuserError):
            pem = target.ctx.client_certificate_pem()
            cert_cn = pki.parse_cert(pem).common_name if pem else None
        opts = wf.PreflightOptions(
            namespace=namespace or target.namespace,
            registry_namespace=reg_ns,
            timeout=timeout,
            context=target.ctx.name,
            ca_pem=target.ctx.ca_pem(),
            cert_cn=cert_cn,
        )
        with _busy(fmt, "Running preflight checks (a throwaway CSR included)…"):
            report = wf.run(gw, opts)
    if fmt != "text":
        render.out(render.dump(report.to_dict(), fmt))
    else:
        head = [
            f"context {report.context} ({report.server}, {report.server_version or 'version unknown'})"
            + (f" as {report.identity}" if report.identity else ""),
            f"namespace {report.namespace}, registry namespace {report.registry_namespace}",
        ]
        tail = ("ready to onboard users" if report.ok else "NOT ready to onboard users") + _counts(report.checks)
        _table("kubeuser preflight", head, report.checks, tail)
    if not report.ok:
        failed = report.failed
        raise CheckFailedError(
            f"{len(failed)} required check(s) failed: " + "; ".join(f"{c.id}: {c.detail}" for c in failed),
            hint=failed[0].fix or "see the checks above",
        )


# rendering -------------------------------------------------------------------------------------


@contextlib.contextmanager
def _busy(fmt: str, text: str) -> Iterator[None]:
    from kubeuser import render

    console = render.stderr_console()
    if fmt == "text" and console.is_terminal:
        with console.status(text):
            yield
    else:
        yield


def _counts(checks: Sequence[Any]) -> str:
    n = {s: sum(1 for c in checks if c.status == s) for s in ("pass", "fail", "warn", "skip")}
    parts = [f"{n['fail']} failed"] if n["fail"] else []
    parts += [f"{n['warn']} warning(s)"] if n["warn"] else []
    parts += [f"{n['pass']} passed"]
    parts += [f"{n['skip']} skipped"] if n["skip"] else []
    return " — " + ", ".join(parts)


def _table(title: str, head: list[str], checks: Sequence[_CheckLike], tail: str) -> None:
    """A rich table on a terminal; aligned plain lines (no colour, no box) otherwise."""
    from rich.markup import escape
    from rich.table import Table

    from kubeuser import render

    console = render.console(soft_wrap=False)
    if not console.is_terminal:
        width = max((len(c.id) for c in checks), default=0)
        lines = [f"{title}: {h}" if i == 0 else f"{' ' * len(title)}  {h}" for i, h in enumerate(head)]
        lines.append("")
        for c in checks:
            lines.append(f"{MARKS[c.status]} {c.id:<{width}}  {c.title}: {c.detail}")
            if c.fix and c.status in ("fail", "warn"):
                lines.append(f"  {'':<{width}}  fix: {c.fix}")
        lines += ["", f"result: {tail}"]
        render.out("\n".join(lines) + "\n")
        return
    table = Table(title=escape(title), caption=escape(" · ".join(head)), show_lines=False, expand=False)
    table.add_column("", no_wrap=True)
    table.add_column("check", style="bold", overflow="fold")
    table.add_column("result", overflow="fold")
    for c in checks:
        cell = escape(c.detail)
        if c.fix and c.status in ("fail", "warn"):
            cell += f"\n[cyan]fix:[/cyan] {escape(c.fix)}"
        style = "dim" if c.status == "skip" else None
        table.add_row(MARKS_TTY[c.status], escape(c.title), cell, style=style)
    console.print(table)
    console.print(escape(tail))
