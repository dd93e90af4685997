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


def child(n: int, emulator_url: str, build: bool) -> None:
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
    if build:
        figures["build"] = job_build(admin, n)
    print(json.dumps(figures))


class _Undo(Exception):
    pass


def job_build(admin, n: int) -> dict:
    """What the worker does first for "filter, whole realm": list every session into the
    job's items, streamed; rolled back afterwards so the database stays as seeded."""
    from django.db import transaction

    from tokenadmin.accounts.models import User
    from tokenadmin.revocation.bulk import Recipe, revocation_job_create, revocation_plan_build
    from tokenadmin.revocation.targets import revocation_job_targets_build

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {}
    try:
        with transaction.atomic():
            actor, _ = User.objects.get_or_create(username="bench")
            recipe = Recipe(**RECIPES["filter, whole realm"])
            plan = revocation_plan_build(
                admin=admin, realm=report_bench.REALM, recipe=recipe, own_session_id=""
            )
            job = revocation_job_create(plan=plan, actor=actor, reason="bench")
            t0 = time.perf_counter()
            assert revocation_job_targets_build(job=job, admin=admin)
            figures = {
                "s": time.perf_counter() - t0,
                "items": job.total,
                "rss_growth_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                - rss_before,
            }
            raise _Undo
    except _Undo:
        pass
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", type=int)
    parser.add_argument("--emulator")
    parser.add_argument("--build", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.emulator, args.build)
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
            for run in range(args.runs + 1):  # the first warms the page cache, not counted
                # The worker's listing is measured once per size (a minute or two at 1M).
                build = ["--build"] if run == 1 else []
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        str(n),
                        "--emulator",
                        emulator.base_url,
                        *build,
                    ],
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
            built = runs[0]["build"]
            medians[n]["job build"] = built["s"]
            print(
                f"{n:>9,} the worker lists the filter's {built['items']:,} sessions "
                f"into its items: {built['s']:.1f} s, RSS +{built['rss_growth_mb']:.0f} MB",
                flush=True,
            )
    for a, b in itertools.pairwise(sizes):
        for name in [*RECIPES, "job build"]:
            exponent = math.log(medians[b][name] / medians[a][name]) / math.log(b / a)
            print(f"growth {a:,} -> {b:,}, {name}: exponent {exponent:.2f}")
    print(f"load average at end: {os.getloadavg()}")
    worst = max(t for name, t in medians[sizes[-1]].items() if name in RECIPES)
    ok = sizes[-1] < 1_000_000 or worst <= 1.0
    print("PASS" if ok else "FAIL", "(target at 1M: ≤ 1 s to the count and a sample)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
