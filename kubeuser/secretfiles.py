"""File paths for secrets that exist only in memory (no kubernetes import: shell completion uses it too)."""

from __future__ import annotations

import contextlib
import os
import tempfile


class InMemoryFiles:
    """File paths for PEM data that exists only in memory.

    The TLS stack (``ssl.SSLContext.load_cert_chain``) reads client keys from a path. On Linux the
    path is ``/proc/self/fd/N`` of a ``memfd``: nothing is written to disk, and the data disappears
    with the process even when it is killed with SIGKILL. Elsewhere (or without /proc) it is a 0600
    file in a private 0700 temp dir, removed by :meth:`close`.
    """

    def __init__(self) -> None:
        self._fds: list[int] = []
        self._dir: str | None = None

    def path(self, name: str, data: bytes) -> str:
        memfd_create = getattr(os, "memfd_create", None)
        if memfd_create is not None:
            try:
                fd = memfd_create(f"kubeuser-{name}", getattr(os, "MFD_CLOEXEC", 1))
            except OSError:
                fd = -1
            if fd >= 0:
                self._fds.append(fd)
                _write_all(fd, data)
                path = f"/proc/self/fd/{fd}"
                if os.path.isfile(path):
                    return path
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="kubeuser-")
            os.chmod(self._dir, 0o700)
        path = os.path.join(self._dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        return path

    def close(self) -> None:
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()
        if self._dir is not None:
            for n in os.listdir(self._dir):
                os.unlink(os.path.join(self._dir, n))
            os.rmdir(self._dir)
            self._dir = None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
