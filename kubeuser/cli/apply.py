"""``kubeuser apply -f users.yaml``: make the cluster's users match a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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

  kubeuser apply -f users.yaml --out-dir handout/

  kubeuser apply -f users.yaml --dry-run

  kubeuser apply -f users.yaml --prune --renew-before 14d -o json

  kubeuser apply -f users.yaml --prune --max-prune 3

The file format is described in docs/users-as-code.md.
"""


@app.command(epilog=EPILOG)
def apply(
    filename: Annotated[
        str,
        typer.Option(
            "-f", "--filename", help="The users file (YAML, kind UserList); '-' reads stdin.", show_default=False
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
        str, typer.Option("--renew-before", help="Renew certificates expiring within this duration (0 = only expired).")
    ] = "7d",
    out_dir: Annotated[
        str | None,
        typer.Option(
            "--out-dir",
            help="Write one standalone kubeconfig per created/renewed user here (files 0600, directory 0700) "
            "instead of merging them into your kubeconfig.",
            show_default=False,
        ),
    ] = None,
    force_out: Annotated[bool, typer.Option("--force-out", help="Replace existing files in --out-dir.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan (create/renew/update/unchanged/prune); change nothing.")
    ] = False,
    parallel: Annotated[int, typer.Option("--parallel", help="Users onboarded at the same time.")] = 4,
    output: OutputOpt = "text",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    request_timeout: RequestTimeoutOpt = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the signer, per certificate.")
    ] = 60.0,
    registry_namespace: RegistryNsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Create, renew, update and (with --prune) revoke users so the cluster matches a users file."""
    from kubeuser import durations, render, usersfile
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

    reporter = render.ConsoleReporter(quiet=fmt != "text")
    finished: list[wf.UserOutcome] = []

    def on_done(o: wf.UserOutcome) -> None:
        finished.append(o)
        if not reporter.quiet:
            _progress_line(reporter, o)
        faults.after_step(f"{o.user}: {_done_word(o.action) if not o.failed else 'failed'}")  # test-only hook

    try:
        with connected(kubeconfig, context, request_timeout) as (target, gw):
            result = wf.apply(users, opts, target, gw, reporter, on_done=on_done)
    except KeyboardInterrupt:
        render.stderr_console().print(_interrupted_text(finished, filename), markup=False, highlight=False)
        raise
    if fmt != "text":
        render.out(render.dump(result.to_dict(), fmt))
    else:
        render.out(summary_text(result))
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _interrupted_text(finished: list[Any], filename: str) -> str:
    """What an interrupted apply did before it stopped (users in flight finished or rolled back first)."""
    from kubeuser import hints

    done = [o for o in finished if not o.failed]
    lines = [f"interrupted: {len(done)} user(s) done before the interrupt" + (":" if done else "")]
    for o in done:
        made = f", kubeconfig {o.kubeconfig}" if o.kubeconfig else ""
        lines.append(f"  {o.user}: {_done_word(o.action)}{made}")
    for o in finished:
        if o.failed:
            lines.append(f"  {o.user}: {o.action} failed — {o.error or ''}")
    lines.append(f"the rest was not changed; `{hints.kubeuser('apply', options=('-f', filename))}` carries on")
    return "\n".join(lines)


def _renew_before(text: str) -> int:
    from kubeuser import durations
    from kubeuser.errors import UsageError

    try:
        return durations.parse(text, minimum=0)
    except UsageError as exc:
        raise UsageError(
            f"--renew-before: {exc.message}", hint="e.g. --renew-before 7d, or 0 for expired only"
        ) from None


def _progress_line(reporter: Any, o: Any) -> None:
    from rich.markup import escape

    live = reporter.live
    if o.failed:
        mark = "[red]✗[/red]" if live else escape("[FAIL]")
        reporter.console.print(f"{mark} {escape(o.user)}: {o.action} failed — {escape(o.error or '')}")
        return
    mark = "[green]✓[/green]" if live else escape("[ok]")
    bits = [f"{mark} {escape(o.user)}: {_done_word(o.action)}"]
    if o.serial and o.action in ("create", "renew", "reissue"):
        bits.append(f" — serial {o.serial}, until {o.not_after}")
    bits.append(f" ({o.seconds:.1f}s)")
    reporter.console.print("".join(bits))
    for w in o.warnings:
        reporter.warn(f"{o.user}: {w}")


_DONE = {
    "create": "created",
    "renew": "renewed",
    "reissue": "reissued",
    "update": "updated",
    "unchanged": "unchanged",
    "prune": "pruned",
}


def _done_word(action: str) -> str:
    return _DONE.get(action, action)


def summary_text(result: Any) -> str:
    """The summary table (stdout): user, action, serial/expiry, kubeconfig file; errors below it."""
    from kubeuser.workflows.apply import ApplyResult

    assert isinstance(result, ApplyResult)
    lines: list[str] = []
    if result.dry_run:
        rows: list[tuple[str, ...]] = [("USER", "PLAN", "REASON")]
        rows += [(o.user, o.action, o.reason) for o in result.outcomes]
        lines += _table(rows)
        for o in result.outcomes:
            if o.rbac and o.action != "create":
                lines.append(f"  {o.user}: " + "; ".join(o.rbac))
            if o.kubeconfig:
                lines.append(f"  {o.user}: would write {o.kubeconfig}")
            lines += [f"  {o.user}: warning: {w}" for w in o.warnings]
            if o.failed:
                lines.append(f"  {o.user}: error: {o.error}")
                if o.hint:
                    lines.append(f"    hint: {o.hint}")
        counts = result.counts()
        lines.append("")
        pc = result.prune_check
        if pc is not None and pc.refused:
            lines.append(f"refused: {pc.summary()}; applying would change nothing (--allow-mass-prune confirms it)")
        plan = _counts(counts).replace("FAILED", "would fail")
        lines.append(f"dry run: nothing was changed. Plan: {plan}")
        return "\n".join(lines) + "\n"
    table: list[tuple[str, ...]] = [("USER", "ACTION", "STATUS", "SERIAL", "EXPIRES", "KUBECONFIG")]
    for o in result.outcomes:
        status = "FAILED" if o.failed else "ok"
        if o.failed:
            kc = "-"
        elif o.kubeconfig:
            kc = o.kubeconfig + (f" (context {o.context})" if o.context and result.out_dir is None else "")
        elif o.action in ("unchanged", "update"):
            kc = "- (unchanged: no new key, no file)"
        else:
            kc = "-"
        table.append((o.user, _done_word(o.action) if not o.failed else o.action, status, o.serial or "-",
                     o.not_after or "-", kc))  # fmt: skip
    lines += _table(table)
    notes = [(o.user, o.note) for o in result.outcomes if o.note and o.action in ("prune", "reissue")]
    if notes:
        lines.append("")
        lines += [f"{u}: {n}" for u, n in notes]
    failed = [o for o in result.outcomes if o.failed]
    if failed:
        lines.append("")
        lines.append(f"{len(failed)} user(s) failed:")
        for o in failed:
            lines.append(f"  {o.user} ({o.action}): {o.error}")
            if o.hint:
                lines.append(f"    hint: {o.hint}")
    lines.append("")
    lines.append(f"{len(result.outcomes)} user(s): {_counts(result.counts())} in {result.seconds:.1f}s")
    return "\n".join(lines) + "\n"


def _counts(counts: dict[str, int]) -> str:
    parts = [f"{n} {a}" for a, n in counts.items() if n and a != "failed"]
    text = ", ".join(parts) or "nothing to do"
    if counts.get("failed"):
        text += f"; {counts['failed']} FAILED"
    return text


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
