"""``kubeuser create`` interrupted after each step, by SIGINT (Ctrl-C) and SIGKILL, against the real cluster.

``KUBEUSER_FAULT_AFTER_STEP="<step>:<SIGNAL>"`` (kubeuser/faults.py, test-only) makes the process signal
itself right after that step. For every step x {SIGINT, SIGKILL} — 16 runs, each with its own HOME,
all started at once to keep this quick — the module checks:

* the process died where it was told to (SIGINT: "interrupted", exit 130; SIGKILL: -9);
* the kubeconfig is never half-written: it parses, is 0600, every earlier entry is intact, and the new
  user and context are either both there, complete, or both absent;
* after Ctrl-C the user is all there (interrupted once the kubeconfig was written) or not at all
  (create's rollback), with no leftover in the cluster;
* nothing is left unreported: ``kubeuser cleanup -o json`` lists exactly the CSRs and RBAC objects a
  kubectl query finds that belong to no active user (or carry no certificate); after SIGKILL that is
  exactly what the step implies;
* re-running ``create`` completes, or fails with exit 7 naming what exists and ``--force`` completes;
* ``kubeuser cleanup --delete`` removes the leftovers and nothing of the live users.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubeuser_runner import OUTPUTS

STEPS = [
    "Generate key",
    "Submit CertificateSigningRequest",
    "Approve",
    "Wait for the signed certificate",
    "Verify the certificate",
    "Grant access (RBAC)",
    "Record in registry",
    "Write kubeconfig",
]
SIGNALS = ["SIGINT", "SIGKILL"]
CSR = "CertificateSigningRequest"
REGISTRY_NS = "kubeuser-system"
MANAGED = "app.kubernetes.io/managed-by=kubeuser"

# what a SIGKILL right after each step leaves in the cluster that belongs to no active user
KILL_LEAVES: dict[str, set[str]] = {
    "Generate key": set(),
    "Submit CertificateSigningRequest": {CSR},
    "Approve": {CSR},
    "Wait for the signed certificate": {CSR},
    "Verify the certificate": {CSR},
    "Grant access (RBAC)": {CSR, "Role", "RoleBinding"},
    "Record in registry": set(),  # the record is active: a user, not a leftover (re-run with --force)
    "Write kubeconfig": set(),
}


@dataclass
class Run:
    args: list[str]
    code: int
    out: str
    err: str


@dataclass
class Case:
    step: str
    sig: str
    user: str
    home: Path
    tmpdir: Path
    before: dict[str, Any] = field(default_factory=dict)
    fault: Run | None = None
    kubeconfig_after: str = ""
    kubeconfig_mode: int = 0
    kube_dir_files: list[str] = field(default_factory=list)
    temp_keys: list[tuple[str, int, int]] = field(default_factory=list)  # (path, file mode, dir mode)
    key_files: list[tuple[str, int]] = field(default_factory=list)
    reruns: list[Run] = field(default_factory=list)
    can_i: str = ""

    @property
    def id(self) -> str:
        return f"{self.step}-{self.sig}"

    @property
    def kubeconfig(self) -> Path:
        return self.home / ".kube" / "config"

    def env(self, fault: bool) -> dict[str, str]:
        env = {**os.environ, "HOME": str(self.home), "KUBECONFIG": str(self.kubeconfig), "TMPDIR": str(self.tmpdir)}
        env.pop("KUBEUSER_HOME", None)
        env.pop("KUBEUSER_FAULT_AFTER_STEP", None)
        if fault:
            env["KUBEUSER_FAULT_AFTER_STEP"] = f"{self.step}:{self.sig}"
        return env


@dataclass
class World:
    cases: list[Case]
    namespace: str
    cluster: str
    orphans_after_faults: list[dict[str, Any]]
    truth_after_faults: dict[str, set[tuple[str, str]]]
    state_after_faults: dict[str, tuple[bool, set[str]]]  # user -> (active record, kinds of RBAC objects)
    orphans_after_reruns: list[dict[str, Any]]
    cautious_delete: Run  # cleanup --delete with the default --min-age (10m)
    truth_after_cautious_delete: dict[str, set[tuple[str, str]]]
    delete_run: Run
    truth_after_delete: dict[str, set[tuple[str, str]]]
    live_after_delete: dict[str, set[str]]
    seconds: float


def kubeuser(args: list[str], env: dict[str, str], timeout: float = 240) -> Run:
    proc = subprocess.run(
        [sys.executable, "-m", "kubeuser", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # even if pytest runs with SIGINT ignored
    )
    OUTPUTS.append(f"$ kubeuser {' '.join(args)}\n{proc.stdout}\n{proc.stderr}")
    return Run(args, proc.returncode, proc.stdout, proc.stderr)


def prepare_home(case: Case, admin_kubeconfig: Path) -> None:
    kube = case.home / ".kube"
    kube.mkdir(parents=True)
    kube.chmod(0o700)
    case.tmpdir.mkdir(parents=True)
    doc = yaml.safe_load(admin_kubeconfig.read_text())
    doc["clusters"].append({"name": "other", "cluster": {"server": "https://10.9.9.9:443"}})
    doc["users"].append({"name": "bob", "user": {"token": "not-a-real-token"}})
    doc["contexts"].append({"name": "bob@other", "context": {"cluster": "other", "user": "bob"}})
    doc["preferences"] = {"colors": True}
    doc["x-unknown"] = {"kept": [1, "two"]}
    case.kubeconfig.write_text(yaml.safe_dump(doc, sort_keys=False))
    case.kubeconfig.chmod(0o600)
    case.before = yaml.safe_load(case.kubeconfig.read_text())


def observe_files(case: Case, cluster: str) -> None:
    case.kubeconfig_after = case.kubeconfig.read_text()
    case.kubeconfig_mode = stat.S_IMODE(case.kubeconfig.stat().st_mode)
    case.kube_dir_files = sorted(p.name for p in case.kubeconfig.parent.iterdir())
    for path in (p for p in case.tmpdir.rglob("*") if p.is_file()):  # any file holding a key, whatever its name
        if b"PRIVATE KEY" in path.read_bytes():
            case.temp_keys.append(
                (str(path), stat.S_IMODE(path.stat().st_mode), stat.S_IMODE(path.parent.stat().st_mode))
            )
    kdir = case.home / ".kube" / "kubeuser"
    if kdir.exists():
        case.key_files = [(str(p), stat.S_IMODE(p.stat().st_mode)) for p in kdir.rglob("client.key")]


def ground_truth(control_plane: Any, users: set[str]) -> dict[str, set[tuple[str, str]]]:
    """Per user: the (kind, name) of kubeuser-labelled CSRs and RBAC objects that are leftovers, found by kubectl."""
    got = json.loads(
        control_plane.kubectl(
            "get", "csr,roles,rolebindings,clusterrolebindings", "-A", "-l", MANAGED, "-o", "json"
        ).stdout
    )["items"]
    cms = json.loads(control_plane.kubectl("get", "configmaps", "-n", REGISTRY_NS, "-l", MANAGED, "-o", "json").stdout)
    active = set()
    for cm in cms["items"]:
        rec = json.loads((cm.get("data") or {}).get("record.json") or "{}")
        if rec.get("status") == "active":
            active.add(rec.get("user"))
    truth: dict[str, set[tuple[str, str]]] = {u: set() for u in users}
    for obj in got:
        user = (obj["metadata"].get("annotations") or {}).get("kubeuser.io/user")
        if user not in users:
            continue
        no_cert = obj["kind"] == CSR and not (obj.get("status") or {}).get("certificate")
        if user not in active or no_cert:
            truth[user].add((obj["kind"], obj["metadata"]["name"]))
    return truth


def user_state(control_plane: Any, users: set[str], namespace: str) -> dict[str, tuple[bool, set[str]]]:
    cms = json.loads(control_plane.kubectl("get", "configmaps", "-n", REGISTRY_NS, "-l", MANAGED, "-o", "json").stdout)
    active = set()
    for cm in cms["items"]:
        rec = json.loads((cm.get("data") or {}).get("record.json") or "{}")
        if rec.get("status") == "active":
            active.add(rec.get("user"))
    got = control_plane.kubectl("get", "roles,rolebindings", "-n", namespace, "-l", MANAGED, "-o", "json").stdout
    rbac: dict[str, set[str]] = {u: set() for u in users}
    for obj in json.loads(got)["items"]:
        rbac.setdefault(obj["metadata"]["annotations"]["kubeuser.io/user"], set()).add(obj["kind"])
    return {u: (u in active, rbac[u]) for u in users}


def by_user(orphans: list[dict[str, Any]], users: set[str]) -> dict[str, set[tuple[str, str]]]:
    out: dict[str, set[tuple[str, str]]] = {u: set() for u in users}
    for o in orphans:
        if o["user"] in users:
            out[o["user"]].add((o["kind"], o["name"]))
    return out


def parallel(fn: Any, items: list[Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(fn, items))


@pytest.fixture(scope="module")
def world(control_plane: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    t0 = time.monotonic()
    root = tmp_path_factory.mktemp("interruption")
    tag = uuid.uuid4().hex[:6]
    ns = f"e2e-int-{tag}"
    control_plane.kubectl("create", "namespace", ns)
    admin_doc = yaml.safe_load(control_plane.kubeconfig.read_text())
    cluster = next(c["context"]["cluster"] for c in admin_doc["contexts"] if c["name"] == admin_doc["current-context"])
    cases = [
        Case(step, sig, f"i{i}-{tag}", root / f"home-{i}", root / f"tmp-{i}")
        for i, (step, sig) in enumerate((s, g) for s in STEPS for g in SIGNALS)
    ]
    for case in cases:
        prepare_home(case, control_plane.kubeconfig)
    admin = Case("admin", "-", "admin", root / "home-admin", root / "tmp-admin")
    prepare_home(admin, control_plane.kubeconfig)
    users = {c.user for c in cases}

    def create(case: Case, *extra: str, fault: bool = False) -> Run:
        args = ["create", case.user, "-n", ns, "--rule", "get,list:pods", "--ttl", "1h", *extra]
        return kubeuser(args, case.env(fault))

    try:
        # 1. every case at once, each killed after its step
        for case, run in zip(cases, parallel(lambda c: create(c, fault=True), cases), strict=True):
            case.fault = run
            observe_files(case, cluster)
        # 2. what is left, as kubeuser cleanup and as kubectl see it
        listed = kubeuser(["cleanup", "-o", "json"], admin.env(False))
        assert listed.code == 0, listed.err
        orphans_after_faults = json.loads(listed.out)["orphans"]
        truth_after_faults = ground_truth(control_plane, users)
        state_after_faults = user_state(control_plane, users, ns)

        # 3. run create again; on a conflict, follow the hint (--force)
        def rerun(case: Case) -> None:
            first = create(case)
            case.reruns.append(first)
            if first.code == 7:
                case.reruns.append(create(case, "--force"))

        parallel(rerun, cases)
        after = kubeuser(["cleanup", "-o", "json"], admin.env(False))
        assert after.code == 0, after.err
        orphans_after_reruns = json.loads(after.out)["orphans"]
        # 4. delete the leftovers; the live users must keep everything. By default --delete leaves objects
        # younger than 10 minutes alone (a run in progress elsewhere may need them): these are all young.
        cautious_delete = kubeuser(["cleanup", "--delete", "-o", "json"], admin.env(False))
        truth_after_cautious_delete = ground_truth(control_plane, users)
        delete_run = kubeuser(["cleanup", "--delete", "--min-age", "0"], admin.env(False))
        truth_after_delete = ground_truth(control_plane, users)
        rbs = json.loads(
            control_plane.kubectl("get", "roles,rolebindings", "-n", ns, "-l", MANAGED, "-o", "json").stdout
        )
        live: dict[str, set[str]] = {u: set() for u in users}
        for obj in rbs["items"]:
            live.setdefault(obj["metadata"]["annotations"]["kubeuser.io/user"], set()).add(obj["kind"])

        def can_i(case: Case) -> None:
            proc = control_plane.kubectl(
                "--context",
                f"{case.user}@{cluster}",
                "auth",
                "can-i",
                "list",
                "pods",
                "-n",
                ns,
                kubeconfig=case.kubeconfig,
                check=False,
            )
            case.can_i = proc.stdout.strip() or proc.stderr.strip()

        parallel(can_i, cases)
        yield World(
            cases,
            ns,
            cluster,
            orphans_after_faults,
            truth_after_faults,
            state_after_faults,
            orphans_after_reruns,
            cautious_delete,
            truth_after_cautious_delete,
            delete_run,
            truth_after_delete,
            live,
            time.monotonic() - t0,
        )
    finally:
        control_plane.kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False)
        shutil.rmtree(root, ignore_errors=True)


CASE_IDS = [f"{s}-{g}" for s in STEPS for g in SIGNALS]


def case_of(world: World, case_id: str) -> Case:
    return next(c for c in world.cases if c.id == case_id)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_the_process_died_right_after_the_step(world: World, case_id: str) -> None:
    case = case_of(world, case_id)
    assert case.fault is not None
    err = case.fault.err
    assert f"[ok] {case.step}" in err or f"[skip] {case.step}" in err, err
    following = STEPS[STEPS.index(case.step) + 1] if case.step != STEPS[-1] else "Summarize access"
    assert f"{following}" not in err.split(case.step, 1)[1], f"{following!r} ran after the fault:\n{err}"
    if case.sig == "SIGKILL":
        assert case.fault.code == -signal.SIGKILL, err
    else:
        assert case.fault.code == 130, err  # ExitCode.INTERRUPTED, after create's rollback
        assert "Traceback" not in err and "internal error" not in err


@pytest.mark.parametrize("case_id", [i for i in CASE_IDS if i.endswith("SIGINT")])
def test_ctrl_c_says_interrupted(world: World, case_id: str) -> None:
    """Regression: typer returned Ctrl-C as exit 130 and main() printed nothing."""
    case = case_of(world, case_id)
    assert case.fault is not None and "interrupted" in case.fault.err


@pytest.mark.parametrize("case_id", [i for i in CASE_IDS if i.endswith("SIGINT")])
def test_ctrl_c_leaves_the_whole_user_or_nothing(world: World, case_id: str) -> None:
    """After Ctrl-C the user is either complete (record, RBAC, kubeconfig) or not there at all."""
    case = case_of(world, case_id)
    active, rbac = world.state_after_faults[case.user]
    names = {u["name"] for u in yaml.safe_load(case.kubeconfig_after)["users"]}
    in_kubeconfig = f"{case.user}@{world.cluster}" in names
    assert (active, rbac, in_kubeconfig) in ((True, {"Role", "RoleBinding"}, True), (False, set(), False))


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_kubeconfig_is_never_half_written(world: World, case_id: str) -> None:
    case = case_of(world, case_id)
    doc = yaml.safe_load(case.kubeconfig_after)  # parses
    assert case.kubeconfig_mode == 0o600
    assert case.kube_dir_files in (["config"], ["config", "kubeuser"]), case.kube_dir_files  # no lock/temp file
    for kind in ("clusters", "users", "contexts"):
        now = {e["name"]: e for e in doc[kind]}
        for e in case.before[kind]:
            assert now.get(e["name"]) == e, f"{kind[:-1]} {e['name']!r} changed"
    for key in ("current-context", "preferences", "x-unknown"):
        assert doc.get(key) == case.before.get(key)
    entry = f"{case.user}@{world.cluster}"
    users = {u["name"]: u["user"] for u in doc["users"]}
    contexts = {c["name"]: c["context"] for c in doc["contexts"]}
    if entry in users or entry in contexts:  # all of it …
        assert set(users[entry]) == {"client-certificate-data", "client-key-data"}
        assert base64.b64decode(users[entry]["client-certificate-data"]).startswith(b"-----BEGIN CERTIFICATE-----")
        assert contexts[entry] == {"cluster": world.cluster, "user": entry, "namespace": world.namespace}
        assert len(doc["users"]) == len(case.before["users"]) + 1
    else:  # … or none of it
        assert doc == case.before
    if case.sig == "SIGKILL":
        assert (entry in users) == (case.step == "Write kubeconfig")


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_cleanup_reports_every_leftover(world: World, case_id: str) -> None:
    """What `kubeuser cleanup` lists is exactly what kubectl finds of this user that belongs to no active user."""
    case = case_of(world, case_id)
    listed = by_user(world.orphans_after_faults, {case.user})[case.user]
    assert listed == world.truth_after_faults[case.user]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_what_is_left_is_what_the_step_implies(world: World, case_id: str) -> None:
    case = case_of(world, case_id)
    kinds = sorted(kind for kind, _ in world.truth_after_faults[case.user])
    expected = sorted(KILL_LEAVES[case.step]) if case.sig == "SIGKILL" else []  # SIGINT: rolled back
    assert kinds == expected
    if case.sig == "SIGINT":
        assert case.temp_keys == [], "the temporary client key outlived an interrupted run"
        active, _ = world.state_after_faults[case.user]
        assert bool(case.key_files) == active, "key files must exist exactly when the user does"


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_no_private_key_reaches_tmpdir_even_after_sigkill(world: World, case_id: str) -> None:
    """The new user's key (for the proof step) and the admin's inline client-key-data are handed to the TLS
    stack through memfds (k8s.SecretFiles), so even a SIGKILL leaves no key in $TMPDIR."""
    case = case_of(world, case_id)
    if hasattr(os, "memfd_create"):
        assert case.temp_keys == [], "a private key was written to $TMPDIR"
    for path, mode, dir_mode in case.temp_keys:  # without memfd: a private temp dir (see SECURITY.md)
        assert (mode, dir_mode) == (0o600, 0o700), path
    for path, mode in case.key_files:
        assert mode == 0o600, path


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_rerun_completes_or_says_what_to_clean(world: World, case_id: str) -> None:
    case = case_of(world, case_id)
    first = case.reruns[0]
    if first.code != 0:
        assert first.code == 7, first.err
        error = next(ln for ln in first.err.splitlines() if ln.startswith("error: "))
        hint = next(ln for ln in first.err.splitlines() if ln.startswith("hint: "))
        assert case.user in error or "kubeuser:" in error, error  # names what exists
        assert "--force" in hint, hint
        assert len(case.reruns) == 2 and case.reruns[1].code == 0, case.reruns[1].err
    if (
        case.sig == "SIGKILL"
        and case.step in KILL_LEAVES
        and case.step not in ("Grant access (RBAC)", "Record in registry", "Write kubeconfig")
    ):
        assert first.code == 0, "nothing was in the way: the plain re-run should have completed"
    assert case.can_i == "yes", case.can_i


def test_cleanup_delete_by_default_spares_leftovers_younger_than_10_minutes(world: World) -> None:
    run = world.cautious_delete
    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert report["orphans"] == []
    listed = by_user(world.orphans_after_reruns, {c.user for c in world.cases})
    leftovers = sum(len(objs) for objs in listed.values())
    assert leftovers > 0 and report["skippedTooYoung"] >= leftovers
    assert world.truth_after_cautious_delete == listed  # kubectl: every leftover is still there


def test_cleanup_delete_removes_leftovers_and_nothing_else(world: World) -> None:
    # after the re-runs every user is active again: only CSRs without a certificate remain leftovers
    after = by_user(world.orphans_after_reruns, {c.user for c in world.cases})
    for user, objs in after.items():
        assert {kind for kind, _ in objs} <= {CSR}, (user, objs)
    assert world.delete_run.code == 0, world.delete_run.err
    assert all(not objs for objs in world.truth_after_delete.values()), world.truth_after_delete
    for case in world.cases:
        assert world.live_after_delete[case.user] == {"Role", "RoleBinding"}, case.user
    print(f"\ninterruption suite: {len(world.cases)} faults injected, {world.seconds:.0f}s")


def test_zz_no_private_key_in_any_output() -> None:
    """Runs last in this module: no kubeuser run printed private key material."""
    assert OUTPUTS, "no kubeuser runs were recorded"
    for text in OUTPUTS:
        assert "PRIVATE KEY" not in text
        command = text.split("\n", 1)[0]
        if " --out - " not in command + " ":  # --out - prints the user's kubeconfig (and key) by request
            assert "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t" not in text  # base64 of "-----BEGIN PRIVATE KEY-----"
