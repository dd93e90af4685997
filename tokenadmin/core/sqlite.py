"""SQLite tuning that belongs to one kind of work, not to the whole connection (settings.py
sets the connection's pragmas)."""

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from django.db import connection


@contextmanager
def _pragma_for(name: str, value: int) -> Iterator[None]:
    """On SQLite, this value of the pragma inside the block, then the connection's own again."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA {name}")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA {name}={int(value)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA {name}={int(previous)}")


def unmapped_reads() -> AbstractContextManager[None]:
    """On SQLite, read without the memory map inside the block. A job that reads most of a
    realm's table once (an expiry report, a bulk job listing its sessions) would keep those
    pages in the worker's resident memory, up to the 256 MB of settings' mmap_size (a report
    at a million sessions peaked at 461 MB), while the page cache holds at most 64 MB and is
    reused. Pages, whose reads are few and repeated, keep the map."""
    return _pragma_for("mmap_size", 0)


def page_cache(kib: int) -> AbstractContextManager[None]:
    """On SQLite, a page cache of `kib` KiB inside the block. Each sort SQLite runs also holds
    up to the cache's size in memory, beside the cache: work that sorts a whole table (index
    builds, aggregates) is as fast with a small one and holds far less."""
    return _pragma_for("cache_size", -int(kib))
