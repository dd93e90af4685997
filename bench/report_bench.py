"""Expiry report bench: one report (counts, details, the attachment decision, both bodies, the
MIME message) over 10k, 100k and 1M indexed sessions in one realm, each run in a fresh
process whose peak RSS is the figure (not only tracemalloc).

Run: .venv/bin/python bench/report_bench.py [--sizes 10000,100000,1000000] [--runs 3]
     (1M runs: `flock /tmp/heavy.lock ...`)
Each size has its own SQLite file under var/bench/ (seeded once, reused while its row count
matches); sends nothing. Baseline, measured in the same fresh process just after the report:
one pass over the realm's username index (SUM(LENGTH(username))), i.e. reading a million
index entries once. Targets (#18): at 1M ≤ 10 s and ≤ 300 MB peak RSS; a mail that stays small.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REALM = "bench"
CLIENTS = ("api-client", "sdk-client", "mlflow", "notebook")


def db_path(n: int) -> Path:
    return ROOT / "var" / "bench" / f"report-bench-{n}.sqlite3"


def django_for(n: int) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path(n)}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokenadmin.settings")
    import django

    django.setup()


def seed(n: int, realm: str = REALM) -> None:
    """n sessions (30% offline, ages spread over the lifespans, ~n/3 users plus 50 heavy ones,
    1-2 clients each), written as plain tuples (bulk_create would build a million models)."""
    from django.db import connection
    from django.utils import timezone

    from tokenadmin.sessionindex.models import IndexedSession, RealmIndex, search_text_of

    IndexedSession.objects.filter(realm=realm).delete()
    table = IndexedSession._meta.db_table
    # Inserting a million rows under ten indexes (and the search triggers) takes SQLite most
    # of an hour; without them, then building each index once, a minute or two.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = %s "
            "AND type IN ('index', 'trigger') AND sql IS NOT NULL",
            [table],
        )
        extras = cursor.fetchall()
        for kind, name, _sql in extras:
            cursor.execute(f'DROP {kind.upper()} "{name}"')
    rng = random.Random(42)
    now = timezone.now()
    users = max(1, n // 3)
    columns = [
        "realm",
        "session_id",
        "offline",
        "user_id",
        "username",
        "ip_address",
        "started_at",
        "last_access_at",
        "remember_me",
        "clients",
        "client_ids_text",
        "expires_at",
        "seen_at",
        "search_text",
    ]
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    adapt = connection.ops.adapt_datetimefield_value
    batch = []
    for i in range(n):
        offline = rng.random() < 0.3
        user = rng.randrange(users) if rng.random() < 0.9 else rng.randrange(50)
        if offline:
            started = now - timedelta(seconds=rng.randrange(60 * 86400))
            last = started + (now - started) * rng.random()
            expires = last + timedelta(days=30)
        else:
            started = now - timedelta(seconds=rng.randrange(36000))
            last = started + (now - started) * rng.random()
            expires = min(last + timedelta(days=rng.choice((1, 7))), started + timedelta(hours=10))
        client_ids = rng.sample(CLIENTS, rng.choice((1, 1, 2)))
        text = " " + " ".join(client_ids) + " "
        ip = f"10.{i % 256}.{(i // 256) % 256}.{i % 250 + 1}"
        username = f"user-{user:06d}"
        batch.append(
            (
                realm,
                f"s-{i:07d}",
                offline,
                f"u-{user:06d}",
                username,
                ip,
                adapt(started),
                adapt(last),
                rng.random() < 0.1,
                json.dumps({f"uuid-{c}": c for c in client_ids}),
                text,
                adapt(expires),
                adapt(now),
                search_text_of(username, ip, text),
            )
        )
        if len(batch) == 20000:
            with connection.cursor() as cursor:
                cursor.executemany(sql, batch)
            batch = []
    with connection.cursor() as cursor:
        cursor.executemany(sql, batch)
        for _kind, _name, definition in extras:
            cursor.execute(definition)
    RealmIndex.objects.update_or_create(
        realm=realm, defaults={"state": RealmIndex.State.DONE, "refreshed_at": now}
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


def child(n: int) -> None:
    """One measured report in this fresh process; prints its figures as JSON."""
    django_for(n)
    from django.db import connection
    from django.utils import timezone

    from tokenadmin.core.sqlite import unmapped_reads
    from tokenadmin.reports.emails import expiry_report_message
    from tokenadmin.reports.selectors import expiry_report_build

    report = report_get()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    # As report_run_send does it (services.py), less the SMTP conversation.
    with unmapped_reads():
        content = expiry_report_build(report=report, now=timezone.now(), sso_max_s={REALM: 36000})
        message = expiry_report_message(content=content, recipients=report.recipients)
    size = len(message.message().as_bytes())
    build_s = time.perf_counter() - t0
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT SUM(LENGTH(username)) FROM sessionindex_indexedsession "
            "INDEXED BY idx_sess_username WHERE realm = %s",
            [REALM],
        )
        cursor.fetchone()
    baseline_s = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "build_s": build_s,
                "baseline_s": baseline_s,
                "rss_before_mb": rss_before,
                "rss_peak_mb": rss_peak,
                "message_bytes": size,
                "attached": bool(message.attachments),
                "counts": content.counts(),
            }
        )
    )


def prepare(n: int) -> None:
    db_path(n).parent.mkdir(parents=True, exist_ok=True)
    django_for(n)
    from django.core.management import call_command

    from tokenadmin.sessionindex.models import IndexedSession

    call_command("migrate", verbosity=0)
    if IndexedSession.objects.filter(realm=REALM).count() != n:
        started = time.perf_counter()
        seed(n)
        print(f"seeded {n} sessions in {time.perf_counter() - started:.1f} s", flush=True)
    report_get()


def run_size(n: int, runs: int) -> dict:
    subprocess.run([sys.executable, __file__, "--prepare", str(n)], check=True)
    results = []
    for _ in range(runs + 1):  # the first warms the page cache and is not counted
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    results = results[1:]
    med = {
        key: statistics.median(r[key] for r in results)
        for key in ("build_s", "baseline_s", "rss_peak_mb", "rss_before_mb", "message_bytes")
    }
    med["ratio"] = statistics.median(r["build_s"] / r["baseline_s"] for r in results)
    med["runs"] = [round(r["build_s"], 2) for r in results]
    med["counts"] = results[-1]["counts"]
    med["attached"] = results[-1]["attached"]
    return med


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", type=int)
    parser.add_argument("--prepare", type=int)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    if args.prepare:
        prepare(args.prepare)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"load average at start: {os.getloadavg()}")
    by_size = {}
    for n in sizes:
        by_size[n] = m = run_size(n, args.runs)
        print(
            f"{n:>9,} sessions: build median {m['build_s']:.2f} s (runs {m['runs']}), "
            f"baseline {m['baseline_s'] * 1000:.0f} ms, ratio {m['ratio']:.1f}x; peak RSS "
            f"{m['rss_peak_mb']:.0f} MB (after imports {m['rss_before_mb']:.0f} MB); message "
            f"{m['message_bytes'] / 1024:.0f} KB, CSV attached: {m['attached']}; {m['counts']}",
            flush=True,
        )
    for a, b in itertools.pairwise(sizes):
        exponent = math.log(by_size[b]["build_s"] / by_size[a]["build_s"]) / math.log(b / a)
        print(f"growth {a:,} -> {b:,}: time exponent {exponent:.2f}")
    print(f"load average at end: {os.getloadavg()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    largest = by_size[sizes[-1]]
    ok = sizes[-1] < 1_000_000 or (largest["build_s"] <= 10 and largest["rss_peak_mb"] <= 300)
    print("PASS" if ok else "FAIL", "(targets at 1M: ≤ 10 s, ≤ 300 MB peak RSS)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
