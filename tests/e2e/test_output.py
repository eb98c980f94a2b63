"""Issue 14 on the real cluster: the view ClusterRole's access in one short line, `list` piped whole,
`list -o wide`, and `list --expiring` as a script sees it."""

from __future__ import annotations

import json
import math
import re
import uuid
from typing import Any

from json_schema import errors
from kubeuser_runner import kubeuser, ok

from kubeuser.output import schemas


def test_access_line_list_wide_and_expiring(control_plane: Any, namespace: str) -> None:
    name = f"erin-{uuid.uuid4().hex[:8]}-with-a-rather-long-name@example.com"
    proc = ok(kubeuser("create", name, "-n", namespace, "--clusterrole", "view", "--rule", "get:secrets"))
    (access,) = [ln for ln in proc.stdout.splitlines() if ln.startswith("access")]
    assert len(access) <= 200, access  # the rules review of `view` alone is over 1,000 characters
    assert "(--rule, ClusterRole view) in namespace" in access
    assert re.search(r"get,list,watch on \d{2,} resources", access), access

    other = f"ou-{uuid.uuid4().hex[:8]}"
    created = json.loads(ok(kubeuser("create", other, "-n", namespace, "--clusterrole", "view", "-o", "json")).stdout)
    assert errors(created, schemas.CREATE) == []  # as the real cluster answers, too
    rules = created["effectiveRules"]  # every rule of `view` the user may use in the namespace, whole
    assert len(rules) > 5 and any("pods" in r.get("resources", []) and "list" in r["verbs"] for r in rules)
    assert created["access"] == [{"namespace": namespace, "roleRef": {"kind": "ClusterRole", "name": "view"}}]

    listed = json.loads(ok(kubeuser("list", "-o", "json")).stdout)
    assert errors(listed, schemas.LIST) == []
    rows = {r["user"]: r for r in listed["users"]}
    mine = rows[name]
    text = ok(kubeuser("list", env={"COLUMNS": "60"})).stdout  # a pipe: whole values whatever COLUMNS says
    (line,) = [ln for ln in text.splitlines() if ln.startswith(name + " ")]
    assert line.split()[:5] == [name, "x509", "-", "active", mine["certificate"]["notAfter"]]
    wide = ok(kubeuser("list", "-o", "wide", env={"COLUMNS": "60"})).stdout
    (line,) = [ln for ln in wide.splitlines() if ln.startswith(name + " ")]
    bindings = line.split()[6].split(",")
    assert f"RoleBinding/{namespace}/kubeuser:{name}:clusterrole:view" in bindings
    assert f"Role/{namespace}/kubeuser:{name}" in bindings
    assert mine["certificate"]["serial"] in line.split()

    window = f"{math.ceil(mine['daysLeft']) + 1}d"
    proc = kubeuser("list", "--expiring", window, "-o", "json")
    assert proc.returncode == 13, proc.stderr
    assert name in {u["user"] for u in json.loads(proc.stdout)["users"]}
    proc = kubeuser("list", "--expiring", "1h", "-o", "json")
    assert proc.returncode in (0, 13) and name not in {u["user"] for u in json.loads(proc.stdout)["users"]}
