"""Fixtures for unit tests of workflows and of the CLI over the fake gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fake_gateway import FakeGateway
from workflow_env import write_admin_kubeconfig

from kubeuser import connect
from kubeuser.cli import main


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBEUSER_HOME", raising=False)
    gw = FakeGateway()
    kc = home / ".kube" / "config"
    before = write_admin_kubeconfig(kc, gw.ca_pem)
    return {"gw": gw, "kc": kc, "before": before, "home": home}


@pytest.fixture
def cli(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """``cli("create", "x", ...)`` → (exit code, stdout, stderr), with the fake gateway as the cluster."""
    gw: FakeGateway = env["gw"]
    monkeypatch.setattr(connect, "open_gateway", lambda target: gw)

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as ei:
            main(list(args))
        out, err = capsys.readouterr()
        return int(ei.value.code or 0), out, err

    return run
