"""Keyset cursors over a realm's sessions: walking every sort, both ways, page by page, gives
exactly the sessions page's order (no session twice, none left out), through ties and sessions
with no predicted expiry; a cursor only fits the query that made it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.api.test_api import assert_problem
from tokenadmin.sessionindex.filters import SORT_COLUMNS, SessionFilterForm
from tokenadmin.sessionindex.models import IndexedSession, search_text_of
from tokenadmin.sessionindex.selectors import indexed_sessions_select

API = "/api/v1/realms/mlflow/sessions"
ROWS = 41


@pytest.fixture
def tied_rows(db):
    """Sessions written straight into the index with many ties: five usernames, three start
    times, last access in steps of 7, every third offline, every fourth with no expiry."""
    now = timezone.now()
    IndexedSession.objects.bulk_create(
        IndexedSession(
            realm="mlflow",
            session_id=f"sid-{n:03}",
            offline=n % 3 == 0,
            user_id=f"id-{n % 5}",
            username=f"user-{n % 5}",
            ip_address=f"10.0.0.{n % 4}",
            started_at=now - timedelta(hours=n % 3),
            last_access_at=now - timedelta(minutes=n // 7),
            remember_me=n % 2 == 0,
            clients={"uuid-ml": "mlflow"} if n % 2 else {"uuid-a": "api", "uuid-ml": "mlflow"},
            client_ids_text=" mlflow " if n % 2 else " api mlflow ",
            expires_at=None if n % 4 == 0 else now + timedelta(minutes=30 + n % 6),
            seen_at=now,
            search_text=search_text_of(f"user-{n % 5}", f"10.0.0.{n % 4}", " mlflow "),
        )
        for n in range(ROWS)
    )


def _walk(client, query: dict, limit: int) -> list[str]:
    walked, cursor = [], ""
    for _ in range(ROWS + 2):
        answer = client.get(API, {**query, "limit": limit, "cursor": cursor})
        assert answer.status_code == 200, answer.content
        walked += [s["session_id"] for s in answer.json()["items"]]
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return walked
    raise AssertionError("the cursor never ended")


def _expected(query: dict) -> list[str]:
    filters = SessionFilterForm(query).filters()
    rows = indexed_sessions_select(realm="mlflow", filters=filters)
    return list(rows.values_list("session_id", flat=True))


SORTS = [key for key in SORT_COLUMNS] + [f"-{key}" for key in SORT_COLUMNS]


@pytest.mark.parametrize("sort", SORTS)
def test_walking_each_sort_by_keyset_gives_the_pages_order(sort, client_as, tied_rows):
    client = client_as("viewer")

    walked = _walk(client, {"sort": sort}, limit=4)

    assert walked == _expected({"sort": sort})
    assert len(walked) == len(set(walked)) == ROWS


@pytest.mark.parametrize(
    "query",
    [
        {"type": "offline", "sort": "expires"},
        {"idle_over": "2m", "sort": "-user"},
        {"expiring_within": "33m", "sort": "started"},
        {"client": "api", "sort": "-clients"},
    ],
)
def test_walking_a_filter_by_keyset_gives_the_pages_set(query, client_as, tied_rows):
    walked = _walk(client_as("viewer"), query, limit=3)

    assert walked == _expected(query)
    assert 0 < len(walked) < ROWS


def test_a_cursor_fits_only_its_own_query(client_as, tied_rows):
    client = client_as("viewer")
    first = client.get(API, {"sort": "user", "limit": 2}).json()

    other_sort = client.get(API, {"sort": "ip", "limit": 2, "cursor": first["next_cursor"]})
    altered = client.get(API, {"sort": "user", "cursor": first["next_cursor"][:-2] + "xx"})
    garbage = client.get(API, {"sort": "user", "cursor": "not-a-cursor"})

    for answer in (other_sort, altered, garbage):
        assert "cursor" in assert_problem(answer, 400)["detail"]
