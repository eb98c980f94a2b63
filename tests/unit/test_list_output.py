"""Issue 14: ``list`` never cuts a value (pipe, file, narrow terminal), ``-o wide``, ``--expiring``, and
``create``'s access line stays readable.

The subprocess tests run the real CLI with the fake gateway as the cluster, so stdout is a real pipe or
a real pseudo-terminal, exactly as for a user.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fake_gateway import CLUSTER_ROLES, FakeGateway
from kubeuser_runner import read_pty

from kubeuser import rbac, registry
from kubeuser.errors import ExitCode
from kubeuser.workflows import users as wf

ROOT = Path(__file__).resolve().parents[2]
LONG_USER = "erin-with-a-very-long-name-that-fits-nowhere@example.com"
LONG_GROUP = "platform-engineering-on-call-rotation-secondary"
HEADERS = ["USER", "AUTH", "GROUPS", "STATUS", "EXPIRES", "DAYS LEFT", "BINDINGS"]
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

# Onboards LONG_USER on a fake cluster (output discarded), then runs argv[1:] with the process's own stdout.
_DRIVER = """
    import contextlib, io, sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from fake_gateway import FakeGateway
    from workflow_env import write_admin_kubeconfig
    from kubeuser import connect
    from kubeuser.cli import main

    gw = FakeGateway()
    write_admin_kubeconfig(Path({home!r}) / ".kube" / "config", gw.ca_pem)
    connect.open_gateway = lambda target: gw

    def run(args):
        try:
            main(args)
        except SystemExit as exc:
            return exc.code or 0
        return 0

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as e:
        code = run(["create", {user!r}, "-g", {group!r}, "-n", "dev", "--rule", "get,list:pods,secrets",
                    "--clusterrole", "view"])
        assert code == 0, e.getvalue()
    sys.exit(run(sys.argv[1:]))
"""


def _argv(tmp_path: Path, *args: str) -> list[str]:
    code = _DRIVER.format(tests=str(ROOT / "tests"), home=str(tmp_path / "home"), user=LONG_USER, group=LONG_GROUP)
    return [sys.executable, "-c", textwrap.dedent(code), *args]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "KUBECONFIG", "KUBEUSER_HOME")}
    env.update(HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT), NO_COLOR="1", TERM="xterm", **extra)
    return env


def _piped(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """stdout a pipe (as `kubeuser list | cat`), with COLUMNS=60 as if started from a narrow terminal."""
    return subprocess.run(
        _argv(tmp_path, *args), capture_output=True, text=True, timeout=120, env=_env(tmp_path, COLUMNS="60"), cwd=ROOT
    )


def _on_terminal(tmp_path: Path, columns: int, *args: str) -> tuple[int, str]:
    """stdout a pseudo-terminal COLUMNS wide: (exit code, what the terminal showed, escapes removed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        _argv(tmp_path, *args), stdout=slave, stderr=subprocess.PIPE, env=_env(tmp_path, COLUMNS=str(columns)),
        cwd=ROOT,
    )  # fmt: skip
    os.close(slave)
    shown = read_pty(master)
    assert proc.stderr is not None
    proc.stderr.close()
    code = proc.wait(timeout=120)
    text = shown.decode().replace("\r\n", "\n")
    return code, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def _expected_bindings() -> list[str]:
    return [f"Role/dev/kubeuser:{LONG_USER}", f"RoleBinding/dev/kubeuser:{LONG_USER}",
            f"RoleBinding/dev/kubeuser:{LONG_USER}:clusterrole:view"]  # fmt: skip


def test_a_pipe_gets_whole_values_in_aligned_columns(tmp_path: Path) -> None:
    proc = _piped(tmp_path, "list")
    assert proc.returncode == 0, proc.stderr
    header, row = proc.stdout.splitlines()
    assert re.split(r"\s{2,}", header) == HEADERS
    cells = re.split(r"\s{2,}", row)
    assert cells[:4] == [LONG_USER, "x509", LONG_GROUP, "active"]
    assert ISO.match(cells[4]) and float(cells[5]) > 29 and cells[6] == "3"
    assert "…" not in proc.stdout and len(row) > 60  # wider than the terminal it came from: nothing cut
    assert row.index(LONG_GROUP) == header.index("GROUPS")  # aligned


def test_wide_names_every_binding_serial_key_and_delivery(tmp_path: Path) -> None:
    proc = _piped(tmp_path, "list", "-o", "wide")
    assert proc.returncode == 0, proc.stderr
    header, row = proc.stdout.splitlines()
    assert re.split(r"\s{2,}", header) == [*HEADERS, "SERIAL", "KEY", "DELIVERY", "KEY HOLDER"]
    cells = re.split(r"\s{2,}", row)
    assert cells[:2] == [LONG_USER, "x509"] and cells[6].split(",") == _expected_bindings()
    assert re.fullmatch(r"[0-9A-F]{8,}", cells[7]) and cells[8:] == ["ecdsa 256", "kubeconfig", "admin"]


def test_a_file_gets_whole_values(tmp_path: Path) -> None:
    target = tmp_path / "users.txt"
    with target.open("w") as fh:
        proc = subprocess.run(
            _argv(tmp_path, "list", "-o", "wide"), stdout=fh, stderr=subprocess.PIPE, text=True, timeout=120,
            env=_env(tmp_path, COLUMNS="60"), cwd=ROOT,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    text = target.read_text()
    for value in [LONG_USER, LONG_GROUP, *_expected_bindings()]:
        assert value in text
    assert "…" not in text


def _columns(header: str, lines: list[str]) -> dict[str, str]:
    """Each column's cell of a one-row table, its folded pieces joined (column starts from the header)."""
    starts = [header.index(h) for h in HEADERS]
    cells = {h: "" for h in HEADERS}
    for line in lines:
        for i, h in enumerate(HEADERS):
            end = starts[i + 1] if i + 1 < len(starts) else None
            cells[h] += line[starts[i] : end].strip()
    return cells


def test_a_narrow_terminal_folds_but_drops_nothing(tmp_path: Path) -> None:
    code, shown = _on_terminal(tmp_path, 60, "list")
    assert code == 0, shown
    lines = [ln for ln in shown.splitlines() if ln.strip()]
    assert max(len(ln) for ln in lines) <= 60  # it fits the terminal …
    assert lines[0].split() == [
        "USER",
        "AUTH",
        "GROUPS",
        "STATUS",
        "EXPIRES",
        "DAYS",
        "LEFT",
        "BINDINGS",
    ]  # headers whole
    cells = _columns(lines[0], lines[1:])
    assert cells["USER"] == LONG_USER and cells["GROUPS"] == LONG_GROUP  # … and every character is there
    assert ISO.match(cells["EXPIRES"]) and cells["STATUS"] == "active" and cells["BINDINGS"] == "3"
    assert "…" not in shown


def test_a_wide_terminal_shows_a_row_on_one_line(tmp_path: Path) -> None:
    code, shown = _on_terminal(tmp_path, 600, "list", "-o", "wide")
    assert code == 0, shown
    lines = [ln for ln in shown.splitlines() if ln.strip()]
    assert len(lines) == 2 and LONG_USER in lines[1] and ",".join(_expected_bindings()) in lines[1]


# --expiring --------------------------------------------------------------------------------------------


def _record(user: str, not_after: datetime, status: str = "active") -> registry.UserRecord:
    when = not_after.strftime("%Y-%m-%dT%H:%M:%SZ")
    cert = registry.CertRecord("0a", "2026-01-01T00:00:00Z", when, "2026-01-01T00:00:00Z", "admin", "csr-x")
    return registry.UserRecord(user, [], status, "c", None, "default", cert)


def test_expiring_keeps_active_users_ending_within_the_window_and_the_expired() -> None:
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    records = [
        _record("soon", now + timedelta(days=3)),
        _record("later", now + timedelta(days=30)),
        _record("gone", now - timedelta(days=1)),
        _record("revoked-soon", now + timedelta(days=1), status="revoked"),
        _record("edge", now + timedelta(days=7)),
    ]
    assert [r.user for r in wf.expiring(records, 7 * 86400, now)] == ["soon", "gone", "edge"]
    assert [r.user for r in wf.expiring(records, 0, now)] == ["gone"]


def test_expiring_through_the_cli_exits_13_when_any_match(cli: Any, env: dict[str, Any]) -> None:
    gw: FakeGateway = env["gw"]
    gw.max_duration = 5 * 86400  # the signer cuts soon's certificate to 5 days
    assert cli("create", "soon")[0] == 0
    gw.max_duration = 365 * 86400
    assert cli("create", "later", "--ttl", "90d")[0] == 0

    code, out, _ = cli("list", "--expiring", "7d")
    assert code == ExitCode.EXPIRING and int(ExitCode.EXPIRING) == 13
    assert [ln.split()[0] for ln in out.splitlines()] == ["USER", "soon"]
    code, out, _ = cli("list", "--expiring", "7d", "-o", "json")
    assert code == 13 and [u["user"] for u in json.loads(out)["users"]] == ["soon"]
    code, out, _ = cli("list", "--expiring", "1d", "-o", "json")
    assert (code, json.loads(out)) == (0, {"users": []})
    code, out, _ = cli("list", "--expiring", "1d")
    assert code == 0 and "no active user's certificate ends within 1d" in out
    code, out, _ = cli("list", "--expiring", "100d", "-o", "yaml")
    assert code == 13 and "user: later" in out and "user: soon" in out

    assert cli("revoke", "soon")[0] == 0  # a revoked user needs no renewal
    code, out, _ = cli("list", "--expiring", "7d", "-o", "json")
    assert (code, json.loads(out)) == (0, {"users": []})


@pytest.mark.parametrize("window", ["7 days", "-1d", "11y", "600w"])
def test_expiring_refuses_what_is_not_a_window(cli: Any, window: str) -> None:
    code, _, err = cli("list", "--expiring", window)
    assert code == ExitCode.USAGE and "error:" in err and "duration" in err


def test_an_unknown_output_format_names_wide(cli: Any) -> None:
    code, _, err = cli("list", "-o", "table")
    assert code == ExitCode.USAGE and "-o wide" in err


# create's access line -----------------------------------------------------------------------------------


def _many_rules() -> list[dict[str, Any]]:
    read = ["get", "list", "watch"]
    rules = [{"apiGroups": [""], "resources": [f"things{i}", f"things{i}/status"], "verbs": read} for i in range(19)]
    return [
        *rules,
        {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"], "verbs": ["*"]},
        {"apiGroups": [""], "resources": ["pods"], "resourceNames": ["one"], "verbs": ["delete"]},
    ]


def test_summarize_rules_groups_verbs_counts_resources_and_names_roles() -> None:
    line = rbac.summarize_rules(_many_rules(), ["ClusterRole view", "Role kubeuser:x"])
    assert line == (
        "get,list,watch on 38 resources; * on deployments.apps,statefulsets.apps; delete on pods[one] "
        "(ClusterRole view, Role kubeuser:x)"
    )
    many_verb_sets = [{"apiGroups": [""], "resources": ["pods"], "verbs": [f"verb{i}" * 5]} for i in range(40)]
    short = rbac.summarize_rules(many_verb_sets, [f"Role r{i}" for i in range(9)])
    assert len(short) <= 200 and short.endswith("more)") and "more verb set(s)" in short


def test_create_prints_one_short_access_line_and_json_keeps_every_rule(cli: Any, env: dict[str, Any]) -> None:
    CLUSTER_ROLES["wide-view"] = _many_rules()
    try:
        code, out, _ = cli("create", "x", "--clusterrole", "wide-view", "-n", "dev", "--rule", "get:secrets")
        assert code == 0
        (access,) = [ln for ln in out.splitlines() if ln.startswith("access")]
        assert len(access) <= 200
        assert "get,list,watch on 38 resources" in access and "(--rule, ClusterRole wide-view)" in access
        assert access.endswith("in namespace dev (-o json lists every rule)")
        code, out, _ = cli("create", "y", "--clusterrole", "wide-view", "-n", "dev", "-o", "json")
        assert code == 0
        doc = json.loads(out)
        assert doc["effectiveRules"] == _many_rules()  # every rule the user may use in dev, whole
        assert doc["access"] == [{"namespace": "dev", "roleRef": {"kind": "ClusterRole", "name": "wide-view"}}]
    finally:
        del CLUSTER_ROLES["wide-view"]
