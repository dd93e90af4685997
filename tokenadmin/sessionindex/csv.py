"""The sessions page's filtered set as CSV rows, produced lazily for a streamed download."""

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from tokenadmin.core.csv import csv_line, csv_lines
from tokenadmin.core.sqlite import unmapped_reads

from .models import IndexedSession

CSV_COLUMNS = (
    "session_id",
    "type",
    "username",
    "user_id",
    "ip_address",
    "started_at",
    "last_access_at",
    "remember_me",
    "clients",
    "expires_at",
    "seen_at",
)
CHUNK_SIZE = 2000


def _when(value: object) -> str:
    return value.isoformat() if value else ""  # type: ignore[attr-defined]


_FIELDS = (
    "session_id",
    "offline",
    "username",
    "user_id",
    "ip_address",
    "started_at",
    "last_access_at",
    "remember_me",
    "clients",
    "expires_at",
    "seen_at",
)


def sessions_csv_rows(
    *, sessions: QuerySet[IndexedSession], refreshed_at: datetime | None = None
) -> Iterator[str]:
    """A header line, then one line per session, reading the database in chunks of plain
    tuples (no model instance: a million rows), without SQLite's memory map (a read of most
    of the table would keep its pages resident: flat memory at any size).

    `refreshed_at`: the realm's last completed refresh, for each row's seen_at (last seen)."""
    yield csv_line(CSV_COLUMNS)
    with unmapped_reads():
        yield from csv_lines(_cells(sessions, refreshed_at))


def _cells(sessions: QuerySet[IndexedSession], refreshed_at: datetime | None) -> Iterator[tuple]:
    if connection.vendor == "sqlite" and connection.timezone_name == "UTC":
        yield from _sqlite_cells(sessions, refreshed_at)
        return
    rows = sessions.values_list(*_FIELDS).iterator(chunk_size=CHUNK_SIZE)
    for values in rows:
        yield _row(values, refreshed_at, when=_when, clients=dict)


def _row(
    values: tuple,
    refreshed: datetime | None,
    *,
    when: Callable[[Any], str],
    clients: Callable[[Any], dict[str, str]],
) -> tuple:
    """One session's cells from its _FIELDS values; `when` and `clients` read the moments and
    the clients map as the cursor gives them."""
    sid, offline, username, user_id, ip, started, last, remember, held, ends, seen = values
    return (
        sid,
        "offline" if offline else "regular",
        username,
        user_id,
        ip,
        when(started),
        when(last),
        "yes" if remember else "no",
        " ".join(sorted(clients(held).values())),
        when(ends),
        when(max(seen, refreshed) if refreshed else seen),
    )


def _iso(stored: datetime | None) -> str:
    """A naive UTC datetime as SQLite's module gives it back (Django registers its parser for
    datetime columns) as isoformat() of the aware value gives it."""
    return f"{stored.isoformat()}+00:00" if stored else ""


def _sqlite_cells(
    sessions: QuerySet[IndexedSession], refreshed_at: datetime | None
) -> Iterator[tuple]:
    """The same cells from the query Django compiles, run by a plain cursor: Django's value
    converters (datetimes parsed, made aware) cost more than the rest of a row (16 s of 22
    at 1,000,000 rows)."""
    refreshed = refreshed_at.astimezone(UTC).replace(tzinfo=None) if refreshed_at else None
    sql, params = sessions.values_list(*_FIELDS).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(CHUNK_SIZE):
            for values in chunk:
                yield _row(values, refreshed, when=_iso, clients=json.loads)
