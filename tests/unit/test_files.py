"""kubeuser.files: the one writer — kubectl's lock protocol, modes and owners kept, one symlink policy, one-line errors.

Everything here uses real files in tmp_path; "kubectl" holding its lock is simulated exactly as client-go
does it: ``open(FILE.lock, O_CREAT|O_EXCL, 0)`` and nothing else.
"""

from __future__ import annotations

import grp
import itertools
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeuser import files, pki
from kubeuser import kubeconfig as kc
from kubeuser.errors import ConflictError, KubeconfigError, KubeuserError, UsageError
from kubeuser.workflows import apply as applywf


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _kubeconfig(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = kc.empty_config()
    doc["clusters"] = [{"name": "prod", "cluster": {"server": "https://prod:6443"}}]
    doc["users"] = [{"name": "admin", "user": {"token": "t"}}]
    doc["x-unknown"] = {"keep": True}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    path.chmod(0o600)
    return path


def _kubectl_lock(lock: Path) -> os.stat_result:
    """Take the lock the way client-go's lockFile does."""
    fd = os.open(lock, os.O_CREAT | os.O_EXCL, 0)
    os.close(fd)
    return os.lstat(lock)


def _add(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda doc: kc.set_entry(doc, "users", name, {"token": name})


def _users(path: Path) -> list[str]:
    return [u["name"] for u in yaml.safe_load(path.read_text())["users"]]


def _one_line(exc: KubeuserError) -> None:
    assert "\n" not in exc.message and "\r" not in exc.message, exc.message
    assert exc.hint is not None and "\n" not in exc.hint, exc.hint


@pytest.fixture
def lock_timeout(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    return lambda seconds: monkeypatch.setenv(files.LOCK_TIMEOUT_ENV, str(seconds))


# --------------------------------------------------------------------------- kubectl's lock


def test_foreign_lock_update_waits_then_fails_with_one_line(tmp_path: Path, lock_timeout: Any) -> None:
    path = _kubeconfig(tmp_path / "config")
    before = path.read_bytes()
    lock = Path(f"{path}.lock")
    theirs = _kubectl_lock(lock)
    lock_timeout(0.6)
    t0 = time.monotonic()
    with pytest.raises(KubeconfigError) as ei:
        kc.update_file(path, _add("alice"))
    waited = time.monotonic() - t0
    assert 0.6 <= waited < 3, waited  # it waited (bounded), it did not fail at once
    _one_line(ei.value)
    assert str(lock) in ei.value.message and "locked" in ei.value.message
    assert ei.value.hint == f"if no kubectl or kubeuser is writing {path}, the lock is stale: rm {lock}"
    assert path.read_bytes() == before  # byte-identical
    now = os.lstat(lock)  # the other writer's lock is still there, untouched
    assert (now.st_ino, now.st_size, stat.S_IMODE(now.st_mode)) == (theirs.st_ino, 0, 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config", "config.lock"]  # no temp file left


def test_lock_released_during_the_wait_then_write_succeeds(tmp_path: Path, lock_timeout: Any) -> None:
    path = _kubeconfig(tmp_path / "config")
    lock = Path(f"{path}.lock")
    theirs = _kubectl_lock(lock)
    lock_timeout(10)
    seen: dict[str, Any] = {}

    def mutate(doc: dict[str, Any]) -> None:
        held = os.lstat(lock)
        seen["ino"], seen["text"] = held.st_ino, lock.read_text()
        _add("alice")(doc)

    released: list[bool] = []

    def release() -> None:  # the other writer finishes and removes *its* lock: it must still be there to remove
        try:
            assert os.lstat(lock).st_ino == theirs.st_ino
            lock.unlink()
            released.append(True)
        except (OSError, AssertionError):
            released.append(False)

    releaser = threading.Timer(0.4, release)
    releaser.start()
    t0 = time.monotonic()
    try:
        assert kc.update_file(path, mutate) == []
    finally:
        releaser.join()
    assert released == [True]  # kubeuser did not remove (or replace) the other writer's lock
    assert time.monotonic() - t0 >= 0.4  # it waited for the other writer
    assert seen["text"] == f"kubeuser pid {os.getpid()} on {socket.gethostname()}\n"  # then took its own lock
    assert _users(path) == ["admin", "alice"]
    assert not lock.exists()  # we removed the lock we created
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config"]


def test_a_lock_that_is_not_ours_any_more_is_never_removed(tmp_path: Path, lock_timeout: Any) -> None:
    # someone removes our lock while we hold it and takes their own: our finally must leave theirs alone
    path = _kubeconfig(tmp_path / "config")
    lock = Path(f"{path}.lock")
    lock_timeout(2)
    swapped: dict[str, os.stat_result] = {}

    def mutate(doc: dict[str, Any]) -> None:
        assert lock.read_text().startswith(f"kubeuser pid {os.getpid()} ")
        lock.unlink()
        swapped["theirs"] = _kubectl_lock(lock)
        _add("alice")(doc)

    kc.update_file(path, mutate)
    assert os.lstat(lock).st_ino == swapped["theirs"].st_ino and lock.read_bytes() == b""
    assert _users(path) == ["admin", "alice"]


def test_stale_kubeuser_lock_is_called_stale(tmp_path: Path, lock_timeout: Any) -> None:
    path = _kubeconfig(tmp_path / "config")
    lock = Path(f"{path}.lock")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(f"kubeuser pid {dead.pid} on {socket.gethostname()}\n")
    lock_timeout(0.2)
    with pytest.raises(KubeconfigError) as ei:
        kc.update_file(path, _add("alice"))
    _one_line(ei.value)
    assert ei.value.message == (
        f"kubeconfig {path} is locked by a stale {lock} (kubeuser pid {dead.pid} is no longer running)"
    )
    assert ei.value.hint == f"remove the stale lock: rm {lock}"
    assert lock.exists()  # reported, never removed by us


def test_live_kubeuser_lock_names_its_holder(tmp_path: Path, lock_timeout: Any) -> None:
    path = _kubeconfig(tmp_path / "config")
    lock = Path(f"{path}.lock")
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lock.write_text(f"kubeuser pid {alive.pid} on {socket.gethostname()}\n")
        lock_timeout(0.2)
        with pytest.raises(KubeconfigError) as ei:
            kc.update_file(path, _add("alice"))
    finally:
        alive.kill()
        alive.wait()
    _one_line(ei.value)
    assert f"locked by kubeuser pid {alive.pid} on {socket.gethostname()}" in ei.value.message
    assert "stale" not in ei.value.message and str(lock) in ei.value.message


def test_threads_of_one_process_serialise(tmp_path: Path) -> None:
    path = _kubeconfig(tmp_path / "config")
    lock = Path(f"{path}.lock")
    n = 12
    spans: list[tuple[float, float]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def worker(i: int) -> None:
        def mutate(doc: dict[str, Any]) -> None:
            t0 = time.monotonic()
            assert lock.read_text().startswith(f"kubeuser pid {os.getpid()} ")
            time.sleep(0.01)  # widen the read-modify-write window
            _add(f"u{i}")(doc)
            spans.append((t0, time.monotonic()))

        try:
            start.wait()
            kc.update_file(path, mutate)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(_users(path)) == sorted(["admin", *[f"u{i}" for i in range(n)]])  # nothing lost
    spans.sort()
    for (_, end), (begin, _) in itertools.pairwise(spans):
        assert end <= begin  # critical sections never overlapped
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config"]


def test_symlink_both_locks_are_taken(tmp_path: Path, lock_timeout: Any) -> None:
    # kubectl --kubeconfig LINK locks LINK.lock; kubectl --kubeconfig TARGET locks TARGET.lock: kubeuser honours both
    target = _kubeconfig(tmp_path / "real" / "config")
    link = tmp_path / "home" / "config"
    link.parent.mkdir()
    link.symlink_to(target)
    held: list[bool] = []

    def mutate(doc: dict[str, Any]) -> None:
        held.extend([Path(f"{link}.lock").exists(), Path(f"{target}.lock").exists()])
        _add("alice")(doc)

    kc.update_file(link, mutate)
    assert held == [True, True]
    lock_timeout(0.2)
    for foreign in (Path(f"{link}.lock"), Path(f"{target}.lock")):
        _kubectl_lock(foreign)
        before = target.read_bytes()
        with pytest.raises(KubeconfigError, match="locked"):
            kc.update_file(link, _add("bob"))
        assert target.read_bytes() == before and foreign.exists()
        foreign.unlink()
    assert files.lock_paths(link) == sorted([Path(f"{link}.lock"), Path(f"{target}.lock")])
    assert files.lock_paths(target) == [Path(f"{target}.lock")]
    assert sorted(p.name for p in link.parent.iterdir()) == ["config"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["config"]


def test_write_new_and_out_dir_publish_respect_the_lock(tmp_path: Path, lock_timeout: Any) -> None:
    lock_timeout(0.2)
    out = tmp_path / "alice.kubeconfig"
    _kubectl_lock(Path(f"{out}.lock"))
    with pytest.raises(KubeconfigError, match="locked"):
        kc.write_new(out, kc.empty_config())
    tmp = tmp_path / ".bob.kubeconfig.x.tmp"
    tmp.write_text("x: 1\n")
    final = tmp_path / "bob.kubeconfig"
    _kubectl_lock(Path(f"{final}.lock"))
    with pytest.raises(KubeconfigError, match="locked"):
        applywf._publish(tmp, final, False)
    assert not out.exists() and not final.exists()


@pytest.mark.parametrize("raw", ["soon", "-1", "nan", "inf"])
def test_bad_lock_timeout_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(files.LOCK_TIMEOUT_ENV, raw)
    path = _kubeconfig(tmp_path / "config")
    with pytest.raises(UsageError, match=files.LOCK_TIMEOUT_ENV):
        kc.update_file(path, _add("alice"))
    assert not Path(f"{path}.lock").exists()


# --------------------------------------------------------------------------- modes and owners


def _other_ids() -> tuple[int, int]:
    """A uid/gid different from the defaults for our new files (root: daemon, 1; else one of our groups)."""
    if os.geteuid() == 0:
        return 1, grp.getgrgid(1).gr_gid
    groups = [g for g in os.getgroups() if g != os.getegid()]
    return os.geteuid(), (groups[0] if groups else os.getegid())


def test_update_keeps_mode_and_owner(tmp_path: Path) -> None:
    path = _kubeconfig(tmp_path / "config")
    uid, gid = _other_ids()
    os.chown(path, uid, gid)
    path.chmod(0o640)
    assert kc.update_file(path, _add("alice")) == []  # nothing to say
    st = path.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, uid, gid)
    assert _users(path) == ["admin", "alice"]


@pytest.mark.parametrize(
    ("before", "after", "what"),
    [
        (0o644, 0o640, "world-readable"),
        (0o666, 0o660, "world-readable/writable"),
        (0o604, 0o600, "world-readable"),
        (0o777, 0o770, "world-readable/writable/executable"),
    ],
)
def test_update_removes_only_the_bits_for_others_and_says_so(
    tmp_path: Path, before: int, after: int, what: str
) -> None:
    path = _kubeconfig(tmp_path / "config")
    uid, gid = _other_ids()
    os.chown(path, uid, gid)
    path.chmod(before)
    notes = kc.update_file(path, _add("alice"))
    assert notes == [f"kubeconfig {path} was {what} ({before:04o}); kubeuser wrote it {after:04o}"]
    st = path.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (after, uid, gid)


def test_new_files_are_0600_in_0700_dirs(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = tmp_path / "a" / "b" / "config"
        assert kc.update_file(path, _add("alice")) == []
        out = tmp_path / "c" / "out.kubeconfig"
        kc.write_new(out, kc.empty_config())
    finally:
        os.umask(old)
    assert _mode(path) == _mode(out) == 0o600
    assert _mode(path.parent) == _mode(path.parent.parent) == _mode(out.parent) == 0o700


def test_standalone_and_key_files_are_not_kept_loose(tmp_path: Path) -> None:
    # only the admin's kubeconfig keeps its mode; a replaced key or --out file is 0600 again
    key, out = tmp_path / "k.pem", tmp_path / "out.kubeconfig"
    pki.write_private_key(key, b"OLD")
    kc.write_new(out, kc.empty_config())
    key.chmod(0o644)
    out.chmod(0o644)
    pki.write_private_key(key, b"NEW", overwrite=True)
    kc.write_new(out, kc.empty_config(), force=True)
    assert _mode(key) == _mode(out) == 0o600


# --------------------------------------------------------------------------- one symlink policy


def _writers(tmp_path: Path) -> dict[str, Callable[[Path], object]]:
    def publish(p: Path) -> None:
        tmp = tmp_path / f".pub.{len(list(tmp_path.iterdir()))}.tmp"
        tmp.write_text(kc.dump(kc.empty_config()))
        applywf._publish(tmp, p, True)

    return {
        "update_file": lambda p: kc.update_file(p, _add("alice")),
        "write_new --force": lambda p: kc.write_new(p, kc.empty_config(), force=True),
        "write_private_key overwrite": lambda p: pki.write_private_key(p, b"KEY", overwrite=True),
        "write_public_file": lambda p: pki.write_public_file(p, b"CERT"),
        "apply --force-out": publish,
    }


@pytest.mark.parametrize(
    "writer",
    ["update_file", "write_new --force", "write_private_key overwrite", "write_public_file", "apply --force-out"],
)
def test_every_writer_writes_through_a_symlink_and_keeps_it(tmp_path: Path, writer: str) -> None:
    target = _kubeconfig(tmp_path / "real" / "file")
    link = tmp_path / "links" / "file"
    link.parent.mkdir()
    link.symlink_to(target)
    before = target.read_bytes()
    _writers(tmp_path)[writer](link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() != before
    assert sorted(p.name for p in link.parent.iterdir()) == ["file"]  # no temp or lock left next to the link
    assert sorted(p.name for p in target.parent.iterdir()) == ["file"]  # nor next to the target


@pytest.mark.parametrize(
    "create",
    [
        lambda p: kc.write_new(p, kc.empty_config()),
        lambda p: pki.write_private_key(p, b"KEY"),
        lambda p: pki.write_public_file(p, b"CERT", overwrite=False),
    ],
    ids=["write_new", "write_private_key", "write_public_file no-clobber"],
)
def test_no_clobber_writers_refuse_a_dangling_symlink(tmp_path: Path, create: Callable[[Path], object]) -> None:
    link = tmp_path / "file"
    link.symlink_to(tmp_path / "nowhere")
    with pytest.raises(ConflictError) as ei:
        create(link)
    _one_line(ei.value)
    assert str(link) in ei.value.message and "already exists" in ei.value.message
    assert not (tmp_path / "nowhere").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["file"]


# --------------------------------------------------------------------------- errors


def test_errors_are_one_line_with_a_hint_and_the_right_class(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    bad = blocker / "sub" / "file"  # a parent is a regular file
    cases: list[tuple[Callable[[], object], type[KubeuserError]]] = [
        (lambda: kc.update_file(bad, _add("alice")), KubeconfigError),  # the admin's kubeconfig
        (lambda: kc.write_new(bad, kc.empty_config()), UsageError),  # --out
        (lambda: pki.write_private_key(bad, b"KEY"), UsageError),
        (lambda: pki.write_public_file(bad, b"CERT"), UsageError),
        (lambda: pki.write_private_key(tmp_path, b"KEY"), UsageError),  # a directory
        (lambda: kc.write_new(blocker, kc.empty_config()), ConflictError),
        (lambda: pki.write_private_key(blocker, b"KEY"), ConflictError),
    ]
    for call, cls in cases:
        with pytest.raises(KubeuserError) as ei:
            call()
        assert type(ei.value) is cls, (ei.value, cls)
        _one_line(ei.value)
        assert str(tmp_path) in ei.value.message
    assert blocker.read_text() == "" and sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_a_newline_in_a_path_stays_on_one_line(tmp_path: Path) -> None:
    odd = tmp_path / "we\nird"
    odd.write_text("x")
    with pytest.raises(ConflictError) as ei:
        pki.write_private_key(odd, b"KEY")
    _one_line(ei.value)
    assert "we\\nird" in ei.value.message


def test_io_failure_is_reported_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _kubeconfig(tmp_path / "config")
    before = path.read_bytes()

    def no_space(*_a: object, **_k: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("kubeuser.files.os.replace", no_space)
    with pytest.raises(KubeconfigError) as ei:
        kc.update_file(path, _add("alice"))
    _one_line(ei.value)
    assert ei.value.message == f"cannot write kubeconfig {path}: No space left on device"
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["config"]


# --------------------------------------------------------------------------- the CLI says so


def test_create_and_renew_warn_when_the_kubeconfig_was_world_readable(env: dict[str, Any], cli: Any) -> None:
    kubeconfig: Path = env["kc"]
    kubeconfig.chmod(0o644)
    code, _, err = cli("create", "alice")
    assert code == 0, err
    assert f"warning: kubeconfig {kubeconfig} was world-readable (0644); kubeuser wrote it 0640" in err
    assert _mode(kubeconfig) == 0o640
    code, _, err = cli("renew", "alice")  # 0640 now: nothing to say
    assert code == 0, err
    assert "world-readable" not in err and _mode(kubeconfig) == 0o640
    kubeconfig.chmod(0o604)
    code, _, err = cli("renew", "alice")
    assert code == 0, err
    assert f"warning: kubeconfig {kubeconfig} was world-readable (0604); kubeuser wrote it 0600" in err
