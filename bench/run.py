#!/usr/bin/env python3
"""kubeuser vs the manual openssl + kubectl procedure, side by side on the same local control plane.

    .venv/bin/python bench/run.py [--rounds 7] [--team 100] [--manual-team N] [--write-docs]

Measures, in one run:
- start-up: ``kubeuser --help``, ``kubeuser --version`` and ``kubeuser create --help`` wall time (median of 20);
- one user: ``bench/manual.sh`` and ``kubeuser create`` (ECDSA, one --rule, kubeconfig merge, verification)
  alternating over --rounds rounds (order swapped each round); medians and the ratio kubeuser/manual;
- one token user: ``bench/manual-token.sh`` (kubectl create serviceaccount, a Secret to bind to, kubectl create
  token --bound-object-kind Secret, create rolebinding, config set-credentials --token, set-context, one
  request as the user) and ``kubeuser create --auth token --ttl 8h --clusterrole view``, alternating the same way;
- a team: ``kubeuser apply --parallel`` of --team users vs the manual procedure run --manual-team times
  sequentially (default: as many as --team); the ratio is against the manual time scaled to --team users;
- peak RSS of each kubeuser command (``/usr/bin/time -f %M``).
Starts its own control plane with hack/local-cluster.sh (or uses $KUBEUSER_BENCH_CLUSTER_DIR if set and up).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "hack" / "local-cluster.sh"
MANUAL = REPO / "bench" / "manual.sh"
MANUAL_TOKEN = REPO / "bench" / "manual-token.sh"
KUBEUSER = [str(Path(sys.executable).parent / "kubeuser")]
CLUSTER = "kubeuser-local"
TARGETS = {"startup_s": 0.15, "one_user_ratio": 1.0, "token_ratio": 1.0, "team_ratio": 0.05, "rss_mb": 100.0}


def timed(cmd: list[str], env: dict[str, str], *, rss: bool = False) -> tuple[float, float | None]:
    """Wall seconds (and peak RSS MB with rss=True) of one command; fails loudly on a non-zero exit.

    Also appends the command's CPU seconds (user + sys, its waited-for children included) to ``CPU[cmd[0]]``:
    on a machine shared with other work the wall time mostly measures the queue for a core, CPU time less so.
    """
    full = ["/usr/bin/time", "-f", "%M %U %S", *cmd]
    t0 = time.perf_counter()
    proc = subprocess.run(full, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    kb, user, sys_ = proc.stderr.strip().splitlines()[-1].split()
    LAST_CPU.append(float(user) + float(sys_))
    return wall, (float(kb) / 1024 if rss else None)


LAST_CPU: list[float] = []  # CPU seconds of every timed() call, in order


def alternate(
    rounds: int,
    prefix: str,
    manual: Callable[[str], list[str]],
    kubeuser: Callable[[str], list[str]],
    env: dict[str, str],
) -> dict[str, object]:
    """The manual procedure and kubeuser, alternating (order swapped each round): medians, ratio, CPU, peak RSS."""
    manual_t: list[float] = []
    ku_t: list[float] = []
    ku_rss: list[float] = []
    manual_cpu: list[float] = []
    ku_cpu: list[float] = []
    for r in range(rounds):
        order = ("manual", "kubeuser") if r % 2 == 0 else ("kubeuser", "manual")
        for who in order:
            name = f"{prefix}{who[:2]}-{uuid.uuid4().hex[:8]}"
            if who == "manual":
                manual_t.append(timed(manual(name), env)[0])
                manual_cpu.append(LAST_CPU[-1])
            else:
                wall, peak = timed(kubeuser(name), env, rss=True)
                ku_t.append(wall)
                ku_rss.append(peak or 0.0)
                ku_cpu.append(LAST_CPU[-1])
    return {
        "manual_median_s": statistics.median(manual_t),
        "kubeuser_median_s": statistics.median(ku_t),
        "ratio": statistics.median(ku_t) / statistics.median(manual_t),
        "kubeuser_peak_rss_mb": max(ku_rss),
        "manual_all": manual_t,
        "kubeuser_all": ku_t,
        "manual_cpu_median_s": statistics.median(manual_cpu),
        "kubeuser_cpu_median_s": statistics.median(ku_cpu),
    }


def kubectl(env: dict[str, str], *args: str) -> None:
    subprocess.run(["kubectl", *args], env=env, capture_output=True, check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--team", type=int, default=100)
    ap.add_argument("--manual-team", type=int, default=None, help="manual runs for the team baseline (default --team)")
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--write-docs", action="store_true", help="append the results to docs/benchmarks.md")
    args = ap.parse_args()
    manual_team = args.manual_team if args.manual_team is not None else args.team

    work = Path(tempfile.mkdtemp(prefix="kubeuser-bench-"))
    own_cluster = not os.environ.get("KUBEUSER_BENCH_CLUSTER_DIR")
    cdir = Path(os.environ.get("KUBEUSER_BENCH_CLUSTER_DIR") or work / "cluster")
    if own_cluster:
        subprocess.run(["bash", str(SCRIPT), "build"], check=True)
        subprocess.run(["bash", str(SCRIPT), "up", str(cdir)], check=True, stdout=subprocess.DEVNULL)
    try:
        home = work / "home"
        (home / ".kube").mkdir(parents=True)
        kc = home / ".kube" / "config"
        shutil.copy(cdir / "admin.kubeconfig", kc)
        env = {**os.environ, "HOME": str(home), "KUBECONFIG": str(kc)}
        ns = "bench"
        kubectl(env, "create", "namespace", ns)
        results: dict[str, object] = {"loadavg_start": os.getloadavg()[0]}

        # start-up
        for flag in ("--help", "--version"):
            walls = [timed([*KUBEUSER, flag], env)[0] for _ in range(20)]
            results[f"startup{flag}"] = statistics.median(walls)
        # a command's own help (no target): typer builds that one command's options
        results["startup-create--help"] = statistics.median(
            timed([*KUBEUSER, "create", "--help"], env)[0] for _ in range(20)
        )

        # one user, then one token user (a ServiceAccount + a token bound to a Secret), each alternating
        results["one_user"] = alternate(
            args.rounds,
            "",
            lambda name: ["bash", str(MANUAL), name, ns, str(kc), CLUSTER],
            lambda name: [*KUBEUSER, "create", name, "-g", "dev", "-n", ns, "--rule", "get,list:pods"],
            env,
        )
        results["token_user"] = alternate(
            args.rounds,
            "t",
            lambda name: ["bash", str(MANUAL_TOKEN), name, ns, str(kc), CLUSTER],
            lambda name: [*KUBEUSER, "create", name, "--auth", "token", "--ttl", "8h", "--clusterrole", "view",
                          "-n", ns],
            env,
        )  # fmt: skip

        # a team
        if args.team:
            users_file = work / "users.yaml"
            users = [
                {"name": f"team-{i:03d}-{uuid.uuid4().hex[:4]}", "groups": ["dev"], "ttl": "1d",
                 "namespaces": {ns: {"rules": ["get,list:pods"]}}}
                for i in range(args.team)
            ]  # fmt: skip
            users_file.write_text(
                json.dumps({"apiVersion": "kubeuser.io/v1alpha1", "kind": "UserList", "users": users})
            )
            out_dir = work / "handout"
            team_wall, team_rss = timed(
                [*KUBEUSER, "apply", "-f", str(users_file), "--parallel", str(args.parallel), "--out-dir", str(out_dir),
                 "-o", "json"], env, rss=True,
            )  # fmt: skip
            t0 = time.perf_counter()
            for _ in range(manual_team):
                timed(["bash", str(MANUAL), f"mt-{uuid.uuid4().hex[:8]}", ns, str(kc), CLUSTER], env)
            manual_wall = time.perf_counter() - t0
            manual_scaled = manual_wall * args.team / max(manual_team, 1)
            results["team"] = {
                "users": args.team,
                "kubeuser_apply_s": team_wall,
                "kubeuser_peak_rss_mb": team_rss,
                "manual_runs": manual_team,
                "manual_total_s": manual_wall,
                "manual_scaled_to_team_s": manual_scaled,
                "ratio": team_wall / manual_scaled,
                "parallel": args.parallel,
            }
        results["loadavg_end"] = os.getloadavg()[0]
    finally:
        if own_cluster:
            subprocess.run(["bash", str(SCRIPT), "down", str(cdir)], check=False)
        shutil.rmtree(work, ignore_errors=True)

    report(results, args.write_docs)
    return 0


def report(results: dict[str, object], write_docs: bool) -> None:
    one = results["one_user"]
    assert isinstance(one, dict)
    rows = [
        ("kubeuser --help", f"{results['startup--help']:.3f} s", f"≤ {TARGETS['startup_s']} s",
         results["startup--help"] <= TARGETS["startup_s"]),  # type: ignore[operator]
        ("kubeuser --version", f"{results['startup--version']:.3f} s", f"≤ {TARGETS['startup_s']} s",
         results["startup--version"] <= TARGETS["startup_s"]),  # type: ignore[operator]
        ("kubeuser create --help", f"{results['startup-create--help']:.3f} s", "", None),
        ("one user: manual (median)", f"{one['manual_median_s']:.2f} s", "", None),
        ("one user: kubeuser create (median)", f"{one['kubeuser_median_s']:.2f} s", "", None),
        ("one user: ratio kubeuser/manual", f"{one['ratio']:.2f}", f"≤ {TARGETS['one_user_ratio']}",
         one["ratio"] <= TARGETS["one_user_ratio"]),
        ("one user: CPU s (user+sys, median) manual / kubeuser",
         f"{one['manual_cpu_median_s']:.2f} / {one['kubeuser_cpu_median_s']:.2f}", "", None),
        ("one user: kubeuser peak RSS", f"{one['kubeuser_peak_rss_mb']:.0f} MB", f"≤ {TARGETS['rss_mb']:.0f} MB",
         one["kubeuser_peak_rss_mb"] <= TARGETS["rss_mb"]),
    ]  # fmt: skip
    tok = results.get("token_user")
    if isinstance(tok, dict):
        rows += [
            ("token user: manual kubectl (median)", f"{tok['manual_median_s']:.2f} s", "", None),
            ("token user: kubeuser create --auth token (median)", f"{tok['kubeuser_median_s']:.2f} s", "", None),
            ("token user: ratio kubeuser/manual", f"{tok['ratio']:.2f}", f"≤ {TARGETS['token_ratio']}",
             tok["ratio"] <= TARGETS["token_ratio"]),
            ("token user: CPU s (user+sys, median) manual / kubeuser",
             f"{tok['manual_cpu_median_s']:.2f} / {tok['kubeuser_cpu_median_s']:.2f}", "", None),
            ("token user: kubeuser peak RSS", f"{tok['kubeuser_peak_rss_mb']:.0f} MB", f"≤ {TARGETS['rss_mb']:.0f} MB",
             tok["kubeuser_peak_rss_mb"] <= TARGETS["rss_mb"]),
        ]  # fmt: skip
    team = results.get("team")
    if isinstance(team, dict):
        rows += [
            (f"team: kubeuser apply ({team['users']} users, --parallel {team['parallel']})",
             f"{team['kubeuser_apply_s']:.1f} s", "", None),
            (f"team: manual x{team['manual_runs']} (scaled to {team['users']})",
             f"{team['manual_scaled_to_team_s']:.1f} s", "", None),
            ("team: ratio", f"{team['ratio']:.3f}", f"≤ {TARGETS['team_ratio']}",
             team["ratio"] <= TARGETS["team_ratio"]),
            ("team: kubeuser peak RSS", f"{team['kubeuser_peak_rss_mb']:.0f} MB", f"≤ {TARGETS['rss_mb']:.0f} MB",
             team["kubeuser_peak_rss_mb"] <= TARGETS["rss_mb"]),
        ]  # fmt: skip
    header = "| measure | result | target | met |\n|---|---|---|---|\n"
    table = header + "".join(
        f"| {m} | {r} | {t} | {'' if ok is None else ('yes' if ok else 'NO')} |\n" for m, r, t, ok in rows
    )
    print(table)
    print(json.dumps(results, indent=1, default=str), file=sys.stderr)
    if write_docs:
        machine = f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        with (REPO / "docs" / "benchmarks.md").open("a") as fh:
            load = f"load average (1 min) {results['loadavg_start']:.1f} at start, {results['loadavg_end']:.1f} at end"
            fh.write(f"\n## Run of {stamp}\n\nMachine: {machine}; local control plane v1.20.2; {load}.\n\n{table}")


if __name__ == "__main__":
    raise SystemExit(main())
