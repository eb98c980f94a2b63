"""Every file kubeuser writes goes through this module.

One implementation, one policy:

Atomic
    Data goes to a fresh temporary file in the destination's own directory (``O_EXCL``), is
    fsynced, then renamed over the destination (or hard-linked into place when the destination
    must not exist yet), and the directory is fsynced. A reader sees the old file or the new one,
    never a mix; a crash leaves at most a ``.NAME.*.tmp`` file behind.

Modes
    A new file gets exactly the mode asked for (0600 for keys and kubeconfigs, 0644 for
    certificates), whatever the umask; missing parent directories are created 0700; existing
    directories are left alone. Replacing with ``keep_attrs=True`` (the admin's kubeconfig) keeps
    the old file's mode and owner/group, and only removes the bits for others (``o=``): the caller
    gets a note saying so, to print as a warning. If the group cannot be kept, group bits are
    removed too (the file would otherwise be readable by a different group).

Symlinks
    A destination that is a symlink is written *through*: the file the link finally points at
    (``os.path.realpath``) is replaced and the link stays, as kubectl does (it writes in place).
    A dangling link counts as an existing file when the destination must not exist, and with
    replace/force its target is created.

kubectl's lock
    kubectl (client-go ``clientcmd.ModifyConfig``) locks a kubeconfig ``F`` by creating ``F.lock``
    with ``O_CREAT|O_EXCL`` and removing it when done; it fails at once ("file exists") while the
    lock is there. :func:`kubectl_lock` uses the same protocol: it creates the lock exclusively
    (content ``kubeuser pid N on HOST``), waits with jittered backoff while someone else holds it
    (10 ms doubling to 100 ms, ``$KUBEUSER_LOCK_TIMEOUT`` seconds in total, default 30), and then
    fails naming the lock file. It removes only a lock it created, and only if the lock at the
    path is still the inode it created (kept open meanwhile, so the inode number cannot have been
    reused). client-go locks the path it was given, without resolving symlinks; kubeuser locks
    that path *and* the symlink's target, so that writers through the link and writers of the
    target exclude each other. Threads of one process first serialise on an in-process lock per
    target file.

Errors
    Every failure is one :class:`~kubeuser.errors.KubeuserError` with a one-line message naming the
    path and a hint: :class:`ConflictError` when the destination already exists (no-clobber),
    :class:`KubeconfigError` for the admin's kubeconfig and for the lock, :class:`UsageError` for
    paths the user chose (``--out``, ``--out-dir``, key files). The caller picks with a :class:`Kind`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import re
import secrets
import shlex
import socket
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kubeuser.errors import ConflictError, KubeconfigError, KubeuserError, UsageError

__all__ = [
    "KEY_FILE",
    "KUBECONFIG",
    "OUTPUT_KUBECONFIG",
    "PUBLIC_FILE",
    "Kind",
    "ensure_dir",
    "kubectl_lock",
    "lock_paths",
    "lock_timeout",
    "publish",
    "resolve",
    "write",
]

DIR_MODE = 0o700
DEFAULT_LOCK_TIMEOUT = 30.0  # 20 parallel creates on 2 busy cores need more than 10 s; kubectl never waits
LOCK_TIMEOUT_ENV = "KUBEUSER_LOCK_TIMEOUT"
_FIRST_DELAY = 0.010
_MAX_DELAY = 0.100
_NO_HARD_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK)


@dataclass(frozen=True)
class Kind:
    """What is being written, and how failures are reported."""

    what: str  # "kubeconfig", "private key", ... (used in messages)
    error: type[KubeuserError]  # for I/O problems (never for "already exists")
    hint: str  # hint for I/O problems
    exists_hint: str  # hint for "already exists"


#: the admin's kubeconfig (``update_file``)
KUBECONFIG = Kind(
    "kubeconfig", KubeconfigError, "check the permissions of the file and its directory", "pass --force to overwrite it"
)
#: a standalone kubeconfig at a path the user gave (``--out``)
OUTPUT_KUBECONFIG = Kind(
    "kubeconfig",
    UsageError,
    "check the directory's permissions or choose another output path",
    "pass --force to overwrite it",
)
#: private keys and the other local files kubeuser keeps
KEY_FILE = Kind(
    "private key",
    UsageError,
    "check the directory's permissions or choose another output path",
    "use --force to replace it, or choose another output path",
)
PUBLIC_FILE = Kind(
    "file",
    UsageError,
    "check the directory's permissions or choose another output path",
    "use --force to replace it, or choose another output path",
)


# --------------------------------------------------------------------------- helpers


def show(path: Path | str) -> str:
    """A path for a one-line message (control characters escaped)."""
    text = str(path)
    return text if text.isprintable() else repr(text)[1:-1]


def _strerror(exc: OSError) -> str:
    return " ".join(str(exc.strerror or exc).split())


def resolve(path: Path | str) -> Path:
    """The file a write to *path* changes: the symlink's final target, else *path* (absolute)."""
    p = Path(os.path.abspath(path))
    return Path(os.path.realpath(p)) if p.is_symlink() else p


def ensure_dir(directory: Path, kind: Kind) -> None:
    """Create *directory* and missing ancestors with mode 0700 (umask-proof); leave existing ones alone."""
    missing: list[Path] = []
    d = directory
    while not d.exists():
        missing.append(d)
        if d.parent == d:
            break
        d = d.parent
    for p in reversed(missing):
        try:
            os.mkdir(p, DIR_MODE)
        except FileExistsError:
            if not p.is_dir():
                raise kind.error(f"{show(p)} exists and is not a directory", hint=kind.hint) from None
            continue
        except OSError as exc:
            raise kind.error(f"cannot create directory {show(p)}: {_strerror(exc)}", hint=kind.hint) from None
        os.chmod(p, DIR_MODE)
    if not directory.is_dir():
        raise kind.error(f"{show(directory)} is not a directory", hint=kind.hint)


def fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _exists(kind: Kind, path: Path) -> ConflictError:
    return ConflictError(f"{kind.what} {show(path)} already exists", hint=kind.exists_hint)


def _others(bits: int) -> str:
    words = [w for b, w in ((0o4, "readable"), (0o2, "writable"), (0o1, "executable")) if bits & b]
    return "world-" + "/".join(words)


def _keep_attrs(fd: int, target: Path, old: os.stat_result, what: str) -> list[str]:
    """Give the new file (open as *fd*) the old file's owner and mode, minus the bits for others."""
    notes: list[str] = []
    old_mode = stat.S_IMODE(old.st_mode)
    mode = old_mode & 0o770
    new = os.fstat(fd)
    if (new.st_uid, new.st_gid) != (old.st_uid, old.st_gid):
        try:
            os.fchown(fd, old.st_uid, old.st_gid)
        except OSError:
            with contextlib.suppress(OSError):  # not root: keeping the group is often still allowed
                os.fchown(fd, -1, old.st_gid)
        new = os.fstat(fd)
        if new.st_gid != old.st_gid:
            mode &= 0o700  # never readable by a group that could not read the old file
        if (new.st_uid, new.st_gid) != (old.st_uid, old.st_gid):
            notes.append(
                f"{what} {show(target)} belonged to {old.st_uid}:{old.st_gid}; kubeuser may not keep that, "
                f"so it is now {new.st_uid}:{new.st_gid}, mode {mode:04o}"
            )
    if old_mode & 0o007:
        notes.append(f"{what} {show(target)} was {_others(old_mode)} ({old_mode:04o}); kubeuser wrote it {mode:04o}")
    elif old_mode & ~0o777:
        notes.append(f"{what} {show(target)} had mode {old_mode:04o}; kubeuser wrote it {mode:04o}")
    os.fchmod(fd, mode)
    return notes


# --------------------------------------------------------------------------- writing


def write(
    path: Path | str,
    data: bytes,
    *,
    kind: Kind,
    mode: int = 0o600,
    replace: bool,
    keep_attrs: bool = False,
) -> list[str]:
    """Atomically write *data* to *path* (through a symlink); returns notes for the user (usually none).

    ``replace=False`` refuses an existing *path* (also a dangling symlink) with :class:`ConflictError`,
    atomically (hard link; a best-effort check and rename on filesystems without hard links).
    ``keep_attrs=True`` keeps an existing file's owner and mode (minus the bits for others); a new file
    gets *mode*.
    """
    given = Path(os.path.abspath(path))
    target = resolve(given)
    if target.is_dir():
        raise kind.error(f"{show(target)} is a directory", hint=f"give a file name for the {kind.what}")
    if not replace and os.path.lexists(given):
        raise _exists(kind, given)
    directory = target.parent
    ensure_dir(directory, kind)
    tmp = directory / f".{target.name}.{secrets.token_hex(6)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(tmp, flags, 0o600)
    except OSError as exc:
        raise kind.error(f"cannot write {kind.what} {show(target)}: {_strerror(exc)}", hint=kind.hint) from None
    notes: list[str] = []
    try:
        try:
            old = None
            if keep_attrs and replace:
                with contextlib.suppress(FileNotFoundError):
                    old = os.stat(target)
            if old is not None and stat.S_ISREG(old.st_mode):
                notes = _keep_attrs(fd, target, old, kind.what)
            else:
                os.fchmod(fd, mode)  # exact, whatever the umask
            view = memoryview(bytes(data))
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # atomic "create if absent": never clobbers a file that appeared meanwhile
            except FileExistsError:
                raise _exists(kind, given) from None
            except OSError as exc:
                if exc.errno not in _NO_HARD_LINKS:
                    raise
                if os.path.lexists(target):  # a filesystem without hard links: best-effort check, then rename
                    raise _exists(kind, given) from None
                os.replace(tmp, target)
    except OSError as exc:
        raise kind.error(f"cannot write {kind.what} {show(target)}: {_strerror(exc)}", hint=kind.hint) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    fsync_dir(directory)
    return notes


def publish(tmp: Path, final: Path, *, kind: Kind, replace: bool, mode: int = 0o600) -> None:
    """Move the finished file *tmp* to *final* with :func:`write`'s rules; *tmp* is removed in any case."""
    try:
        data = Path(tmp).read_bytes()
        write(final, data, kind=kind, mode=mode, replace=replace)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


# --------------------------------------------------------------------------- kubectl's lock


def lock_timeout() -> float:
    """Seconds to wait for a kubeconfig lock: ``$KUBEUSER_LOCK_TIMEOUT``, default 30."""
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_LOCK_TIMEOUT
    from kubeuser import durations

    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{LOCK_TIMEOUT_ENV} must be a number of seconds, not {raw!r}", hint="e.g. 10") from None
    return durations.timeout(value, LOCK_TIMEOUT_ENV, zero=True)  # 0: do not wait


def lock_paths(path: Path | str) -> list[Path]:
    """The lock files kubeuser creates to write *path*: kubectl's ``PATH.lock``, plus ``TARGET.lock`` for a symlink.

    Sorted (the same order for every writer), duplicates (the same file via another directory) dropped.
    """
    given = Path(os.path.abspath(path))
    locks: dict[str, Path] = {}
    for p in (given, Path(os.path.realpath(given))):
        lock = Path(f"{p}.lock")
        locks.setdefault(os.path.join(os.path.realpath(lock.parent), lock.name), lock)
    return [locks[k] for k in sorted(locks)]


_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


def _thread_lock(key: str) -> threading.Lock:
    with _thread_locks_guard:
        return _thread_locks.setdefault(key, threading.Lock())


def _holder(lock: Path) -> str:
    """What the lock file says about its creator (kubectl's are empty, and mode 0)."""
    try:
        with open(lock, "rb") as fh:
            text = fh.read(200).decode("utf-8", "replace")
    except OSError:
        return ""
    return text.strip().splitlines()[0] if text.strip() else ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, but not ours
    return True


def _busy(lock: Path, waited: float) -> KubeconfigError:
    locked = show(str(lock)[: -len(".lock")])
    rm = f"rm {shlex.quote(str(lock))}"
    match = re.fullmatch(r"kubeuser pid (\d+) on (\S+)", _holder(lock))
    if match and match.group(2) == socket.gethostname() and not _alive(int(match.group(1))):
        return KubeconfigError(
            f"kubeconfig {locked} is locked by a stale {show(lock)} "
            f"(kubeuser pid {match.group(1)} is no longer running)",
            hint=f"remove the stale lock: {rm}",
        )
    who = f" by {match.group(0)}" if match else ""
    return KubeconfigError(
        f"kubeconfig {locked} is locked{who}: {show(lock)} still exists after waiting {waited:g}s",
        hint=f"if no kubectl or kubeuser is writing {locked}, the lock is stale: {rm}",
    )


def _create_lock(lock: Path, deadline: float, timeout: float, *, optional: bool) -> int | None:
    """Create *lock* exclusively, waiting until *deadline*; an open descriptor, or None if *optional* and impossible.

    The descriptor stays open while the lock is held: that keeps the inode alive, so an inode number
    seen at the path later cannot be a recycled one.
    """
    delay = _FIRST_DELAY
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        try:
            fd = os.open(lock, flags, 0o600)
        except FileExistsError:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _busy(lock, timeout) from None
            time.sleep(min(left, delay * (0.5 + random.random())))
            delay = min(delay * 2, _MAX_DELAY)
            continue
        except OSError as exc:
            if optional and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                return None  # nobody (kubectl included) can lock through this path
            raise KubeconfigError(
                f"cannot create the lock file {show(lock)}: {_strerror(exc)}",
                hint="check the permissions of the kubeconfig's directory",
            ) from None
        with contextlib.suppress(OSError):
            os.write(fd, f"kubeuser pid {os.getpid()} on {socket.gethostname()}\n".encode())
        return fd


def _remove_lock(lock: Path, fd: int) -> None:
    """Remove *lock* if it is still the file this process created (open as *fd*), then close *fd*."""
    try:
        mine = os.fstat(fd)
        now = os.lstat(lock)
        if (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino):
            os.unlink(lock)
    except FileNotFoundError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def kubectl_lock(path: Path | str, *, timeout: float | None = None) -> Iterator[None]:
    """Hold kubectl's lock(s) for writing the kubeconfig *path* (see the module docstring)."""
    timeout = lock_timeout() if timeout is None else timeout
    deadline = time.monotonic() + timeout
    given = Path(os.path.abspath(path))
    target = resolve(given)
    ensure_dir(target.parent, KUBECONFIG)  # kubectl creates the directory too
    in_process = _thread_lock(str(target))
    if not in_process.acquire(timeout=max(timeout, 0.001)):
        raise KubeconfigError(
            f"kubeconfig {show(given)} is locked by another thread of this kubeuser process; "
            f"gave up after {timeout:g}s",
            hint="retry when it is done",
        )
    try:
        held: list[tuple[Path, int]] = []
        try:
            for lock in lock_paths(given):
                # the lock next to a symlink is kubectl's, for writes through that link; it is optional
                # when its directory is read-only (then kubectl cannot write through the link either)
                optional = lock.parent != target.parent or lock.name != f"{target.name}.lock"
                fd = _create_lock(lock, deadline, timeout, optional=optional)
                if fd is not None:
                    held.append((lock, fd))
            yield
        finally:
            for lock, fd in reversed(held):
                _remove_lock(lock, fd)
    finally:
        in_process.release()
