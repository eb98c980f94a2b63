"""``kubeuser doctor`` and ``kubeuser preflight``: run the checks, show them as a table, exit 12 on failure."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated

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
always deletes it, and signs in with the certificate to prove the API server accepts it. Exit status:
0 when every required check passes, 12 otherwise.
"""


@app.command(epilog=DOCTOR_EPILOG)
def doctor(
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
    output: OutputOpt = "text",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds for each network probe (DNS, TCP, TLS).")] = 3.0,
    debug: DebugOpt = False,
) -> None:
    """Check a kubeconfig identity step by step and say exactly why access fails."""
    from kubeuser import durations
    from kubeuser.output import emit
    from kubeuser.workflows import doctor as wf

    fmt = check_output(output)
    durations.timeout(timeout, "--timeout")
    opts = wf.DoctorOptions(kubeconfig=kubeconfig, context=context, namespace=namespace, timeout=timeout)
    with _busy(fmt, "Checking the identity…"):
        report = wf.run(opts)
    emit(report, fmt)
    error = report.error()
    if error is not None:
        raise error


@app.command(epilog=PREFLIGHT_EPILOG)
def preflight(
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
    registry_namespace: RegistryNsOpt = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the signer to issue the throwaway certificate.")
    ] = 30.0,
    output: OutputOpt = "text",
    debug: DebugOpt = False,
) -> None:
    """Before onboarding: may this admin create and approve CSRs and RBAC here, and does the signer issue?"""
    from kubeuser import durations, pki, registry
    from kubeuser.connect import connected
    from kubeuser.errors import KubeuserError
    from kubeuser.output import emit
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
    emit(report, fmt)
    error = report.error()
    if error is not None:
        raise error


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
