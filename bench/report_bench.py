"""Expiry report bench: build one report (counts, details, CSV, both bodies, the MIME message)
over 100,000 indexed sessions, and measure time and peak memory.

Run: .venv/bin/python bench/report_bench.py [--sessions 100000] [--runs 5]
Uses its own SQLite file under var/bench/ (or DATABASE_URL if set); sends nothing.
Targets: ≤ 5 s and ≤ 200 MB peak per report.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH_DB = ROOT / "var" / "bench" / "report-bench.sqlite3"
os.environ.setdefault("DATABASE_URL", f"sqlite:///{BENCH_DB}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokenadmin.settings")

import django  # noqa: E402

REALM = "bench"
CLIENTS = ("api-client", "sdk-client", "mlflow", "notebook")


def seed(n: int) -> None:
    from django.utils import timezone

    from tokenadmin.sessionindex.models import IndexedSession, RealmIndex

    IndexedSession.objects.filter(realm=REALM).delete()
    rng = random.Random(42)
    now = timezone.now()
    users = max(1, n // 3)
    batch = []
    for i in range(n):
        offline = rng.random() < 0.3
        user = rng.randrange(users) if rng.random() < 0.9 else rng.randrange(50)  # some heavy users
        if offline:
            started = now - timedelta(seconds=rng.randrange(60 * 86400))
            last = started + (now - started) * rng.random()
            expires = last + timedelta(days=30)
        else:
            started = now - timedelta(seconds=rng.randrange(36000))
            last = started + (now - started) * rng.random()
            expires = min(last + timedelta(days=rng.choice((1, 7))), started + timedelta(hours=10))
        client_ids = rng.sample(CLIENTS, rng.choice((1, 1, 2)))
        batch.append(
            IndexedSession(
                realm=REALM,
                session_id=f"s-{i:07d}",
                offline=offline,
                user_id=f"u-{user:06d}",
                username=f"user-{user:06d}",
                ip_address=f"10.{i % 256}.{(i // 256) % 256}.{i % 250 + 1}",
                started_at=started,
                last_access_at=last,
                remember_me=rng.random() < 0.1,
                clients={f"uuid-{c}": c for c in client_ids},
                client_ids_text=" " + " ".join(client_ids) + " ",
                expires_at=expires,
                seen_at=now,
            )
        )
        if len(batch) == 5000:
            IndexedSession.objects.bulk_create(batch)
            batch = []
    IndexedSession.objects.bulk_create(batch)
    RealmIndex.objects.update_or_create(
        realm=REALM, defaults={"state": RealmIndex.State.DONE, "refreshed_at": now}
    )


def report_get():
    from tokenadmin.reports.models import ExpiryReport

    report, _ = ExpiryReport.objects.update_or_create(
        name="bench",
        defaults={
            "realms": [REALM],
            "client_ids": [],
            "offline_within_days": 7,
            "sso_max_within_hours": 4,
            "idle_over_hours": 48,
            "sessions_per_user_over": 5,
            "include_lifespan_changes": True,
            "recipients": ["ops@example.org"],
        },
    )
    return report


def build_once(report) -> tuple[dict, int]:
    """Everything a send does except talking SMTP; returns the counts and the message size."""
    from django.utils import timezone

    from tokenadmin.reports.emails import expiry_report_message
    from tokenadmin.reports.selectors import expiry_report_build

    content = expiry_report_build(report=report, now=timezone.now(), sso_max_s={REALM: 36000})
    message = expiry_report_message(content=content, recipients=report.recipients)
    size = len(message.message().as_bytes())
    return content.counts(), size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    BENCH_DB.parent.mkdir(parents=True, exist_ok=True)
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    seed(args.sessions)
    print(f"seeded {args.sessions} sessions in {time.perf_counter() - started:.1f} s")
    report = report_get()

    build_once(report)  # warm the page cache and imports
    times, peaks, rss = [], [], []
    for _ in range(args.runs):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        counts, size = build_once(report)
        times.append(time.perf_counter() - t0)
        rss.append((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
    for _ in range(args.runs):
        tracemalloc.start()
        build_once(report)
        peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
    print(f"counts: {counts}; message {size / 2**20:.1f} MB")
    print(
        f"build time: median {statistics.median(times):.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in times)})"
    )
    print(
        f"peak Python allocations (tracemalloc): median {statistics.median(peaks):.1f} MB "
        f"(runs: {', '.join(f'{p:.1f}' for p in peaks)})"
    )
    print(
        f"ru_maxrss growth over the first timed run: {rss[0]:.1f} MB; process max "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    ok = statistics.median(times) <= 5 and statistics.median(peaks) <= 200
    print("PASS" if ok else "FAIL", "(targets: ≤ 5 s, ≤ 200 MB)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
