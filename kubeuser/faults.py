"""Test-only fault injection: interrupt kubeuser right after a named workflow step.

**Not a user-facing feature.** The interruption tests (``tests/e2e/test_interruption.py``) set

    KUBEUSER_FAULT_AFTER_STEP="<step title>:<SIGNAL>"      e.g.  "Approve:SIGKILL"

and the process sends SIGNAL to itself right after the step titled ``<step title>`` completes
(``render.ConsoleReporter.step`` calls :func:`after_step` at the end of every successful step, and
``kubeuser apply`` after each user's line, titled ``USER: created``/``renewed``/… or ``USER: failed``).
That simulates Ctrl-C (SIGINT) or a crash / OOM kill (SIGKILL) at an exact point of a workflow,
so the tests can check what is left behind and that ``kubeuser cleanup`` finds it.

Without the variable (or with an empty one) :func:`after_step` does nothing. A malformed value
is reported once on stderr and otherwise ignored. It never changes what kubeuser does, only
when the process dies; nothing else in kubeuser reads this variable.
"""

from __future__ import annotations

import os
import signal
import sys
import time

__all__ = ["ENV_VAR", "after_step", "parse"]

ENV_VAR = "KUBEUSER_FAULT_AFTER_STEP"

# how long to wait for a catchable signal to be handled before carrying on (it is ignored then)
_DELIVERY_WAIT = 2.0
_warned = False


def parse(spec: str) -> tuple[str, signal.Signals]:
    """``"Approve:SIGKILL"`` → ``("Approve", SIGKILL)``; signals by name (``SIGINT``, ``INT``) or number.

    Raises ValueError for anything else.
    """
    title, sep, sig = spec.rpartition(":")
    title, sig = title.strip(), sig.strip()
    if not sep or not title or not sig:
        raise ValueError(f"expected '<step title>:<SIGNAL>', got {spec!r}")
    if sig.isdigit():
        return title, signal.Signals(int(sig))
    name = sig.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    try:
        return title, signal.Signals[name]
    except KeyError:
        raise ValueError(f"unknown signal {sig!r} in {spec!r}") from None


def after_step(title: str) -> None:
    """Send the configured signal to this process if *title* is the configured step; else nothing."""
    spec = os.environ.get(ENV_VAR, "")
    if not spec:
        return
    try:
        step, sig = parse(spec)
    except ValueError as exc:
        global _warned
        if not _warned:
            _warned = True
            sys.stderr.write(f"warning: ignoring {ENV_VAR}: {exc}\n")
        return
    if step != title:
        return
    os.kill(os.getpid(), sig)
    # SIGKILL/SIGTERM end the process here; a Python handler (SIGINT → KeyboardInterrupt) runs at the
    # latest when the sleep is interrupted, so the signal takes effect before the next step starts.
    deadline = time.monotonic() + _DELIVERY_WAIT
    while time.monotonic() < deadline:
        time.sleep(0.01)
