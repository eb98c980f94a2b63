"""The table of kubeuser's commands: name, the module that defines it, and its one-line summary.

This module imports nothing. It is what lets the CLI start fast:

- the root group (:class:`kubeuser.cli.app.LazyGroup`) lists commands from this table and imports
  and builds only the one command a run invokes, instead of converting every command's options;
- ``kubeuser --help`` is answered from a pre-rendered text (:mod:`kubeuser.cli.roothelp`, generated
  from the real CLI by ``tools/gen_cli_reference.py``) without importing typer at all.

A new command is a module in ``kubeuser/cli/`` plus a row here; ``tests/unit/test_cli_table.py``
fails when the two disagree.
"""

from __future__ import annotations

from typing import NamedTuple


class Command(NamedTuple):
    name: str
    module: str  # kubeuser.cli.<module> registers the command on the typer app when imported
    summary: str  # the line shown in the root --help (click's short_help)


COMMANDS: tuple[Command, ...] = (
    Command("create", "create", "Create a user: key, certificate, kubeconfig context, RBAC."),
    Command("request", "byok", "Make a key here and a certificate request for your admin."),
    Command("import", "byok", "Add the certificate your admin sent to your kubeconfig."),
    Command("list", "users", "List the users kubeuser manages, with expiry and groups."),
    Command("show", "users", "Show a user's record, bindings and effective access."),
    Command("renew", "renew", "Issue a new certificate for a user; update the kubeconfig."),
    Command("grant", "grant", "Grant a user more access; the certificate is kept."),
    Command("ungrant", "grant", "Take access away from a user; the certificate is kept."),
    Command("approve", "approve", "Approve CSRs others submitted, if they pass kubeuser's policy."),
    Command("token", "token", "Print a new token for a token user (Dashboard sign-in, CI)."),
    Command("revoke", "revoke", "Remove a user's access and report what access remains."),
    Command("run", "run", "Run a command as a short-lived user, then remove the user."),
    Command("apply", "apply", "Make the cluster's users match a users file."),
    Command("doctor", "doctor", "Check a kubeconfig identity step by step: why access fails."),
    Command("preflight", "doctor", "Check this admin may onboard users and the signer issues."),
    Command("cleanup", "cleanup", "Find (and delete) objects that interrupted runs left."),
)

BY_NAME: dict[str, Command] = {c.name: c for c in COMMANDS}
