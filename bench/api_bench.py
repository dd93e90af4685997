"""API bench: a realm's sessions searched through /api/v1/ over HTTP, at 100,000 sessions
(and 10,000 for the growth), with a Keycloak bearer token as a script sends it.

Run: .venv/bin/python bench/api_bench.py [--sizes 10000 100000] [--runs 3] [--requests 30]

Per size: its own emulator (stopped by pid) seeded with N sessions in realm master, the index
filled by the real refresh, the dashboard under gunicorn (one sync worker, as the sessions
bench runs it: bench/sessions_query_bench.py), a bearer token from the emulator's token
endpoint. Each scenario is timed to its first byte on one kept-alive loopback connection
(server time plus a loopback round trip), 2 warm-up requests then --requests timed ones, the
whole repeated --runs times; the table gives the median of the runs' p95s. Deep pages are
keyset cursors made by the API's own function for the row at that depth. Baseline in the same
run: the sessions page's htmx fragment for the same query, through the same server (ratio).
Writes bench/results/api.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sessions_query_bench import (  # noqa: E402  (after the path is set)
    dashboard_server,
    http_login,
    index_fill,
    percentile,
    setup_django,
)

RESULTS = ROOT / "bench" / "results" / "api.md"
DB_PATH = ROOT / "var" / "bench-api.sqlite3"  # its own file: other benches may run meanwhile
TARGET_P95_MS = 60.0
REALM = "master"
# (label, query): a script's searches; "@N" asks for the page starting N rows deep.
SCENARIOS: list[tuple[str, str]] = [
    ("first page (newest activity first, 100)", ""),
    ("search username", "q=user-0123"),
    ("search client", "q=sdk"),
    ("type offline", "type=offline"),
    ("client filter", "client=api-client"),
    ("idle over 2h", "idle_over=2h"),
    ("expiring within 1h", "expiring_within=1h"),
    ("sort user", "sort=user"),
    ("sort started desc", "sort=-started"),
    ("sort expires", "sort=expires"),
    ("deep page: 50% in, default sort", "@half"),
    ("deep page: 50% in, sort user", "sort=user&@half"),
    ("deep page: 90% in, sort expires", "sort=expires&@most"),
    ("500 rows per page", "limit=500"),
]


def bearer_token(emulator_url: str) -> str:
    import requests

    answer = requests.post(
        f"{emulator_url}/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "tokenadmin",
            "client_secret": "tokenadmin-dev-secret",
            "username": "admin",
            "password": "admin",
        },
        timeout=30,
    )
    answer.raise_for_status()
    return answer.json()["access_token"]


def deep_cursor(query: dict[str, str], fraction: float) -> str:
    """The API's keyset cursor for the row `fraction` of the way through the query's rows."""
    from tokenadmin.api.cursors import filter_key_of, keyset_cursor_make
    from tokenadmin.sessionindex.filters import SessionFilterForm
    from tokenadmin.sessionindex.selectors import indexed_sessions_select, sort_order

    form = SessionFilterForm(query)
    assert not form.errors, form.error_texts()
    filters = form.filters()
    order = sort_order(filters.sort)
    sessions = indexed_sessions_select(realm=REALM, filters=filters)
    depth = int(sessions.count() * fraction)
    key = sessions.values(*(term.removeprefix("-") for term in order))[depth]
    return keyset_cursor_make(key, order, filter_key_of(query))


def api_path(query: str) -> str:
    params = dict(part.split("=", 1) for part in query.split("&") if part and "=" in part)
    if "@half" in query or "@most" in query:
        params["cursor"] = deep_cursor(
            {k: v for k, v in params.items() if k != "limit"}, 0.5 if "@half" in query else 0.9
        )
    return f"/api/v1/realms/{REALM}/sessions?{urlencode(params)}"


def page_path(query: str) -> str:
    plain = "&".join(p for p in query.split("&") if p and not p.startswith("@"))
    return f"/sessions/{REALM}/?{plain}"


def ttfb(base: str, path: str, headers: dict[str, str], count: int) -> list[float]:
    """Time to first byte (ms) of `count` GETs on one kept-alive connection."""
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read(1)
        times.append((time.perf_counter() - started) * 1000)
        body = response.read()
        assert response.status == 200, (path, response.status, body[:300])
    connection.close()
    return times


def measure_size(sessions: int, runs: int, requests_per_run: int) -> dict:
    from tests.fixtures.emulator import running_emulator

    load_before = os.getloadavg()
    with running_emulator("--seed", "demo", "--log-level", "warning") as emulator:
        emulator.seed(
            realm=REALM,
            users=sessions // 4,
            sessions=sessions,
            offline_ratio=0.2,
            clients=["api-client", "sdk-client", "tokenadmin"],
        )
        DB_PATH.parent.mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DB_PATH}{suffix}").unlink(missing_ok=True)
        database_url = setup_django(emulator.base_url, f"sqlite:///{DB_PATH}")
        index_fill(REALM)
        _, indexed = index_fill(REALM)  # warm, as the schedule keeps it
        paths = [(label, api_path(query), page_path(query)) for label, query in SCENARIOS]
        with dashboard_server(emulator.base_url, database_url) as base:
            page_headers = {"Cookie": http_login(base), "HX-Request": "true"}
            rows = {label: {"api": [], "page": []} for label, _, _ in paths}
            for run in range(runs):
                for label, api, page in paths:
                    # A fresh token per scenario, as a script renews it (they live 5 minutes).
                    api_headers = {"Authorization": f"Bearer {bearer_token(emulator.base_url)}"}
                    ttfb(base, api, api_headers, 2)
                    rows[label]["api"].append(ttfb(base, api, api_headers, requests_per_run))
                    ttfb(base, page, page_headers, 2)
                    rows[label]["page"].append(ttfb(base, page, page_headers, requests_per_run))
                print(f"{sessions:,}: run {run + 1}/{runs} done", flush=True)
    return {
        "sessions": sessions,
        "indexed": indexed,
        "load": [load_before, os.getloadavg()],
        "rows": rows,
    }


def summary(runs: list[list[float]]) -> tuple[float, float]:
    """(median of the runs' p95s, median of the runs' medians)."""
    return (
        statistics.median(percentile(r, 95) for r in runs),
        statistics.median(statistics.median(r) for r in runs),
    )


def results_write(sizes: list[dict], runs: int, requests_per_run: int) -> None:
    largest = sizes[-1]
    lines = [
        "# Sessions through the API over HTTP",
        "",
        "`bench/api_bench.py`: `GET /api/v1/realms/master/sessions` with a Keycloak bearer token,"
        " under gunicorn (one sync worker) on loopback, timed to the first byte on a kept-alive"
        f" connection: 2 warm-up then {requests_per_run} requests per scenario, {runs} runs; each"
        " figure is the **median over the runs of the p95** (median of medians in brackets)."
        " Deep pages start from the API's own keyset cursor for the row 50 % or 90 % in."
        " Baseline in the same run: the sessions page's htmx fragment for the same query, same"
        f" server (ratio API / page; for a deep page, the page's first page of that sort)."
        f" Target (#22): p95 ≤ {TARGET_P95_MS:.0f} ms at 100,000.",
        "",
        "How to read it: the machine has 2 cores; with a load average well above 2 (other"
        " benches and test suites beside this one) a p95 measures the run queue as much as the"
        " code, and the 10k column can come out slower than the 100k one. The ratio to the"
        " page's fragment, measured in the same minutes, is the figure that survives the noise.",
        "",
        f"Measured {datetime.now():%Y-%m-%d %H:%M}; "
        + "; ".join(
            f"{s['sessions']:,} sessions ({s['indexed']:,} indexed), load "
            f"{[round(x, 2) for x in s['load'][0]]} → {[round(x, 2) for x in s['load'][1]]}"
            for s in sizes
        ),
        "",
        "| scenario | "
        + " | ".join(f"{s['sessions']:,}: API p95 (median) ms" for s in sizes)
        + f" | page fragment at {largest['sessions']:,} | API / page | ≤ {TARGET_P95_MS:.0f} ms |",
        "|---|" + "---:|" * len(sizes) + "---:|---:|---|",
    ]
    for label, _ in SCENARIOS:
        cells = []
        for size in sizes:
            p95, median = summary(size["rows"][label]["api"])
            cells.append(f"{p95:.1f} ({median:.1f})")
        api_p95, _ = summary(largest["rows"][label]["api"])
        page_p95, page_median = summary(largest["rows"][label]["page"])
        met = "met" if api_p95 <= TARGET_P95_MS else "**not met**"
        lines.append(
            f"| {label} | {' | '.join(cells)} | {page_p95:.1f} ({page_median:.1f}) "
            f"| {api_p95 / page_p95:.2f} | {met} |"
        )
    RESULTS.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # one size, in a child
    args = parser.parse_args()
    if args.one:
        # Django is set up once per process, on its own database: one size per child process.
        measured = measure_size(args.one, args.runs, args.requests)
        Path(os.environ["API_BENCH_OUT"]).write_text(json.dumps(measured))
        return
    sizes = []
    for n in sorted(args.sizes):
        out = ROOT / "var" / f"bench-api-{n}.json"
        command = [sys.executable, __file__, "--one", str(n), "--runs", str(args.runs)]
        command += ["--requests", str(args.requests)]
        subprocess.run(command, check=True, env={**os.environ, "API_BENCH_OUT": str(out)})
        sizes.append(json.loads(out.read_text()))
    results_write(sizes, args.runs, args.requests)
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
