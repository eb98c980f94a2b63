"""The typer application object and options shared by every command (kubectl's conventions)."""

from __future__ import annotations

from typing import Annotated

import typer

from kubeuser import __version__

app = typer.Typer(
    name="kubeuser",
    help="Onboard Kubernetes users with X.509 client certificates: key, CSR, approval, kubeconfig, RBAC "
    "and proof, in one command.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kubeuser {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """kubeuser: X.509 user onboarding for Kubernetes."""


# Options shared by commands (kubectl semantics) -------------------------------------------------
KubeconfigOpt = Annotated[
    str | None,
    typer.Option(
        "--kubeconfig",
        help="Path to the kubeconfig file to use (default: $KUBECONFIG list, then ~/.kube/config).",
        show_default=False,
    ),
]
ContextOpt = Annotated[
    str | None,
    typer.Option("--context", help="The kubeconfig context to use (default: current-context).", show_default=False),
]
NamespaceOpt = Annotated[
    str | None,
    typer.Option("-n", "--namespace", help="Namespace (default: the context's namespace, else 'default').",
                 show_default=False),
]  # fmt: skip
OutputOpt = Annotated[
    str, typer.Option("-o", "--output", help="Output format: text, json or yaml.", case_sensitive=False)
]
DebugOpt = Annotated[bool, typer.Option("--debug", "--traceback", help="Show tracebacks on errors.")]
RegistryNsOpt = Annotated[
    str | None,
    typer.Option(
        "--registry-namespace",
        help="Namespace of kubeuser's user records (default: $KUBEUSER_REGISTRY_NAMESPACE or kubeuser-system).",
        show_default=False,
    ),
]


# Identity and access options shared by create and run -------------------------------------------
GroupOpt = Annotated[
    list[str] | None, typer.Option("-g", "--group", help="Group (certificate O); repeatable.", show_default=False)
]
RuleOpt = Annotated[
    list[str] | None,
    typer.Option("--rule", help="VERBS:RESOURCES[:APIGROUP] for a Role kubeuser:NAME; repeatable.", show_default=False),
]
RoleOpt = Annotated[
    list[str] | None, typer.Option("--role", help="Bind an existing Role in the namespace.", show_default=False)
]
ClusterRoleOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--clusterrole",
        help="Bind a ClusterRole in the namespace (or cluster-wide with --cluster-wide).",
        show_default=False,
    ),
]
ClusterWideOpt = Annotated[bool, typer.Option("--cluster-wide", help="Bind --clusterrole with a ClusterRoleBinding.")]
KeyTypeOpt = Annotated[str, typer.Option("--key-type", help="ecdsa, rsa or ed25519.")]
KeySizeOpt = Annotated[
    int | None,
    typer.Option(
        "--key-size", help="ECDSA 256|384 (default 256), RSA 2048|3072|4096 (default 2048).", show_default=False
    ),
]
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", help="Seconds to wait for the signer to issue the certificate.")
]


def check_output(fmt: str) -> str:
    from kubeuser.errors import UsageError
    from kubeuser.render import OUTPUT_FORMATS

    f = fmt.lower()
    if f not in OUTPUT_FORMATS:
        raise UsageError(f"unknown output format {fmt!r}", hint="use -o text, -o json or -o yaml")
    return f
