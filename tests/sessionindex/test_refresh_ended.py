"""Rows of sessions that ended before a refresh go while it reads the pages, a few thousand
after each batch (refresh._ended_rows_drop), not all after the paging; whatever a listing
still names is written again, so the refresh ends with what Keycloak holds."""

from datetime import timedelta

import pytest

from tokenadmin.sessionindex import refresh
from tokenadmin.sessionindex.models import IndexedSession
from tokenadmin.sessionindex.refresh import realm_index_refresh

from .test_figures import assert_kept_equal_fresh, keycloak_now
from .test_refresh import index_counts, keycloak_counts

pytestmark = pytest.mark.django_db

ADVANCE_S = 11 * 3600  # past the 10 h SSO max: every online session ends


@pytest.fixture
def rows_at_finish(monkeypatch) -> list[dict[bool, int]]:
    """The realm's rows by type when each refresh starts its finish (after the paging)."""
    seen: list[dict[bool, int]] = []
    finish = refresh._refresh_finish

    def counted(**kwargs):
        rows = IndexedSession.objects.filter(realm="mlflow")
        seen.append({kind: rows.filter(offline=kind).count() for kind in (False, True)})
        return finish(**kwargs)

    monkeypatch.setattr(refresh, "_refresh_finish", counted)
    monkeypatch.setattr(refresh, "WRITE_BATCH", 1)  # a batch after every page
    return seen


def test_sessions_that_ended_before_a_refresh_go_while_it_reads_the_pages(
    kc, monkeypatch, rows_at_finish
):
    kc.seed(realm="mlflow", users=20, sessions=1000, offline_ratio=0.5)
    realm_index_refresh(realm="mlflow", concurrency=1)
    offline = IndexedSession.objects.filter(realm="mlflow", offline=True).count()
    kc.advance(ADVANCE_S)
    # The emulator's clock moved on: to the worker, Keycloak's clock is that far ahead.
    monkeypatch.setattr(refresh, "ENDED_EARLY_MARGIN", timedelta(seconds=-ADVANCE_S))
    monkeypatch.setattr(refresh, "ENDED_EARLY_ROWS", 150)

    realm_index_refresh(realm="mlflow", concurrency=1)

    # Every ended online row was gone before the paging ended, 150 after each page.
    assert rows_at_finish[-1] == {False: 0, True: offline}
    assert index_counts("mlflow") == keycloak_counts(kc.admin(), "mlflow")
    assert_kept_equal_fresh("mlflow", keycloak_now(kc))


def test_rows_dropped_as_ended_that_keycloak_still_lists_are_written_again(
    kc, monkeypatch, rows_at_finish
):
    kc.seed(realm="mlflow", users=20, sessions=600, offline_ratio=0.5)
    realm_index_refresh(realm="mlflow", concurrency=1)
    before = set(IndexedSession.objects.filter(realm="mlflow").values_list("session_id", "offline"))
    # A worker clock a year ahead: every row looks ended, the live ones too. Those already
    # listed stay; the others go after the first page and come back with their own.
    monkeypatch.setattr(refresh, "ENDED_EARLY_MARGIN", timedelta(days=-365))
    monkeypatch.setattr(refresh, "ENDED_EARLY_ROWS", 10_000)

    realm_index_refresh(realm="mlflow", concurrency=1)

    rows = IndexedSession.objects.filter(realm="mlflow")
    assert set(rows.values_list("session_id", "offline")) == before
    assert index_counts("mlflow") == keycloak_counts(kc.admin(), "mlflow")
    assert_kept_equal_fresh("mlflow", keycloak_now(kc))
