"""One check model for ``kubeuser doctor`` and ``kubeuser preflight``: a status, a check, a report.

A command runs its checks in a fixed order and collects them in a :class:`Report`; every check has an id,
a title, a :class:`Status`, a detail and (when it fails or warns) a concrete fix. A *required* check is
one the command's verdict rests on: the report is :attr:`Report.ok` when every required check passed or
warned, and the CLI exits 12 (``CHECK_FAILED``) otherwise. The CLI renders any report the same way
(``kubeuser.cli.doctor``): a table on a terminal, one plain line a check elsewhere, or one JSON/YAML
document.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar

from kubeuser.errors import KubeuserError


class Status(str, enum.Enum):
    """What a check found; the value is what ``-o json`` says."""

    PASS = "pass"  # this step is fine
    FAIL = "fail"  # this step is broken; the fix says what to do
    WARN = "warn"  # works, but risky or surprising
    SKIP = "skip"  # not checked: a prerequisite failed, or it does not apply (the detail says why)

    def __str__(self) -> str:
        return self.value


PASS, FAIL, WARN, SKIP = Status.PASS, Status.FAIL, Status.WARN, Status.SKIP


@dataclass
class Check:
    id: str
    title: str
    status: Status
    detail: str = ""
    fix: str | None = None
    required: bool = True  # the command's verdict rests on it (see Report.ok)

    @property
    def ok(self) -> bool:
        """Passed, or passed with a warning."""
        return self.status in (PASS, WARN)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "detail": self.detail,
            "fix": self.fix,
            "required": self.required,
        }


class Report:
    """The checks of one run, in order, and what the command says about them.

    A command's report (a dataclass) holds ``checks`` and its own context (server, identity…), and says
    what the renderer shows around the checks: :attr:`title`, :meth:`heading` and :meth:`verdict`, and
    the error the command ends with when it is not ok (:meth:`error`).
    """

    title: ClassVar[str]  # "kubeuser doctor"
    checks: list[Check]

    def heading(self) -> list[str]:
        """The lines above the checks: what was checked."""
        raise NotImplementedError

    def verdict(self) -> str:
        """The result in a few words ("authenticated as alice", "NOT ready to onboard users")."""
        raise NotImplementedError

    def error(self) -> KubeuserError | None:
        """What the command fails with (after the report is shown), or None when it is ok."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def check(self, check_id: str) -> Check:
        return next(c for c in self.checks if c.id == check_id)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks if c.required)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.status == WARN]

    @property
    def failed(self) -> list[Check]:
        """The required checks that failed."""
        return [c for c in self.checks if c.required and c.status == FAIL]

    def counts(self) -> str:
        """``3 failed, 1 warning(s), 9 passed, 2 skipped`` (the zero counts left out, passed always said)."""
        n = {s: sum(1 for c in self.checks if c.status == s) for s in Status}
        parts = [f"{n[FAIL]} failed"] if n[FAIL] else []
        parts += [f"{n[WARN]} warning(s)"] if n[WARN] else []
        parts += [f"{n[PASS]} passed"]
        parts += [f"{n[SKIP]} skipped"] if n[SKIP] else []
        return ", ".join(parts)
