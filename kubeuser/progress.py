"""Progress events: workflows announce named steps; the CLI decides how to show them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Step:
    title: str
    detail: str = ""
    skipped: bool = False
    failed: bool = False  # a check that found a problem without raising (the run goes on; the detail says it)


class Reporter(Protocol):
    def step(self, title: str) -> contextlib.AbstractContextManager[Step]: ...
    def warn(self, message: str) -> None: ...
    def note(self, message: str) -> None: ...


@dataclass
class RecordingReporter:
    """Keeps everything in memory: for tests and for ``-o json`` runs that only want the result."""

    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: str | None = None

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[Step]:
        s = Step(title)
        try:
            yield s
        except BaseException:
            self.failed = title
            raise
        self.steps.append(s)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def note(self, message: str) -> None:
        self.notes.append(message)
