"""Index refresh bench: a full refresh of a 100,000-session realm vs. just paging it.

Starts its own emulator (``python -m tokenadmin.emulator --seed demo``) on a free loopback port,
seeds realm `mlflow` through ``POST /_emulator/seed`` (the worker's service account may read it),
then alternates, run after run:

- paging: the worker's gateway pages every client's online and offline sessions with the same
  plan, the same page size and the same thread pool as the refresh, parsing each page into
  KcSession objects and dropping them (no database);
- refresh: ``realm_index_refresh(realm="mlflow")`` end to end: realm settings, clients, the same
  pages, merge, predicted expiry, batched upserts, stale-row drop, RealmIndex updates.

The first refresh fills an empty table (cold); later ones go over every row already indexed
(warm: what the 5-minute schedule does; in the emulator no session is used between runs, so
every row is unchanged). With --touch PERCENT, that share of the stored rows get their last
access moved back a second before each warm refresh (untimed), so that refresh finds those
sessions changed: their expiry is computed and their row written, as if they had been used
since the last refresh (--touch alone: every session).
Reported: medians of the warm runs and their ratio, from one process.
Target: refresh at most 1.5 times paging.

Run: .venv/bin/python bench/index_refresh_bench.py [--sessions N] [--runs 5] [--touch [PERCENT]]
Uses its own SQLite file under var/bench/ (or DATABASE_URL if set).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH_DB = ROOT / "var" / "bench" / "index-refresh-bench.sqlite3"
REALM = "mlflow"
EMULATOR = [sys.executable, "-m", "tokenadmin.emulator"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def emulator_start() -> tuple[subprocess.Popen, str]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [*EMULATOR, "--host", "127.0.0.1", "--port", str(port), "--seed", "demo"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            url = f"{base_url}/realms/master/.well-known/openid-configuration"
            with urllib.request.urlopen(url, timeout=1):
                return process, base_url
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start") from None
            time.sleep(0.1)


def emulator_seed(base_url: str, sessions: int) -> dict:
    body = json.dumps(
        {"realm": REALM, "users": sessions // 4, "sessions": sessions, "offline_ratio": 0.2}
    ).encode()
    request = urllib.request.Request(
        f"{base_url}/_emulator/seed",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read())


def django_setup(base_url: str) -> None:
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{BENCH_DB}")
    os.environ["KEYCLOAK_URL"] = base_url
    os.environ["KEYCLOAK_PUBLIC_URL"] = base_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokenadmin.settings")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    BENCH_DB.parent.mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tokenadmin.sessionindex.models import IndexedSession, RealmIndex

    IndexedSession.objects.filter(realm=REALM).delete()
    RealmIndex.objects.filter(realm=REALM).delete()


def paging_run(concurrency: int) -> tuple[float, int]:
    """Just the HTTP side of a refresh: log in, list clients, plan, page everything."""
    from tokenadmin.keycloak import gateway_for_worker
    from tokenadmin.sessionindex.paging import client_pages_iter, page_plans_build

    started = time.perf_counter()
    gateway = gateway_for_worker()
    clients = gateway.clients_list(REALM)
    plans = page_plans_build(gateway=gateway, realm=REALM, clients=clients)
    listed = 0
    for page in client_pages_iter(
        gateway=gateway, realm=REALM, plans=plans, concurrency=concurrency
    ):
        listed += len(page.sessions)
    return time.perf_counter() - started, listed


def rows_touch(percent: int) -> None:
    """`percent` of the indexed sessions look used since the last refresh (their stored last
    access moves back a second), so the next refresh recomputes and rewrites those rows."""
    from django.db import connection

    from tokenadmin.sessionindex.models import IndexedSession

    table = connection.ops.quote_name(IndexedSession._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_access_at = "
            "strftime('%%Y-%%m-%%d %%H:%%M:%%f', last_access_at, '-1 second') "
            "WHERE realm = %s AND id %% 100 < %s",
            [REALM, percent],
        )


def refresh_run(concurrency: int) -> tuple[float, int]:
    from tokenadmin.sessionindex.models import RealmIndex
    from tokenadmin.sessionindex.refresh import realm_index_refresh

    started = time.perf_counter()
    index = realm_index_refresh(realm=REALM, concurrency=concurrency)
    elapsed = time.perf_counter() - started
    if index.state != RealmIndex.State.DONE:
        raise RuntimeError(f"refresh ended {index.state}: {index.error}")
    return elapsed, index.sessions_seen


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--touch",
        type=int,
        nargs="?",
        const=100,
        default=0,
        metavar="PERCENT",
        help="this share of the sessions changed before each warm refresh (alone: 100)",
    )
    args = parser.parse_args()

    process, base_url = emulator_start()
    try:
        seeded_at = time.perf_counter()
        seeded = emulator_seed(base_url, args.sessions)
        print(
            f"seeded {seeded['sessions']:,} online + {seeded['offline_sessions']:,} offline "
            f"sessions over clients {seeded['clients']} in {time.perf_counter() - seeded_at:.1f} s"
        )
        django_setup(base_url)
        from django.db import connection

        cold, rows = refresh_run(args.concurrency)
        print(f"cold refresh (empty table): {cold:.2f} s, {rows:,} rows")
        pages, refreshes, ratios = [], [], []
        for run in range(1, args.runs + 1):
            paging_s, listed = paging_run(args.concurrency)
            if args.touch:
                rows_touch(args.touch)
            refresh_s, rows = refresh_run(args.concurrency)
            pages.append(paging_s)
            refreshes.append(refresh_s)
            ratios.append(refresh_s / paging_s)
            print(
                f"run {run}: paging {paging_s:.2f} s ({listed:,} listed), "
                f"refresh {refresh_s:.2f} s ({rows:,} rows), ratio {refresh_s / paging_s:.2f}"
            )
        paging_median = statistics.median(pages)
        refresh_median = statistics.median(refreshes)
        print()
        print(f"machine: {machine()}; database: {connection.vendor}; touched: {args.touch}%")
        print("| What | Median | Runs |")
        print("|---|---|---|")
        print(
            f"| Paging only ({args.concurrency} threads) | {paging_median:.2f} s | "
            + ", ".join(f"{s:.2f}" for s in pages)
            + " |"
        )
        changed = f" ({args.touch}% of sessions changed)" if args.touch else ""
        print(
            f"| Full refresh, warm{changed} | "
            f"{refresh_median:.2f} s | " + ", ".join(f"{s:.2f}" for s in refreshes) + " |"
        )
        print(f"| Full refresh, cold (empty table) | {cold:.2f} s | 1 |")
        print(
            f"| Ratio refresh / paging | {refresh_median / paging_median:.2f} "
            f"(target ≤ 1.5) | per run: " + ", ".join(f"{r:.2f}" for r in ratios) + " |"
        )
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
