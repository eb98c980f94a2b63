"""``kubeuser doctor`` and ``kubeuser preflight``: run the checks, show them as a table, exit 12 on failure."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from kubeuser.cli.app import (
    ContextOpt,
    DebugOpt,
    KubeconfigOpt,
    NamespaceOpt,
    OutputOpt,
    RegistryNsOpt,
    app,
    check_output,
)

if TYPE_CHECKING:
    from kubeuser.checks import Report

DOCTOR_EPILOG = """Examples:

\b
  kubeuser doctor
  kubeuser doctor --context alice@prod -n dev
  kubeuser doctor --kubeconfig alice.kubeconfig -o json

Exit status: 0 when the identity authenticates (authorization problems are warnings), 12 otherwise.
"""

PREFLIGHT_EPILOG = """Examples:

\b
  kubeuser preflight -n dev
  kubeuser preflight --context admin@prod --timeout 60 \\
      -o yaml

It submits one throwaway CSR (CN kubeuser-preflight-<random>, 10 minutes) to prove the signer issues,
always deletes it, and signs in with the certificate to prove the API server accepts it. Exit status:
0 when every required check passes, 12 otherwise.
"""

MARKS_TTY = {"pass": "[green]✓[/green]", "fail": "[red]✗[/red]", "warn": "[yellow]![/yellow]", "skip": "[dim]-[/dim]"}
MARKS = {"pass": "✓", "fail": "✗", "warn": "!", "skip": "-"}


@app.command(epilog=DOCTOR_EPILOG)
def doctor(
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
    output: OutputOpt = "text",
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="SECONDS", help="Seconds for each network probe (DNS, TCP, TLS).")
    ] = 3.0,
    debug: DebugOpt = False,
) -> None:
    """Check a kubeconfig identity step by step and say exactly why access fails."""
    from kubeuser import durations
    from kubeuser.workflows import doctor as wf

    fmt = check_output(output)
    durations.timeout(timeout, "--timeout")
    opts = wf.DoctorOptions(kubeconfig=kubeconfig, context=context, namespace=namespace, timeout=timeout)
    with _busy(fmt, "Checking the identity…"):
        report = wf.run(opts)
    _finish(report, fmt)


@app.command(epilog=PREFLIGHT_EPILOG)
def preflight(
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
    registry_namespace: RegistryNsOpt = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", metavar="SECONDS", help="Seconds to wait for the signer to issue the throwaway certificate."
        ),
    ] = 30.0,
    output: OutputOpt = "text",
    debug: DebugOpt = False,
) -> None:
    """Before onboarding: may this admin create and approve CSRs and RBAC here, and does the signer issue?"""
    from kubeuser import durations, pki, registry
    from kubeuser.connect import connected
    from kubeuser.errors import KubeuserError
    from kubeuser.workflows import preflight as wf

    fmt = check_output(output)
    durations.timeout(timeout, "--timeout")
    reg_ns = registry.namespace_from(registry_namespace)
    with connected(kubeconfig, context) as (target, gw):
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
    _finish(report, fmt)


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


def _finish(report: Report, fmt: str) -> None:
    """Show *report* (a table, plain lines, or one JSON/YAML document), then fail with its error, if any."""
    from kubeuser import render

    if fmt != "text":
        render.out(render.dump(report.to_dict(), fmt))
    else:
        _table(report)
    error = report.error()
    if error is not None:
        raise error


def _table(report: Report) -> None:
    """A rich table on a terminal; aligned plain lines (no colour, no box) otherwise."""
    from rich.markup import escape
    from rich.table import Table

    from kubeuser import render

    title, head, checks = report.title, report.heading(), report.checks
    tail = f"{report.verdict()} — {report.counts()}"
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
