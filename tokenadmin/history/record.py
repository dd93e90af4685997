"""Recording a realm's summary after each refresh, and keeping the history bounded.

A point is read from the figures the refresh kept (sessionindex RealmFigures: client sets by
type and expiry bin, users), plus one grouped count of offline sessions by last access (the
figures do not keep idle ages). Nothing here reads one row per session into Python.
"""

from datetime import datetime, timedelta
from itertools import pairwise

from django.db import transaction
from django.db.models import Count, Q

from tokenadmin.sessionindex.models import IndexedSession, RealmFigures

from .models import Grain, HistoryPoint

EXPIRING_BOUNDS_S = (3600, 9 * 3600, 86400, 7 * 86400)
EXPIRING_LABELS = ("≤ 1 h", "≤ 9 h", "≤ 24 h", "≤ 7 d", "later")
IDLE_BOUNDS_S = (86400, 7 * 86400, 30 * 86400, 90 * 86400)
IDLE_LABELS = ("≤ 1 d", "≤ 7 d", "≤ 30 d", "≤ 90 d", "older")

# Refresh points are kept this long, hourly means this long, daily means this long.
KEEP_REFRESH = timedelta(hours=48)
KEEP_HOURLY = timedelta(days=90)
KEEP_DAILY = timedelta(days=730)


def realm_history_record(*, realm: str, at: datetime, refresh_s: float) -> HistoryPoint | None:
    """Sum up the realm's index as its refresh left it; None when no figures are kept (a
    revoke that could not adjust them dropped them since: the next refresh records)."""
    figures = RealmFigures.objects.filter(realm=realm).first()
    if figures is None:
        return None
    clients: dict[str, list[int]] = {}
    by_set: dict[str, list[int]] = {}
    for text, by_bin in figures.set_bins.items():
        pair = by_set.setdefault(text, [0, 0])
        for online, offline in by_bin.values():
            pair[0] += online
            pair[1] += offline
    if figures.unknown_expiry:  # rows with no predicted end are in no bin: a short count
        unknown = IndexedSession.objects.filter(realm=realm, expires_at__isnull=True).order_by()
        for text, offline, n in unknown.values_list("client_ids_text", "offline").annotate(
            n=Count("id")
        ):
            by_set.setdefault(text, [0, 0])[bool(offline)] += n
    for text, pair in by_set.items():
        for client_id in figures.client_sets.get(text, [0, {}])[1].values():
            mine = clients.setdefault(client_id, [0, 0])
            mine[0] += pair[0]
            mine[1] += pair[1]
    return HistoryPoint.objects.create(
        realm=realm,
        at=at,
        online=figures.online,
        offline=figures.offline,
        users=figures.users,
        clients=clients,
        expiring=_expiring(figures, at=at),
        offline_idle=_offline_idle(realm=realm, at=at),
        refresh_s=round(refresh_s, 3),
    )


def _expiring(figures: RealmFigures, *, at: datetime) -> list[int]:
    """Sessions by time left, from the kept expiry bins (to a bin's width: 30 s near, an hour
    past six hours). A bin already ended counts as within the hour."""
    counts = [0] * (len(EXPIRING_BOUNDS_S) + 1)
    now = int(at.timestamp())
    for key, n in figures.expiry_bins.items():
        left = int(key) - now
        slot = next((i for i, b in enumerate(EXPIRING_BOUNDS_S) if left < b), -1)
        counts[slot] += n
    counts[-1] += figures.unknown_expiry
    return counts


def _offline_idle(*, realm: str, at: datetime) -> list[int]:
    """Offline sessions by how long since their last access: one grouped count."""
    bounds = [at - timedelta(seconds=s) for s in IDLE_BOUNDS_S]
    buckets = {f"b{i}": Count("id", filter=Q(last_access_at__gte=b)) for i, b in enumerate(bounds)}
    counted = IndexedSession.objects.filter(realm=realm, offline=True).aggregate(
        total=Count("id"), **buckets
    )
    cumulative = [counted[f"b{i}"] for i in range(len(bounds))] + [counted["total"]]
    return [cumulative[0]] + [b - a for a, b in pairwise(cumulative)]


def _bucket_start(at: datetime, grain: Grain) -> datetime:
    start = at.replace(minute=0, second=0, microsecond=0)
    return start.replace(hour=0) if grain == Grain.DAY else start


def points_mean(
    points: list[HistoryPoint], *, realm: str, at: datetime, grain: Grain | None = None
) -> HistoryPoint:
    """One point standing for `points`: each number the mean over the refreshes, weighted by
    how many each point already stands for."""
    total = sum(p.samples for p in points)

    def mean(values: list[float]) -> int:
        return round(sum(v * p.samples for v, p in zip(values, points, strict=True)) / total)

    def mean_list(lists: list[list[int]]) -> list[int]:
        width = max((len(v) for v in lists), default=0)
        return [mean([v[i] if i < len(v) else 0 for v in lists]) for i in range(width)]

    names = sorted({name for p in points for name in p.clients})
    return HistoryPoint(
        realm=realm,
        at=at,
        grain=max(p.grain for p in points) if grain is None else grain,
        samples=total,
        online=mean([p.online for p in points]),
        offline=mean([p.offline for p in points]),
        users=mean([p.users for p in points]),
        clients={n: mean_list([p.clients.get(n, [0, 0]) for p in points]) for n in names},
        expiring=mean_list([p.expiring for p in points]),
        offline_idle=mean_list([p.offline_idle for p in points]),
        refresh_s=round(sum(p.refresh_s * p.samples for p in points) / total, 3),
    )


def _fold(*, older_than: datetime, source: Grain, target: Grain) -> int:
    """Fold `source` points before `older_than` into one `target` point per realm and bucket
    (merged with a target point already there). Only whole buckets are folded."""
    cutoff = _bucket_start(older_than, target)
    folded = 0
    old = HistoryPoint.objects.filter(grain=source, at__lt=cutoff).order_by("realm", "at")
    groups: dict[tuple[str, datetime], list[HistoryPoint]] = {}
    for point in old.iterator(chunk_size=2000):
        groups.setdefault((point.realm, _bucket_start(point.at, target)), []).append(point)
    for (realm, start), points in groups.items():
        with transaction.atomic():
            there = list(HistoryPoint.objects.filter(realm=realm, grain=target, at=start))
            merged = points_mean(there + points, realm=realm, at=start, grain=target)
            HistoryPoint.objects.filter(id__in=[p.id for p in there + points]).delete()
            merged.save()
        folded += len(points)
    return folded


def history_points_downsample(*, now: datetime) -> dict[str, int]:
    """Refresh points older than 48 h become hourly means, hourly ones older than 90 days daily
    means; daily ones older than two years go. Idempotent: run it as often as you like."""
    return {
        "hourly": _fold(older_than=now - KEEP_REFRESH, source=Grain.REFRESH, target=Grain.HOUR),
        "daily": _fold(older_than=now - KEEP_HOURLY, source=Grain.HOUR, target=Grain.DAY),
        "dropped": HistoryPoint.objects.filter(grain=Grain.DAY, at__lt=now - KEEP_DAILY).delete()[
            0
        ],
    }
