"""Real Keycloak 26 bench: boot and seeding times, index refresh vs paging, bulk revocation.

The same two measurements as index_refresh_bench.py and revocation_bench.py (their functions,
imported), on real Keycloak (tokenadmin.devstack.keycloak, the pinned version, fresh data)
instead of the emulator, with every session made by a real sign-in (password grants from a
thread pool, 20% with scope offline_access). In one process, one sitting:

1. boot: ``--boots`` fresh starts from the prepared cache (copy of the distribution, then
   kc.sh start-dev until realm master's discovery answers), each followed by the demo seed
   (tokenadmin.devstack.keycloak_seed: realms and roles, users, 300 sign-ins); the last instance
   stays up for the rest.
2. seeding for the bench: realm `mlflow` gets a cheap password hash (pbkdf2-sha256, 1 iteration:
   Argon2, Keycloak's default, makes each grant mostly hashing, which is not what is measured
   here; a sample of default-hash grants is timed too), ``--users`` users, and before each
   measurement ``--sessions`` sign-ins on client `mlflow`; their rate is reported.
3. index refresh: a cold refresh, then ``--refresh-runs`` alternations of paging only and a warm
   refresh of realm `mlflow` (index_refresh_bench.paging_run / refresh_run), medians and ratio.
4. revocation: ``--rounds`` rounds of the sequential python-keycloak loop and tokenadmin's job
   (revocation_bench.run_baseline / run_tokenadmin), each on its own freshly made sessions,
   0 left behind checked after each; medians and speed-up.

Run: .venv/bin/python bench/real_keycloak_bench.py [--sessions 10000] [--rounds 3]
Needs Java and Maven (see tokenadmin/devstack/keycloak.py). Uses var/bench/ and a temporary
Keycloak folder; stops its Keycloak by pid at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import index_refresh_bench  # noqa: E402
import revocation_bench  # noqa: E402

from tokenadmin.devstack import (  # noqa: E402
    keycloak,
    keycloak_admin,
    keycloak_seed,
    keycloak_signins,
    processes,
)
from tokenadmin.devstack.keycloak_admin import AdminApi  # noqa: E402
from tokenadmin.devstack.keycloak_signins import SignIn  # noqa: E402

REALM = "mlflow"
CHEAP_HASH = "hashAlgorithm(pbkdf2-sha256) and hashIterations(1)"


def java_pid(pid: int) -> int:
    """The JVM under kc.sh (its child), for its CPU time; kc.sh itself if none."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return pid
    return int(children[0]) if children else pid


def stop(process) -> None:
    """Stop kc.sh's process group and wait for the JVM itself to be gone."""
    jvm = java_pid(process.pid)
    processes.stop(process, timeout_s=60)
    deadline = time.monotonic() + 60
    while Path(f"/proc/{jvm}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    if Path(f"/proc/{jvm}").exists():
        os.kill(jvm, signal.SIGKILL)


def boot(home_dir: Path) -> tuple[object, str, float, float, float]:
    """Fresh copy of the prepared distribution, start-dev until ready: process, URL, times, MB."""
    port = processes.free_port()
    started = time.perf_counter()
    home = keycloak.run_home(port=port, data_dir=home_dir, keep_data=False)
    copy_s = time.perf_counter() - started
    process = keycloak.keycloak_start(
        host="127.0.0.1", port=port, home=home, log_path=home / "keycloak.log"
    )
    base_url = f"http://127.0.0.1:{port}"
    boot_s = keycloak.wait_until_ready(process, base_url=base_url, log_path=home / "keycloak.log")
    return process, base_url, copy_s, boot_s, keycloak.resident_memory_mb(process.pid)


def sessions_list(admin: AdminApi) -> list[tuple[str, bool]]:
    """Every session of client mlflow, online and offline, by paging (not timed)."""
    uuid = admin.get(f"/{REALM}/clients", clientId="mlflow")[0]["id"]
    found: list[tuple[str, bool]] = []
    for kind, offline in (("user-sessions", False), ("offline-sessions", True)):
        first = 0
        while True:
            page = admin.get(f"/{REALM}/clients/{uuid}/{kind}", first=first, max=1000)
            found.extend((s["id"], offline) for s in page)
            if len(page) < 1000:
                break
            first += 1000
    return found


def sign_ins(users: list[str], count: int, rng: random.Random) -> list[SignIn]:
    chosen = [rng.choice(users) for _ in range(count)]
    return [
        SignIn(REALM, "mlflow", name, name, keycloak_signins.random_ip(rng), rng.random() < 0.2)
        for name in chosen
    ]


def sessions_make(base_url: str, users: list[str], count: int, args, rng) -> float:
    made = keycloak_signins.sign_ins_make(
        base_url, sign_ins(users, count, rng), concurrency=args.grant_concurrency
    )
    if made.failures:
        raise RuntimeError(f"{len(made.failures)} sign-ins failed: {made.failures[0]}")
    rate = made.sessions / made.seconds
    print(
        f"  made {made.online:,} online + {made.offline:,} offline sessions by password grants "
        f"in {made.seconds:.1f} s ({rate:.0f}/s, {args.grant_concurrency} threads); "
        f"load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return made.seconds


def refresh_rows(args: argparse.Namespace) -> list[str]:
    """A cold refresh, then paging and a warm refresh alternated; their table rows."""
    cold, indexed = index_refresh_bench.refresh_run(args.concurrency)
    print(f"cold refresh: {cold:.2f} s, {indexed:,} rows", flush=True)
    pages, refreshes = [], []
    for run in range(1, args.refresh_runs + 1):
        paging_s, listed = index_refresh_bench.paging_run(args.concurrency)
        refresh_s, indexed = index_refresh_bench.refresh_run(args.concurrency)
        pages.append(paging_s)
        refreshes.append(refresh_s)
        print(
            f"refresh run {run}: paging {paging_s:.2f} s ({listed:,}), refresh "
            f"{refresh_s:.2f} s ({indexed:,}), ratio {refresh_s / paging_s:.2f}; "
            f"load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    ratios = [r / p for r, p in zip(refreshes, pages, strict=True)]
    ratio = statistics.median(refreshes) / statistics.median(pages)
    return [
        median_line(f"Paging only, {indexed:,} sessions", pages),
        median_line("Full refresh, warm", refreshes),
        f"| Full refresh, cold | {cold:.2f} s | 1 |",
        f"| **Ratio refresh / paging** | **{ratio:.2f}** | "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + " |",
    ]


def median_line(label: str, values: list[float], unit: str = "s") -> str:
    runs = ", ".join(f"{v:.2f}" for v in values)
    return f"| {label} | {statistics.median(values):.2f} {unit} | {runs} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--boots", type=int, default=3)
    parser.add_argument("--demo-sessions", type=int, default=300)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--refresh-runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=8, help="refresh paging threads")
    parser.add_argument("--grant-concurrency", type=int, default=4)
    parser.add_argument("--default-hash-sample", type=int, default=300)
    parser.add_argument("--skip-refresh", action="store_true", help="revocation only")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rng = random.Random(7)
    prepared = keycloak.distribution_prepare()
    print(f"Keycloak {keycloak.KEYCLOAK_VERSION} from {prepared.home}", flush=True)
    rows: list[str] = []
    process = None
    with tempfile.TemporaryDirectory(prefix="kc-bench-") as folder:
        try:
            copies, boots, rss, seeds = [], [], [], {"realms": [], "users": [], "sign-ins": []}
            for number in range(1, args.boots + 1):
                if process is not None:
                    stop(process)
                process, base_url, copy_s, boot_s, mb = boot(Path(folder) / f"kc-{number}")
                report = keycloak_seed.keycloak_demo_seed(
                    base_url=base_url,
                    sessions=args.demo_sessions,
                    admin_username="admin",
                    admin_password="admin",
                )
                copies.append(copy_s)
                boots.append(boot_s)
                rss.append(mb)
                seeds["realms"].append(report.realms_s)
                seeds["users"].append(report.users_s)
                seeds["sign-ins"].append(report.made.seconds)
                print(
                    f"boot {number}: copy {copy_s:.1f} s, boot {boot_s:.1f} s, {mb:.0f} MB; demo "
                    f"seed: realms+roles {report.realms_s:.1f} s, {report.users} users "
                    f"{report.users_s:.1f} s, {report.made.sessions} sign-ins "
                    f"{report.made.seconds:.1f} s; load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            rows += [
                median_line("Copy of the prepared distribution", copies),
                median_line("Boot, start-dev until discovery answers", boots),
                median_line("Resident memory after boot", rss, "MB"),
                median_line("Demo seed: realms, clients, roles", seeds["realms"]),
                median_line(f"Demo seed: {report.users} users", seeds["users"]),
                median_line(
                    f"Demo seed: {report.made.sessions} sign-ins (default hash)",
                    seeds["sign-ins"],
                ),
            ]
            server_pid = java_pid(process.pid)
            admin = AdminApi(base_url, "admin", "admin")

            # Default-hash grant rate on the demo's users (Argon2), for comparison.
            sample = keycloak_signins.sign_ins_make(
                base_url,
                sign_ins(
                    [f"user-{i:06d}" for i in range(max(args.demo_sessions // 4, 1))],
                    args.default_hash_sample,
                    rng,
                ),
                concurrency=args.grant_concurrency,
            )
            default_rate = sample.sessions / sample.seconds
            print(f"default-hash password grants: {default_rate:.0f}/s", flush=True)

            keycloak_admin.realm_upsert(admin, realm=REALM, settings={"passwordPolicy": CHEAP_HASH})
            started = time.perf_counter()
            users = keycloak_admin.bulk_users_create(
                admin, realm=REALM, count=args.users, concurrency=args.grant_concurrency
            )
            users_s = time.perf_counter() - started
            print(f"{len(users):,} users (cheap hash) in {users_s:.1f} s", flush=True)
            # The demo's own sessions on client mlflow go first (untimed), so every later count
            # is exactly what the bench made.
            leftovers = sessions_list(admin)
            os.environ["KEYCLOAK_URL"] = base_url
            os.environ["KEYCLOAK_PUBLIC_URL"] = base_url
            index_refresh_bench.django_setup(base_url)
            revocation_bench.EMULATOR_PID = server_pid
            revocation_bench.run_baseline(base_url, leftovers)

            seeding = [sessions_make(base_url, users, args.sessions, args, rng)]
            if not args.skip_refresh:
                rows += refresh_rows(args)

            baseline, ours, ours_stored = [], [], []
            for round_no in range(1, args.rounds + 1):
                if round_no > 1:
                    seeding.append(sessions_make(base_url, users, args.sessions, args, rng))
                listed = sessions_list(admin)
                baseline.append(revocation_bench.run_baseline(base_url, listed))
                assert revocation_bench.left_behind(base_url) == 0
                seeding.append(sessions_make(base_url, users, args.sessions, args, rng))
                listed_ours = sessions_list(admin)
                run_s, stored_s = revocation_bench.run_tokenadmin(listed_ours, args.workers)
                assert revocation_bench.left_behind(base_url) == 0
                ours.append(run_s)
                ours_stored.append(stored_s)
                print(
                    f"revocation round {round_no}: sequential {len(listed):,} in "
                    f"{baseline[-1]:.2f} s, tokenadmin job {len(listed_ours):,} in {run_s:.2f} s "
                    f"({stored_s:.2f} s with storing); 0 left; load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            speedups = [b / o for b, o in zip(baseline, ours, strict=True)]
            b, o, oc = (statistics.median(x) for x in (baseline, ours, ours_stored))
            rows += [
                median_line(f"Sequential python-keycloak loop, {args.sessions:,}", baseline),
                median_line("tokenadmin job", ours),
                median_line("tokenadmin job with storing the items", ours_stored),
                f"| **Speed-up of medians** | **{b / o:.2f}x** ({b / oc:.2f}x with storing) | "
                + ", ".join(f"{s:.2f}" for s in speedups)
                + " |",
                median_line(
                    f"Seeding {args.sessions:,} sessions by password grants (cheap hash)", seeding
                ),
                f"| Password grants, cheap hash / default hash | "
                f"{args.sessions / statistics.median(seeding):.0f}/s / {default_rate:.0f}/s | |",
                f"| {args.users:,} users created (cheap hash) | {users_s:.1f} s | 1 |",
            ]
        except BaseException:
            for log in Path(folder).glob("kc-*/keycloak.log"):
                kept = ROOT / "var" / "bench" / f"real-keycloak-{log.parent.name}.log"
                kept.write_bytes(log.read_bytes())
                print(f"Keycloak's log kept in {kept}", file=sys.stderr)
            raise
        finally:
            if process is not None:
                stop(process)
    print()
    print(f"machine: {index_refresh_bench.machine()}; Keycloak {keycloak.KEYCLOAK_VERSION}")
    print("| What | Median | Runs |")
    print("|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
