import os

import pytest

SECRET_KEY = "tests-docker-" + "k3y-with-enough-characters-and-variety-0123456789" * 2


@pytest.fixture
def production_env(tmp_path):
    """The environment compose gives the tokenadmin services, with SQLite instead of Postgres."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "KEYCLOAK_"))}
    env.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=SECRET_KEY,
        DJANGO_ALLOWED_HOSTS="tokenadmin.example.com,localhost",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://tokenadmin.example.com",
        DJANGO_STATIC_ROOT=str(tmp_path / "staticfiles"),
        TOKENADMIN_BASE_URL="https://tokenadmin.example.com",
        KEYCLOAK_URL="http://keycloak:8080",
        KEYCLOAK_PUBLIC_URL="https://keycloak.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        KEYCLOAK_CLIENT_SECRET="tests-docker-client-secret",
        KEYCLOAK_WORKER_CLIENT_SECRET="tests-docker-worker-secret",
    )
    return env
