"""The brake on ``apply --prune``: no users is a file error, a prune of more than half the active users (or
more than --max-prune) is refused with exit 2 and nothing changed, unless --allow-mass-prune confirms it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_gateway import FakeGateway

from kubeuser import connect, pruneguard, registry, usersfile
from kubeuser.errors import ExitCode, UsageError
from kubeuser.progress import RecordingReporter
from kubeuser.workflows import apply as wf

REG = "kubeuser-system"
HEAD = "apiVersion: kubeuser.io/v1alpha1\nkind: UserList\n"
WRITES = ("create_csr", "approve_csr", "create_object", "apply_object", "delete_object", "delete_csr")
FOUR = ["u1", "u2", "u3", "u4"]


def users_yaml(*names: str) -> str:
    return HEAD + yaml.safe_dump(
        {"users": [{"name": n, "namespaces": {"dev": {"rules": ["get:pods"]}}} for n in names]}
    )


def apply(env: dict[str, Any], text: str, **kw: Any) -> wf.ApplyResult:
    ul = usersfile.parse(text, "users.yaml")
    return wf.apply(ul, wf.ApplyOptions(**kw), connect.resolve(None, None), env["gw"], RecordingReporter())


def writes(gw: FakeGateway) -> int:
    return sum(gw.calls[w] for w in WRITES)


def statuses(gw: FakeGateway) -> dict[str, str]:
    return {r.user: r.status for r in registry.Registry(gw, REG).list()}


@pytest.fixture
def four(env: dict[str, Any]) -> FakeGateway:
    """Four active users, created by apply."""
    res = apply(env, users_yaml(*FOUR))
    assert res.exit_code == 0 and statuses(env["gw"]) == dict.fromkeys(FOUR, "active")
    return env["gw"]  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- the rule (pure)


@pytest.mark.parametrize(
    ("revoke", "active", "max_prune", "refused", "why"),
    [
        (2, 4, None, False, "within the limit"),  # exactly half passes
        (3, 4, None, True, "more than half"),
        (3, 5, None, True, "more than half"),
        (1, 2, None, False, "within the limit"),
        (1, 1, None, True, "more than half"),  # the only user
        (0, 0, None, False, "within the limit"),
        (2, 10, 1, True, "more than --max-prune 1"),
        (2, 10, 2, False, "within the limit"),
        (6, 10, 8, True, "more than half"),  # --max-prune never raises the limit
        (3, 4, 1, True, "more than half and more than --max-prune 1"),
        (1, 10, 0, True, "more than --max-prune 0"),
    ],
)
def test_limit(revoke: int, active: int, max_prune: int | None, refused: bool, why: str) -> None:
    pc = pruneguard.check(revoke, active, max_prune=max_prune)
    assert (pc.refused, pc.why()) == (refused, why)
    confirmed = pruneguard.check(revoke, active, max_prune=max_prune, confirmed=True)
    assert not confirmed.refused and confirmed.over_limit == refused


def test_negative_max_prune() -> None:
    with pytest.raises(UsageError, match="must not be negative"):
        pruneguard.check(1, 4, max_prune=-1)
    with pytest.raises(UsageError, match="--max-prune must not be negative"):
        wf.ApplyOptions(prune=True, max_prune=-1).validate()


@pytest.mark.parametrize(
    ("kw", "flag"), [({"max_prune": 3}, "--max-prune"), ({"allow_mass_prune": True}, "--allow-mass-prune")]
)
def test_prune_flags_need_prune(kw: dict[str, Any], flag: str) -> None:
    with pytest.raises(UsageError, match=f"{flag} only applies with --prune"):
        wf.ApplyOptions(**kw).validate()


# --------------------------------------------------------------------------- apply


def test_pruning_three_of_four_is_refused_and_changes_nothing(env: dict[str, Any], four: FakeGateway) -> None:
    before, objects = writes(four), dict(four.objects)
    with pytest.raises(UsageError) as ei:
        apply(env, users_yaml("u1"), prune=True)
    assert ei.value.exit_code == ExitCode.USAGE
    assert (
        ei.value.message == "--prune would revoke 3 of 4 active user(s), more than half: refused, nothing was changed"
    )
    assert "--allow-mass-prune" in (ei.value.hint or "") and "users.yaml declares everyone" in (ei.value.hint or "")
    assert writes(four) == before and four.objects == objects
    assert statuses(four) == dict.fromkeys(FOUR, "active")


def test_pruning_half_passes(env: dict[str, Any], four: FakeGateway) -> None:
    res = apply(env, users_yaml("u1", "u2"), prune=True)
    assert res.exit_code == 0 and statuses(four) == {"u1": "active", "u2": "active", "u3": "revoked", "u4": "revoked"}
    assert res.prune_check is not None and res.to_dict()["prune"] == {
        "revoke": 2, "active": 4, "limit": 2, "maxPrune": None, "confirmed": False, "refused": False,
    }  # fmt: skip


def test_allow_mass_prune_confirms(env: dict[str, Any], four: FakeGateway) -> None:
    rep = RecordingReporter()
    ul = usersfile.parse(users_yaml("u1"), "users.yaml")
    res = wf.apply(ul, wf.ApplyOptions(prune=True, allow_mass_prune=True), connect.resolve(None, None), four, rep)
    assert res.exit_code == 0
    assert sorted(o.user for o in res.outcomes if o.action == "prune" and o.done) == ["u2", "u3", "u4"]
    assert statuses(four) == {"u1": "active", "u2": "revoked", "u3": "revoked", "u4": "revoked"}
    assert "--prune would revoke 3 of 4 active user(s), more than half: confirmed by --allow-mass-prune" in rep.warnings


def test_max_prune(env: dict[str, Any], four: FakeGateway) -> None:
    with pytest.raises(UsageError, match=r"revoke 1 of 4 active user\(s\), more than --max-prune 0: refused"):
        apply(env, users_yaml("u1", "u2", "u3"), prune=True, max_prune=0)
    assert statuses(four) == dict.fromkeys(FOUR, "active")
    res = apply(env, users_yaml("u1", "u2", "u3"), prune=True, max_prune=1)
    assert res.exit_code == 0 and statuses(four)["u4"] == "revoked"


def test_revoked_records_do_not_count(env: dict[str, Any], four: FakeGateway) -> None:
    """Active users only: after 2 of 4 left, dropping 1 of the 2 remaining is half of the active ones."""
    apply(env, users_yaml("u1", "u2"), prune=True)
    res = apply(env, users_yaml("u1"), prune=True)
    assert res.exit_code == 0 and statuses(four)["u2"] == "revoked"
    assert res.prune_check is not None and (res.prune_check.revoke, res.prune_check.active) == (1, 2)


def test_dry_run_shows_the_plan_and_says_it_would_be_refused(
    env: dict[str, Any], four: FakeGateway, cli: Any, tmp_path: Path
) -> None:
    f = tmp_path / "users.yaml"
    f.write_text(users_yaml("u1"))
    before = writes(four)
    code, out, err = cli("apply", "-f", str(f), "--prune", "--dry-run")
    assert code == ExitCode.USAGE, out + err
    assert [ln.split()[:2] for ln in out.splitlines()[1:5]] == [
        ["u1", "unchanged"], ["u2", "prune"], ["u3", "prune"], ["u4", "prune"],
    ]  # fmt: skip
    assert "refused: --prune would revoke 3 of 4 active user(s), more than half; applying would change nothing" in out
    assert "warning: --prune would revoke 3 of 4 active user(s), more than half: would be refused" in err
    code, out, _ = cli("apply", "-f", str(f), "--prune", "--dry-run", "-o", "json")
    data = json.loads(out)
    assert code == ExitCode.USAGE and data["prune"]["refused"] is True and data["summary"]["prune"] == 3
    code, out, _ = cli("apply", "-f", str(f), "--prune", "--dry-run", "--allow-mass-prune")
    assert code == 0 and "refused" not in out
    assert writes(four) == before and statuses(four) == dict.fromkeys(FOUR, "active")


def test_cli_refusal(env: dict[str, Any], four: FakeGateway, cli: Any, tmp_path: Path) -> None:
    f = tmp_path / "users.yaml"
    f.write_text(users_yaml("u1"))
    code, out, err = cli("apply", "-f", str(f), "--prune")
    assert code == ExitCode.USAGE and out == ""
    assert "error: --prune would revoke 3 of 4 active user(s), more than half: refused, nothing was changed" in err
    assert "hint: " in err and statuses(four) == dict.fromkeys(FOUR, "active")
    code, out, err = cli("apply", "-f", str(f), "--prune", "--allow-mass-prune")
    assert code == 0, out + err
    assert statuses(four) == {"u1": "active", "u2": "revoked", "u3": "revoked", "u4": "revoked"}


@pytest.mark.parametrize("body", ["users:\n", "users:\n# everyone left\n", "users: []\n", "users: ~\n"])
def test_a_file_without_users_is_always_refused(
    env: dict[str, Any], four: FakeGateway, cli: Any, tmp_path: Path, body: str
) -> None:
    f = tmp_path / "users.yaml"
    f.write_text(HEAD + body)
    for extra in ([], ["--prune"], ["--prune", "--allow-mass-prune"], ["--dry-run"]):
        code, out, err = cli("apply", "-f", str(f), *extra)
        assert code == ExitCode.USAGE and out == "", extra
        assert f"error: {f}:3: users: declares no users" in err
        assert "hint: apply never revokes everyone" in err
    assert statuses(four) == dict.fromkeys(FOUR, "active")
