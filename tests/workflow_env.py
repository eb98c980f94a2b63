"""Helpers for workflow unit tests: an admin kubeconfig on disk and a one-call create over a fake gateway."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml
from fake_gateway import FakeGateway

from kubeuser import connect
from kubeuser.progress import RecordingReporter
from kubeuser.workflows import create as wf


def write_admin_kubeconfig(path: Path, ca_pem: bytes, extra: bool = True) -> bytes:
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "prod",
                "cluster": {
                    "server": "https://127.0.0.1:6443",
                    "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                },
            }
        ],
        "users": [{"name": "admin", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": "admin@prod", "context": {"cluster": "prod", "user": "admin", "namespace": "dev"}}],
        "current-context": "admin@prod",
        "preferences": {},
    }
    if extra:
        doc["clusters"].append({"name": "other", "cluster": {"server": "https://10.9.9.9:443"}})
        doc["users"].append({"name": "bob", "user": {"token": "t"}})
        doc["contexts"].append({"name": "bob@other", "context": {"cluster": "other", "user": "bob"}})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    os.chmod(path, 0o600)
    return path.read_bytes()


def run(env: dict[str, Any], gw: FakeGateway | None = None, **kw: Any) -> wf.CreateResult:
    target = connect.resolve(None, None)
    opts = wf.CreateOptions(**{"name": "user01", **kw})
    return wf.create(opts, target, gw or env["gw"], RecordingReporter())
