"""The typer application object and options shared by every command (kubectl's conventions)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any

import typer
import typer.core
import typer.main

from kubeuser import __version__
from kubeuser.cli.commands import BY_NAME, COMMANDS


class _LazyCommands(MutableMapping[str, Any]):
    """The root group's ``commands``: names come from the command table; a command's module is imported
    and its click object built only when that command is looked up (run, ``CMD --help``, completion)."""

    def __init__(self, group: LazyGroup) -> None:
        self._group = group
        self._built: dict[str, Any] = {}

    def _build(self, name: str) -> Any:
        entry = BY_NAME[name]
        importlib.import_module(f"kubeuser.cli.{entry.module}")
        for info in app.registered_commands:
            callback = info.callback
            if callback is not None and (info.name or typer.main.get_command_name(callback.__name__)) == name:
                command = typer.main.get_command_from_info(
                    info,
                    pretty_exceptions_short=app.pretty_exceptions_short,
                    rich_markup_mode=self._group.rich_markup_mode,
                )
                return command
        raise LookupError(f"kubeuser.cli.{entry.module} does not define the command {name!r}")

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            if name not in BY_NAME:
                raise KeyError(name)
            self[name] = self._build(name)
        return self._built[name]

    def __contains__(self, name: object) -> bool:
        return name in BY_NAME or name in self._built

    def __iter__(self) -> Iterator[str]:
        yield from BY_NAME
        yield from (n for n in self._built if n not in BY_NAME)

    def __len__(self) -> int:
        return len(BY_NAME) + sum(1 for n in self._built if n not in BY_NAME)

    def __setitem__(self, name: str, command: Any) -> None:
        if name in BY_NAME:
            command.short_help = BY_NAME[name].summary  # the table's words, wherever the command was built
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]


class LazyGroup(typer.core.TyperGroup):
    """The root command: lists commands from :data:`kubeuser.cli.commands.COMMANDS` and builds only the one
    that runs. typer would otherwise import every command module and convert all their options (~150) into
    click objects on every start; see docs/benchmarks.md."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        lazy = _LazyCommands(self)
        lazy.update(self.commands)
        self.commands = lazy

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list of the root help, from the table's summaries (builds no command)."""
        with formatter.section("Commands"):
            formatter.write_dl([(c.name, c.summary) for c in COMMANDS])


app = typer.Typer(
    cls=LazyGroup,
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
RequestTimeoutOpt = Annotated[
    str | None,
    typer.Option(
        "--request-timeout",
        metavar="DURATION",
        help="How long each API request may take, connecting and retries included: 30s, 1m or seconds; "
        "0 = no timeout (default: 5s to connect and 30s to read, per attempt).",
        show_default=False,
    ),
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
AllowMissingRolesOpt = Annotated[
    bool,
    typer.Option(
        "--allow-missing-roles",
        help="Bind --role/--clusterrole names that do not exist (yet), with a warning; by default that is an error.",
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


PrintKeyOpt = Annotated[
    bool,
    typer.Option(
        "--print-key",
        help="With --out -: print the kubeconfig, private key included, even when stdout is a terminal.",
    ),
]


def check_key_to_terminal(out: str | None, print_key: bool) -> None:
    """``--out -`` prints a private key: to a terminal only when asked with ``--print-key`` (UsageError, exit 2)."""
    import sys

    from kubeuser.errors import UsageError

    if out == "-" and not print_key and sys.stdout.isatty():
        raise UsageError(
            "--out - would print the user's private key on this terminal",
            hint="redirect stdout (`… --out - > FILE`), write a file with --out FILE, "
            "or add --print-key to show it on screen",
        )


def check_output(fmt: str) -> str:
    from kubeuser.errors import UsageError
    from kubeuser.render import OUTPUT_FORMATS

    f = fmt.lower()
    if f not in OUTPUT_FORMATS:
        raise UsageError(f"unknown output format {fmt!r}", hint="use -o text, -o json or -o yaml")
    return f


def read_input(path: str, flag: str, limit: int = 1024 * 1024) -> bytes:
    """The bytes of a FILE argument (``-`` = stdin), at most *limit*: UsageError (exit 2) if unreadable."""
    import sys
    from pathlib import Path

    from kubeuser.errors import UsageError

    try:
        if path == "-":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with Path(path).expanduser().open("rb") as fh:
                data = fh.read(limit + 1)
    except OSError as exc:
        raise UsageError(f"{flag}: cannot read {path}: {exc.strerror or exc}", hint="give a readable file") from None
    if len(data) > limit:
        raise UsageError(f"{flag}: {path} is larger than {limit} bytes", hint="give the file itself")
    return data
