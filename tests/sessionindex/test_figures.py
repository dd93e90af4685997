"""Figures kept with the index (figures.py): after refreshes, revokes and clock moves, what the
pages read from them equals a fresh count of the live rows."""

from datetime import UTC, datetime, timedelta

import pytest

from tokenadmin.sessionindex import refresh
from tokenadmin.sessionindex.figures import realm_figures_live_select
from tokenadmin.sessionindex.forget import (
    indexed_realm_sessions_forget,
    indexed_sessions_forget,
    indexed_user_sessions_forget,
)
from tokenadmin.sessionindex.models import IndexedSession, RealmFigures
from tokenadmin.sessionindex.refresh import realm_index_refresh
from tokenadmin.sessionindex.selectors import (
    indexed_clients_select,
    indexed_realms_select,
    realm_figures_select,
    realm_totals_select,
    sessions_summary_select,
)

pytestmark = pytest.mark.django_db

# Where the checks look: now, inside the first bucket, across bucket bounds, past most expiries.
OFFSETS_S = (0, 1, 1800, 3600, 5 * 3600, 7 * 3600, 86400 + 5, 8 * 86400, 31 * 86400, 90 * 86400)


def fresh(realm: str, now: datetime) -> tuple:
    """What counting the rows gives: cards, chart, clients, realm totals."""
    rows = IndexedSession.objects.filter(realm=realm)
    summary = sessions_summary_select(sessions=rows, now=now)
    counted = indexed_clients_select(realm=realm, now=now)
    clients = [(c.client_uuid, c.client_id, c.sessions) for c in counted]
    live = IndexedSession.objects.filter(realm=realm).exclude(expires_at__lte=now)
    totals = (live.filter(offline=False).count(), live.filter(offline=True).count())
    return summary, sorted(clients), totals


def kept(realm: str, now: datetime) -> tuple:
    """What the pages read from the kept figures."""
    assert RealmFigures.objects.filter(realm=realm).exists()  # else the pages count rows
    summary, clients = realm_figures_select(realm=realm, now=now)
    live, _ended = realm_totals_select(realm=realm, now=now)
    [listed] = indexed_realms_select(realms=[realm], now=now)
    assert (listed.regular, listed.offline) == (live.online, live.offline)
    return (
        summary,
        sorted((c.client_uuid, c.client_id, c.sessions) for c in clients),
        (
            live.online,
            live.offline,
        ),
    )


def assert_kept_equal_fresh(realm: str, base: datetime) -> None:
    for offset in OFFSETS_S:
        now = base + timedelta(seconds=offset)
        assert kept(realm, now) == fresh(realm, now), offset


def keycloak_now(kc) -> datetime:
    return datetime.fromtimestamp(kc.now(), tz=UTC)


def test_kept_figures_equal_a_fresh_count_through_refreshes_revokes_and_clock_moves(kc):
    kc.seed(realm="mlflow", users=40, sessions=300, offline_ratio=0.3)
    realm_index_refresh(realm="mlflow")
    assert_kept_equal_fresh("mlflow", keycloak_now(kc))
    figures = RealmFigures.objects.get(realm="mlflow")
    assert figures.online + figures.offline == IndexedSession.objects.filter(realm="mlflow").count()

    # Revokes: a regular session, an offline one (with its online twin), one user's sessions.
    rows = IndexedSession.objects.filter(realm="mlflow")
    regular = rows.filter(offline=False).first()
    offline = rows.filter(offline=True).last()
    indexed_sessions_forget(realm="mlflow", session_ids=[regular.session_id], offline=False)
    indexed_sessions_forget(realm="mlflow", session_ids=[offline.session_id], offline=True)
    user_id = rows.filter(offline=False).values_list("user_id", flat=True).first()
    assert indexed_user_sessions_forget(realm="mlflow", user_id=user_id) > 0
    assert_kept_equal_fresh("mlflow", keycloak_now(kc))

    # Keycloak's clock two days on: many sessions ended; before a refresh and after one.
    kc.advance(2 * 86400)
    assert_kept_equal_fresh("mlflow", keycloak_now(kc))
    realm_index_refresh(realm="mlflow")
    assert_kept_equal_fresh("mlflow", keycloak_now(kc))

    # New sessions written in batches while the refresh runs: the figures are counted again
    # at its end, whatever the batches did to them.
    kc.seed(realm="mlflow", users=10, sessions=120, offline_ratio=0.5)
    refresh.WRITE_BATCH, batch = 25, refresh.WRITE_BATCH
    try:
        realm_index_refresh(realm="mlflow", concurrency=1)
    finally:
        refresh.WRITE_BATCH = batch
    assert_kept_equal_fresh("mlflow", keycloak_now(kc))

    indexed_realm_sessions_forget(realm="mlflow")
    assert_kept_equal_fresh("mlflow", keycloak_now(kc))
    assert realm_figures_select(realm="mlflow", now=keycloak_now(kc))[0].total == 0


def test_a_refresh_that_wrote_batches_and_failed_leaves_the_pages_counting_rows(kc, monkeypatch):
    kc.seed(realm="mlflow", users=10, sessions=100, offline_ratio=0.3)
    realm_index_refresh(realm="mlflow")
    assert RealmFigures.objects.filter(realm="mlflow").exists()
    kc.seed(realm="mlflow", users=10, sessions=100, offline_ratio=0.3)
    monkeypatch.setattr(refresh, "WRITE_BATCH", 5)  # the new sessions written page by page

    def fail(**_kwargs):
        raise RuntimeError("stopped before its end")

    monkeypatch.setattr(refresh, "_refresh_finish", fail)
    with pytest.raises(RuntimeError):
        realm_index_refresh(realm="mlflow", concurrency=1)
    assert not RealmFigures.objects.filter(realm="mlflow").exists()
    now = keycloak_now(kc)
    summary, clients = realm_figures_select(realm="mlflow", now=now)
    assert (summary, sorted((c.client_uuid, c.client_id, c.sessions) for c in clients)) == fresh(
        "mlflow", now
    )[:2]
    assert summary.total > 100  # the batches' rows are counted

    monkeypatch.undo()
    realm_index_refresh(realm="mlflow")
    assert_kept_equal_fresh("mlflow", keycloak_now(kc))


def test_the_sessions_and_realms_pages_read_figures_in_few_queries(
    kc, client_as, django_assert_max_num_queries
):
    kc.seed(realm="mlflow", users=30, sessions=400, offline_ratio=0.3)
    client = client_as("admin")
    realm_index_refresh(realm="mlflow")
    assert realm_figures_live_select(realm="mlflow", now=datetime.now(tz=UTC)) is not None
    with django_assert_max_num_queries(19):
        page = client.get("/sessions/mlflow/")
    assert page.status_code == 200
    with django_assert_max_num_queries(10):
        fragment = client.get("/sessions/mlflow/?sort=-started", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    with django_assert_max_num_queries(7):
        realms = client.get("/sessions/")
    assert realms.status_code == 200 and "mlflow" in realms.content.decode()
