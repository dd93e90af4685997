"""A first fill of a large realm: the index table's secondary indexes are dropped while its rows
go in, and built again, each by one sort, in the refresh's last transaction.

Written row by row, each secondary index takes every new row at a random place: once the
indexes outgrow the database's cache (a few hundred thousand rows), every row costs page reads
and writes per index. On SQLite a first fill of a million sessions took over ten minutes; on
PostgreSQL the search's trigram index (GIN, migration 0006) is the costliest to keep up row by
row. A build sorts the rows once per index. Only when the realm is large and the table's other
rows fewer than the new ones (the rebuild covers every realm's rows); while the fill runs,
pages of every realm read without those indexes (slower, the same answers). The unique key
(and SQLite's search table with its triggers) stays. A refresh that stops half-way builds them
again on its way out, and every refresh starts by building any that are missing (a worker
killed during a fill).
"""

from django.db import connection
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from tokenadmin.core.sqlite import page_cache

from .models import IndexedSession
from .refresh_store import WHOLE_TABLE_CACHE_KIB

# A first fill expecting at least this many listings drops the indexes while it writes.
FILL_INDEXES_DROPPED_MIN = 50_000
# SQLite page cache while a first fill writes (KiB; the refresh's own is 32 MB): without the
# secondary indexes it appends rows and fills the unique key and the search table, and each
# sort of its batches also holds up to the cache's size. At 1M under churn, peaks of 298 and
# 295 MB against 326 and 329 MB with 32 MB, in the same time (93-97 s).
FILL_CACHE_KIB = 16384
# PostgreSQL's trigram index over the search text, as migration 0006 creates it (only where
# the pg_trgm extension could be created).
_TRIGRAM_INDEX = "idx_sess_search_trgm"
_TRIGRAM_INDEX_SQL = (
    f"CREATE INDEX {_TRIGRAM_INDEX} ON {IndexedSession._meta.db_table} "
    "USING gin (search_text gin_trgm_ops)"
)


def _schema_editor() -> BaseDatabaseSchemaEditor:
    # Only to produce the statements, never entered: its entry refuses to run inside a
    # transaction on SQLite, and the build belongs in the refresh's last one.
    return connection.schema_editor(collect_sql=True, atomic=False)


def fill_indexes_rebuild_pays(*, realm: str, expected: int) -> bool:
    """Whether building the indexes again by one sort each pays for writes of `realm`
    expecting `expected` listings: a large realm, and fewer rows of other realms (the builds
    cover them too)."""
    if connection.vendor not in ("sqlite", "postgresql") or expected < FILL_INDEXES_DROPPED_MIN:
        return False
    return IndexedSession.objects.exclude(realm=realm).count() <= expected


def fill_indexes_drop(*, realm: str, expected: int) -> bool:
    """Drop the secondary indexes for a first fill of `realm` expecting `expected` listings,
    when that pays; returns whether it did."""
    if not fill_indexes_rebuild_pays(realm=realm, expected=expected):
        return False
    with connection.cursor() as cursor:
        for name in sorted(_secondary_indexes() & _present()):
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    return True


def fill_page_cache_set() -> None:
    """On SQLite, the first fill's page cache for the rest of the refresh (the refresh puts
    the connection's own back when it ends)."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA main.cache_size = {-int(FILL_CACHE_KIB)}")


def fill_indexes_build() -> int:
    """Build the secondary indexes that are missing (after a fill); returns how many."""
    if connection.vendor not in ("sqlite", "postgresql"):
        return 0
    missing = _secondary_indexes() - _present()
    if not missing:
        return 0
    editor = _schema_editor()
    with page_cache(WHOLE_TABLE_CACHE_KIB), connection.cursor() as cursor:
        for index in IndexedSession._meta.indexes:
            if index.name in missing:
                cursor.execute(str(index.create_sql(IndexedSession, editor)))
        if _TRIGRAM_INDEX in missing:
            cursor.execute(_TRIGRAM_INDEX_SQL)
    return len(missing)


def fill_analyze() -> None:
    """After a first fill of any size, on PostgreSQL: statistics for the rows just loaded (its
    advice after a bulk load). Planned from those of a smaller table, a batch's probe of a new
    realm's rows took any index starting with the realm and read all its rows per session."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {IndexedSession._meta.db_table}")


def _secondary_indexes() -> set[str]:
    """The names of the index table's secondary indexes on this database."""
    names = {str(index.name) for index in IndexedSession._meta.indexes}
    if connection.vendor == "postgresql" and _trigram_available():
        names.add(_TRIGRAM_INDEX)
    return names


def _trigram_available() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        return cursor.fetchone() is not None


def _present() -> set[str]:
    table = IndexedSession._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s", [table]
            )
        else:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
        return {name for (name,) in cursor.fetchall()}
