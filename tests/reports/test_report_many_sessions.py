"""The "users with unusually many sessions" section groups by user id inside its index and
reads each listed user's name once: its counts, names and order equal a plain count of the
live sessions per user, and its CSV rows say the same."""

import csv
import io
from collections import Counter
from datetime import timedelta

from django.utils import timezone

from tokenadmin.reports.selectors import MANY_SESSIONS, expiry_report_build
from tokenadmin.sessionindex.models import IndexedSession

from .conftest import report_create

NOW = timezone.now().replace(microsecond=0)

# (realm, username, live sessions, ended sessions): ended ones (predicted end passed) never count.
USERS = [
    ("master", "zoe", 4, 0),
    ("master", "amy", 4, 3),
    ("master", "bob", 3, 5),  # 8 rows, 3 live: under the threshold
    ("master", "cid", 6, 0),
    ("mlflow", "amy", 5, 0),  # another realm's amy: her own user id, counted apart
    ("mlflow", "dan", 2, 0),
]


def rows_seed() -> None:
    rows = []
    for realm, name, live, ended in USERS:
        for k in range(live + ended):
            ends_in = timedelta(hours=2) if k < live else -timedelta(minutes=k)
            rows.append(
                IndexedSession(
                    realm=realm,
                    session_id=f"{realm}-{name}-{k}",
                    offline=k % 2 == 0,
                    user_id=f"{realm}-id-{name}",
                    username=name,
                    ip_address="10.0.0.1",
                    started_at=NOW - timedelta(hours=1),
                    last_access_at=NOW - timedelta(minutes=5),
                    clients={"uuid-api": "api-client"},
                    client_ids_text=" api-client ",
                    expires_at=NOW + ends_in,
                    seen_at=NOW - timedelta(minutes=1),
                    search_text=f"{name} 10.0.0.1 api-client",
                )
            )
    IndexedSession.objects.bulk_create(rows)


def test_users_above_the_threshold_equal_a_plain_count_of_live_sessions(db):
    rows_seed()
    report = report_create(
        offline_within_days=None,
        sso_max_within_hours=None,
        idle_over_hours=None,
        sessions_per_user_over=3,
        include_lifespan_changes=False,
    )
    live = IndexedSession.objects.filter(expires_at__gt=NOW)
    per_user = Counter(live.values_list("realm", "user_id", "username"))
    expected = sorted(
        ((realm, user_id, name, n) for (realm, user_id, name), n in per_user.items() if n > 3),
        key=lambda row: (-row[3], row[0], row[2]),
    )
    assert [row[2] for row in expected] == ["cid", "amy", "amy", "zoe"]

    content = expiry_report_build(report=report, now=NOW)
    [section] = content.sections
    assert section.key == MANY_SESSIONS
    assert section.count == 4
    assert section.by_realm == {"master": 3, "mlflow": 1}
    shown = [(r["realm"], r["user_id"], r["username"], r["n"]) for r in section.rows]
    assert shown == expected
    assert section.rows[0]["link"].endswith("/sessions/master/?q=cid")

    in_csv = list(csv.reader(io.StringIO(content.csv_text())))[1:]
    assert [(r[1], r[3], r[2], int(r[11])) for r in in_csv] == expected
