"""A refresh's batch reads the earlier listings of its sessions by probing the stage's index
once per session, on SQLite and on PostgreSQL. A plan that reads the whole stage for every
batch grows with the square of the realm: on PostgreSQL a first fill of 1,000,000 sessions
under churn spent 3 s a batch there and never finished."""

from datetime import UTC, datetime

from django.db import connection

from tokenadmin.keycloak.types import KcSession
from tokenadmin.sessionindex.paging import Page
from tokenadmin.sessionindex.refresh_stage import Stage, _earlier_listings_sql

LISTINGS = 20_000
AT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def page(first: int, size: int) -> Page:
    sessions = [
        KcSession(
            id=f"session-{n:06}",
            user_id=f"user-{n % 500}",
            username=f"user{n % 500}",
            ip_address="10.0.0.1",
            started_at=AT,
            last_access_at=AT,
            remember_me=False,
            clients={"c1": "mlflow"},
            offline=False,
        )
        for n in range(first, first + size)
    ]
    return Page(client_uuid="c1", offline=False, first=first, sessions=sessions, read_at=AT)


def stage_plan(stage: Stage) -> str:
    """The plan of the earlier-listings read for the batch batch_select just kept."""
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(explain + _earlier_listings_sql(), [stage.flushed])
        return " | ".join(str(row[-1]) for row in cursor.fetchall())


def test_a_batch_probes_the_stage_index_per_session_instead_of_reading_the_stage(db):
    stage = Stage("big", stored=False)
    try:
        for first in range(0, LISTINGS, 1000):
            stage.add(page(first, 1000))
        stage.batch_select()
        # The next batch lists 200 sessions again (the overlap of two pages).
        stage.add(page(LISTINGS - 200, 400))
        assert stage.batch_select() == 400
        plan = stage_plan(stage)
        pages, _stored = stage.batch_take()
    finally:
        stage.close()
    assert "tokenadmin_refresh_stage_key" in plan, plan
    assert "SCAN s" not in plan and "Seq Scan on tokenadmin_refresh_stage" not in plan, plan
    # What the probes read: the 200 sessions' earlier listings, then the batch's own.
    listed = [len(p.sessions) for p in pages]
    assert sum(listed) == 600 and listed[-1] == 400
