"""Bulk revocation speed: tokenadmin's job runner vs a plain sequential python-keycloak loop.

Both revoke N freshly seeded sessions of realm `mlflow` (client `mlflow`, online and offline)
on the same freshly started emulator, in the same run, alternating, several rounds; each side is
timed from the list of session ids to the last delete (listing the sessions is not timed, for
either). After every run the bench asserts Keycloak holds 0 of them.

    .venv/bin/python bench/revocation_bench.py [--sessions 10000] [--rounds 3] [--workers 8]
        [--rtt-ms 0 2]

`--rtt-ms` adds that much delay to every session delete (the emulator's latency fault), to show
Keycloak across a network as well as on loopback; 0 = plain loopback.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def hook(base_url: str, method: str, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{base_url}/_emulator/{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read() or b"null")


def start_emulator() -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tokenadmin.emulator",
            "--port",
            str(port),
            "--seed",
            "demo",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            hook(base_url, "GET", "clock")
            return process, base_url
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("emulator did not start") from None
            time.sleep(0.1)


def setup_django(base_url: str, db_path: str) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ["KEYCLOAK_URL"] = base_url
    os.environ["KEYCLOAK_PUBLIC_URL"] = base_url
    os.environ["DJANGO_LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokenadmin.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def python_keycloak_admin(base_url: str):
    from keycloak import KeycloakAdmin

    return KeycloakAdmin(
        server_url=base_url,
        username="admin",
        password="admin",
        realm_name="mlflow",
        user_realm_name="master",
        client_id="admin-cli",
        timeout=30,
    )


def seeded_sessions(base_url: str, n: int) -> list[tuple[str, bool]]:
    """Reset, seed N sessions on client mlflow, and list them (id, offline) by paging."""
    hook(base_url, "POST", "reset")
    hook(
        base_url,
        "POST",
        "seed",
        {
            "realm": "mlflow",
            "users": max(n // 5, 1),
            "sessions": n,
            "offline_ratio": 0.2,
            "clients": ["mlflow"],
        },
    )
    admin = python_keycloak_admin(base_url)
    uuid = admin.get_client_id("mlflow")
    found: list[tuple[str, bool]] = []
    for kind, offline in (("user-sessions", False), ("offline-sessions", True)):
        first = 0
        while True:
            page = admin.connection.raw_get(
                f"admin/realms/mlflow/clients/{uuid}/{kind}", first=first, max=1000
            ).json()
            found.extend((s["id"], offline) for s in page)
            if len(page) < 1000:
                break
            first += 1000
    return found


def left_behind(base_url: str) -> int:
    admin = python_keycloak_admin(base_url)
    uuid = admin.get_client_id("mlflow")
    base = f"admin/realms/mlflow/clients/{uuid}"
    online = admin.connection.raw_get(f"{base}/session-count").json()["count"]
    offline = admin.connection.raw_get(f"{base}/offline-session-count").json()["count"]
    return online + offline


EMULATOR_PID = 0


def cpu_s(pid: int) -> float:
    """User+system CPU seconds a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_baseline(base_url: str, sessions: list[tuple[str, bool]]) -> float:
    """The plain way: one python-keycloak raw_delete after another."""
    admin = python_keycloak_admin(base_url)
    started = time.perf_counter()
    for session_id, offline in sessions:
        query = {"isOffline": "true"} if offline else {}
        response = admin.connection.raw_delete(
            f"admin/realms/mlflow/sessions/{session_id}", **query
        )
        assert response.status_code == 204, response.status_code
    return time.perf_counter() - started


def run_tokenadmin(sessions: list[tuple[str, bool]], workers: int) -> tuple[float, float]:
    """tokenadmin's job for the ticked sessions: previewed, listed into items by the job's own
    build (targets.py), then the resumable runner (worker's service account)."""
    from tokenadmin.accounts.models import User
    from tokenadmin.keycloak import gateway_for_worker
    from tokenadmin.revocation.bulk import Kind, Recipe, revocation_job_create
    from tokenadmin.revocation.bulk import revocation_plan_build as plan_build
    from tokenadmin.revocation.jobs import job_counts, revocation_job_run

    actor, _ = User.objects.get_or_create(username="bench")
    recipe = Recipe(
        kind=Kind.SELECTION,
        sessions=tuple(f"{sid}:offline" if offline else sid for sid, offline in sessions),
    )
    created = time.perf_counter()
    plan = plan_build(admin=gateway_for_worker(), realm="mlflow", recipe=recipe, own_session_id="")
    job = revocation_job_create(plan=plan, actor=actor, reason="bench")
    started, own_cpu, server_cpu = time.perf_counter(), time.process_time(), cpu_s(EMULATOR_PID)
    revocation_job_run(job_id=job.pk, workers=workers)
    finished = time.perf_counter()
    n = len(sessions)
    print(
        f"    job CPU per delete: tokenadmin {(time.process_time() - own_cpu) / n * 1000:.2f} ms,"
        f" emulator {(cpu_s(EMULATOR_PID) - server_cpu) / n * 1000:.2f} ms; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    counts = job_counts(job)
    assert counts.done == len(sessions) and counts.failed == 0, counts
    return finished - started, finished - created


def slow_deletes(base_url: str, rtt_ms: float) -> None:
    if rtt_ms:
        hook(
            base_url,
            "POST",
            "faults",
            {"path": "/admin/realms/mlflow/sessions/", "method": "DELETE", "latency_ms": rtt_ms},
        )


def scenario(base_url: str, args: argparse.Namespace, rtt_ms: float) -> None:
    baseline, ours, ours_with_create = [], [], []
    for round_no in range(1, args.rounds + 1):
        sessions = seeded_sessions(base_url, args.sessions)  # reset clears faults
        slow_deletes(base_url, rtt_ms)
        baseline.append(run_baseline(base_url, sessions))
        assert left_behind(base_url) == 0
        sessions = seeded_sessions(base_url, args.sessions)
        slow_deletes(base_url, rtt_ms)
        run_s, total_s = run_tokenadmin(sessions, args.workers)
        ours.append(run_s)
        ours_with_create.append(total_s)
        assert left_behind(base_url) == 0
        print(
            f"  rtt {rtt_ms:g} ms, round {round_no}: {len(sessions)} sessions; sequential "
            f"python-keycloak {baseline[-1]:.2f} s, tokenadmin job {run_s:.2f} s "
            f"(listing and revoking; {total_s:.2f} s with the preview); 0 left behind",
            flush=True,
        )
    b, o, oc = (statistics.median(x) for x in (baseline, ours, ours_with_create))
    print(
        f"rtt {rtt_ms:g} ms median of {args.rounds}: sequential {b:.2f} s "
        f"({args.sessions / b:.0f}/s), tokenadmin {o:.2f} s ({args.sessions / o:.0f}/s), "
        f"{oc:.2f} s with the preview; "
        f"speed-up {b / o:.2f}x ({b / oc:.2f}x with the preview)",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rtt-ms", type=float, nargs="+", default=[0.0, 2.0])
    args = parser.parse_args()
    # A terminated bench still stops its emulator (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    global EMULATOR_PID
    process, base_url = start_emulator()
    EMULATOR_PID = process.pid
    try:
        with tempfile.TemporaryDirectory() as tmp:
            setup_django(base_url, str(Path(tmp) / "bench.sqlite3"))
            for rtt_ms in args.rtt_ms:
                scenario(base_url, args, rtt_ms)
    finally:
        process.terminate()
        process.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
