"""Real services the fault tests break on purpose: an SMTP server that stalls, answers late or
dies mid-message, a redis-server stopped and started again on the same port, Celery workers
killed with SIGKILL and beat."""

import os
import signal
import sys
from pathlib import Path

import pytest

from tests.fixtures.services import (
    RedisServer,
    SinkControl,
    celery_app_point_at,
    celery_app_urls_set,
    service_env,
)
from tests.fixtures.waiting import wait_for
from tokenadmin.devstack import processes
from tokenadmin.devstack.redis import redis_start


@pytest.fixture
def faulty_sink(tmp_path, settings):
    sink = SinkControl(tmp_path / "mail", tmp_path / "sink.log")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    yield sink
    sink.stop()


class RedisControl:
    """A redis-server of the test's own, stopped and started again on the same port."""

    def __init__(self, work_dir: Path) -> None:
        self.server = RedisServer(processes.free_port())
        self.work_dir = work_dir
        self.process = None

    def start(self) -> None:
        self.process = redis_start(port=self.server.port, work_dir=self.work_dir)

    def stop(self) -> None:
        if self.process is not None:
            processes.stop(self.process)
            self.process = None


@pytest.fixture
def own_redis(tmp_path, settings):
    """This test's tasks go to its own Redis; afterwards to wherever they went before."""
    from tokenadmin.celery import app

    before = {"broker_url": app.conf.broker_url, "result_backend": app.conf.result_backend}
    redis = RedisControl(tmp_path / "redis")
    redis.start()
    celery_app_point_at(redis.server, settings)
    yield redis
    redis.stop()
    celery_app_urls_set(**before)


class Service:
    """A Celery worker or beat process, killed or stopped by pid."""

    def __init__(self, process, log_path: Path) -> None:
        self.process = process
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL to the whole process group: no shutdown, no acknowledgement, nothing."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        processes.stop(self.process)


def celery_start(
    kind: str, *, redis: RedisServer, emulator_url: str, mail_port: int, log_path: Path, env: dict
) -> Service:
    """`celery worker` (prefork, 2 processes) or `celery beat`, on the test database."""
    full_env = {**service_env(redis=redis, emulator_url=emulator_url, mail_port=mail_port), **env}
    args = [sys.executable, "-m", "celery", "-A", "tokenadmin", kind, "--loglevel", "INFO"]
    if kind == "worker":
        args += ["--concurrency", "2", "--pool", "prefork", "--without-gossip", "--without-mingle"]
        args += ["--hostname", f"faults-{log_path.stem}@%h"]
        ready = "ready."
    else:
        args += ["--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"]
        args += ["--max-interval", "1", "--pidfile="]
        ready = "beat: Starting"
    service = Service(processes.start(args, log_path=log_path, env=full_env), log_path)
    wait_for(
        lambda: ready in service.log() or service.process.poll() is not None,
        what=f"celery {kind} to start",
    )
    assert service.process.poll() is None, service.log()[-3000:]
    return service
