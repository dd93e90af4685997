"""A refresh's listings staged in a temporary table, so that its memory does not grow with the
realm: at a million sessions, holding every listed session and every stored row took 1.6-2.1 GB.

Each page's sessions go into the connection's temporary table as they arrive (one row per
listing: a session listed under three clients is three rows), and the pages of the current
batch stay in memory too. Every WRITE_BATCH listings, one statement compares the batch's
listings with their stored rows in the database and keeps the keys of the sessions that may
have changed (new, used since, other clients) in a second temporary table: in the steady state
nearly none. Only those sessions are merged in Python, from all their listings so far (the
batch's own from memory, earlier ones, rare, from the stage), compared with their stored rows
(read for those sessions only) and written. At the end, the stored rows that no listing names
are dropped by one anti-join. Python holds one batch at a time.
"""

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from django.db import connection

from .models import IndexedSession
from .paging import Page
from .refresh_store import Stored

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
# A temporary table lives in the connection (SQLite: in its own temporary database, so staging
# takes no lock of the main one; PostgreSQL: in the session's temporary schema).
_STAGE = "tokenadmin_refresh_stage"
# What can differ between two listings of a session. Keycloak fixes its user, address, start
# and remember-me when it creates it: an earlier listing takes those from the batch's own
# (staging them cost a third more per listing).
_STAGE_COLUMNS = (
    "n",
    "session_id",
    "offline",
    "client_uuid",
    "read_at_us",
    "last_access_us",
    "clients",
)
# The keys of the current batch's sessions to merge in Python (the others equal their row).
_KEYS = "tokenadmin_refresh_keys"


# SQLite page cache of the temporary database while a refresh stages (KiB). Its index on the
# session id takes each listing at a random place: at 1M listings (60 MB of index) 16 MB made
# the warm refresh about 7 % slower; 48 MB put the cold fill's peak at 274 MB (target 300).
STAGE_CACHE_KIB = 49152
STAGE_INSERT_ROWS = 5000
# Rows per INSERT statement on SQLite: 8 columns each, under its 32,766 parameters.
_SQLITE_VALUES_ROWS = 4000
# Row ids per DELETE of the rows no listing names.
_DELETE_ROWS = 500


def _us(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (a datetime's own resolution)."""
    return (moment - _EPOCH) // _US


def _probed(table: str, alias: str, match: str) -> tuple[str, str]:
    """(what to join, on what) so that each row of the other side probes `table`'s index by
    `match`, on SQLite and on PostgreSQL, whatever the sizes the planner guesses.

    A plan that reads the stage or the realm's rows for every batch grows with the square of
    the realm. SQLite keeps the order of a CROSS JOIN. PostgreSQL plans the temporary tables
    without statistics, by their size on disk: it read the whole stage for each batch's
    earlier listings (3.2 s a batch at 3M listings, a first fill of 1M under churn never
    ended) and hashed the keys against the realm's rows (0.2-0.4 s a batch at 1M, however
    few keys). A LATERAL subquery kept apart by OFFSET 0 probes per row (0.3 s and 0.17 s).
    """
    if connection.vendor == "sqlite":
        return f"{table} {alias}", match
    return f"LATERAL (SELECT * FROM {table} {alias} WHERE {match} OFFSET 0) {alias}", "true"  # noqa: S608


def _earlier_listings_sql() -> str:
    """The stage's listings numbered up to a parameter of the sessions in the keys table."""
    joined, on = _probed(
        _STAGE, "s", "s.session_id = b.session_id AND s.offline = b.offline AND s.n <= %s"
    )
    return (
        "SELECT s.session_id, s.offline, s.client_uuid, s.read_at_us, s.last_access_us, "  # noqa: S608
        f"s.clients FROM {_KEYS} b CROSS JOIN {joined} WHERE {on} ORDER BY s.n"
    )


def _moment(us: int) -> datetime:
    return _EPOCH + us * _US


class Stage:
    """The listings of one refresh, numbered in the order they arrived.

    `stored`: the realm held rows when the refresh started (false: a first fill, every
    session is new and no stored row is read). `unchanged_skipped`: the stored expiries were
    computed with this refresh's lifespans, so a session whose every listing equals its stored
    row (last access and clients) is left alone without being merged.
    """

    def __init__(self, realm: str, *, stored: bool = True, unchanged_skipped: bool = True) -> None:
        self.realm = realm
        self.stored = stored
        self.unchanged_skipped = stored and unchanged_skipped
        self.staged = 0  # listings so far; listing numbers run 1..staged
        self.flushed = 0  # listings up to this number were merged and written
        self.sessions_seen = 0  # distinct sessions listed, counted at the end
        # A realm has a few client sets, shared by its sessions: each encoded once.
        self._client_texts: dict[tuple[tuple[str, str], ...], str] = {}
        # Listings not inserted yet: inserted STAGE_INSERT_ROWS at a time (each insert is a
        # statement; one per page of 100 took 67 µs a listing).
        self._pending: list[tuple] = []
        # The pages of the current batch, as they arrived: merged from memory, not read back.
        self._batch: list[Page] = []
        # What batch_select kept for batch_take: the batch's first listing number (minus one)
        # and its pages with only the sessions kept.
        self._taken: tuple[int, list[Page]] = (0, [])
        # On SQLite the listing number is the row id (no second B-tree), and the temporary
        # database gets a page cache of its own, bounded, so that its index is not re-read.
        sqlite = connection.vendor == "sqlite"
        number = "INTEGER" if sqlite else "BIGINT"
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute(f"PRAGMA temp.cache_size = {-STAGE_CACHE_KIB}")
                # Nothing to roll back: the table is dropped if the refresh stops.
                cursor.execute("PRAGMA temp.journal_mode = OFF")
            cursor.execute(f"DROP TABLE IF EXISTS {_STAGE}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {_STAGE} (n {number} PRIMARY KEY, "
                "session_id VARCHAR(64) NOT NULL, offline BOOLEAN NOT NULL, "
                "client_uuid VARCHAR(64) NOT NULL, read_at_us BIGINT NOT NULL, "
                "last_access_us BIGINT NOT NULL, clients TEXT)"
            )
            cursor.execute(f"CREATE INDEX {_STAGE}_key ON {_STAGE} (session_id, offline, n)")
            cursor.execute(f"DROP TABLE IF EXISTS {_KEYS}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {_KEYS} (session_id VARCHAR(64) NOT NULL, "
                "offline BOOLEAN NOT NULL, PRIMARY KEY (session_id, offline))"
            )

    def close(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {_STAGE}")
            cursor.execute(f"DROP TABLE IF EXISTS {_KEYS}")

    def add(self, page: Page) -> None:
        """Stage a page's sessions; each session's clients map once per distinct map."""
        if not page.sessions:
            return
        self._batch.append(page)
        read_at = _us(page.read_at)
        texts = self._client_texts
        rows = self._pending
        for session in page.sessions:
            self.staged += 1
            signature = tuple(session.clients.items())
            clients = texts.get(signature)
            if clients is None:
                clients = texts[signature] = json.dumps(session.clients)
            rows.append(
                (
                    self.staged,
                    session.id,
                    session.offline,
                    page.client_uuid,
                    read_at,
                    _us(session.last_access_at),
                    clients,
                )
            )
        if len(rows) >= STAGE_INSERT_ROWS:
            self._insert()

    def _insert(self) -> None:
        if not self._pending:
            return
        columns = ", ".join(_STAGE_COLUMNS)
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                # A few statements of many rows each: row by row (executemany), the database
                # module hands the interpreter lock to the paging threads and waits to get it
                # back, per row; one JSON array read by json_each parses each row once per
                # column (3x slower than this). Straight to the database module, in its own
                # placeholders: Django's rewriting of 26,000 "%s" costs as much as the insert.
                row = "(" + ", ".join(["?"] * len(_STAGE_COLUMNS)) + ")"
                pending = self._pending
                for start in range(0, len(pending), _SQLITE_VALUES_ROWS):
                    chunk = pending[start : start + _SQLITE_VALUES_ROWS]
                    sqlite3.Cursor.execute(
                        cursor.cursor,
                        f"INSERT INTO {_STAGE} ({columns}) VALUES "  # noqa: S608
                        + ", ".join([row] * len(chunk)),
                        [value for listing in chunk for value in listing],
                    )
            else:
                # PostgreSQL: one COPY (executemany sent a statement per listing).
                with cursor.cursor.copy(f"COPY {_STAGE} ({columns}) FROM STDIN") as copy:
                    for listing in self._pending:
                        copy.write_row(listing)
        self._pending = []

    @property
    def unflushed(self) -> int:
        return self.staged - self.flushed

    def batch_select(self) -> int:
        """Close the batch of the sessions listed since the last call: keep those that may
        differ from their stored row (the others, in the steady state nearly all, equal it in
        every listing of the batch); returns how many were kept, for batch_take."""
        self._insert()
        low, high = self.flushed, self.staged
        self.flushed = high
        batch, self._batch = self._batch, []
        keys = self._keys_fill(low, high)
        self._taken = (low, _pages_of(batch, keys) if len(keys) < high - low else batch)
        return len(keys)

    def batch_take(self) -> tuple[list[Page], dict[tuple[str, bool], Stored]]:
        """The sessions batch_select kept, each with every listing so far (as pages, in
        arrival order), and their stored rows."""
        low, batch = self._taken
        self._taken = (low, [])
        stored = self._batch_stored() if self.stored else {}
        return self._earlier_pages(low, batch) + batch, stored

    def sessions_count(self) -> int:
        """Count the distinct sessions listed (once, at the end: one pass over the stage's
        index, where a count per batch probed it for every listing); kept in sessions_seen."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM (SELECT DISTINCT session_id, offline FROM {_STAGE}) k"  # noqa: S608
            )
            self.sessions_seen = cursor.fetchone()[0]
        return self.sessions_seen

    def _keys_fill(self, low: int, high: int) -> set[tuple[str, bool]]:
        """Put the keys of the batch's sessions to merge into the keys table; returns them.
        With `unchanged_skipped`, a session whose every listing in the batch has its stored
        row's last access and clients is left out (its earlier listings, if any, were merged
        by their own batch, which wrote the row they make, if any)."""
        table = connection.ops.quote_name(IndexedSession._meta.db_table)
        sql = f"INSERT INTO {_KEYS} SELECT DISTINCT s.session_id, s.offline FROM {_STAGE} s "  # noqa: S608
        params: list[str | int] = [low, high]
        if self.unchanged_skipped:
            sqlite = connection.vendor == "sqlite"
            # The stored last access in microseconds, computed by the database: formatting
            # each listing's as the table holds it cost the interpreter lock 0.7 µs a listing,
            # which the paging threads wait for (the compare itself runs outside it).
            last_access = (
                "(CAST(strftime('%%s', i.last_access_at) AS INTEGER) * 1000000 "
                "+ CAST(substr(i.last_access_at || '.000000', 21, 6) AS INTEGER))"
                if sqlite
                else "CAST(EXTRACT(EPOCH FROM i.last_access_at) * 1000000 AS BIGINT)"
            )
            clients = "s.clients" if sqlite else "CAST(s.clients AS JSONB)"
            joined, on = _probed(
                table, "i", "i.realm = %s AND i.session_id = s.session_id AND i.offline = s.offline"
            )
            sql += (
                f"LEFT JOIN {joined} ON {on} WHERE s.n > %s AND s.n <= %s AND (i.id IS NULL "
                f"OR {last_access} <> s.last_access_us OR CAST(i.clients AS TEXT) <> {clients})"
            )
            if not sqlite:  # jsonb equality: the same map in any order
                sql = sql.replace("CAST(i.clients AS TEXT) <>", "i.clients <>")
            params.insert(0, self.realm)
        else:
            sql += "WHERE s.n > %s AND s.n <= %s"
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {_KEYS}")  # noqa: S608
            cursor.execute(sql, params)
            cursor.execute(f"SELECT session_id, offline FROM {_KEYS}")  # noqa: S608
            return {(session_id, bool(offline)) for session_id, offline in cursor.fetchall()}

    def _earlier_pages(self, low: int, batch: list[Page]) -> list[Page]:
        """The listings before this batch (numbers up to `low`) of the batch's sessions, as
        pages in arrival order: a session listed under another client, or again in the
        overlap of two pages, in an earlier batch. Few: most sessions are listed once. What
        Keycloak fixes for a session comes from its listing in the batch."""
        sql = _earlier_listings_sql()
        with connection.cursor() as cursor:
            cursor.execute(sql, [low])
            rows = cursor.fetchall()
        if not rows:
            return []
        current = {(s.id, s.offline): s for page in batch for s in page.sessions}
        clients_of: dict[str, dict[str, str]] = {}
        pages: dict[tuple[str, bool, int], Page] = {}
        for session_id, offline, client_uuid, read_at, last_access, clients_text in rows:
            offline = bool(offline)
            clients = clients_of.get(clients_text)
            if clients is None:
                clients = clients_of[clients_text] = json.loads(clients_text)
            page = pages.get((client_uuid, offline, read_at))
            if page is None:
                page = pages[(client_uuid, offline, read_at)] = Page(
                    client_uuid=client_uuid,
                    offline=offline,
                    first=0,
                    sessions=[],
                    read_at=_moment(read_at),
                )
            fixed = current[session_id, offline]
            page.sessions.append(
                replace(fixed, last_access_at=_moment(last_access), clients=clients)
            )
        return list(pages.values())

    def _batch_stored(self) -> dict[tuple[str, bool], Stored]:
        """The stored rows of the sessions in the keys table, as refresh_merge compares them:
        the expiry as the database adapter writes it (text on SQLite, a datetime elsewhere)."""
        table = connection.ops.quote_name(IndexedSession._meta.db_table)
        sqlite = connection.vendor == "sqlite"
        # On SQLite as the text the refresh writes (not through the module's converters).
        last_access_sql, expires_sql = (
            ("CAST(i.last_access_at AS TEXT)", "CAST(i.expires_at AS TEXT)")
            if sqlite
            else ("i.last_access_at", "i.expires_at")
        )
        joined, on = _probed(
            table, "i", "i.realm = %s AND i.session_id = b.session_id AND i.offline = b.offline"
        )
        sql = (
            f"SELECT i.session_id, i.offline, i.id, {last_access_sql}, i.clients, {expires_sql} "  # noqa: S608
            f"FROM {_KEYS} b CROSS JOIN {joined} WHERE {on}"
        )
        adapt = connection.ops.adapt_datetimefield_value
        clients_of: dict[str, dict[str, str]] = {}
        stored = {}
        with connection.cursor() as cursor:
            cursor.execute(sql, [self.realm])
            for session_id, offline, pk, last_access, clients_value, expires in cursor.fetchall():
                if isinstance(clients_value, str):
                    clients = clients_of.get(clients_value)
                    if clients is None:
                        clients = clients_of[clients_value] = json.loads(clients_value)
                else:
                    clients = clients_value
                if sqlite:
                    last_access = datetime.fromisoformat(f"{last_access}+00:00")
                    expires = expires or ""
                else:
                    expires = adapt(expires) if expires else ""
                stored[session_id, bool(offline)] = Stored(pk, last_access, clients, expires)
        return stored

    def unlisted_drop(self) -> int:
        """Drop the realm's rows that no listing of this refresh names: Keycloak no longer
        holds those sessions. One anti-join against the staged listings' index finds them;
        they go in row id order (in the anti-join's order, by session id, the table's pages
        are written at random: a fifth slower)."""
        table = connection.ops.quote_name(IndexedSession._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {table} WHERE realm = %s AND NOT EXISTS (SELECT 1 FROM {_STAGE} s "  # noqa: S608
                f"WHERE s.session_id = {table}.session_id AND s.offline = {table}.offline)",
                [self.realm],
            )
            ids = sorted(pk for (pk,) in cursor.fetchall())
            for start in range(0, len(ids), _DELETE_ROWS):
                chunk = ids[start : start + _DELETE_ROWS]
                cursor.execute(
                    f"DELETE FROM {table} WHERE id IN ({', '.join(['%s'] * len(chunk))})",  # noqa: S608
                    chunk,
                )
        return len(ids)

    def last_read_at(self, key: tuple[str, bool]) -> datetime | None:
        """When the last page listing the session was requested, or None if none did."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT MAX(read_at_us) FROM {_STAGE} WHERE session_id = %s AND offline = %s",  # noqa: S608
                [key[0], key[1]],
            )
            (value,) = cursor.fetchone()
        return None if value is None else _moment(value)

    def signed_out_drop(self, all_at: datetime) -> int:
        """After a logout-all at `all_at`: drop the rows of sessions started before it whose
        last listing was read before it (the logout ended them after that page)."""
        table = connection.ops.quote_name(IndexedSession._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE realm = %s AND started_at < %s AND "  # noqa: S608
                f"(SELECT MAX(s.read_at_us) FROM {_STAGE} s WHERE s.session_id = "
                f"{table}.session_id AND s.offline = {table}.offline) <= %s",
                [self.realm, connection.ops.adapt_datetimefield_value(all_at), _us(all_at)],
            )
            return cursor.rowcount


def _pages_of(pages: list[Page], keys: set[tuple[str, bool]]) -> list[Page]:
    """The pages with only the sessions whose key is in `keys` (pages left empty dropped)."""
    kept = []
    for page in pages:
        sessions = [s for s in page.sessions if (s.id, s.offline) in keys]
        if sessions:
            kept.append(Page(page.client_uuid, page.offline, page.first, sessions, page.read_at))
    return kept
