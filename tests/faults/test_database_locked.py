"""The SQLite file locked by another writer (a real second process holding a write
transaction): pages and sign-in say so with a 503 message, never a 500, and work once it is
released."""

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from django.db import connection

from tests.fixtures.dashboard import keycloak_login_code
from tokenadmin.core.middleware import DATABASE_BUSY
from tokenadmin.sessionindex.models import RealmIndex

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/sessions/mlflow/"}
REFRESH_URL = "/sessions/mlflow/index/refresh"
HOLDER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")  # the write lock; WAL readers still read
print("locked", flush=True)
sys.stdin.read()  # until the test closes our stdin
db.execute("ROLLBACK")
"""

pytestmark = pytest.mark.sqlite_only  # SQLite's own lock


@contextmanager
def database_locked_by_another_process() -> Iterator[None]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, connection.settings_dict["NAME"]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)


@pytest.fixture
def short_busy_timeout(transactional_db):
    """This process waits 1 s for the lock (production waits DATABASE_BUSY_TIMEOUT_S)."""
    options = connection.settings_dict["OPTIONS"]
    previous = options.get("timeout")
    options["timeout"] = 1
    connection.close()
    yield
    options["timeout"] = previous
    connection.close()


def test_refresh_now_on_a_locked_database_says_so_then_works_once_released(
    kc, client_as, short_busy_timeout, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    client = client_as("admin")

    with database_locked_by_another_process():
        started = time.monotonic()
        busy = client.post(REFRESH_URL, headers=HTMX)
        waited_s = time.monotonic() - started

    assert busy.status_code == 503
    assert busy["Retry-After"] == "5"
    page = busy.content.decode()
    assert 'data-testid="database-busy"' in page and DATABASE_BUSY in page
    assert "<html" not in page  # the partial, for htmx to swap in
    assert waited_s < 5  # one busy timeout, not two
    assert not RealmIndex.objects.filter(realm="mlflow", state="running").exists()

    again = client.post(REFRESH_URL, headers=HTMX)
    assert again.status_code == 200
    assert RealmIndex.objects.get(realm="mlflow").started_at is not None


def test_sign_in_on_a_locked_database_says_so_and_signing_in_again_works(
    kc, client, short_busy_timeout
):
    client.defaults["HTTP_HOST"] = "localhost"
    start = client.get("/oidc/authenticate/")
    callback = urlsplit(keycloak_login_code(start["Location"], "admin", "admin"))

    with database_locked_by_another_process():
        busy_callback = client.get(callback.path + "?" + callback.query)
        busy_start = client.get("/oidc/authenticate/")

    for busy in (busy_callback, busy_start):
        assert busy.status_code == 503
        page = busy.content.decode()
        assert DATABASE_BUSY in page
        assert 'href="/oidc/authenticate/"' in page  # "sign in again"

    start = client.get("/oidc/authenticate/")
    callback = urlsplit(keycloak_login_code(start["Location"], "admin", "admin"))
    finish = client.get(callback.path + "?" + callback.query)
    assert finish.status_code == 302 and "login-failed" not in finish["Location"]
    assert client.get("/realms/").status_code == 200
