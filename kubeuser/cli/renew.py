"""``kubeuser renew``."""

from __future__ import annotations

from typing import Annotated

import typer

from kubeuser.cli.app import (
    ContextOpt,
    DebugOpt,
    KubeconfigOpt,
    OutputOpt,
    PrintKeyOpt,
    RegistryNsOpt,
    RequestTimeoutOpt,
    UserArg,
    app,
    check_key_to_terminal,
    check_output,
)
from kubeuser.completion import key_types

EPILOG = """Examples:

\b
  kubeuser renew alice
  kubeuser renew alice --days 90 --key-type ed25519

\b
  # a user handed a kubeconfig file gets a new one
  kubeuser renew ci-bot --ttl 30m \\
      --out ci.kubeconfig --force

\b
  # a user who keeps their own key sends a new request
  kubeuser renew bob --csr bob.csr --out bob.kubeconfig
"""


@app.command(epilog=EPILOG)
def renew(
    name: UserArg,
    days: Annotated[
        int | None, typer.Option("--days", metavar="DAYS", help="New lifetime in days.", show_default=False)
    ] = None,
    ttl: Annotated[
        str | None,
        typer.Option("--ttl", metavar="DURATION", help="New lifetime as a duration (10m, 2h, 7d).", show_default=False),
    ] = None,
    reuse_key: Annotated[bool, typer.Option("--reuse-key", help="Keep the current private key.")] = False,
    key_type: Annotated[
        str | None,
        typer.Option(
            "--key-type",
            metavar="TYPE",
            help="ecdsa, rsa or ed25519 for the new key (default: the current key's type).",
            show_default=False,
            autocompletion=key_types,
        ),
    ] = None,
    key_size: Annotated[
        int | None,
        typer.Option(
            "--key-size", metavar="BITS", help="Key size (default: the current key's size).", show_default=False
        ),
    ] = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Write a standalone kubeconfig ('-' = stdout); required for users who were handed one.",
            show_default=False,
        ),
    ] = None,
    csr: Annotated[
        str | None,
        typer.Option(
            "--csr",
            metavar="FILE",
            help="For a user who keeps their own key: their new certificate request ('-' = stdin). Needs --out.",
            show_default=False,
        ),
    ] = None,
    print_key: PrintKeyOpt = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out.")] = False,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = None,
    output: OutputOpt = "text",
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="SECONDS", help="Seconds to wait for the signer.")
    ] = 60.0,
    registry_namespace: RegistryNsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Renew a user's certificate (new key by default, same key spec); update the kubeconfig or handout.

    A user who was handed a standalone kubeconfig needs --out for the new one. The earlier certificate is not
    revoked (Kubernetes cannot): renew says until when it still authenticates.
    """
    from kubeuser import durations
    from kubeuser.connect import connected
    from kubeuser.errors import UsageError
    from kubeuser.output import emit, progress_reporter
    from kubeuser.workflows import renew as wf

    fmt = check_output(output)
    if days is not None and ttl is not None:
        raise UsageError("--days and --ttl are mutually exclusive", hint="give one lifetime")
    if reuse_key and (key_size is not None or key_type is not None):
        raise UsageError("--reuse-key keeps the current key", hint="drop --key-type/--key-size")
    if csr is None:  # bring your own key: the handout holds no key
        check_key_to_terminal(out, print_key)
    seconds = durations.parse(ttl) if ttl is not None else (durations.from_days(days) if days is not None else None)
    opts = wf.RenewOptions(
        name=name,
        ttl_seconds=seconds,
        reuse_key=reuse_key,
        key_type=key_type.lower() if key_type is not None else None,
        key_size=key_size,
        out=out,
        force=force,
        timeout=durations.timeout(timeout, "--timeout"),
        registry_namespace=registry_namespace,
    )
    if csr is not None:
        from kubeuser.cli.app import read_input

        opts.csr_pem = read_input(csr, "--csr")
    with connected(kubeconfig, context, request_timeout) as (target, gw):
        res = wf.renew(opts, target, gw, progress_reporter(fmt))
    emit(res, fmt)
