"""The one check model doctor and preflight share: statuses, checks, and what a report concludes from them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml

from kubeuser.checks import FAIL, PASS, SKIP, WARN, Check, Report, Status
from kubeuser.errors import CheckFailedError, KubeuserError


@dataclass
class Sample(Report):
    title: ClassVar[str] = "kubeuser sample"
    checks: list[Check] = field(default_factory=list)

    def heading(self) -> list[str]:
        return ["a sample"]

    def verdict(self) -> str:
        return "fine" if self.ok else "not fine"

    def error(self) -> KubeuserError | None:
        return None if self.ok else CheckFailedError(f"{len(self.failed)} failed")

    def to_dict(self) -> dict[str, Any]:
        return {"checks": [c.to_dict() for c in self.checks]}


def test_a_status_is_its_word_in_text_json_and_yaml() -> None:
    assert [s.value for s in Status] == ["pass", "fail", "warn", "skip"]
    assert f"{FAIL}" == str(FAIL) == "fail" and WARN == "warn"
    doc = Sample([Check("a", "A", PASS, "ok")]).to_dict()
    assert json.loads(json.dumps(doc)) == yaml.safe_load(yaml.safe_dump(doc))
    assert doc["checks"] == [{"id": "a", "title": "A", "status": "pass", "detail": "ok", "fix": None, "required": True}]


def test_ok_means_every_required_check_passed_or_warned() -> None:
    report = Sample(
        [
            Check("a", "A", PASS),
            Check("b", "B", WARN, "risky", "do this"),
            Check("c", "C", FAIL, "broken", "fix it", required=False),  # informational: does not decide
        ]
    )
    assert report.ok and report.error() is None and report.verdict() == "fine"
    assert [c.id for c in report.failures] == ["c"] and report.failed == []
    assert [c.id for c in report.warnings] == ["b"]
    report.checks.append(Check("d", "D", SKIP, "not attempted: a prerequisite failed"))
    assert not report.ok  # a required check that could not run is not a pass
    assert report.failed == [] and report.check("d").status == SKIP
    report.checks.append(Check("e", "E", FAIL, "broken"))
    assert [c.id for c in report.failed] == ["e"] and str(report.error()) == "1 failed"


def test_counts_leave_out_zeros_but_always_say_passed() -> None:
    assert Sample([]).counts() == "0 passed"
    statuses = [FAIL, WARN, WARN, PASS, SKIP, SKIP, SKIP]
    report = Sample([Check(str(i), "T", s) for i, s in enumerate(statuses)])
    assert report.counts() == "1 failed, 2 warning(s), 1 passed, 3 skipped"
