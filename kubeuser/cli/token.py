"""``kubeuser token``: a fresh token for a token identity, on stdout and nothing else there."""

from __future__ import annotations

from typing import Annotated

import typer

from kubeuser.cli.app import (
    ContextOpt,
    DebugOpt,
    KubeconfigOpt,
    OutputOpt,
    RegistryNsOpt,
    RequestTimeoutOpt,
    UserArg,
    app,
    check_output,
)

EPILOG = """Examples:

\b
  # a Dashboard/Headlamp sign-in token for 8 hours
  kubeuser token dash-ro --ttl 8h

\b
  # token, expiry and ServiceAccount, for a script
  kubeuser token ci-bot --ttl 1h -o json

Use the token alone: `kubectl --kubeconfig /dev/null --server URL --certificate-authority
CA --token TOKEN` (with your own kubeconfig, kubectl would also send its client certificate).
"""


@app.command(epilog=EPILOG)
def token(
    name: UserArg,
    ttl: Annotated[
        str | None,
        typer.Option(
            "--ttl",
            metavar="DURATION",
            help="Token lifetime: 10m, 8h, 7d (at least 10m; default: the lifetime the user was created with).",
            show_default=False,
        ),
    ] = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = None,
    output: OutputOpt = "text",
    registry_namespace: RegistryNsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Print a new token for a token user (Dashboard/Headlamp sign-in, CI secrets); its expiry goes to stderr."""
    from kubeuser import durations, hints, render
    from kubeuser.connect import connected
    from kubeuser.output import emit
    from kubeuser.workflows import token as wf

    fmt = check_output(output)
    ttl_seconds = durations.parse(ttl) if ttl is not None else None
    with connected(kubeconfig, context, request_timeout) as (target, gw):
        res = wf.token(
            gw,
            target,
            name=name,
            ttl_seconds=ttl_seconds,
            registry_namespace=registry_namespace,
            reporter=render.ConsoleReporter(quiet=True),
        )
    i = res.issued
    emit(res, fmt)
    note = (
        f"token for {res.user} ({i.username}), valid until {i.expires_at:%Y-%m-%d %H:%M} UTC "
        f"({durations.format(i.lifetime.granted_seconds)}); bound to Secret {i.namespace}/{i.secret_name}: "
        f"`{hints.kubeuser('revoke', res.user)}` kills it"
    )
    err = render.stderr_console()
    err.print(note, markup=False, highlight=False)
    if i.lifetime.message:
        err.print(f"warning: {i.lifetime.message}", markup=False, highlight=False)
