"""``kubeuser doctor`` and ``kubeuser preflight``: run the checks, show them as a table, exit 12 on failure."""

from __future__ import annotations

import contextlib
import dataclasses
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
    RequestTimeoutOpt,
    app,
    check_output,
)

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

  kubeuser preflight --auth x509

It submits one throwaway CSR (CN kubeuser-preflight-<random>, 10 minutes) to prove the signer issues,
always deletes it, and signs in with the certificate to prove the API server accepts it; then it makes a
throwaway ServiceAccount in the registry namespace (if it exists), gets a token bound to a throwaway
Secret, signs in with it and deletes both. It reports which kinds of identity work and the one
`create --auth auto` picks. Exit status: 0 when every required check passes, 12 otherwise.
"""


@app.command(epilog=DOCTOR_EPILOG)
def doctor(
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = None,
    namespace: NamespaceOpt = None,
    output: OutputOpt = "text",
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="SECONDS", help="Seconds for each network probe (DNS, TCP, TLS).")
    ] = 3.0,
    debug: DebugOpt = False,
) -> None:
    """Check a kubeconfig identity step by step and say exactly why access fails."""
    from kubeuser import connect, durations
    from kubeuser.output import emit
    from kubeuser.workflows import doctor as wf

    fmt = check_output(output)
    durations.timeout(timeout, "--timeout")
    limit = connect.request_timeout(request_timeout)
    opts = wf.DoctorOptions(kubeconfig=kubeconfig, context=context, namespace=namespace, timeout=timeout)
    with _busy(fmt, "Checking the identity…"):
        report = wf.run(opts, lambda target: connect.open_gateway(dataclasses.replace(target, request_timeout=limit)))
    emit(report, fmt)
    error = report.error()
    if error is not None:
        raise error


@app.command(epilog=PREFLIGHT_EPILOG)
def preflight(
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = None,
    namespace: NamespaceOpt = None,
    registry_namespace: RegistryNsOpt = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", metavar="SECONDS", help="Seconds to wait for the signer to issue the throwaway certificate."
        ),
    ] = 30.0,
    auth: Annotated[
        str,
        typer.Option(
            "--auth",
            metavar="KIND",
            help="auto (default): ready when client certificates or ServiceAccount tokens work, and say which "
            "`create --auth auto` picks; x509 or token: that kind's checks are required.",
        ),
    ] = "auto",
    output: OutputOpt = "text",
    debug: DebugOpt = False,
) -> None:
    """Before onboarding: may this admin onboard users here, and which kinds of identity (certificates, tokens)
    does this cluster issue and accept?"""
    from kubeuser import durations, pki, registry
    from kubeuser.connect import connected
    from kubeuser.errors import KubeuserError
    from kubeuser.output import emit
    from kubeuser.workflows import preflight as wf

    fmt = check_output(output)
    durations.timeout(timeout, "--timeout")
    auth = auth.lower()
    if auth not in ("auto", "x509", "token"):
        from kubeuser.errors import UsageError

        raise UsageError(f"--auth must be auto, x509 or token, not {auth!r}", hint="see `kubeuser preflight --help`")
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
            auth=auth,
        )
        with _busy(fmt, "Running preflight checks (a throwaway CSR and ServiceAccount included)…"):
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
