"""A refresh after most sessions were used (refresh_deferred.py): on SQLite their updates wait
for the end and go in with the indexes over their columns built again; the index ends up
holding what Keycloak holds either way."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F

from tokenadmin.sessionindex import refresh, refresh_deferred, refresh_fill
from tokenadmin.sessionindex.models import IndexedSession
from tokenadmin.sessionindex.refresh import realm_index_refresh
from tokenadmin.sessionindex.refresh_deferred import DeferredUpdates
from tokenadmin.sessionindex.refresh_store import Writes

from .test_refresh import rows_of, secondary_indexes

pytestmark = pytest.mark.django_db

REALM = "mlflow"  # the worker account reads it


def every_session_used(realm: str) -> None:
    """As if every session had been used since the last refresh: each stored row is a second
    behind what Keycloak lists (the bench's --touch does the same)."""
    IndexedSession.objects.filter(realm=realm).update(
        last_access_at=F("last_access_at") - timedelta(seconds=1)
    )


def test_a_refresh_after_every_session_was_used_writes_what_keycloak_lists(kc, monkeypatch):
    kc.seed(realm=REALM, users=40, sessions=300)
    realm_index_refresh(realm=REALM)
    listed = rows_of(REALM)
    all_indexes = secondary_indexes()
    every_session_used(REALM)
    assert rows_of(REALM) != listed

    monkeypatch.setattr(refresh_fill, "FILL_INDEXES_DROPPED_MIN", 1)
    monkeypatch.setattr(refresh, "WRITE_BATCH", 50)
    during, held = [], []
    batch_write, apply = refresh._batch_write, DeferredUpdates.apply

    def watched_write(**kwargs):
        during.append((secondary_indexes(), rows_of(REALM) == listed))
        return batch_write(**kwargs)

    def watched_apply(self):
        held.append(self.held)
        return apply(self)

    monkeypatch.setattr(refresh, "_batch_write", watched_write)
    monkeypatch.setattr(DeferredUpdates, "apply", watched_apply)
    realm_index_refresh(realm=REALM)

    assert rows_of(REALM) == listed
    assert secondary_indexes() == all_indexes
    # Readers had every index all along.
    assert len(during) >= 4 and all(names == all_indexes for names, _ in during)
    if connection.vendor == "sqlite":
        # Held from the first batch: no row was written before the end.
        assert held[0] >= len(listed)  # a session listed twice is held twice
        assert not any(written for _, written in during)
    else:
        assert held == [0]  # written in place, batch by batch


def test_a_refresh_where_few_sessions_were_used_writes_them_in_place(kc, monkeypatch):
    kc.seed(realm=REALM, users=40, sessions=300)
    realm_index_refresh(realm=REALM)
    listed = rows_of(REALM)
    IndexedSession.objects.filter(
        realm=REALM, pk__in=IndexedSession.objects.filter(realm=REALM).values("pk")[:20]
    ).update(last_access_at=F("last_access_at") - timedelta(seconds=1))
    monkeypatch.setattr(refresh_fill, "FILL_INDEXES_DROPPED_MIN", 1)
    monkeypatch.setattr(refresh, "WRITE_BATCH", 50)
    held = []
    apply = DeferredUpdates.apply

    def watched_apply(self):
        held.append(self.held)
        return apply(self)

    monkeypatch.setattr(DeferredUpdates, "apply", watched_apply)
    realm_index_refresh(realm=REALM)

    assert rows_of(REALM) == listed
    assert held == [0]


@pytest.mark.sqlite_only
def test_a_whole_row_written_after_a_held_update_keeps_its_own_values(kc, monkeypatch):
    kc.seed(realm=REALM, users=5, sessions=10)
    realm_index_refresh(realm=REALM)
    monkeypatch.setattr(refresh_fill, "FILL_INDEXES_DROPPED_MIN", 1)
    first, second = IndexedSession.objects.filter(realm=REALM).order_by("pk")[:2]
    adapt = connection.ops.adapt_datetimefield_value
    held_at = first.last_access_at + timedelta(minutes=1)
    rewritten_at = first.last_access_at + timedelta(minutes=2)

    deferred = DeferredUpdates(realm=REALM, stored=True, expected=10)
    try:
        updates = [
            (adapt(held_at), adapt(row.expires_at), adapt(row.seen_at), row.pk)
            for row in (first, second)
        ]
        assert deferred.take(Writes(updates=updates), listings=2).updates == []
        # A later batch rewrites the first session's whole row (its clients changed).
        IndexedSession.objects.filter(pk=first.pk).update(last_access_at=rewritten_at)
        deferred.take(Writes(replaced=[first.pk]), listings=1)
        assert deferred.apply() == 1
    finally:
        deferred.close()
        refresh_fill.fill_indexes_build()

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.last_access_at == rewritten_at
    assert second.last_access_at == held_at


def test_only_the_indexes_over_the_updated_columns_are_built_again():
    names = refresh_deferred._indexes_over_updated_columns()
    assert "idx_sess_r_last" in names and "idx_sess_user_expires" in names
    assert "idx_sess_username" not in names and "idx_sess_r_ip" not in names


@pytest.mark.sqlite_only
def test_an_update_held_for_a_row_revoked_since_touches_no_other_row(kc, monkeypatch):
    kc.seed(realm=REALM, users=5, sessions=10)
    realm_index_refresh(realm=REALM)
    monkeypatch.setattr(refresh_fill, "FILL_INDEXES_DROPPED_MIN", 1)
    newest = IndexedSession.objects.filter(realm=REALM).latest("pk")
    adapt = connection.ops.adapt_datetimefield_value
    held_at = newest.last_access_at + timedelta(minutes=1)

    deferred = DeferredUpdates(realm=REALM, stored=True, expected=10)
    try:
        update = (adapt(held_at), adapt(newest.expires_at), adapt(newest.seen_at), newest.pk)
        deferred.take(Writes(updates=[update]), listings=1)
        # A revoke deletes the row, then a new session's row goes in.
        newest.delete()
        newest.pk = None
        newest.session_id = "a-new-session"
        newest.save()
        assert deferred.apply() == 0
    finally:
        deferred.close()
        refresh_fill.fill_indexes_build()

    newest.refresh_from_db()
    assert newest.last_access_at != held_at
