"""The refresh's reads and writes of the index table: the stored rows it compares with, the
batched upserts and narrow updates, the drop of unseen rows."""

import json
from collections.abc import Callable, Container, Iterator
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
# SQLite page cache while a refresh writes (KiB, negative per SQLite's convention): the
# table's eight B-trees at 100,000 rows fit, so upserts do not re-read pages.
SQLITE_CACHE_KIB = 131072


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

    On SQLite the rows go in as one JSON array read by json_each, one statement per batch:
    the search table's triggers then run inside one statement, and its full-text index is
    written once per batch instead of once per row (executemany: 10.6 s for 100,000 new rows,
    one statement: 5.5 s). Elsewhere, executemany.
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(IndexedSession._meta.db_table)
    columns = ", ".join(quote(IndexedSession._meta.get_field(name).column) for name in _COLUMNS)
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
            values = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(_COLUMNS)))
            # "WHERE true": SQLite's parser needs it between a SELECT and ON CONFLICT.
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {values} "  # noqa: S608
                f"FROM json_each(%s) WHERE true {conflict}",
                [json.dumps(rows)],
            )
            return
        # Only model metadata goes into the text; every value is a parameter.
        placeholders = ", ".join(["%s"] * len(_COLUMNS))
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) {conflict}",  # noqa: S608
            rows,
        )


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


# Between a stored row's fields and between rows in _stored_rows' one text value. Neither
# occurs inside a field: session ids are Keycloak's UUIDs, datetimes are digits, and JSON
# escapes every control character inside its strings.
_FIELD_SEP, _ROW_SEP = "\x1f", "\x1e"


# The realm's stored rows as one text value: fields joined by _FIELD_SEP (char 31), rows by
# _ROW_SEP (char 30); datetimes as ISO text in UTC. {table} is the only interpolation.
_STORED_ROWS_SQL = {
    # `+realm`: no index on realm for this one, the row id range is the way in.
    "sqlite": (
        "SELECT group_concat(session_id || char(31) || offline || char(31) || id || char(31) "
        "|| last_access_at || '+00:00' || char(31) || clients || char(31) "
        "|| ifnull(expires_at, ''), char(30)) FROM {table} "
        "WHERE id BETWEEN %s AND %s AND +realm = %s"
    ),
    "postgresql": (
        "SELECT string_agg(session_id || chr(31) || offline::int || chr(31) || id || chr(31) "
        "|| to_char(last_access_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US+00:00') "
        "|| chr(31) || clients::text || chr(31) || coalesce(to_char(expires_at AT TIME ZONE "
        "'UTC', 'YYYY-MM-DD HH24:MI:SS.US+00:00'), ''), chr(30)) FROM {table} "
        "WHERE id BETWEEN %s AND %s AND realm = %s"
    ),
}


def _stored_rows(realm: str) -> dict[tuple[str, bool], Stored]:
    """The realm's rows before this refresh, to leave unchanged ones alone.

    Read as one text value over the realm's range of row ids (a realm's rows are written
    together, so the range reads the table in order instead of seeking each row through an
    index), then split here: row by row, the database module hands the interpreter lock back
    and forth per row, and with the paging threads busy each hand-back waits; on PostgreSQL,
    Django's per-value loaders took 4 s for 100,000 rows. (Stored is a plain slots class:
    100,000 of them are built, a frozen one takes twice as long.) The expiry stays text on
    SQLite, as the refresh writes it there; elsewhere it is read back as a datetime.
    """
    sql = _STORED_ROWS_SQL.get(connection.vendor)
    if sql is None or (connection.vendor == "sqlite" and connection.timezone_name != "UTC"):
        return _stored_rows_orm(realm)
    table = connection.ops.quote_name(IndexedSession._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {table} WHERE realm = %s", [realm])  # noqa: S608
        low, high = cursor.fetchone()
        if low is None:
            return {}
        cursor.execute(sql.format(table=table), [low, high, realm])
        (text,) = cursor.fetchone()
    parse = datetime.fromisoformat
    expiry_as_text = connection.vendor == "sqlite"
    clients_of: dict[str, dict[str, str]] = {}
    stored = {}
    for line in text.split(_ROW_SEP):
        session_id, offline, pk, last_access, clients_json, expires = line.split(_FIELD_SEP)
        clients = clients_of.get(clients_json)
        if clients is None:
            clients = clients_of[clients_json] = json.loads(clients_json)
        if not expiry_as_text and expires:
            expires = parse(expires)
        stored[session_id, offline == "1"] = Stored(int(pk), parse(last_access), clients, expires)
    return stored


def _stored_rows_orm(realm: str) -> dict[tuple[str, bool], Stored]:
    """_stored_rows through the ORM (databases without a one-value read, SQLite not in UTC):
    the expiry as the database adapter writes it, compared with this refresh's."""
    adapt = connection.ops.adapt_datetimefield_value
    rows = IndexedSession.objects.filter(realm=realm).values_list(
        "session_id", "offline", "id", "last_access_at", "clients", "expires_at"
    )
    return {
        (session_id, offline): Stored(pk, last_access, clients, adapt(expires) if expires else "")
        for session_id, offline, pk, last_access, clients, expires in rows.iterator(chunk_size=5000)
    }


def _unseen_drop(
    *, stored: dict[tuple[str, bool], Stored], seen: Container[tuple[str, bool]]
) -> int:
    """Drop the rows this refresh did not see: Keycloak no longer holds those sessions.

    `stored` is what is left of the rows before this refresh (the rows it wrote left it): the
    ones no list showed go by id; the unchanged ones keep the stamp of the refresh that last
    wrote them (see IndexedSession.seen_at).
    """
    gone = [row.pk for key, row in stored.items() if key not in seen]
    for start in range(0, len(gone), 500):
        IndexedSession.objects.filter(pk__in=gone[start : start + 500]).delete()
    return len(gone)


@contextmanager
def _sqlite_cache_kib(kib: int) -> Iterator[None]:
    """A bigger SQLite page cache on this connection for the duration, then the old size."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = {-int(kib)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")
