"""A refresh of a large realm where most sessions were used since the last one (a busy realm:
every app refreshing its tokens): their new last access and expiry wait in a temporary table
and go into the index table at the end, in the refresh's last transaction, with the indexes
over those columns dropped before and built again after, each by one sort.

Written in place, each used session moves its entries in five indexes, each at a random place,
and each batch rewrites most of those indexes' pages: at 1M rows on SQLite, 1.5 s per batch of
20,000, and a refresh after every session was used took 121 s (6.2x its paging). At the end, the
same rows: 1.2 s for the update without those indexes and 5.7 s for their builds.

SQLite only. Readers keep the last committed state (WAL), indexes included, until the commit,
and the write lock is held as long as a first fill's builds hold it. On PostgreSQL a DROP INDEX
would lock the table's readers out until the commit: updates are written in place there.
"""

import sqlite3

from django.db import connection

from .models import IndexedSession
from .refresh_fill import fill_indexes_rebuild_pays
from .refresh_store import Writes

# A batch whose narrow updates are at least this share of its listings starts the deferral
# (for the rest of the refresh): about as many again will follow in every later batch.
DEFERRED_FROM_SHARE = 0.5
# The narrow update's fields (refresh_store._rows_write): the indexes holding any of them are
# the ones dropped and built again.
_UPDATED_FIELDS = ("last_access_at", "expires_at", "seen_at")
_TABLE = "tokenadmin_refresh_deferred"
# Rows per INSERT statement: 4 columns each, under SQLite's 32,766 parameters.
_VALUES_ROWS = 8000


class DeferredUpdates:
    """The narrow updates of one refresh, held back once a batch shows that most sessions
    changed; `enabled` only where that can pay (SQLite, a large warm realm)."""

    def __init__(self, *, realm: str, stored: bool, expected: int) -> None:
        self.realm = realm
        self.expected = expected
        self.enabled = connection.vendor == "sqlite" and stored
        self.active = False
        self.held = 0  # updates held so far (a session updated twice counts twice)

    def take(self, writes: Writes, *, listings: int) -> Writes:
        """What to write now of a batch's `writes` (of `listings` listings): all of it until
        the deferral starts, then only the whole rows (the updates are held)."""
        if not self.active and not (
            self.enabled and len(writes.updates) >= listings * DEFERRED_FROM_SHARE and self._start()
        ):
            return writes
        self._hold(writes.updates, replaced=writes.replaced)
        return Writes(upserts=writes.upserts)

    def _start(self) -> bool:
        """Start holding updates if rebuilding the indexes pays; returns whether it started
        (if not, it never will in this refresh)."""
        if not fill_indexes_rebuild_pays(realm=self.realm, expected=self.expected):
            self.enabled = False
            return False
        self.active = True
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {_TABLE}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {_TABLE} (id INTEGER PRIMARY KEY, "
                "last_access_at TEXT NOT NULL, expires_at TEXT NOT NULL, seen_at TEXT NOT NULL)"
            )
        return True

    def _hold(self, updates: list[tuple], *, replaced: list[int]) -> None:
        with connection.cursor() as cursor:
            # A whole row written now (its clients changed) supersedes an update held for it.
            for start in range(0, len(replaced), _VALUES_ROWS):
                ids = replaced[start : start + _VALUES_ROWS]
                cursor.execute(
                    f"DELETE FROM {_TABLE} WHERE id IN ({', '.join(['%s'] * len(ids))})",  # noqa: S608
                    ids,
                )
            # Held by row id: a session updated again by a later batch (listed again under
            # another client, every listing so far merged) keeps only that later update. Ids
            # are never reused (AUTOINCREMENT): an update held for a row a revoke deleted since
            # finds nothing.
            # Straight to the database module, in its own placeholders: Django's rewriting of
            # every "%s" costs as much as the insert (refresh_stage.Stage._insert).
            for start in range(0, len(updates), _VALUES_ROWS):
                chunk = updates[start : start + _VALUES_ROWS]
                sqlite3.Cursor.execute(
                    cursor.cursor,
                    f"INSERT OR REPLACE INTO {_TABLE} (last_access_at, expires_at, seen_at, id) "  # noqa: S608
                    "VALUES " + ", ".join(["(?, ?, ?, ?)"] * len(chunk)),
                    [value for update in chunk for value in update],
                )
        self.held += len(updates)

    def apply(self) -> int:
        """Write the held updates (inside the refresh's last transaction), with the indexes
        over their columns dropped; the caller builds them again (fill_indexes_build).
        Returns how many rows were updated (rows deleted since, by a revoke, are not)."""
        if not self.active:
            return 0
        table = connection.ops.quote_name(IndexedSession._meta.db_table)
        with connection.cursor() as cursor:
            for name in _indexes_over_updated_columns():
                cursor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(name)}")
            # Row by row in row id order, each found by its id: as UPDATE ... FROM, SQLite
            # walked the table by another index and wrote its rows at random (6.0 s against
            # 1.2 s for 1M rows).
            cursor.execute(
                f"UPDATE {table} SET (last_access_at, expires_at, seen_at) = "  # noqa: S608
                f"(SELECT d.last_access_at, d.expires_at, d.seen_at FROM {_TABLE} d "
                f"WHERE d.id = {table}.id) WHERE id IN (SELECT id FROM {_TABLE})"
            )
            return cursor.rowcount

    def close(self) -> None:
        if self.active:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {_TABLE}")


def _indexes_over_updated_columns() -> list[str]:
    return [
        str(index.name)
        for index in IndexedSession._meta.indexes
        if set(index.fields) & set(_UPDATED_FIELDS)
    ]
