"""Issue 4 end to end: create → list → revoke (residual access told truthfully) → renew, on the real cluster."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from kubeuser_runner import cluster_name, home_kubeconfig, kubeuser, ok


def uname() -> str:
    return f"lc-{uuid.uuid4().hex[:8]}"


def kubectl_as(control_plane: Any, kc: Path, context: str, *args: str) -> Any:
    return control_plane.kubectl("--context", context, *args, kubeconfig=kc, check=False)


def test_create_list_revoke_residual_access(control_plane: Any, namespace: str, tmp_path: Path) -> None:
    name, group = uname(), f"team-{uuid.uuid4().hex[:6]}"
    ctx = f"{name}@{cluster_name(control_plane.kubeconfig)}"
    ok(kubeuser("create", name, "-g", group, "-n", namespace, "--rule", "get,list:pods,secrets"))
    # the group has its own access, made by hand (not by kubeuser)
    control_plane.kubectl(
        "create", "rolebinding", f"{group}-view", "--clusterrole=view", f"--group={group}", "-n", namespace
    )

    # list shows it, also after the CSR objects are gone (garbage collection)
    control_plane.kubectl("delete", "csr", "-l", f"kubeuser.io/user={name}")
    rows = json.loads(ok(kubeuser("list", "-o", "json")).stdout)["users"]
    row = next(r for r in rows if r["user"] == name)
    assert row["effectiveStatus"] == "active" and row["groups"] == [group] and row["daysLeft"] > 29
    text = ok(kubeuser("list")).stdout
    assert name in text and "active" in text

    # show: bindings via user and via group, and a can-i summary from the authorizer
    shown = json.loads(ok(kubeuser("show", name, "-o", "json")).stdout)
    vias = {(b["name"], b["via"]) for b in shown["effectiveAccess"]["bindings"]}
    assert (f"kubeuser:{name}", "user") in vias and (f"{group}-view", f"group:{group}") in vias
    allowed = {(c["verb"], c["resource"]) for c in shown["effectiveAccess"]["canI"] if c["allowed"]}
    assert ("get", "secrets") in allowed and ("list", "pods") in allowed

    old_kc = tmp_path / "old-kubeconfig"
    shutil.copy(home_kubeconfig(), old_kc)
    assert kubectl_as(control_plane, old_kc, ctx, "get", "secrets", "-n", namespace).returncode == 0

    report = json.loads(ok(kubeuser("revoke", name, "-o", "json")).stdout)
    # kubectl with the old kubeconfig: still authenticates (403, not 401) — the report says so
    res = kubectl_as(control_plane, old_kc, ctx, "get", "secrets", "-n", namespace)
    assert res.returncode != 0 and "forbidden" in res.stderr.lower() and f'User "{name}"' in res.stderr
    assert report["residual"]["certificateStillAuthenticates"] is True
    # the group binding still grants pods access, and the report names it
    assert kubectl_as(control_plane, old_kc, ctx, "get", "pods", "-n", namespace).returncode == 0
    names = {(b["name"], b["via"]) for b in report["residual"]["bindings"]}
    assert (f"{group}-view", f"group:{group}") in names
    still = {(p["verb"], p["resource"]) for p in report["residual"]["stillAllowed"]}
    assert ("list", "pods") in still and ("get", "secrets") not in still
    # kubeuser's own objects are gone, the kubeconfig no longer has the user
    assert control_plane.kubectl("get", "rolebinding", f"kubeuser:{name}", "-n", namespace, check=False).returncode != 0
    assert ctx not in home_kubeconfig().read_text()
    # text report states the truth in words
    again = ok(kubeuser("revoke", name))
    assert "already revoked" in again.stdout and "still AUTHENTICATES until" in again.stdout
    assert f"{group}-view" in again.stdout
    # record marked revoked
    rows = json.loads(ok(kubeuser("list", "-o", "json")).stdout)["users"]
    assert next(r for r in rows if r["user"] == name)["status"] == "revoked"


def test_renew_gives_new_serial_and_working_kubeconfig(control_plane: Any, namespace: str) -> None:
    name = uname()
    ctx = f"{name}@{cluster_name(control_plane.kubeconfig)}"
    first = json.loads(ok(kubeuser("create", name, "-n", namespace, "--rule", "list:pods", "-o", "json")).stdout)
    renewed = json.loads(ok(kubeuser("renew", name, "-o", "json")).stdout)
    assert renewed["serial"] != first["serial"] and renewed["previousSerial"] == first["serial"]
    res = kubectl_as(control_plane, home_kubeconfig(), ctx, "get", "pods", "-n", namespace)
    assert res.returncode == 0, res.stderr
    shown = json.loads(ok(kubeuser("show", name, "-o", "json")).stdout)
    assert shown["certificate"]["serial"] == renewed["serial"]
    assert [h["serial"] for h in shown["history"]] == [first["serial"]]


def test_unknown_user_errors(control_plane: Any) -> None:
    for cmd in (["show", "nobody-here"], ["renew", "nobody-here"], ["revoke", "nobody-here"]):
        proc = kubeuser(*cmd)
        assert proc.returncode == 10, (cmd, proc.stderr)
        assert [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")], proc.stderr
        assert "nobody-here" in proc.stderr and "Traceback" not in proc.stderr
