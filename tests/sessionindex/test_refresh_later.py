"""Sessions listed in several batches of one refresh (under two clients, or where two pages
overlap) wait for the end and are merged there from every listing (refresh_stage.py): the
rows are the ones a refresh gives that writes everything at once."""

import pytest

from tokenadmin.sessionindex import refresh, refresh_stage
from tokenadmin.sessionindex.models import IndexedSession, RealmIndex
from tokenadmin.sessionindex.refresh import realm_index_refresh

pytestmark = pytest.mark.django_db

REALMS = ("mlflow", "master")  # master: an offline session under two clients


def rows_of() -> list[tuple]:
    """Every indexed row as a user sees it (not when it was written)."""
    return sorted(
        IndexedSession.objects.filter(realm__in=REALMS).values_list(
            "realm",
            "session_id",
            "offline",
            "user_id",
            "username",
            "ip_address",
            "started_at",
            "last_access_at",
            "remember_me",
            "clients",
            "client_ids_text",
            "expires_at",
            "search_text",
        ),
        key=repr,
    )


def rows_from_scratch() -> list[tuple]:
    """The rows a first fill gives that writes every session in one batch."""
    IndexedSession.objects.filter(realm__in=REALMS).delete()
    RealmIndex.objects.filter(realm__in=REALMS).delete()
    for realm in REALMS:
        realm_index_refresh(realm=realm)
    return rows_of()


@pytest.mark.parametrize("slots", ["own slots", "one slot for all", "batch numbers used up"])
def test_sessions_listed_in_several_batches_get_the_rows_of_one_batch(kc, monkeypatch, slots):
    kc.seed(realm="mlflow", users=40, sessions=450, offline_ratio=0.3)
    oidc = kc.openid("mlflow", "mlflow", "mlflow-secret")
    tokens = oidc.token("mlflow_user", "mlflow_user")
    waited: list[int] = []
    later_add = refresh_stage.Stage._later_add

    def counted(self, keys, batch):
        waited.append(len(keys))
        return later_add(self, keys, batch)

    def every_page_a_batch() -> None:
        monkeypatch.setattr(refresh, "WRITE_BATCH", 1)
        monkeypatch.setattr(refresh_stage.Stage, "_later_add", counted)
        if slots == "one slot for all":  # every session shares one slot with every other
            monkeypatch.setattr(refresh_stage, "_SLOT_MASK", 0)
        if slots == "batch numbers used up":  # from the second batch on, all wait
            monkeypatch.setattr(refresh_stage, "_BATCH_MAX", 2)

    every_page_a_batch()
    for realm in REALMS:  # a first fill: every session is new
        realm_index_refresh(realm=realm, concurrency=1)
    filled = rows_of()
    monkeypatch.undo()
    assert sum(waited) > 0  # pages overlap: the sessions they share waited for the end
    assert filled == rows_from_scratch()

    kc.advance(60)
    oidc.refresh_token(tokens["refresh_token"])  # used since: a changed session
    every_page_a_batch()
    for realm in REALMS:  # against the rows stored: only changed sessions are merged
        realm_index_refresh(realm=realm, concurrency=1)
    refreshed = rows_of()
    monkeypatch.undo()
    assert refreshed != filled
    assert refreshed == rows_from_scratch()
