"""``kubeuser run NAME -- CMD``: an ephemeral user for the duration of one command.

create (standalone kubeconfig in a private temp dir, no key under ~/.kube) → run CMD with
``KUBECONFIG`` pointing at it → revoke (bindings, CSRs, registry record marked revoked; for a
token identity, ``--auth token``, also its ServiceAccount and the Secret its one token is bound
to, so the token is dead within seconds) → delete the temp dir. Cleanup also happens when CMD
fails, cannot be started, or kubeuser gets SIGINT or SIGTERM: while CMD runs the signal is
forwarded to it, kubeuser waits for it to exit, then cleans up; during setup the signal
interrupts creation (which rolls back what it made). Further signals during cleanup are noted
and ignored so cleanup completes.

The exit code is CMD's (128+N if a signal N killed it); 127 if CMD was not found, 126 if it could
not be executed: both are checked before the user is created (and again when CMD starts).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from kubeuser import hints, registry
from kubeuser.connect import Target
from kubeuser.errors import KubeuserError, UsageError
from kubeuser.gateway import Gateway
from kubeuser.progress import Reporter
from kubeuser.workflows import create as createwf
from kubeuser.workflows import revoke as revokewf

DEFAULT_TTL = 15 * 60
HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
NOT_FOUND = 127
NOT_EXECUTABLE = 126


class CommandError(KubeuserError):
    """CMD could not be started; ``returncode`` is the shell's convention (127 not found, 126 not executable)."""

    def __init__(self, message: str, returncode: int, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.returncode = returncode


class Interrupted(BaseException):  # like KeyboardInterrupt: not an error of ours
    """A SIGINT/SIGTERM arrived before CMD started (BaseException: nothing catches it by accident)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@dataclass
class RunOptions:
    create: createwf.CreateOptions
    command: list[str]


@dataclass
class RunResult:
    user: str
    exit_code: int
    command_started: bool = False
    signal: int | None = None  # the first signal kubeuser received, if any
    serial: str | None = None  # the certificate's serial, or the Secret a token is bound to
    not_after: str | None = None
    auth: str = "x509"
    revoked: bool = False
    residual: list[str] = field(default_factory=list)
    tmpdir_removed: bool = False
    cleanup_error: KubeuserError | None = None


SETUP, CHILD, CLEANUP = "setup", "child", "cleanup"


class SignalGuard:
    """SIGINT/SIGTERM handling for the duration of a run.

    setup: the first signal raises :class:`Interrupted` (later ones are only noted);
    child: signals are forwarded to CMD; cleanup: signals are noted and ignored.
    """

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.phase = SETUP
        self.received: int | None = None
        self.child: subprocess.Popen[bytes] | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be installed from the main thread
        for sig in HANDLED_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = self.received is None
        if first:
            self.received = signum
        if self.phase == CHILD:
            self.forward(signum)
        elif self.phase == SETUP and first:
            self.phase = CLEANUP  # the rollback that follows must not be interrupted again
            raise Interrupted(signum)
        # cleanup (or a repeated signal during setup's rollback): finish cleaning up first

    def forward(self, signum: int) -> None:
        if self.child is not None and self.child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.child.send_signal(signum)


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def exit_code_of(returncode: int) -> int:
    """The shell's convention: 128+N for a child killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def run(
    opts: RunOptions,
    target: Target,
    connect: Callable[[], Gateway],
    reporter: Reporter,
    *,
    env: dict[str, str] | None = None,
) -> RunResult:
    """Create the user, run CMD as it, clean up. Raises CommandError (after cleanup) if CMD cannot start."""
    if not opts.command:
        raise UsageError("no command to run", hint="put the command after --, e.g. kubeuser run ci -- kubectl get pods")
    copts = dataclasses.replace(
        opts.create,
        out=None,
        write_key_files=False,
        force=False,
        set_current=False,
        delivery=registry.DELIVERY_EPHEMERAL,
    )
    p = createwf.plan(copts, target.namespace)  # validates everything before anything is made
    check_command(opts.command, os.environ if env is None else env)  # …and so is CMD: no user for nothing
    user = p.user
    result = RunResult(user=user, exit_code=0)
    guard = SignalGuard(reporter)
    guard.install()
    tmpdir: Path | None = None
    gw: Gateway | None = None
    created = False
    pending: CommandError | None = None
    started_at = registry.now_iso()
    try:
        try:
            tmpdir = Path(tempfile.mkdtemp(prefix="kubeuser-run-"))
            os.chmod(tmpdir, 0o700)
            kc = tmpdir / "kubeconfig"
            copts.out = str(kc)
            gw = connect()
            try:
                res = createwf.create(copts, target, gw, reporter)
                created = True
            except Interrupted:
                # create rolled back what it made; but a signal right after it returned would leave the user
                created = _created_since(gw, copts.registry_namespace, user, started_at)
                raise
            result.serial, result.not_after, result.auth = res.serial, res.not_after, res.auth
            idle, gw = gw, None
            idle.close()  # no idle connections while CMD runs (it may run for long); cleanup opens a new one
            guard.phase = CHILD
            if guard.received is not None:
                raise Interrupted(guard.received)
            what = "token bound to Secret" if result.auth == "token" else "certificate"
            reporter.note(
                f"running {_shell_words(opts.command)} as {user} ({what} {result.serial}, "
                f"valid until {result.not_after}); KUBECONFIG={kc}"
            )
            child_env = dict(os.environ if env is None else env)
            child_env["KUBECONFIG"] = str(kc)
            try:
                child = subprocess.Popen(opts.command, env=child_env)  # stdio inherited
            except FileNotFoundError:
                pending = CommandError(f"command not found: {opts.command[0]}", NOT_FOUND)
            except PermissionError:
                pending = CommandError(f"command not executable: {opts.command[0]}", NOT_EXECUTABLE)
            except OSError as exc:
                pending = CommandError(f"cannot run {opts.command[0]}: {exc.strerror or exc}", NOT_EXECUTABLE)
            if pending is None:
                result.command_started = True
                guard.child = child
                if guard.received is not None:  # arrived between the phase switch and Popen returning
                    guard.forward(guard.received)
                result.exit_code = exit_code_of(child.wait())
                how = (
                    f"was killed by {signal_name(-child.returncode)}"
                    if child.returncode < 0
                    else f"exited {child.returncode}"
                )
                reporter.note(f"{opts.command[0]} {how}; cleaning up")
            else:
                result.exit_code = pending.returncode
        except Interrupted as exc:
            result.exit_code = 128 + exc.signum
            reporter.warn(f"{signal_name(exc.signum)} before the command started: cleaning up")
    finally:
        guard.phase = CLEANUP
        try:
            result.signal = guard.received
            if created:
                _cleanup_user(opts, target, gw, connect, reporter, result)
            if tmpdir is not None:
                shutil.rmtree(tmpdir, ignore_errors=True)
                result.tmpdir_removed = not tmpdir.exists()
        finally:
            if gw is not None:
                gw.close()
            guard.restore()
    if pending is not None:
        raise pending
    return result


def check_command(command: Sequence[str], env: Mapping[str, str]) -> None:
    """CommandError unless CMD would start: a bare name must be an executable on the child's PATH (127),
    a path must exist (127) and be an executable file (126). Checked before a user is created."""
    prog = command[0]
    hint = "nothing was created; give an executable on PATH or a path to one"
    if os.sep not in prog:
        if not prog or shutil.which(prog, path=os.pathsep.join(os.get_exec_path(dict(env)))) is None:
            raise CommandError(f"command not found: {prog}", NOT_FOUND, hint=hint)
        return
    if not os.path.exists(prog):
        raise CommandError(f"command not found: {prog}", NOT_FOUND, hint=hint)
    if os.path.isdir(prog) or not os.access(prog, os.X_OK):
        raise CommandError(f"command not executable: {prog}", NOT_EXECUTABLE, hint=hint)


def _cleanup_user(
    opts: RunOptions,
    target: Target,
    gw: Gateway | None,
    connect: Callable[[], Gateway],
    reporter: Reporter,
    result: RunResult,
) -> None:
    try:
        own = gw is None
        g = connect() if gw is None else gw
        try:
            rv = revokewf.revoke(
                revokewf.RevokeOptions(name=result.user, registry_namespace=opts.create.registry_namespace),
                target,
                g,
                reporter,
            )
        finally:
            if own:
                g.close()
    except KubeuserError as exc:
        exc.hint = (
            exc.hint + "; " if exc.hint else ""
        ) + f"finish the cleanup with `{hints.kubeuser('revoke', result.user)}`"
        result.cleanup_error = exc
        reporter.warn(f"cleanup of {result.user} failed: {exc.message}")
        return
    result.revoked = True
    result.residual = [b.describe() for b in rv.residual_bindings]
    if rv.auth == "token" and not rv.still_authenticates:
        reporter.note(
            f"{result.user} revoked: ServiceAccount {rv.service_account} "
            + ("deleted" if rv.service_account_deleted else "already gone")
            + f" with {len(rv.tokens_killed)} token Secret(s); its token gets 401 within about 10 s"
        )
    elif rv.still_authenticates:
        reporter.note(
            f"{result.user} revoked; its certificate authenticates until {rv.not_after} (Kubernetes cannot revoke it)"
            + (", still bound: " + "; ".join(result.residual) if result.residual else ", with no bindings left")
        )
    else:
        reporter.note(f"{result.user} revoked")


def _created_since(gw: Gateway, registry_namespace: str | None, user: str, since: str) -> bool:
    """Whether an active record of ``user`` was written by this run (issued at or after ``since``)."""
    try:
        found = registry.Registry(gw, registry.namespace_from(registry_namespace)).get(user)
    except KubeuserError:
        return False
    if found is None:
        return False
    rec = found[0]
    return rec.status == "active" and rec.certificate.issued_at >= since


def _shell_words(cmd: Sequence[str]) -> str:
    import shlex

    text = shlex.join(cmd)
    return text if len(text) <= 80 else text[:77] + "..."
