"""A refresh's listings staged in a temporary table, so that its memory does not grow with the
realm: at a million sessions, holding every listed session and every stored row took 1.6-2.1 GB.

Each page's sessions go into the connection's temporary table as they arrive (one row per
listing: a session listed under three clients is three rows), with no index: appended rows cost
a third of what the session key's index cost when written listing by listing at random places
(a third of a warm refresh's time at a million sessions); the index is built by one sort when
the paging is done. The pages of the current batch stay in memory too. Every WRITE_BATCH
listings, one statement compares the batch's listings with their stored rows in the database and
keeps the keys of the sessions that may have changed (new, used since, other clients): in the
steady state nearly none.

Of those, the sessions no earlier batch listed are merged in Python from the batch in memory,
compared with their stored rows (read for those sessions only) and written. The others (listed
under another client, or again where two pages overlap, in an earlier batch) wait in a table of
their own until the end, when the index finds all their listings: which sessions an earlier
batch listed is told without the index by a table of the batch that last listed each hash slot
(a slot shared with another session only sends a session to the end needlessly, never the other
way). At the end, the stored rows that no listing names are dropped by one anti-join. Python
holds one batch at a time.
"""

import json
from array import array
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from django.db import connection

from tokenadmin.keycloak.types import KcSession

from .models import IndexedSession
from .paging import Page
from .refresh_store import Stored, _datetime_adapter, keyed_stored_read, temporary_rows_append

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
# Temporary tables live in the connection (SQLite: in its own temporary database, so staging
# takes no lock of the main one; PostgreSQL: in the session's temporary schema).
# One row per listing. Keycloak fixes a session's user, address, start and remember-me when it
# creates it: those are not staged (a third more per listing), but taken from the batch.
_STAGE = "tokenadmin_refresh_stage"
_STAGE_COLUMNS = ("n", "session_id", "offline", "page", "clients", "last_access_db")
# One row per page: its list's client and when it was requested.
_PAGES = "tokenadmin_refresh_pages"
_PAGES_COLUMNS = ("page", "client_uuid", "read_at_us")
# The keys of the sessions to merge in Python now (the others equal their row).
_KEYS = "tokenadmin_refresh_keys"
# The sessions merged at the end, numbered, with what Keycloak fixed for them.
_LATER = "tokenadmin_refresh_later"
_LATER_COLUMNS = (
    "d",
    "session_id",
    "offline",
    "user_id",
    "username",
    "ip_address",
    "started_at_us",
    "remember_me",
)

# SQLite page cache of the temporary database while a refresh stages (KiB): bounded, as it
# counts in the worker's memory; the index built at the end is about 60 MB at 1M listings.
STAGE_CACHE_KIB = 49152
# Listings per insert: each insert is a statement (one per page of 100 took 67 µs a listing).
STAGE_INSERT_ROWS = 5000
# Row ids per DELETE of the rows no listing names.
_DELETE_ROWS = 500
# Sessions merged at once at the end.
LATER_ROWS = 20000
# Hash slots, each holding the number of the batch that last listed a session of that slot
# (16 MB; at a million sessions about one slot in eight is taken).
_SLOTS = 1 << 23
_SLOT_MASK = _SLOTS - 1
# The last batch number a slot can hold: from that batch on, every session to merge waits for
# the end (a billion listings).
_BATCH_MAX = 0xFFFF


def _us(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (a datetime's own resolution)."""
    return (moment - _EPOCH) // _US


def _moment(us: int) -> datetime:
    return _EPOCH + us * _US


def _slot(key: tuple[str, bool]) -> int:
    return hash(key) & _SLOT_MASK


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
        self._adapt_datetime = _datetime_adapter()
        self.staged = 0  # listings so far; listing numbers run 1..staged
        self.flushed = 0  # listings up to this number were merged and written
        self.sessions_seen = 0  # distinct sessions listed, counted at the end
        self._later_numbered = 0  # numbers given to sessions merged at the end
        self._pages = 0
        # A realm has a few client sets, shared by its sessions: each encoded once.
        self._client_texts: dict[tuple[tuple[str, str], ...], str] = {}
        # Listings and pages not inserted yet: inserted STAGE_INSERT_ROWS listings at a time.
        self._pending: list[tuple] = []
        self._pending_pages: list[tuple] = []
        # The pages of the current batch, as they arrived: merged from memory, not read back.
        self._batch: list[Page] = []
        self._taken: list[Page] = []  # what batch_select kept for batch_take
        # The number of the batch that last listed a session of each hash slot (0: none yet),
        # and the slots of the current batch that an earlier batch had listed.
        self._batch_number = 1
        self._slot_batches = array("H", bytes(2 * _SLOTS))
        self._slots_listed_before: set[int] = set()
        self._indexed = False
        self._tables_create()

    def _tables_create(self) -> None:
        # On SQLite the listing number is the row id (no second B-tree), and the temporary
        # database gets a page cache of its own, bounded.
        sqlite = connection.vendor == "sqlite"
        number = "INTEGER" if sqlite else "BIGINT"
        # The last access as the index table holds it (text on SQLite), compared in SQL.
        moment = "TEXT" if sqlite else "TIMESTAMP WITH TIME ZONE"
        key = "session_id VARCHAR(64) NOT NULL, offline BOOLEAN NOT NULL"
        with connection.cursor() as cursor:
            if sqlite:
                cursor.execute(f"PRAGMA temp.cache_size = {-STAGE_CACHE_KIB}")
                # Nothing to roll back: the tables are dropped if the refresh stops.
                cursor.execute("PRAGMA temp.journal_mode = OFF")
            for table in (_STAGE, _PAGES, _KEYS, _LATER):
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {_STAGE} (n {number} PRIMARY KEY, {key}, "
                f"page {number} NOT NULL, clients TEXT, last_access_db {moment} NOT NULL)"
            )
            cursor.execute(
                f"CREATE TEMPORARY TABLE {_PAGES} (page {number} PRIMARY KEY, "
                "client_uuid VARCHAR(64) NOT NULL, read_at_us BIGINT NOT NULL)"
            )
            cursor.execute(
                f"CREATE TEMPORARY TABLE {_KEYS} ({key}, PRIMARY KEY (session_id, offline))"
            )
            cursor.execute(
                f"CREATE TEMPORARY TABLE {_LATER} (d {number} PRIMARY KEY, {key}, "
                "user_id VARCHAR(64) NOT NULL, username VARCHAR(255) NOT NULL, "
                "ip_address VARCHAR(64) NOT NULL, started_at_us BIGINT NOT NULL, "
                "remember_me BOOLEAN NOT NULL, UNIQUE (session_id, offline))"
            )

    def close(self) -> None:
        with connection.cursor() as cursor:
            for table in (_STAGE, _PAGES, _KEYS, _LATER):
                cursor.execute(f"DROP TABLE IF EXISTS {table}")

    def add(self, page: Page) -> None:
        """Stage a page's sessions; each session's clients map once per distinct map."""
        if not page.sessions:
            return
        self._batch.append(page)
        self._pages += 1
        number = self._pages
        self._pending_pages.append((number, page.client_uuid, _us(page.read_at)))
        texts = self._client_texts
        adapt = self._adapt_datetime
        rows = self._pending
        slot_batches = self._slot_batches
        batch = self._batch_number
        listed_before = self._slots_listed_before
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
                    number,
                    clients,
                    adapt(session.last_access_at),
                )
            )
            slot = hash((session.id, session.offline)) & _SLOT_MASK
            last = slot_batches[slot]
            if last != batch:
                # The slot's first listing in this batch: what it held is an earlier batch.
                if last:
                    listed_before.add(slot)
                slot_batches[slot] = batch
        if len(rows) >= STAGE_INSERT_ROWS:
            self._insert()

    def _insert(self) -> None:
        temporary_rows_append(_PAGES, _PAGES_COLUMNS, self._pending_pages)
        temporary_rows_append(_STAGE, _STAGE_COLUMNS, self._pending)
        self._pending = []
        self._pending_pages = []

    @property
    def unflushed(self) -> int:
        return self.staged - self.flushed

    def batch_select(self) -> int:
        """Close the batch of the sessions listed since the last call: keep those that may
        differ from their stored row (the others, in the steady state nearly all, equal it in
        every listing of the batch). Those an earlier batch listed too wait for the end (see
        later_take); returns how many are kept for batch_take."""
        self._insert()
        low, high = self.flushed, self.staged
        self.flushed = high
        batch, self._batch = self._batch, []
        listed_before, self._slots_listed_before = self._slots_listed_before, set()
        every_one_later = self._batch_number == _BATCH_MAX  # the slots can count no further
        self._batch_number = min(self._batch_number + 1, _BATCH_MAX)
        keys = self._keys_fill(low, high)
        later = {key for key in keys if every_one_later or _slot(key) in listed_before}
        if later:
            self._later_add(later, batch)
            keys -= later
        self._taken = _pages_of(batch, keys) if len(keys) < high - low else batch
        return len(keys)

    def batch_take(self) -> tuple[list[Page], dict[tuple[str, bool], Stored]]:
        """The sessions batch_select kept (as pages, in arrival order), and their stored
        rows."""
        batch, self._taken = self._taken, []
        return batch, keyed_stored_read(self.realm, _KEYS) if self.stored else {}

    def _later_add(self, keys: set[tuple[str, bool]], batch: list[Page]) -> None:
        """Put `keys` in the table of sessions merged at the end (once each), with what Keycloak
        fixed for them, and out of this batch's keys table."""
        rows = []
        added: set[tuple[str, bool]] = set()
        for page in batch:
            for session in page.sessions:
                key = (session.id, session.offline)
                if key not in keys or key in added:
                    continue
                added.add(key)
                self._later_numbered += 1
                rows.append(
                    (
                        self._later_numbered,
                        session.id,
                        session.offline,
                        session.user_id,
                        session.username,
                        session.ip_address,
                        _us(session.started_at),
                        session.remember_me,
                    )
                )
        columns = ", ".join(_LATER_COLUMNS)
        values = ", ".join(["%s"] * len(_LATER_COLUMNS))
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {_LATER} ({columns}) VALUES ({values}) "  # noqa: S608
                "ON CONFLICT (session_id, offline) DO NOTHING",
                rows,
            )
            cursor.executemany(
                f"DELETE FROM {_KEYS} WHERE session_id = %s AND offline = %s",  # noqa: S608
                [(row[1], row[2]) for row in rows],
            )

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
            last_access = "CAST(i.last_access_at AS TEXT)" if sqlite else "i.last_access_at"
            clients = "s.clients" if sqlite else "CAST(s.clients AS JSONB)"
            sql += (
                f"LEFT JOIN {table} i ON i.realm = %s AND i.session_id = s.session_id "
                "AND i.offline = s.offline WHERE s.n > %s AND s.n <= %s AND (i.id IS NULL "
                f"OR {last_access} <> s.last_access_db OR CAST(i.clients AS TEXT) <> {clients})"
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

    def index_build(self) -> None:
        """Index the listings by session, by one sort (once the paging is done): the end's
        merges, anti-join and counts look sessions up."""
        if self._indexed:
            return
        self._insert()
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE INDEX {_STAGE}_key ON {_STAGE} (session_id, offline, n)")
        self._indexed = True

    def later_take(self) -> Iterator[tuple[list[Page], dict[tuple[str, bool], Stored]]]:
        """The sessions that waited for the end, LATER_ROWS at a time: each with every listing
        (as pages, in arrival order), and their stored rows."""
        self.index_build()
        for low in range(0, self._later_numbered, LATER_ROWS):
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {_KEYS}")  # noqa: S608
                cursor.execute(
                    f"INSERT INTO {_KEYS} SELECT session_id, offline FROM {_LATER} "  # noqa: S608
                    "WHERE d > %s AND d <= %s",
                    [low, low + LATER_ROWS],
                )
            pages = self._later_pages()
            if pages:
                yield pages, keyed_stored_read(self.realm, _KEYS) if self.stored else {}

    def _later_pages(self) -> list[Page]:
        """Every listing of the sessions in the keys table, as pages in arrival order; what
        Keycloak fixed for each session from the table of those merged at the end."""
        sql = (
            "SELECT s.session_id, s.offline, p.client_uuid, p.read_at_us, s.last_access_db, "  # noqa: S608
            "s.clients, l.user_id, l.username, l.ip_address, l.started_at_us, l.remember_me "
            # CROSS JOIN: SQLite then reads the few keys first and probes the stage's index.
            f"FROM {_KEYS} b CROSS JOIN {_LATER} l CROSS JOIN {_STAGE} s CROSS JOIN {_PAGES} p "
            "WHERE l.session_id = b.session_id AND l.offline = b.offline "
            "AND s.session_id = b.session_id AND s.offline = b.offline AND p.page = s.page "
            "ORDER BY s.n"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql)
            rows = cursor.fetchall()
        clients_of: dict[str, dict[str, str]] = {}
        pages: dict[tuple[str, bool, int], Page] = {}
        for (
            session_id,
            offline,
            client_uuid,
            read_at,
            last_access,
            clients_text,
            *fixed,
        ) in rows:
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
            user_id, username, ip_address, started_at, remember_me = fixed
            page.sessions.append(
                KcSession(
                    id=session_id,
                    user_id=user_id,
                    username=username,
                    ip_address=ip_address,
                    started_at=_moment(started_at),
                    last_access_at=_moment_read(last_access),
                    remember_me=bool(remember_me),
                    clients=clients,
                    offline=offline,
                )
            )
        return list(pages.values())

    def sessions_count(self) -> int:
        """Count the distinct sessions listed (once, at the end, over the index); kept in
        sessions_seen."""
        self.index_build()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM (SELECT DISTINCT session_id, offline FROM {_STAGE}) k"  # noqa: S608
            )
            self.sessions_seen = cursor.fetchone()[0]
        return self.sessions_seen

    def unlisted_drop(self) -> int:
        """Drop the realm's rows that no listing of this refresh names: Keycloak no longer
        holds those sessions. One anti-join against the staged listings' index finds them;
        they go in row id order (in the anti-join's order, by session id, the table's pages
        are written at random: a fifth slower)."""
        self.index_build()
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
        self.index_build()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT MAX(p.read_at_us) FROM {_STAGE} s JOIN {_PAGES} p ON p.page = s.page "  # noqa: S608
                "WHERE s.session_id = %s AND s.offline = %s",
                [key[0], key[1]],
            )
            (value,) = cursor.fetchone()
        return None if value is None else _moment(value)

    def signed_out_drop(self, all_at: datetime) -> int:
        """After a logout-all at `all_at`: drop the rows of sessions started before it whose
        last listing was read before it (the logout ended them after that page)."""
        self.index_build()
        table = connection.ops.quote_name(IndexedSession._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE realm = %s AND started_at < %s AND "  # noqa: S608
                f"(SELECT MAX(p.read_at_us) FROM {_STAGE} s JOIN {_PAGES} p ON p.page = s.page "
                f"WHERE s.session_id = {table}.session_id AND s.offline = {table}.offline) <= %s",
                [self.realm, connection.ops.adapt_datetimefield_value(all_at), _us(all_at)],
            )
            return cursor.rowcount


def _moment_read(value: object) -> datetime:
    """A last access as the stage holds it: the adapter's text on SQLite (naive UTC), a
    datetime elsewhere."""
    if isinstance(value, str):
        return datetime.fromisoformat(f"{value}+00:00")
    assert isinstance(value, datetime)
    return value


def _pages_of(pages: list[Page], keys: set[tuple[str, bool]]) -> list[Page]:
    """The pages with only the sessions whose key is in `keys` (pages left empty dropped)."""
    kept = []
    for page in pages:
        sessions = [s for s in page.sessions if (s.id, s.offline) in keys]
        if sessions:
            kept.append(Page(page.client_uuid, page.offline, page.first, sessions, page.read_at))
    return kept
