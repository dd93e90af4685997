"""Bulk revocation preview at 10k, 100k and 1M indexed sessions in one realm: the time to the
exact count and a sample, and what it adds to the process's memory (the preview once built
every target as a model instance in the web request: 22 s and +612 MB at 1M).

Run: .venv/bin/python bench/revocation_preview_bench.py [--sizes 10000,100000,1000000] [--runs 3]
     (1M runs: `flock /tmp/heavy.lock ...`)
Uses report_bench.py's SQLite files (var/bench/report-bench-N.sqlite3, realm `bench`, seeded
once, reused) and its own emulator for the gateway. Each run is a fresh process that builds
three previews (a filter matching the whole realm, "every online session of the realm", "one
client" with its offline tokens) and signs each plan, as the preview view does. Baseline,
measured in the same process: one pass over the realm's username index. Target (#18): ≤ 1 s.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import report_bench  # noqa: E402  (its seeded databases)

RECIPES = {
    "filter, whole realm": {"kind": "filter", "query": {}},
    "whole realm (online)": {"kind": "realm"},
    "one client (+offline)": {"kind": "client", "client_id": "mlflow", "include_offline": True},
}


def child(n: int, emulator_url: str) -> None:
    os.environ["KEYCLOAK_URL"] = emulator_url
    os.environ["KEYCLOAK_PUBLIC_URL"] = emulator_url
    os.environ["DJANGO_LOG_LEVEL"] = "WARNING"
    report_bench.django_for(n)
    from django.db import connection

    from tokenadmin.keycloak import gateway_for_worker
    from tokenadmin.revocation.bulk import Recipe, plan_sign, revocation_plan_build

    admin = gateway_for_worker()
    figures = {}
    for name, recipe in RECIPES.items():
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t0 = time.perf_counter()
        plan = revocation_plan_build(
            admin=admin, realm=report_bench.REALM, recipe=Recipe(**recipe), own_session_id=""
        )
        plan_sign(plan)
        took = time.perf_counter() - t0
        grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss_before
        figures[name] = {"s": took, "rss_growth_mb": grew, "count": plan.count}
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT SUM(LENGTH(username)) FROM sessionindex_indexedsession "
            "INDEXED BY idx_sess_username WHERE realm = %s",
            [report_bench.REALM],
        )
        cursor.fetchone()
    figures["baseline_s"] = time.perf_counter() - t0
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", type=int)
    parser.add_argument("--emulator")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.emulator)
        return
    from tests.fixtures.emulator import running_emulator

    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"load average at start: {os.getloadavg()}")
    medians: dict[int, dict[str, float]] = {}
    with running_emulator("--seed", "demo", "--log-level", "warning") as emulator:
        for n in sizes:
            subprocess.run(
                [sys.executable, str(ROOT / "bench" / "report_bench.py"), "--prepare", str(n)],
                check=True,
            )
            runs = []
            for _ in range(args.runs + 1):  # the first warms the page cache, not counted
                out = subprocess.run(
                    [sys.executable, __file__, "--child", str(n), "--emulator", emulator.base_url],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                runs.append(json.loads(out.strip().splitlines()[-1]))
            runs = runs[1:]
            base = statistics.median(r["baseline_s"] for r in runs)
            medians[n] = {}
            for name in RECIPES:
                t = statistics.median(r[name]["s"] for r in runs)
                grew = statistics.median(r[name]["rss_growth_mb"] for r in runs)
                ratio = statistics.median(r[name]["s"] / r["baseline_s"] for r in runs)
                medians[n][name] = t
                each = ", ".join(f"{r[name]['s'] * 1000:.0f}" for r in runs)
                print(
                    f"{n:>9,} {name:<22} median {t * 1000:7.0f} ms (runs {each}), "
                    f"{ratio:.1f}x the baseline ({base * 1000:.0f} ms), RSS +{grew:.0f} MB, "
                    f"count {runs[-1][name]['count']:,}",
                    flush=True,
                )
    for a, b in itertools.pairwise(sizes):
        for name in RECIPES:
            exponent = math.log(medians[b][name] / medians[a][name]) / math.log(b / a)
            print(f"growth {a:,} -> {b:,}, {name}: exponent {exponent:.2f}")
    print(f"load average at end: {os.getloadavg()}")
    worst = max(medians[sizes[-1]].values())
    ok = sizes[-1] < 1_000_000 or worst <= 1.0
    print("PASS" if ok else "FAIL", "(target at 1M: ≤ 1 s to the count and a sample)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
