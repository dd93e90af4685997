"""History points (history/record.py): what a refresh records equals a count of the index's
rows, and downsampling keeps the history bounded as the clock moves on."""

from datetime import UTC, datetime, timedelta

import pytest

from tokenadmin.history.models import Grain, HistoryPoint
from tokenadmin.history.record import history_points_downsample, realm_history_record
from tokenadmin.sessionindex.models import IndexedSession
from tokenadmin.sessionindex.refresh import realm_index_refresh

pytestmark = pytest.mark.django_db


def counted(realm: str, at: datetime) -> dict:
    """The same summary, counted row by row in Python."""
    rows = list(IndexedSession.objects.filter(realm=realm))
    clients: dict[str, list[int]] = {}
    expiring = [0] * 5
    idle = [0] * 5
    for row in rows:
        for client_id in row.clients.values():
            clients.setdefault(client_id, [0, 0])[row.offline] += 1
        if row.expires_at is None:
            expiring[4] += 1
        else:
            left = (row.expires_at - at).total_seconds()
            expiring[
                next((i for i, b in enumerate((3600, 9 * 3600, 86400, 7 * 86400)) if left < b), 4)
            ] += 1
        if row.offline:
            age = (at - row.last_access_at).total_seconds()
            idle[next((i for i, b in enumerate((1, 7, 30, 90)) if age <= b * 86400), 4)] += 1
    return {
        "online": sum(not r.offline for r in rows),
        "offline": sum(r.offline for r in rows),
        "users": len({r.user_id for r in rows}),
        "clients": clients,
        "expiring": expiring,
        "idle": idle,
    }


def test_each_refresh_records_a_point_equal_to_a_count_of_the_rows(
    kc, django_capture_on_commit_callbacks
):
    kc.seed(realm="mlflow", users=30, sessions=200, offline_ratio=0.4)
    with django_capture_on_commit_callbacks(execute=True):  # the point follows the commit
        realm_index_refresh(realm="mlflow")
    [point] = HistoryPoint.objects.filter(realm="mlflow")
    assert point.grain == Grain.REFRESH and point.refresh_s > 0
    expected = counted("mlflow", point.at)
    total = IndexedSession.objects.filter(realm="mlflow").count()
    assert point.online + point.offline == total >= 200
    got = {
        "online": point.online,
        "offline": point.offline,
        "users": point.users,
        "clients": point.clients,
        "idle": point.offline_idle,
    }
    assert got == {k: v for k, v in expected.items() if k != "expiring"}
    # Expiry bins are 30 s wide near, an hour wide past six hours: bucket totals agree, and
    # the buckets agree to a bin.
    assert sum(point.expiring) == total
    assert point.expiring[0] == expected["expiring"][0]

    kc.advance(3 * 86400)  # most sessions end; a second refresh records a second point
    with django_capture_on_commit_callbacks(execute=True):
        realm_index_refresh(realm="mlflow")
    assert HistoryPoint.objects.filter(realm="mlflow").count() == 2
    last = HistoryPoint.objects.filter(realm="mlflow").last()
    assert last.online + last.offline == IndexedSession.objects.filter(realm="mlflow").count()


def test_history_stays_bounded_as_the_clock_moves_on(kc):
    kc.seed(realm="mlflow", users=10, sessions=60, offline_ratio=0.5)
    realm_index_refresh(realm="mlflow")
    HistoryPoint.objects.all().delete()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # A refresh every 5 minutes for three days.
    for step in range(3 * 24 * 12):
        realm_history_record(realm="mlflow", at=start + timedelta(minutes=5 * step), refresh_s=1.5)
    now = start + timedelta(days=3)
    assert history_points_downsample(now=now)["hourly"] == 24 * 12
    points = HistoryPoint.objects.filter(realm="mlflow")
    assert points.filter(grain=Grain.HOUR).count() == 24
    assert points.filter(grain=Grain.REFRESH).count() == 2 * 24 * 12
    hour = points.filter(grain=Grain.HOUR).first()
    assert hour.samples == 12 and hour.online + hour.offline >= 60 and hour.refresh_s == 1.5
    assert history_points_downsample(now=now) == {"hourly": 0, "daily": 0, "dropped": 0}

    # 100 days on: everything hourly, then daily; three years on: gone.
    later = now + timedelta(days=100)
    history_points_downsample(now=later)
    assert points.filter(grain=Grain.REFRESH).count() == 0
    assert points.filter(grain=Grain.HOUR).count() == 0
    daily = list(points.filter(grain=Grain.DAY))
    assert [d.at.date().isoformat() for d in daily] == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert [d.samples for d in daily] == [288, 288, 288]
    assert all(d.clients == hour.clients for d in daily)
    history_points_downsample(now=later + timedelta(days=3 * 365))
    assert not points.exists()


def test_a_late_point_merges_into_its_hour(kc):
    kc.seed(realm="mlflow", users=5, sessions=20, offline_ratio=0.5)
    realm_index_refresh(realm="mlflow")
    HistoryPoint.objects.all().delete()
    at = datetime(2026, 1, 1, 10, 5, tzinfo=UTC)
    realm_history_record(realm="mlflow", at=at, refresh_s=1.0)
    history_points_downsample(now=at + timedelta(days=3))
    realm_history_record(realm="mlflow", at=at + timedelta(minutes=30), refresh_s=3.0)
    history_points_downsample(now=at + timedelta(days=3))
    [hour] = HistoryPoint.objects.all()
    assert (hour.grain, hour.samples, hour.refresh_s) == (Grain.HOUR, 2, 2.0)
