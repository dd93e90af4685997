"""The sessions CSV reads plain tuples (on SQLite in UTC straight from the cursor, its own
datetime text): every cell equals what the model's values print, whole seconds or not, an
unknown expiry, and last seen from the realm's refresh or the row's own."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tokenadmin.core.csv import csv_line
from tokenadmin.sessionindex.csv import CSV_COLUMNS, sessions_csv_rows
from tokenadmin.sessionindex.models import IndexedSession

NOW = timezone.now()


def model_line(s: IndexedSession, refreshed_at) -> str:
    """The line as the CSV printed it from model instances."""

    def when(value):
        return value.isoformat() if value else ""

    return csv_line(
        (
            s.session_id,
            "offline" if s.offline else "regular",
            s.username,
            s.user_id,
            s.ip_address,
            when(s.started_at),
            when(s.last_access_at),
            "yes" if s.remember_me else "no",
            " ".join(sorted(s.clients.values())),
            when(s.expires_at),
            when(s.last_seen_at(refreshed_at)),
        )
    )


@pytest.mark.parametrize("refreshed_ago_s", [None, 30, 7200])
def test_each_line_equals_the_models_values(db, refreshed_ago_s):
    for n, (micro, expires) in enumerate(
        [(0, timedelta(hours=1)), (123456, None), (999999, timedelta(days=3)), (1, None)]
    ):
        at = NOW.replace(microsecond=micro) - timedelta(minutes=n)
        IndexedSession.objects.create(
            realm="master",
            session_id=f"s{n}",
            offline=n % 2 == 1,
            user_id=f"id-{n}",
            username=f"=user{n}",  # a formula-like name stays inert
            ip_address="10.0.0.1",
            started_at=at - timedelta(hours=2),
            last_access_at=at,
            remember_me=n == 2,
            clients={"u2": "sdk", "u1": "api"} if n else {},
            client_ids_text=" api sdk " if n else "",
            expires_at=at + expires if expires else None,
            seen_at=at - timedelta(minutes=10),
        )
    refreshed_at = NOW - timedelta(seconds=refreshed_ago_s) if refreshed_ago_s else None
    sessions = IndexedSession.objects.filter(realm="master").order_by("id")
    lines = list(sessions_csv_rows(sessions=sessions, refreshed_at=refreshed_at))
    assert lines[0] == csv_line(CSV_COLUMNS)
    assert lines[1:] == [model_line(s, refreshed_at) for s in sessions]
    assert lines[2].startswith("s1,offline,'=user1,")
