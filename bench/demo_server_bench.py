"""The demo's web server at a million indexed sessions: its resident memory after 60 requests.

Run: .venv/bin/python bench/demo_server_bench.py [--sessions 1000000] [--requests 60]
     (1M: `flock /tmp/heavy.lock ...`)
Starts its own emulator (demo seed) and, one after the other, Django's `runserver --noreload`
(a thread and a database connection per request: the server the demo used to run) and
`demo_web` (tokenadmin/devstack/webserver.py: a fixed pool of four threads), both on a SQLite file
holding N indexed sessions of realm master (seeded once, reused). Each is signed in through
the real OIDC flow, then asked for the sessions page, its htmx fragment and the realm list in
turn, four at a time as a browser's page and its polls are; VmRSS is read from /proc every 20
requests. Target (#18): the demo's server does not grow with requests.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urljoin

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import report_bench  # noqa: E402  (its fast seeding)

# tests.fixtures and tokenadmin.devstack import tokenadmin.settings, which reads DATABASE_URL
# once: they are imported where used, after the environment is set.

PATHS = ("/sessions/master/", "/sessions/master/?page=2", "/sessions/")


def db_path(n: int) -> Path:
    return ROOT / "var" / "bench" / f"demo-server-{n}.sqlite3"


def prepare(n: int) -> None:
    """Migrate and seed (in a child process: Django is set up once per database)."""
    db_path(n).parent.mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path(n)}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokenadmin.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from tokenadmin.sessionindex.models import IndexedSession

    call_command("migrate", verbosity=0)
    if IndexedSession.objects.filter(realm="master").count() != n:
        started = time.perf_counter()
        report_bench.seed(n, realm="master")
        print(f"seeded {n} sessions in {time.perf_counter() - started:.1f} s", flush=True)


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024


def threads(pid: int) -> int:
    return int(re.search(r"Threads:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1))


def signed_in(base: str) -> requests.Session:
    from tests.fixtures.dashboard import keycloak_login_code

    session = requests.Session()
    start = session.get(f"{base}/oidc/authenticate/", allow_redirects=False, timeout=30)
    callback = keycloak_login_code(start.headers["Location"], "admin", "admin")
    finish = session.get(urljoin(base, callback), allow_redirects=False, timeout=60)
    assert finish.status_code == 302, finish.status_code
    return session


# (name, manage.py command, extra environment)
VARIANTS = (
    ("runserver", "runserver", {}),
    # The cheap alternative: runserver, a database connection per request, two malloc arenas.
    ("runserver-close", "runserver", {"DATABASE_CONN_MAX_AGE_S": "0", "MALLOC_ARENA_MAX": "2"}),
    ("demo_web", "demo_web", {}),
)


def measure(
    name: str, command: str, extra: dict, n: int, requests_n: int, emulator_url: str
) -> list[tuple[int, float]]:
    from tokenadmin.devstack import processes

    port = processes.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db_path(n)}",
        "KEYCLOAK_URL": emulator_url,
        "KEYCLOAK_PUBLIC_URL": emulator_url,
        "TOKENADMIN_BASE_URL": f"http://127.0.0.1:{port}",
        "DJANGO_LOG_LEVEL": "WARNING",
        **extra,
    }
    log = ROOT / "var" / "bench" / f"demo-server-{name}.log"
    process = subprocess.Popen(
        [sys.executable, "manage.py", command, f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        processes.wait_for_port(port, process, timeout_s=60)
        base = f"http://127.0.0.1:{port}"
        cookies = signed_in(base).cookies.get_dict()
        samples = [(0, rss_mb(process.pid))]

        took: list[float] = []

        def get(i: int) -> int:
            path = PATHS[i % len(PATHS)]
            # A new connection per request, as browsers end up making over a session (and
            # as runserver then starts a thread, and a database connection, for each).
            headers = {"Connection": "close", **({"HX-Request": "true"} if i % 2 else {})}
            t0 = time.perf_counter()
            code = requests.get(
                base + path, headers=headers, cookies=cookies, timeout=120
            ).status_code
            took.append(time.perf_counter() - t0)
            return code

        done = 0
        with ThreadPoolExecutor(max_workers=4) as pool:
            while done < requests_n:
                codes = list(pool.map(get, range(done, done + 20)))
                assert set(codes) == {200}, codes
                done += 20
                samples.append((done, rss_mb(process.pid)))
        csv_note = ""
        if name == "demo_web":
            # The sessions page's CSV of the whole realm, streamed through the same server.
            before = rss_mb(process.pid)
            t0 = time.perf_counter()
            rows = 0
            with requests.get(
                base + "/sessions/master/export.csv", cookies=cookies, stream=True, timeout=600
            ) as response:
                assert response.status_code == 200, response.status_code
                for chunk in response.iter_content(chunk_size=1 << 16):
                    rows += chunk.count(b"\n")
            csv_s = time.perf_counter() - t0
            csv_note = (
                f"; CSV export of the realm: {rows - 1:,} rows in {csv_s:.1f} s, server RSS "
                f"{before:.0f} -> {rss_mb(process.pid):.0f} MB"
            )
        print(
            f"{name:>15}: RSS by requests served "
            + ", ".join(f"{k}: {mb:.0f} MB" for k, mb in samples)
            + f"; threads now {threads(process.pid)}; median request "
            f"{statistics.median(took) * 1000:.0f} ms{csv_note}",
            flush=True,
        )
        return samples
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--prepare", action="store_true")
    args = parser.parse_args()
    if args.prepare:
        prepare(args.sessions)
        return
    subprocess.run(
        [sys.executable, __file__, "--prepare", "--sessions", str(args.sessions)], check=True
    )
    print(f"load average at start: {os.getloadavg()}")
    from tests.fixtures.emulator import running_emulator

    with running_emulator("--seed", "demo", "--log-level", "warning") as emulator:
        results = {
            name: measure(name, command, extra, args.sessions, args.requests, emulator.base_url)
            for name, command, extra in VARIANTS
        }
    print(f"load average at end: {os.getloadavg()}")
    pooled = results["demo_web"]
    # Not growing: after the first 20 requests warm each thread's cache, the last 40 add little.
    growth = pooled[-1][1] - pooled[1][1]
    print(f"demo_web growth over the last {args.requests - 20} requests: {growth:.0f} MB")
    ok = growth <= 50
    print("PASS" if ok else "FAIL", "(target: no growth with requests; ≤ 50 MB over 40)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
