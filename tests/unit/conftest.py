"""Fixtures for unit tests of workflows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fake_gateway import FakeGateway
from workflow_env import write_admin_kubeconfig


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
