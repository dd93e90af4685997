"""Reports: a report definition helper, the index filled from the emulator, and a real beat."""

import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.services import SinkControl, service_env
from tests.fixtures.waiting import wait_for
from tokenadmin.devstack import processes
from tokenadmin.reports.schedule import Schedule
from tokenadmin.reports.services import ReportDefinition, expiry_report_create
from tokenadmin.sessionindex.refresh import realm_index_refresh


def definition(**overrides) -> ReportDefinition:
    values = {
        "name": "Morning expiry report",
        "realms": ["master", "mlflow"],
        "client_ids": [],
        "saved_view": None,
        "offline_within_days": 7,
        "sso_max_within_hours": 9,
        "idle_over_hours": 12,
        "sessions_per_user_over": 2,
        "include_lifespan_changes": True,
        "recipients": ["ops@example.org", "ml-platform@example.org"],
        "send_when_empty": False,
        "enabled": True,
        "schedule": Schedule(kind="interval", every=1, period="days"),
    }
    values.update(overrides)
    return ReportDefinition(**values)


def report_create(**overrides):
    return expiry_report_create(actor=None, definition=definition(**overrides))


def index_refresh(*realms: str) -> None:
    """Fill the session index from the emulator, as the scheduled refresh does."""
    for realm in realms or ("master", "mlflow"):
        index = realm_index_refresh(realm=realm)
        assert index.state == "done", index.error


def offline_session_aged(kc, *, days: int, username: str = "wallaroo_user") -> None:
    """An offline login made `days` ago: Keycloak's clock goes back, the user logs in, and the
    clock comes back to now. Its 30-day idle timeout then runs out in 30 - days days."""
    now = time.time()
    kc.set_clock(now - days * 86400)
    kc.password_login(
        "master", "api-client", username, username, secret="api-client-secret", offline=True
    )
    kc.set_clock(time.time())


class BeatProcess:
    def __init__(self, process, log_path: Path) -> None:
        self.process = process
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def own_sink(tmp_path, settings):
    sink = SinkControl(tmp_path / "mail", tmp_path / "sink.log")
    sink.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    yield sink
    sink.stop()


@pytest.fixture
def reports_worker(transactional_db, worker_start, own_sink):
    """A real worker that sends mail to `own_sink`."""
    with worker_start("reports", mail_port=own_sink.port) as worker:
        yield worker


@pytest.fixture
def celery_beat(reports_worker, redis_server, emulator, tmp_path, settings):
    """A real `celery beat` with the DatabaseScheduler on the test database."""
    env = service_env(redis=redis_server, emulator_url=emulator.base_url)
    log_path = tmp_path / "beat.log"
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "tokenadmin",
        "beat",
        "--loglevel",
        "DEBUG",
        "--scheduler",
        "django_celery_beat.schedulers:DatabaseScheduler",
        "--max-interval",
        "1",
        "--pidfile=",
    ]
    process = processes.start(args, log_path=log_path, env=env)
    beat = BeatProcess(process, log_path)
    wait_for(lambda: "beat: Starting" in beat.log() or process.poll() is not None, what="beat")
    assert process.poll() is None, beat.log()[-3000:]
    yield beat
    processes.stop(process)
