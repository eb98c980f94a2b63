"""``kubeuser apply -f users.yaml``: make the cluster's users match a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kubeuser.cli.app import (
    ContextOpt,
    DebugOpt,
    KubeconfigOpt,
    OutputOpt,
    RegistryNsOpt,
    RequestTimeoutOpt,
    app,
    check_output,
)

EPILOG = """Examples:

\b
  kubeuser apply -f users.yaml --out-dir handout/
  kubeuser apply -f users.yaml --dry-run
  kubeuser apply -f users.yaml --prune \\
      --renew-before 14d -o json
  kubeuser apply -f users.yaml --prune --max-prune 3

The file format is described in docs/users-as-code.md.
"""


@app.command(epilog=EPILOG)
def apply(
    filename: Annotated[
        str,
        typer.Option(
            "-f",
            "--filename",
            metavar="FILE",
            help="The users file (YAML, kind UserList); '-' reads stdin.",
            show_default=False,
        ),
    ],
    prune: Annotated[
        bool, typer.Option("--prune", help="Revoke kubeuser users (active records) that the file no longer declares.")
    ] = False,
    max_prune: Annotated[
        int | None,
        typer.Option(
            "--max-prune",
            metavar="N",
            help="Refuse a prune of more than N users (a prune of more than half the active users is always "
            "refused); needs --prune.",
            show_default=False,
        ),
    ] = None,
    allow_mass_prune: Annotated[
        bool,
        typer.Option(
            "--allow-mass-prune",
            help="Confirm a prune over the limit (more than half the active users, or more than --max-prune).",
        ),
    ] = False,
    allow_missing_roles: Annotated[
        bool,
        typer.Option(
            "--allow-missing-roles",
            help="Bind roles that do not exist (yet) for every user, with a warning; by default that fails the "
            "user (per user: allowMissingRoles: true).",
        ),
    ] = False,
    renew_before: Annotated[
        str,
        typer.Option(
            "--renew-before",
            metavar="DURATION",
            help="Renew certificates expiring within this duration (0 = only expired).",
        ),
    ] = "7d",
    out_dir: Annotated[
        str | None,
        typer.Option(
            "--out-dir",
            metavar="DIR",
            help="Write one standalone kubeconfig per created/renewed user here (files 0600, directory 0700) "
            "instead of merging them into your kubeconfig.",
            show_default=False,
        ),
    ] = None,
    force_out: Annotated[bool, typer.Option("--force-out", help="Replace existing files in --out-dir.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan (create/renew/update/unchanged/prune); change nothing.")
    ] = False,
    parallel: Annotated[int, typer.Option("--parallel", metavar="N", help="Users onboarded at the same time.")] = 4,
    output: OutputOpt = "text",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = None,
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="SECONDS", help="Seconds to wait for the signer, per certificate.")
    ] = 60.0,
    registry_namespace: RegistryNsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Create, renew, update and (with --prune) revoke users so the cluster matches a users file."""
    from kubeuser import durations, usersfile
    from kubeuser.output import emit, progress_reporter
    from kubeuser.output.apply import done_word, interrupted_text, progress_line
    from kubeuser.workflows import apply as wf

    fmt = check_output(output)
    opts = wf.ApplyOptions(
        renew_before_seconds=_renew_before(renew_before),
        prune=prune,
        out_dir=Path(out_dir).expanduser() if out_dir else None,
        force_out=force_out,
        dry_run=dry_run,
        parallel=parallel,
        timeout=durations.timeout(timeout, "--timeout"),
        registry_namespace=registry_namespace,
        allow_missing_roles=allow_missing_roles,
        max_prune=max_prune,
        allow_mass_prune=allow_mass_prune,
    )
    opts.validate()
    users = usersfile.load(filename)  # every schema problem, with line numbers, before any cluster call

    from kubeuser import faults
    from kubeuser.connect import connected

    reporter = progress_reporter(fmt)
    finished: list[wf.UserOutcome] = []

    def on_done(o: wf.UserOutcome) -> None:
        finished.append(o)
        if not reporter.quiet:
            progress_line(reporter, o)
        faults.after_step(f"{o.user}: {done_word(o.action) if not o.failed else 'failed'}")  # test-only hook

    try:
        with connected(kubeconfig, context, request_timeout) as (target, gw):
            result = wf.apply(users, opts, target, gw, reporter, on_done=on_done)
    except KeyboardInterrupt:
        from kubeuser import render

        render.stderr_console().print(interrupted_text(finished, filename), markup=False, highlight=False)
        raise
    emit(result, fmt)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _renew_before(text: str) -> int:
    from kubeuser import durations
    from kubeuser.errors import UsageError

    try:
        return durations.parse(text, minimum=0)
    except UsageError as exc:
        raise UsageError(
            f"--renew-before: {exc.message}", hint="e.g. --renew-before 7d, or 0 for expired only"
        ) from None
