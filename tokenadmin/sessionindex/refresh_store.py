"""The refresh's reads and writes of the index table: the stored rows it compares with, the
batched upserts and narrow updates, the drop of unseen rows."""

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection

from .models import SEARCH_SEPARATOR, IndexedSession

# Columns written for a new session, after the unique key.
_VALUE_FIELDS = (
    "user_id",
    "username",
    "ip_address",
    "started_at",
    "last_access_at",
    "remember_me",
    "clients",
    "client_ids_text",
    "expires_at",
    "seen_at",
    "search_text",
)
# Columns a later refresh rewrites. Keycloak fixes a session's user, IP, start and remember-me
# when it creates it; leaving them out spares SQLite rewriting three indexes per row. (A user
# renamed in Keycloak keeps the old username in the index until the session ends.)
_UPDATE_FIELDS = ("last_access_at", "clients", "client_ids_text", "expires_at", "seen_at")
# SQLite page cache while a refresh writes (KiB, negative per SQLite's convention): most of
# the table's B-trees at 100,000 rows fit, so upserts seldom re-read pages (from the OS's
# cache); bounded, as it counts in the worker's memory (at 1,000,000 rows nothing fits).
SQLITE_CACHE_KIB = 32768
# SQLite page cache for the finish's work over the whole table (KiB): the index builds after a
# first fill and the figures. Each sort SQLite runs there also holds up to the cache's size in
# memory: at 1M rows, with the refresh's 32 MB, the ten builds took 13.1 s and the figures 1.5
# s, each with 65 MB of SQLite's memory (the figures were a first fill's peak, 356 MB); with 4
# MB, 10.7 s and 1.5 s, with 8 MB.
WHOLE_TABLE_CACHE_KIB = 4096
# Rows per INSERT statement on SQLite: 14 columns each, under its 32,766 parameters.
_SQLITE_VALUES_ROWS = 2000
# Memory-mapped reads while a refresh runs (bytes; mapped pages count in the worker's memory).
SQLITE_MMAP_BYTES = 0


@dataclass(slots=True)
class Stored:
    """A row as the index held it before this refresh: what a refresh compares a session
    with to leave it alone. Start and remember-me are not compared: Keycloak fixes both when
    it creates the session, under the same id."""

    pk: int
    last_access_at: datetime
    # Decoded once per distinct JSON text: a realm has a few client sets, shared by rows.
    clients: dict[str, str]
    # As the database adapter writes it (text on SQLite), compared when the lifespans changed.
    expires_at: object


@dataclass
class Writes:
    """One batch of writes: whole rows to upsert, (last access, expiry, stamp, row id) to
    update. The narrow update rewrites two indexes per row instead of five."""

    upserts: list[tuple] = field(default_factory=list)
    updates: list[tuple] = field(default_factory=list)
    # Row ids of stored rows among the upserts (refresh_deferred: an update held for one of
    # them is superseded).
    replaced: list[int] = field(default_factory=list)


# PostgreSQL: where a batch's rows are copied before their upsert (the connection's own).
_UPSERT = "tokenadmin_refresh_upsert"
# The unique key first, then the values (rows are tuples in this order).
_KEY_COLUMNS = ("realm", "session_id", "offline")
_COLUMNS = (*_KEY_COLUMNS, *_VALUE_FIELDS)


def _datetime_adapter() -> Callable[[datetime], object]:
    """The database's datetime adapter; for SQLite in UTC, a shortcut that gives what Django's
    gives (naive UTC, str()) for the UTC datetimes the gateway returns, at a tenth of the cost."""
    adapt = connection.ops.adapt_datetimefield_value
    if connection.vendor != "sqlite" or connection.timezone_name != "UTC":
        return adapt
    # isoformat() of an aware UTC datetime ends in "+00:00"; without it, it is str() of the
    # naive one, microseconds included or omitted alike.
    return lambda value: value.isoformat(" ")[:-6] if value.tzinfo is UTC else adapt(value)


def _rows_upsert(rows: list[tuple]) -> None:
    """Insert or update rows in one statement: the one bulk_create(update_conflicts=True,
    unique_fields=[realm, session_id, offline]) generates, without a model instance and
    compiled SQL per row (through the ORM the writes took 4x the paging time at 100,000).

    On SQLite the rows go in 2,000 to a statement: the search table's triggers then run
    inside a few statements, and its full-text index is written once per batch instead of
    once per row (executemany: 10.6 s for 100,000 new rows, one statement: 5.5 s).
    Elsewhere, executemany.
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(IndexedSession._meta.db_table)
    column_of = {f.name: str(f.column) for f in IndexedSession._meta.concrete_fields}
    columns = ", ".join(quote(column_of[name]) for name in _COLUMNS)
    key = ", ".join(quote(name) for name in _KEY_COLUMNS)
    updates = ", ".join(f"{quote(name)} = EXCLUDED.{quote(name)}" for name in _UPDATE_FIELDS)
    # The search text follows the new clients, with the user and IP the row keeps (see
    # _UPDATE_FIELDS), lowered by the database as search_text_of does.
    sep = "'" + SEARCH_SEPARATOR + "'"
    updates += (
        f", {quote('search_text')} = LOWER({table}.{quote('username')} || {sep} || "
        f"{table}.{quote('ip_address')} || {sep} || EXCLUDED.{quote('client_ids_text')})"
    )
    conflict = f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # Straight to the database module, in its own placeholders (Django rewrites each
            # "%s"); one JSON array read by json_each parsed each row once per column.
            # "WHERE true": SQLite's parser needs it between a SELECT and ON CONFLICT.
            row = "(" + ", ".join(["?"] * len(_COLUMNS)) + ")"
            for start in range(0, len(rows), _SQLITE_VALUES_ROWS):
                chunk = rows[start : start + _SQLITE_VALUES_ROWS]
                sqlite3.Cursor.execute(
                    cursor.cursor,
                    f"INSERT INTO {table} ({columns}) SELECT * FROM (VALUES "  # noqa: S608
                    + ", ".join([row] * len(chunk))
                    + f") WHERE true {conflict}",
                    [value for values in chunk for value in values],
                )
            return
        # PostgreSQL: the rows go in by COPY to a temporary table, then one INSERT ... SELECT
        # (executemany sent a statement per row). Only model metadata goes into the text.
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_UPSERT} AS "  # noqa: S608
            f"SELECT {columns} FROM {table} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY {_UPSERT} ({columns}) FROM STDIN") as copy:
            for values in rows:
                copy.write_row(values)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {_UPSERT} {conflict}"  # noqa: S608
        )
        cursor.execute(f"TRUNCATE {_UPSERT}")


def _rows_write(writes: Writes) -> int:
    """Upsert the whole rows, then update the used sessions' last access and expiry by id;
    returns how many rows it wrote."""
    _rows_upsert(writes.upserts)
    if writes.updates:
        table = connection.ops.quote_name(IndexedSession._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET last_access_at = %s, expires_at = %s, seen_at = %s "  # noqa: S608
                "WHERE id = %s",
                writes.updates,
            )
    return len(writes.upserts) + len(writes.updates)


@contextmanager
def _sqlite_cache_kib(kib: int) -> Iterator[None]:
    """For the duration, on SQLite: this page cache size, no memory-mapped reads, temporary
    tables in a file; then the connection's own settings again. The site's settings map 256
    MB of the database file and keep temporary tables in memory, both fine for pages and both
    part of the worker's memory in a refresh that reads and stages a million sessions."""
    if connection.vendor != "sqlite":
        yield
        return
    pragmas = {"cache_size": -int(kib), "mmap_size": SQLITE_MMAP_BYTES}
    if not connection.in_atomic_block:  # SQLite refuses it inside a transaction (tests)
        pragmas["temp_store"] = 1
    with connection.cursor() as cursor:
        previous = {}
        for name, value in pragmas.items():
            cursor.execute(f"PRAGMA {name}")
            (previous[name],) = cursor.fetchone()
            cursor.execute(f"PRAGMA {name} = {int(value)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for name, value in previous.items():
                cursor.execute(f"PRAGMA {name} = {int(value)}")
