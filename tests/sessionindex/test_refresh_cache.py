"""The SQLite page cache a refresh writes with: a first fill's own, smaller one (its memory at
a million sessions), the refresh's otherwise, and the connection's own again afterwards."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F

from tokenadmin.sessionindex import refresh
from tokenadmin.sessionindex.models import IndexedSession
from tokenadmin.sessionindex.refresh import realm_index_refresh
from tokenadmin.sessionindex.refresh_fill import FILL_CACHE_KIB
from tokenadmin.sessionindex.refresh_store import SQLITE_CACHE_KIB

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite_only]


def cache_size() -> int:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA main.cache_size")
        return cursor.fetchone()[0]


def test_a_first_fill_writes_with_its_own_page_cache_and_a_later_refresh_with_its(kc, monkeypatch):
    before = cache_size()
    assert before not in (-FILL_CACHE_KIB, -SQLITE_CACHE_KIB)
    seen: list[int] = []
    batch_write = refresh._batch_write

    def watched(**kwargs):
        seen.append(cache_size())
        return batch_write(**kwargs)

    monkeypatch.setattr(refresh, "WRITE_BATCH", 2)
    monkeypatch.setattr(refresh, "_batch_write", watched)
    realm_index_refresh(realm="mlflow")  # a first fill
    filled = len(seen)
    assert filled and set(seen) == {-FILL_CACHE_KIB}
    assert cache_size() == before

    # Every session used since: the next refresh writes batches too.
    IndexedSession.objects.filter(realm="mlflow").update(
        last_access_at=F("last_access_at") - timedelta(seconds=1)
    )
    realm_index_refresh(realm="mlflow")
    assert len(seen) > filled and set(seen[filled:]) == {-SQLITE_CACHE_KIB}
    assert cache_size() == before
