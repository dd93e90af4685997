"""A first fill of a large realm on SQLite: the index table's secondary indexes are dropped
while its rows go in, and built again, each by one sort, in the refresh's last transaction.

Written row by row, each of the ten secondary indexes takes every new row at a random place:
once the indexes outgrow the page cache (a few hundred thousand rows), every row costs page
reads and writes per index, and a first fill of a million sessions took over ten minutes. A
build sorts the rows once per index. Only when the realm is large and the table's other rows
fewer than the new ones (the rebuild covers every realm's rows); while the fill runs, pages of
every realm read without those indexes (slower, the same answers). The unique key and the
search table's triggers stay. A refresh that stops half-way builds them again on its way out,
and every refresh starts by building any that are missing (a worker killed during a fill).
"""

from collections.abc import Sequence

from django.db import connection
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.models import Index

from .models import IndexedSession

# A first fill expecting at least this many listings drops the indexes while it writes.
FILL_INDEXES_DROPPED_MIN = 50_000


def _schema_editor() -> BaseDatabaseSchemaEditor:
    # Only to produce the statements, never entered: its entry refuses to run inside a
    # transaction on SQLite, and the build belongs in the refresh's last one.
    return connection.schema_editor(collect_sql=True, atomic=False)


def fill_indexes_drop(*, realm: str, expected: int) -> bool:
    """Drop the secondary indexes for a first fill of `realm` expecting `expected` listings,
    when that pays (SQLite, a large realm, fewer other rows); returns whether it did."""
    if connection.vendor != "sqlite" or expected < FILL_INDEXES_DROPPED_MIN:
        return False
    if IndexedSession.objects.exclude(realm=realm).count() > expected:
        return False
    with connection.cursor() as cursor:
        for index in _existing(IndexedSession._meta.indexes):
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(str(index.name))}")
    return True


def fill_indexes_build() -> int:
    """Build the secondary indexes that are missing (after a fill); returns how many."""
    if connection.vendor != "sqlite":
        return 0
    editor = _schema_editor()
    present = {index.name for index in _existing(IndexedSession._meta.indexes)}
    missing = [index for index in IndexedSession._meta.indexes if index.name not in present]
    with connection.cursor() as cursor:
        for index in missing:
            cursor.execute(str(index.create_sql(IndexedSession, editor)))
    return len(missing)


def _existing(indexes: Sequence[Index]) -> list[Index]:
    table = IndexedSession._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s", [table]
        )
        names = {name for (name,) in cursor.fetchall()}
    return [index for index in indexes if index.name in names]
