"""The image's production configuration, run here as subprocesses: DJANGO_DEBUG=false with
check --deploy, collectstatic into whitenoise's manifest storage, gunicorn and the healthcheck."""

import json
import subprocess
import sys
import time

import pytest

from tests.docker.stack import DOCKER, ROOT
from tokenadmin.devstack import processes


def _manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_with_production_settings(production_env):
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=production_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout + result.stderr


def test_check_deploy_would_report_a_weak_secret_key(production_env):
    # Guards the test above: the same command does fail on a production mistake.
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={**production_env, "DJANGO_SECRET_KEY": "short"},
    )
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key(production_env):
    env = {k: v for k, v in production_env.items() if k != "DJANGO_SECRET_KEY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_collectstatic_builds_the_whitenoise_manifest_as_the_image_does(production_env, tmp_path):
    result = _manage("collectstatic", "--noinput", env=production_env)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((tmp_path / "staticfiles" / "staticfiles.json").read_text())
    hashed = manifest["paths"]["css/tokenadmin.css"]
    assert hashed != "css/tokenadmin.css"
    assert (tmp_path / "staticfiles" / f"{hashed}.gz").exists()


def test_gunicorn_serves_health_and_the_container_healthcheck_accepts_it(production_env, tmp_path):
    port = processes.free_port()
    server = processes.start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "tokenadmin.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--chdir",
            str(ROOT),
        ],
        log_path=tmp_path / "gunicorn.log",
        env=production_env,
    )
    probe_env = {**production_env, "TOKENADMIN_HEALTH_PORT": str(port)}
    healthcheck = [sys.executable, str(DOCKER / "healthcheck.py")]
    try:
        processes.wait_for_port(port, server, timeout_s=20)
        deadline = time.monotonic() + 10
        while True:
            probe = subprocess.run(healthcheck, env=probe_env, capture_output=True, text=True)
            if probe.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert probe.returncode == 0, probe.stderr + (tmp_path / "gunicorn.log").read_text()
    finally:
        processes.stop(server)
    down = subprocess.run(healthcheck, env=probe_env, capture_output=True, text=True)
    assert down.returncode == 1


@pytest.mark.parametrize(
    ("name", "published"),
    [
        ("KEYCLOAK_CLIENT_SECRET", "tokenadmin-dev-secret"),
        ("KEYCLOAK_WORKER_CLIENT_SECRET", "tokenadmin-worker-secret"),
    ],
)
def test_production_refuses_the_published_development_secrets(production_env, name, published):
    for env in (
        {**production_env, name: published},
        {k: v for k, v in production_env.items() if k != name},
    ):
        result = _manage("check", env=env)
        assert result.returncode != 0
        assert f"{name} is the published development secret" in result.stderr
