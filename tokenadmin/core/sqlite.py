"""SQLite tuning that belongs to one kind of work, not to the whole connection (settings.py
sets the connection's pragmas)."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def unmapped_reads() -> Iterator[None]:
    """On SQLite, read without the memory map inside the block. A job that reads most of a
    realm's table once (an expiry report, a bulk job listing its sessions) would keep those
    pages in the worker's resident memory, up to the 256 MB of settings' mmap_size (a report
    at a million sessions peaked at 461 MB), while the page cache holds at most 64 MB and is
    reused. Pages, whose reads are few and repeated, keep the map."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA mmap_size")
        (mapped,) = cursor.fetchone()
        cursor.execute("PRAGMA mmap_size=0")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA mmap_size={int(mapped)}")
