"""``kubeuser request`` and ``kubeuser import``: the user's side of bring-your-own-key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from kubeuser.cli.app import (
    DebugOpt,
    GroupOpt,
    KeySizeOpt,
    KeyTypeOpt,
    KubeconfigOpt,
    OutputOpt,
    RequestTimeoutOpt,
    app,
    check_output,
)

if TYPE_CHECKING:
    from kubeuser.gateway import Gateway

REQUEST_EPILOG = """Examples:

\b
  kubeuser request alice -g dev --out alice.csr

\b
  # an ed25519 key; the request goes to stdout
  kubeuser request alice --key-type ed25519 \\
      | mail -s "please onboard me" admin@example.com
"""

IMPORT_EPILOG = """Examples:

\b
  kubeuser import alice.kubeconfig
  kubeuser import alice.kubeconfig --context-name prod \\
      --set-current
"""


@app.command(epilog=REQUEST_EPILOG)
def request(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Your user name: the certificate's CN.")],
    group: GroupOpt = None,
    key_type: KeyTypeOpt = "ecdsa",
    key_size: KeySizeOpt = None,
    out: Annotated[
        str | None,
        typer.Option("--out", metavar="FILE", help="Write the request here ('-' or none: stdout).", show_default=False),
    ] = None,
    allow_system_names: Annotated[
        bool, typer.Option("--allow-system-names", help="Allow reserved system: names (never system:masters).")
    ] = False,
    output: OutputOpt = "text",
    debug: DebugOpt = False,
) -> None:
    """Make a private key here and a certificate request to send to your admin (no cluster needed).

    The key stays on this machine (0600, under ~/.kube/kubeuser/pending); only the request, which holds
    public data, leaves it. Your admin runs `kubeuser create NAME --csr FILE --out FILE`; you then run
    `kubeuser import FILE`.
    """
    from pathlib import Path

    from kubeuser import files
    from kubeuser.output import emit, progress_reporter
    from kubeuser.output.byok import next_steps
    from kubeuser.workflows import byok

    fmt = check_output(output)
    opts = byok.RequestOptions(
        name=name,
        groups=list(group or []),
        key_type=key_type.lower(),
        key_size=key_size,
        allow_system_names=allow_system_names,
    )
    target = Path(out).expanduser() if out not in (None, "-") else None
    if target is not None and (target.exists() or target.is_symlink()):
        from kubeuser.errors import ConflictError

        raise ConflictError(f"{out} already exists", hint="choose another --out, or remove it; no key was made")
    res = byok.request(opts, progress_reporter(fmt))
    if target is not None:
        try:
            files.write(target, res.csr_pem, kind=files.PUBLIC_FILE, mode=0o644, replace=False)
        except BaseException:
            byok.discard(res.directory)  # no request written: the key must not linger
            raise
    res.out = out
    emit(res, fmt)
    next_steps(res)


@app.command("import", epilog=IMPORT_EPILOG)
def import_(
    file: Annotated[str, typer.Argument(metavar="FILE", help="The handout your admin sent ('-' = stdin).")],
    kubeconfig: KubeconfigOpt = None,
    context_name: Annotated[
        str | None,
        typer.Option(
            "--context-name",
            metavar="NAME",
            help="Context (and user entry) name (default: the handout's).",
            show_default=False,
        ),
    ] = None,
    set_current: Annotated[bool, typer.Option("--set-current", help="Make the new context current.")] = False,
    request_timeout: RequestTimeoutOpt = None,
    output: OutputOpt = "text",
    debug: DebugOpt = False,
) -> None:
    """Join a handout's certificate with the key `kubeuser request` kept, prove it works, add it to your kubeconfig."""
    import functools

    from kubeuser.cli.app import read_input
    from kubeuser.connect import request_timeout as seconds
    from kubeuser.output import emit, progress_reporter
    from kubeuser.workflows import byok

    fmt = check_output(output)
    limit = seconds(request_timeout)
    opts = byok.ImportOptions(
        handout=read_input(file, "FILE"),
        source=file if file != "-" else "the handout on stdin",
        kubeconfig_path=kubeconfig,
        context_name=context_name,
        set_current=set_current,
    )
    opener = functools.partial(open_handout_gateway, request_timeout=limit)
    res = byok.import_handout(opts, opener, progress_reporter(fmt))
    emit(res, fmt)


def open_handout_gateway(
    config: dict[str, Any], context: str, ca_pem: bytes | None, *, request_timeout: float | None = None
) -> Gateway:
    from kubeuser import k8s

    return k8s.K8sGateway.from_config_dict(config, context, ca_pem=ca_pem, request_timeout=request_timeout)
