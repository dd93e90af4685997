"""`manage.py demo` (emulator) starts the traffic generator, and `--no-traffic` leaves it out."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tokenadmin.devstack.keycloak_admin import AdminApi

from .demo_process import demo_ports, demo_process_start

pytestmark = pytest.mark.timeout(300)


def demo_run(work: Path, *extra: str):
    ports = demo_ports()
    output_path = work / "demo.out"
    output = output_path.open("wb")
    process = demo_process_start(
        work=work, ports=ports, output=output, args=["--sessions", "100", *extra]
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
