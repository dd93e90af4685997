"""A refresh's batch reads what it needs (the earlier listings of its sessions, their stored
rows) by probing an index once per session, on SQLite and on PostgreSQL. A plan that reads the
whole stage or the realm's rows for every batch grows with the square of the realm: on
PostgreSQL a first fill of 1,000,000 sessions under churn spent 3 s a batch there and never
finished (refresh_stage._probed)."""

from datetime import UTC, datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tokenadmin.keycloak.types import KcSession
from tokenadmin.sessionindex.models import IndexedSession
from tokenadmin.sessionindex.paging import Page
from tokenadmin.sessionindex.refresh_fill import fill_analyze
from tokenadmin.sessionindex.refresh_stage import Stage, _earlier_listings_sql

LISTINGS = 20_000
AT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def holder(n: int) -> dict:
    """What a session's listing and its stored row share: its user, address, start, clients."""
    return {
        "offline": False,
        "user_id": f"user-{n % 500}",
        "username": f"user{n % 500}",
        "ip_address": "10.0.0.1",
        "started_at": AT,
        "remember_me": False,
        "clients": {"c1": "mlflow"},
    }


def page(first: int, size: int, *, last_access: datetime = AT) -> Page:
    sessions = [
        KcSession(id=f"session-{n:06}", last_access_at=last_access, **holder(n))
        for n in range(first, first + size)
    ]
    return Page(client_uuid="c1", offline=False, first=first, sessions=sessions, read_at=AT)


def plan(sql: str, params: list | None = None) -> str:
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(explain + sql, params)
        return " | ".join(str(row[-1]) for row in cursor.fetchall())


def reads_whole(plan: str, table: str, alias: str) -> bool:
    """Whether the plan reads `table` whole instead of probing it."""
    return f"SCAN {alias}" in plan.split(" | ") or f"Seq Scan on {table}" in plan


def test_a_batch_probes_the_stage_index_per_session_instead_of_reading_the_stage(db):
    stage = Stage("big", stored=False)
    try:
        for first in range(0, LISTINGS, 1000):
            stage.add(page(first, 1000))
        stage.batch_select()
        # The next batch lists 200 sessions again (the overlap of two pages).
        stage.add(page(LISTINGS - 200, 400))
        assert stage.batch_select() == 400
        earlier = plan(_earlier_listings_sql(), [stage.flushed])
        pages, _stored = stage.batch_take()
    finally:
        stage.close()
    assert "tokenadmin_refresh_stage_key" in earlier, earlier
    assert not reads_whole(earlier, "tokenadmin_refresh_stage", "s"), earlier
    # What the probes read: the 200 sessions' earlier listings, then the batch's own.
    listed = [len(p.sessions) for p in pages]
    assert sum(listed) == 600 and listed[-1] == 400


def stored_rows(n: int) -> None:
    IndexedSession.objects.bulk_create(
        IndexedSession(
            realm="big",
            session_id=f"session-{k:06}",
            last_access_at=AT,
            client_ids_text=" mlflow ",
            search_text=f"user{k % 500} 10.0.0.1 mlflow",
            expires_at=AT,
            seen_at=AT,
            **holder(k),
        )
        for k in range(n)
    )
    fill_analyze()  # as at the end of a first fill


def test_a_warm_batch_probes_the_stored_rows_per_session(db):
    # PostgreSQL hashed the keys against the realm's rows at 1,000,000 rows; at the
    # 20,000 here its plan probes with or without the LATERAL form, SQLite's plan is checked.
    stored_rows(LISTINGS)
    stage = Stage("big", stored=True)
    used = AT.replace(minute=5)  # the sessions were used since: each batch keeps them all
    try:
        for first in range(0, LISTINGS, 1000):
            stage.add(page(first, 1000, last_access=used))
        assert stage.batch_select() == LISTINGS
        stage.batch_take()
        # A small batch after a large one (the planner sizes the keys table by its pages).
        stage.add(page(0, 1000, last_access=used.replace(minute=6)))
        with CaptureQueriesContext(connection) as captured:
            assert stage.batch_select() == 1000
            _pages, stored = stage.batch_take()
        joins = [q["sql"] for q in captured if "sessionindex_indexedsession" in q["sql"]]
        plans = [plan(sql) for sql in joins]
    finally:
        stage.close()
    assert len(stored) == 1000
    assert len(plans) == 2, joins  # the compare and the stored rows' read
    for sql, found in zip(joins, plans, strict=True):
        assert not reads_whole(found, "sessionindex_indexedsession", "i"), (sql, found)
