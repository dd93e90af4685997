"""The realm sessions page and the sessions index, through the real login, on the real index."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from tokenadmin.accounts.session_tokens import SID
from tokenadmin.ledger.models import Action, LedgerEntry
from tokenadmin.sessionindex.filters import DURATION_INVALID
from tokenadmin.sessionindex.forms import SAVED_VIEW_NAME_TAKEN
from tokenadmin.sessionindex.models import IndexedSession, SavedView, search_text_of
from tokenadmin.sessionindex.refresh import realm_index_refresh

HTMX = {"HX-Request": "true"}
DASH = "\N{EN DASH}"  # as in "1-50 of 120"


def shown_range(first: int, last: int, total: int) -> str:
    return f"<strong>{first}{DASH}{last}</strong> of <strong>{total}</strong>"


@pytest.fixture
def index_now(kc, db):
    """Refresh a realm's index from the emulator (after logging in, to index that session too)."""

    def refresh(realm: str = "master") -> None:
        realm_index_refresh(realm=realm)

    return refresh


@pytest.fixture
def many_mlflow_rows(db):
    """120 sessions written straight into the index: u000..u119, every 10th offline."""
    now = timezone.now()
    IndexedSession.objects.bulk_create(
        IndexedSession(
            realm="mlflow",
            session_id=f"sid-{n:03}",
            offline=n % 10 == 0,
            user_id=f"id-{n:03}",
            username=f"u{n:03}",
            ip_address=f"10.0.{n // 50}.{n}",
            started_at=now - timedelta(hours=n),
            last_access_at=now - timedelta(minutes=n),
            clients={"uuid-ml": "mlflow"},
            client_ids_text=" mlflow ",
            expires_at=now + timedelta(minutes=30 + n),
            seen_at=now,
            # bulk_create skips save(), which fills it otherwise.
            search_text=search_text_of(f"u{n:03}", f"10.0.{n // 50}.{n}", " mlflow "),
        )
        for n in range(120)
    )


def test_the_realm_page_lists_every_indexed_session_with_its_clients_and_expiry(
    client_as, index_now
):
    client = client_as("admin")
    index_now("master")
    page = client.get("/sessions/master/").content.decode()
    assert 'data-testid="sessions-table"' in page
    assert "wallaroo_user" in page
    assert "data_scientist" in page
    assert ">api-client</a>" in page and ">sdk-client</a>" in page
    assert "offline</span>" in page
    # The admin's own login is a session in master, marked "you".
    my_sid = client.session[SID]
    assert f'data-session-id="{my_sid}"' in page
    assert 'data-testid="you-badge"' in page
    total = IndexedSession.objects.filter(realm="master").count()
    assert f"of <strong>{total}</strong> sessions" in page


def test_an_htmx_search_answers_only_the_table_and_filters_case_insensitively(client_as, index_now):
    client = client_as("admin")
    index_now("master")
    response = client.get("/sessions/master/?q=WALLAROO", headers=HTMX)
    part = response.content.decode()
    assert response.status_code == 200
    assert part.lstrip().startswith('<div id="session-results"')
    assert "<html" not in part
    assert "wallaroo_user" in part and "data_scientist" not in part


def test_filters_sort_and_paging_live_in_the_query_string(client_as, kc, many_mlflow_rows):
    client = client_as("operator")
    page = client.get("/sessions/mlflow/?sort=user&per_page=25&page=2").content.decode()
    assert shown_range(26, 50, 120) in page
    assert "u025" in page and "u024" not in page and "u050" not in page
    assert "Page 2 of 5" in page
    # Links carry the whole state forward.
    assert 'href="?sort=user&amp;per_page=25&amp;page=3"' in page
    assert 'href="?sort=-user&amp;per_page=25"' in page

    offline = client.get("/sessions/mlflow/?type=offline&sort=-user").content.decode()
    assert shown_range(1, 12, 12) in offline
    assert offline.index("u110") < offline.index("u100")

    idle = client.get("/sessions/mlflow/?idle_over=1h30m&type=regular").content.decode()
    # Idle > 90 min: n in 91..119, minus the offline ones (100, 110).
    assert "of <strong>27</strong>" in idle


def test_junk_in_the_query_string_is_named_not_a_500(client_as, kc, many_mlflow_rows):
    client = client_as("viewer")
    response = client.get("/sessions/mlflow/?expiring_within=soon&sort=drop+table&page=-4")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="filter-errors"' in page
    assert "Expiring within: " + DURATION_INVALID in page.replace("&quot;", '"')
    # The rest still applies: all 120 rows, first page.
    assert shown_range(1, 50, 120) in page
    # A number without a unit could be seconds or minutes: refused, not guessed.
    page = client.get("/sessions/mlflow/?idle_over=45").content.decode()
    assert "Idle for more than: " + DURATION_INVALID in page.replace("&quot;", '"')
    assert shown_range(1, 50, 120) in page


def test_cards_describe_the_realm_and_the_table_counts_what_matches(
    client_as, kc, many_mlflow_rows
):
    client = client_as("viewer")
    page = client.get("/sessions/mlflow/?q=u11").content.decode()
    assert 'data-testid="summary-total">120<' in page
    assert 'data-testid="summary-offline">12<' in page
    assert 'data-testid="summary-users">120<' in page
    # u000..u030 expire 30 to 60 minutes after the rows were written.
    assert 'Show them">31<' in page
    # u110..u119: 10 sessions, one of them offline (u110).
    part = client.get("/sessions/mlflow/?q=u11", headers=HTMX).content.decode()
    assert shown_range(1, 10, 10) + " matching sessions" in part
    assert "(9 regular, 1 offline)" in part
    assert 'data-testid="summary"' not in part


def test_a_realm_never_indexed_says_so_and_points_to_refresh_now(client_as, kc):
    page = client_as("operator").get("/sessions/mlflow/").content.decode()
    assert 'data-testid="sessions-never-indexed"' in page
    assert "Refresh now" in page
    assert 'data-testid="sessions-table"' not in page


def test_no_match_is_an_empty_state_with_a_way_back(client_as, kc, many_mlflow_rows):
    page = client_as("operator").get("/sessions/mlflow/?q=nobody-at-all").content.decode()
    assert 'data-testid="sessions-empty"' in page
    assert "No session matches" in page


def test_the_page_needs_view_users_on_the_realm(client_as, kc, many_mlflow_rows):
    viewer = client_as("viewer")
    response = viewer.get("/sessions/master/")
    assert response.status_code == 403
    assert "view-users on master" in response.content.decode()
    viewer.logout()
    assert client_as("outsider").get("/sessions/mlflow/").status_code == 403


def test_the_sessions_index_lists_only_realms_whose_users_the_admin_may_view(
    client_as, kc, many_mlflow_rows
):
    viewer = client_as("viewer")
    viewer_page = viewer.get("/sessions/").content.decode()
    assert 'data-realm="mlflow"' in viewer_page and 'data-realm="master"' not in viewer_page
    assert "120" in viewer_page
    viewer.logout()
    admin_page = client_as("admin").get("/sessions/").content.decode()
    assert 'data-realm="master"' in admin_page and 'data-realm="mlflow"' in admin_page
    assert "never indexed" in admin_page


def test_the_csv_holds_every_matching_session_across_pages(client_as, kc, many_mlflow_rows):
    response = client_as("viewer").get("/sessions/mlflow/export.csv?type=regular&sort=user&page=2")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 108
    assert rows[0]["username"] == "u001" and rows[0]["type"] == "regular"
    assert rows[0]["clients"] == "mlflow"


def test_a_saved_view_is_created_listed_applied_and_deleted_with_ledger_entries(
    client_as, kc, many_mlflow_rows
):
    client = client_as("operator")
    response = client.post(
        "/sessions/mlflow/views/",
        {
            "name": "Idle offline",
            "description": "to revoke",
            "shared": "on",
            "type": "offline",
            "idle_over": "1h",
            "sort": "-user",
            "page": "3",
            "expiring_within": "junk",
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    assert "Idle offline" in response.content.decode()
    view = SavedView.objects.get(realm="mlflow", name="Idle offline")
    # Only the valid filter parameters are kept; paging is not part of a view.
    assert view.query == {"type": "offline", "idle_over": "1h", "sort": "-user"}
    assert view.owner.username == "operator"
    entry = LedgerEntry.objects.get(action=Action.SAVED_VIEW_CHANGED)
    assert (entry.realm, entry.target_label, entry.actor_username) == (
        "mlflow",
        "Idle offline",
        "operator",
    )

    page = client.get("/sessions/mlflow/").content.decode()
    assert 'href="/sessions/mlflow/?type=offline&amp;idle_over=1h&amp;sort=-user"' in page

    again = client.post("/sessions/mlflow/views/", {"name": "idle offline"}, headers=HTMX)
    assert SAVED_VIEW_NAME_TAKEN in again.content.decode()
    assert SavedView.objects.count() == 1

    client.post(f"/sessions/mlflow/views/{view.pk}/delete", headers=HTMX)
    assert not SavedView.objects.exists()
    assert LedgerEntry.objects.filter(action=Action.SAVED_VIEW_CHANGED).count() == 2


def test_only_the_owner_or_a_user_manager_deletes_a_saved_view(client_as, kc, db):
    from tokenadmin.accounts.models import User

    owner = User.objects.create(username="someone-else")
    view = SavedView.objects.create(realm="mlflow", name="theirs", query={}, owner=owner)
    viewer = client_as("viewer")
    response = viewer.post(f"/sessions/mlflow/views/{view.pk}/delete", headers=HTMX)
    assert response.status_code == 403
    assert SavedView.objects.filter(pk=view.pk).exists()
    viewer.logout()
    client_as("operator").post(f"/sessions/mlflow/views/{view.pk}/delete", headers=HTMX)
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_a_capped_count_is_labelled_more_than_with_no_last_page(
    client_as, kc, many_mlflow_rows, monkeypatch
):
    # Many matches (over SMALL_SET), counted up to 50.
    monkeypatch.setattr("tokenadmin.sessionindex.selectors_page.SMALL_SET", 3)
    monkeypatch.setattr("tokenadmin.sessionindex.selectors_count.COUNT_CAP", 50)
    client = client_as("viewer")
    # Idle over 10 min 30 s: u011..u119, 109 sessions.
    url = "/sessions/mlflow/?idle_over=10m30s&per_page=25"
    part = client.get(url, headers=HTMX).content.decode()
    assert f"<strong>1{DASH}25</strong> of " in part
    assert 'data-testid="page-total-capped">more than 50</strong> matching sessions' in part
    assert "Page 1 of more than 2" in part
    assert "Export CSV (more than 50)" in part
    assert 'data-testid="page-next"' in part and 'data-testid="page-last"' not in part
    assert "regular," not in part  # no split of what was not all counted
    monkeypatch.setattr("tokenadmin.sessionindex.selectors_count.COUNT_CAP", 10_000)
    part = client.get(url, headers=HTMX).content.decode()
    assert shown_range(1, 25, 109) in part and "Page 1 of 5" in part
    assert 'data-testid="page-last"' in part and "more than" not in part
