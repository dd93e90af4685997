"""Findings bench: what running every check adds to an index refresh of a 100,000-session realm.

Starts its own emulator (as bench/index_refresh_bench.py does, whose helpers it reuses), seeds
realm `mlflow` with N sessions over N/4 users, fills the index once, then alternates, run after
run, a warm refresh (`realm_index_refresh`, what the 5-minute schedule does) and
`findings_run` over the same index, in one process. Two threshold sets:

- defaults (offline idle 14 d, 10 sessions, 5 addresses): the seed's users stay under them,
  so the checks read and find little, as in a healthy realm;
- tight (1 day, 2 sessions, 2 addresses): thousands of users are flagged, so the first run
  opens that many findings and later runs rewrite each one (the worst case).

Every check runs, the ones that read Keycloak included (disabled and missing users, credential
changes from user and admin events, disabled clients and rotated secrets) through the worker's
gateway: the realm saves user and admin events, and CHANGED users have their password reset by
an admin after their sessions began, so the credential-change check reads and finds sessions.

Target (#21): all checks together add at most 20 % to a refresh (median findings_run / median
warm refresh). Results go to bench/results/findings.md: each run adds a dated section (commit,
load average) at the top and keeps the earlier ones below.

Run: .venv/bin/python bench/findings_bench.py [--sessions 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import index_refresh_bench as irb  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "findings.md"


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


CHANGED = 500  # users whose password an admin resets after their sessions began


def credentials_change(base_url: str, how_many: int) -> int:
    """Turn on user and admin events in the realm, then reset the password of `how_many` of
    its users as an admin does (one admin event each)."""
    from keycloak import KeycloakAdmin

    admin = KeycloakAdmin(
        server_url=base_url,
        username="admin",
        password="admin",
        realm_name=irb.REALM,
        user_realm_name="master",
        client_id="admin-cli",
        timeout=60,
    )
    admin.update_realm(irb.REALM, {"eventsEnabled": True, "adminEventsEnabled": True})
    users = admin.get_users({"briefRepresentation": True, "first": 0, "max": how_many})
    for user in users:
        admin.set_user_password(user["id"], "changed-in-the-bench", temporary=False)
    return len(users)


def keycloak_reads_time(gateway) -> dict[str, float]:
    """Each Keycloak read the checks make, timed once (the rest of a run is the index)."""
    from datetime import date, timedelta

    since = date.today() - timedelta(days=30)
    calls = {
        "users (all ids)": lambda: gateway.user_ids(irb.REALM),
        "disabled users": lambda: gateway.users_disabled(irb.REALM),
        "credential events": lambda: gateway.credential_changes(irb.REALM, since=since),
        "clients": lambda: gateway.clients_list(irb.REALM),
    }
    return {name: timed(call)[0] for name, call in calls.items()}


def commit() -> str:
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return out.stdout.strip() or "an unknown commit"


HEADER = "# Findings: what the checks add to an index refresh\n"


def results_add(section: str) -> None:
    """The new figures first, under the title; earlier ones stay below as history."""
    held = RESULTS.read_text() if RESULTS.exists() else HEADER
    earlier = held[len(HEADER) :].lstrip("\n") if held.startswith(HEADER) else held
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(HEADER + "\n" + section + ("\n" + earlier if earlier else ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    process, base_url = irb.emulator_start()
    try:
        seeded = irb.emulator_seed(base_url, args.sessions)
        irb.django_setup(base_url)
        from django.db import connection

        from tokenadmin.findings.models import Finding
        from tokenadmin.findings.services import findings_run, realm_thresholds_set
        from tokenadmin.keycloak import gateway_for_worker
        from tokenadmin.sessionindex.models import IndexedSession
        from tokenadmin.sessionindex.refresh import realm_index_refresh

        cold, _ = timed(lambda: realm_index_refresh(realm=irb.REALM))
        rows = IndexedSession.objects.filter(realm=irb.REALM).count()
        print(f"seeded {seeded}; cold fill {cold:.1f} s, {rows:,} rows")
        changed = credentials_change(base_url, CHANGED)
        print(f"{changed} users had their password reset by an admin")
        gateway = gateway_for_worker()
        lines = []
        for label, thresholds in (
            ("defaults", (14, 10, 5)),
            ("tight", (1, 2, 2)),
        ):
            Finding.objects.all().delete()
            days, most, addresses = thresholds
            realm_thresholds_set(
                realm=irb.REALM,
                offline_idle_days=days,
                max_sessions_per_user=most,
                max_addresses_per_user=addresses,
            )
            refreshes, checks, first = [], [], None
            for run in range(args.runs):
                refresh_s, _ = timed(lambda: realm_index_refresh(realm=irb.REALM))
                check_s, counts = timed(lambda: findings_run(realm=irb.REALM, gateway=gateway))
                refreshes.append(refresh_s)
                checks.append(check_s)
                if run == 0:
                    first = (check_s, counts)
                print(
                    f"{label} run {run}: refresh {refresh_s:.2f} s, checks {check_s:.2f} s {counts}"
                )
            refresh_m, check_m = statistics.median(refreshes), statistics.median(checks)
            share = check_m / refresh_m
            lines.append(
                f"| {label} ({days} d, {most} sessions, {addresses} addresses) | {rows:,} | "
                f"{refresh_m:.2f} s | {first[0]:.2f} s ({first[1]['opened']:,} opened) | "
                f"{check_m:.2f} s | {share:.0%} | {'yes' if share <= 0.20 else 'NO'} |"
            )
        reads = keycloak_reads_time(gateway)
        print("Keycloak reads:", reads)
        section = (
            f"## {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, at {commit()}, load "
            f"{load_before:.1f} before / {os.getloadavg()[0]:.1f} after\n\n"
            f"`bench/findings_bench.py --sessions {args.sessions} --runs {args.runs}`, "
            f"{connection.vendor}, {irb.machine()}. Medians over the runs; the first run of "
            "each set opens its findings, later runs keep them. Target: checks at most 20 % "
            f"of a warm refresh. Every check runs, through the worker's gateway; {CHANGED} "
            "users had their password reset by an admin after their sessions began.\n\n"
            "| thresholds | rows | warm refresh | first checks | checks (median) | share | "
            "within 20 % |\n|---|---|---|---|---|---|---|\n" + "\n".join(lines) + "\n\n"
            "Inside a run, the Keycloak reads alone (once each): "
            + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in reads.items())
            + ".\n"
        )
        results_add(section)
        print(section)
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
