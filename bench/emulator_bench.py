"""Emulator scale bench: seed 100k sessions in one realm, page 100 of them, resident memory.

Run: .venv/bin/python bench/emulator_bench.py [--sessions 100000] [--runs 5]
Starts its own emulator process on a free loopback port and stops it by pid.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(
    url: str,
    method: str = "GET",
    body: object = None,
    token: str | None = None,
    form: dict | None = None,
):
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if form is not None:
        data = "&".join(f"{k}={v}" for k, v in form.items()).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read() or b"null")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tokenadmin.emulator",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                call(f"{base}/realms/master")
                break
            except OSError:
                time.sleep(0.1)
        rss_idle = rss_mb(proc.pid)
        seed_times = []
        for run in range(args.runs):
            call(f"{base}/_emulator/reset", "POST")
            started = time.perf_counter()
            result = call(
                f"{base}/_emulator/seed",
                "POST",
                {
                    "realm": "bench",
                    "users": args.sessions // 2,
                    "sessions": args.sessions,
                    "offline_ratio": 0.2,
                    "clients": [],
                },
            )
            seed_times.append(time.perf_counter() - started)
            print(
                f"seed run {run}: {seed_times[-1]:.2f}s {result['sessions']} online "
                f"{result['offline_sessions']} offline",
                flush=True,
            )
        rss_loaded = rss_mb(proc.pid)
        token = call(
            f"{base}/realms/master/protocol/openid-connect/token",
            "POST",
            form={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": "admin",
                "password": "admin",
            },
        )["access_token"]
        clients = call(f"{base}/admin/realms/bench/clients?clientId=seed-app", token=token)
        cu = clients[0]["id"]
        count = call(f"{base}/admin/realms/bench/clients/{cu}/session-count", token=token)["count"]
        page_times: dict[str, list[float]] = {}
        for label, first in (
            ("first page", 0),
            ("middle page", count // 2),
            ("last page", max(count - 100, 0)),
        ):
            times = []
            for _ in range(args.runs * 4):
                started = time.perf_counter()
                page = call(
                    f"{base}/admin/realms/bench/clients/{cu}/user-sessions?first={first}&max=100",
                    token=token,
                )
                times.append((time.perf_counter() - started) * 1000)
                assert len(page) == 100
            page_times[label] = times
        count_times = []
        for _ in range(args.runs * 4):
            started = time.perf_counter()
            call(f"{base}/admin/realms/bench/clients/{cu}/session-count", token=token)
            count_times.append((time.perf_counter() - started) * 1000)
        ui_times = []
        for _ in range(args.runs * 4):
            started = time.perf_counter()
            call(f"{base}/admin/realms/bench/ui-ext/sessions?first=0&max=100", token=token)
            ui_times.append((time.perf_counter() - started) * 1000)
        print(f"\nsessions seeded: {args.sessions} (client seed-app holds {count} online)")
        print(
            f"seed 100k: median {statistics.median(seed_times):.2f} s over {args.runs} runs "
            f"(min {min(seed_times):.2f}, max {max(seed_times):.2f})"
        )
        for label, times in page_times.items():
            print(
                f"page of 100, {label}: median {statistics.median(times):.1f} ms over {len(times)} runs"  # noqa: E501
            )
        print(f"session-count: median {statistics.median(count_times):.1f} ms")
        print(f"ui-ext/sessions first 100: median {statistics.median(ui_times):.1f} ms")
        print(
            f"resident memory: {rss_idle:.0f} MB idle (demo-free start), {rss_loaded:.0f} MB after seeding"  # noqa: E501
        )
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
