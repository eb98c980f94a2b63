"""The typer application object and options shared by every command (kubectl's conventions)."""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer
import typer.core
import typer.main
import typer.models
import typer.utils

from kubeuser import __version__, completion
from kubeuser.cli.commands import BY_NAME, COMMANDS, Command

try:  # newer typer vendors its own click (typer._click); 0.20 uses the click package
    from typer._click.exceptions import UsageError as _ClickUsageError  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover
    from click.exceptions import UsageError as _ClickUsageError  # type: ignore[import-not-found,no-redef,assignment,unused-ignore]


class KubeuserCommand(typer.core.TyperCommand):
    """A command whose ``--help`` reads the same with every typer kubeuser supports: click's layout, and for
    each option the metavar it declares (``--days DAYS``). typer 0.29 prints Python types instead
    (``--group <list[str]>``, ``{NAME}``); typer 0.20 with click ≥ 8.5 loses arguments' help and prints
    ``\\[default: …]``. Only the plain layout is ours: with a rich markup mode typer renders the help."""

    def __init__(self, name: str | None, **attrs: Any) -> None:
        super().__init__(name, **attrs)
        callback = attrs.get("callback")
        declared = typer.utils.get_params_from_function(inspect.unwrap(callback)) if callback else {}
        for param in self.params:  # typer 0.20 sets an argument's help before click ≥ 8.5 resets it
            info = declared.get(param.name or "")
            if getattr(param, "help", None) is None and info is not None:
                param.help = getattr(info.default, "help", None)  # type: ignore[attr-defined,unused-ignore]

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        return pieces + [usage_metavar(p) for p in self.get_params(ctx) if _shown_argument(p)]

    def format_arguments(self, ctx: Any, formatter: Any) -> None:
        """Nothing: :meth:`format_options` lists the arguments (click ≥ 8.5 would list them a second time)."""

    def format_options(self, ctx: Any, formatter: Any) -> None:
        params = [p for p in self.get_params(ctx) if not getattr(p, "hidden", False)]
        arguments = [(usage_metavar(p).strip("[]"), _help_text(p)) for p in params if _shown_argument(p)]
        options = [(option_label(p), _help_text(p)) for p in params if p.param_type_name == "option"]
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def _shown_argument(param: Any) -> bool:
    return bool(param.param_type_name == "argument" and not getattr(param, "hidden", False))


def takes_value(param: Any) -> bool:
    """Whether an option is followed by a value on the command line (not a flag, not a counter)."""
    return not (getattr(param, "is_flag", False) or getattr(param, "count", False))


def usage_metavar(param: Any) -> str:
    """An argument as the usage line shows it: ``NAME``, ``[CMD...]``."""
    name = str(param.metavar or (param.name or "").upper())
    if param.nargs != 1 and not name.rstrip("]").endswith("..."):
        name += "..."
    return name if param.required or name.startswith("[") else f"[{name}]"


def option_label(param: Any) -> str:
    """``-g, --group GROUP``: the option's names (short ones first, as click) and its declared metavar."""

    def label(opts: list[str]) -> str:
        names = ", ".join(sorted(opts, key=lambda o: len(o) - len(o.lstrip("-"))))
        return f"{names} {param.metavar}" if takes_value(param) and param.metavar else names

    return " / ".join(label(list(opts)) for opts in (param.opts, param.secondary_opts) if opts)


def _help_text(param: Any) -> str:
    text = " ".join(str(getattr(param, "help", None) or "").split())
    extra = []
    envvar = getattr(param, "envvar", None)
    if envvar and getattr(param, "show_envvar", False):
        extra.append("env var: " + (envvar if isinstance(envvar, str) else ", ".join(envvar)))
    show = getattr(param, "show_default", None)
    default = param.default
    if isinstance(show, str):
        extra.append(f"default: {show}")
    elif show and takes_value(param) and default not in (None, "", [], ()) and not callable(default):
        extra.append(f"default: {default}")
    if param.required:
        extra.append("required")
    return f"{text}  [{'; '.join(extra)}]".strip() if extra else text


class LazyGroup(typer.core.TyperGroup):
    """The root command, click's lazily loading group
    (https://click.palletsprojects.com/en/stable/complex/#lazily-loading-subcommands): it lists commands
    from :data:`kubeuser.cli.commands.COMMANDS` and imports and builds only the one that is looked up (to
    run, for ``CMD --help``, for completion). typer would otherwise import every command module and convert
    all their options (~150) into click objects on every start; see docs/benchmarks.md."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.suggest_commands = False  # typer's suggestion reads self.commands: only what was built; ours is below

    def list_commands(self, ctx: Any) -> list[str]:
        return [c.name for c in COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = BY_NAME.get(cmd_name)
        if entry is None:
            return None
        command = self.commands.get(cmd_name)
        if command is None:
            command = self.commands[cmd_name] = _build(entry, self.rich_markup_mode)
        command.short_help = entry.summary  # the table's words, wherever the command was built
        return command

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except _ClickUsageError as exc:
            matches = difflib.get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if matches:
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {', '.join(repr(m) for m in matches)}?"
            raise

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list of the root help, from the table's summaries (builds no command)."""
        with formatter.section("Commands"):
            formatter.write_dl([(c.name, c.summary) for c in COMMANDS])


def _build(entry: Command, rich_markup_mode: Any) -> Any:
    """The click command of one table row: import its module (which registers it on :data:`app`), convert it."""
    importlib.import_module(f"kubeuser.cli.{entry.module}")
    for info in app.registered_commands:
        callback = info.callback
        if callback is not None and (info.name or typer.main.get_command_name(callback.__name__)) == entry.name:
            return typer.main.get_command_from_info(
                info, pretty_exceptions_short=app.pretty_exceptions_short, rich_markup_mode=rich_markup_mode
            )
    raise LookupError(f"kubeuser.cli.{entry.module} does not define the command {entry.name!r}")


class _Typer(typer.Typer):
    """A typer app whose commands are :class:`KubeuserCommand` unless they ask for another class."""

    def command(
        self, name: str | None = None, *, cls: type[typer.core.TyperCommand] | None = None, **kwargs: Any
    ) -> Callable[[typer.models.CommandFunctionType], typer.models.CommandFunctionType]:
        return super().command(name, cls=cls or KubeuserCommand, **kwargs)


app = _Typer(
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
        metavar="FILE",
        help="Path to the kubeconfig file to use (default: $KUBECONFIG list, then ~/.kube/config).",
        show_default=False,
    ),
]
ContextOpt = Annotated[
    str | None,
    typer.Option("--context", metavar="CONTEXT", help="The kubeconfig context to use (default: current-context).",
                 show_default=False, autocompletion=completion.contexts),
]  # fmt: skip
NamespaceOpt = Annotated[
    str | None,
    typer.Option("-n", "--namespace", metavar="NAMESPACE",
                 help="Namespace (default: the context's namespace, else 'default').", show_default=False,
                 autocompletion=completion.namespaces),
]  # fmt: skip
OutputOpt = Annotated[
    str,
    typer.Option("-o", "--output", metavar="FORMAT", help="Output format: text, json or yaml.", case_sensitive=False,
                 autocompletion=completion.output_formats),
]  # fmt: skip
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
        metavar="NAMESPACE",
        help="Namespace of kubeuser's user records (default: $KUBEUSER_REGISTRY_NAMESPACE or kubeuser-system).",
        show_default=False,
        autocompletion=completion.namespaces,
    ),
]
UserArg = Annotated[
    str, typer.Argument(metavar="NAME", help="The user.", autocompletion=completion.users)
]  # a user kubeuser manages: completed from the registry


# Identity and access options shared by create and run -------------------------------------------
GroupOpt = Annotated[
    list[str] | None,
    typer.Option("-g", "--group", metavar="GROUP", help="Group (certificate O); repeatable.", show_default=False),
]
RuleOpt = Annotated[
    list[str] | None,
    typer.Option("--rule", metavar="RULE", help="VERBS:RESOURCES[:APIGROUP] for a Role kubeuser:NAME; repeatable.",
                 show_default=False),
]  # fmt: skip
RoleOpt = Annotated[
    list[str] | None,
    typer.Option("--role", metavar="ROLE", help="Bind an existing Role in the namespace.", show_default=False),
]
ClusterRoleOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--clusterrole",
        metavar="CLUSTERROLE",
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
KeyTypeOpt = Annotated[
    str, typer.Option("--key-type", metavar="TYPE", help="ecdsa, rsa or ed25519.", autocompletion=completion.key_types)
]
KeySizeOpt = Annotated[
    int | None,
    typer.Option(
        "--key-size",
        metavar="BITS",
        help="ECDSA 256|384 (default 256), RSA 2048|3072|4096 (default 2048).",
        show_default=False,
    ),
]
AuthOpt = Annotated[
    str,
    typer.Option(
        "--auth",
        metavar="KIND",
        help="x509: a client certificate (default); token: a ServiceAccount with short-lived tokens, for clusters "
        "that do not issue or trust client certificates (EKS, proxies) and Dashboard/Headlamp sign-in; auto: a "
        "certificate when a probe proves this cluster issues and accepts one, else a token.",
    ),
]
ServiceAccountNsOpt = Annotated[
    str | None,
    typer.Option(
        "--service-account-namespace",
        metavar="NAMESPACE",
        help="--auth token: where the user's ServiceAccount lives (default: the registry namespace).",
        show_default=False,
    ),
]
TimeoutOpt = Annotated[
    float,
    typer.Option("--timeout", metavar="SECONDS", help="Seconds to wait for the signer to issue the certificate."),
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
