"""Progress: a waiting step counts its seconds on a terminal, and Ctrl-C during ``apply`` says what was done.

The Ctrl-C test runs ``kubeuser apply`` in a subprocess (over the fake gateway) and interrupts it with a real
SIGINT right after the first user is done (the test-only hook ``KUBEUSER_FAULT_AFTER_STEP``)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from rich.console import Console

from kubeuser import render
from kubeuser.errors import ExitCode

TESTS = Path(__file__).resolve().parents[1]


def test_elapsed_text_counts_seconds() -> None:
    now = [100.0]
    text = render.Elapsed("Connect [x]", clock=lambda: now[0])
    assert text.__rich__() == "Connect \\[x]"  # under a second: the title alone (markup escaped)
    now[0] += 22.4
    assert text.__rich__() == "Connect \\[x] [dim](22s)[/dim]"


def test_a_waiting_step_shows_its_seconds_on_a_terminal() -> None:
    buf = io.StringIO()
    rep = render.ConsoleReporter(Console(file=buf, force_terminal=True, width=80, highlight=False))
    with rep.step("Connect"):
        time.sleep(2.2)
    shown = buf.getvalue()
    assert "Connect \x1b[2m(1s)" in shown and "Connect \x1b[2m(2s)" in shown  # the spinner counted up
    assert "✓" in shown


SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from fake_gateway import FakeGateway
    from workflow_env import write_admin_kubeconfig
    from kubeuser import connect
    from kubeuser.cli import main

    gw = FakeGateway()
    write_admin_kubeconfig(Path.home() / ".kube" / "config", gw.ca_pem)
    connect.open_gateway = lambda target: gw
    main(sys.argv[1:])
    """
)


def test_ctrl_c_during_apply_says_what_was_done(tmp_path: Path) -> None:
    users = tmp_path / "users.yaml"
    users.write_text("apiVersion: kubeuser.io/v1alpha1\nkind: UserList\nusers:\n- name: a\n- name: b\n- name: c\n")
    out_dir = tmp_path / "handouts"
    env = {**os.environ, "HOME": str(tmp_path / "home"), "PYTHONPATH": os.pathsep.join(sys.path),
           "KUBEUSER_FAULT_AFTER_STEP": "a: created:SIGINT"}  # fmt: skip
    env.pop("KUBECONFIG", None)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(tests=str(TESTS)), "apply", "-f", str(users), "--out-dir", str(out_dir),
         "--parallel", "1"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == ExitCode.INTERRUPTED, proc.stderr
    lines = proc.stderr.splitlines()
    start = lines.index("interrupted: 1 user(s) done before the interrupt:")
    assert lines[start + 1 :] == [
        f"  a: created, kubeconfig {out_dir / 'a.kubeconfig'}",
        f"the rest was not changed; `kubeuser apply -f {users}` carries on",
        "interrupted",
    ]
    assert sorted(p.name for p in out_dir.iterdir()) == ["a.kubeconfig"]
    assert proc.stdout == ""
