"""`manage.py demo` (emulator) starts the traffic generator, and `--no-traffic` leaves it out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tokenadmin.devstack.keycloak_seed import AdminApi

from ..fixtures.emulator import ROOT, _free_port

pytestmark = pytest.mark.timeout(300)


def demo_run(work: Path, *extra: str):
    ports = {name: _free_port() for name in ("web", "keycloak", "redis", "smtp")}
    output_path = work / "demo.out"
    output = output_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "demo",
            "--sessions",
            "100",
            "--port",
            str(ports["web"]),
            "--keycloak-port",
            str(ports["keycloak"]),
            "--redis-port",
            str(ports["redis"]),
            "--smtp-port",
            str(ports["smtp"]),
            "--work-dir",
            str(work),
            *extra,
        ],
        cwd=ROOT,
        stdout=output,
        stderr=subprocess.STDOUT,
        env={
            **os.environ,
            "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
            "PYTHONUNBUFFERED": "1",
        },
    )
    return process, output, output_path, f"http://127.0.0.1:{ports['keycloak']}"


def demo_stop(process: subprocess.Popen, output) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # the demo stops what it started, by pid
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    output.close()


def wait_for(predicate, process: subprocess.Popen, output_path: Path, timeout_s: float = 120):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if process.poll() is not None or time.monotonic() > deadline:
            said = output_path.read_text(errors="replace")
            pytest.fail(f"the demo did not get there (exit {process.poll()}):\n{said}")
        time.sleep(0.5)


def test_the_demo_starts_the_traffic_generator_which_signs_users_in(tmp_path):
    process, output, output_path, keycloak_url = demo_run(tmp_path)
    try:
        log = tmp_path / "traffic.log"
        wait_for(lambda: log.exists() and "round 1:" in log.read_text(), process, output_path)
        assert "starting traffic" in output_path.read_text()
        # The generator's sign-ins reach the demo's Keycloak: sessions of bulk users there.
        admin = AdminApi(keycloak_url, "admin", "admin")
        (mlflow,) = admin.get("/mlflow/clients", clientId="mlflow")
        sessions = admin.get(f"/mlflow/clients/{mlflow['id']}/user-sessions", max=10000)
        assert len(sessions) > 40  # 37 seeded online at most, then the generator's
        rounds = log.read_text().splitlines()
        assert "+0 online" not in rounds[0]
        assert all(", 0 failed;" in line for line in rounds)  # every user it signs in exists
    finally:
        demo_stop(process, output)
    # Stopping the demo stops the generator too: the log stops growing.
    size = (tmp_path / "traffic.log").stat().st_size
    time.sleep(6)
    assert (tmp_path / "traffic.log").stat().st_size == size


def test_no_traffic_leaves_the_generator_out(tmp_path):
    process, output, output_path, _ = demo_run(tmp_path, "--no-traffic")
    try:
        wait_for(lambda: "tokenadmin is running" in output_path.read_text(), process, output_path)
        assert "starting traffic" not in output_path.read_text()
        assert not (tmp_path / "traffic.log").exists()
    finally:
        demo_stop(process, output)
