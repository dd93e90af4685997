"""What /metrics says, read from the database at scrape time.

Every web process and Celery worker writes to the same database, so figures read from it are
the same whichever process answers the scrape: the index gauges come from the kept figures
(sessionindex RealmFigures, written by each refresh; no session is recounted), revocation and
report outcomes from their jobs' and runs' rows. Only Keycloak calls happen in memory (counted
where they are made, keycloak/call_metrics.py); those go through prometheus_client's
multiprocess mode (see views.py).
"""

from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from tokenadmin.reports.models import ReportRun
from tokenadmin.revocation.models import RevocationItem, RevocationJob
from tokenadmin.sessionindex.figures import realm_figures_ended, realm_figures_live
from tokenadmin.sessionindex.models import IndexedSession, RealmFigures, RealmIndex

# The kept figures' expiry buckets (figures.EXPIRY_BUCKETS) by their upper bound.
EXPIRING_WITHIN = ("1h", "6h", "24h", "7d", "30d", "later", "unknown")
# Offline sessions by how long since their last use: (label, at most this many seconds).
OFFLINE_IDLE = (("1d", 86400), ("7d", 7 * 86400), ("30d", 30 * 86400), ("90d", 90 * 86400))
OTHER_CLIENTS = "other"


@dataclass(frozen=True)
class _Decoded:
    """A realm's kept figures as last read, with their stored sessions per (client set, type)
    summed over the bins: both change only when the figures row is written again."""

    written_at: datetime
    figures: RealmFigures
    stored: dict[tuple[str, bool], int]
    # The offline rows' last use (epoch seconds), sorted: idle buckets at any moment by bisection.
    offline_last_used: list[float]


# {realm: its figures as last decoded}: a scrape reads each realm's written_at (one small
# query) and decodes the JSON bins again only when a refresh or a revoke rewrote them.
_decoded: dict[str, _Decoded] = {}


def _figures_decoded(realm: str, written_at: datetime) -> _Decoded:
    known = _decoded.get(realm)
    if known is not None and known.written_at == written_at:
        return known
    figures = RealmFigures.objects.get(realm=realm)
    stored: dict[tuple[str, bool], int] = {}
    for text, by_bin in figures.set_bins.items():
        for online, offline in by_bin.values():
            stored[(text, False)] = stored.get((text, False), 0) + online
            stored[(text, True)] = stored.get((text, True), 0) + offline
    known = _Decoded(
        written_at=figures.written_at,
        figures=figures,
        stored=stored,
        offline_last_used=_offline_last_used(realm),
    )
    _decoded[realm] = known
    return known


# A stored moment as epoch seconds (with its fraction), in SQL: no datetime object per row.
_EPOCH_SQL = {
    "sqlite": "(julianday(last_access_at) - 2440587.5) * 86400.0",
    "postgresql": "EXTRACT(EPOCH FROM last_access_at)::float8",
}


def _offline_last_used(realm: str) -> list[float]:
    """The realm's offline rows' last uses, sorted, read once per write of the figures (a
    refresh or a revoke rewrites both) in the order of the (realm, last_access_at, offline)
    index."""
    table = connection.ops.quote_name(IndexedSession._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_EPOCH_SQL[connection.vendor]} FROM {table} "  # noqa: S608
            "WHERE realm = %s AND offline ORDER BY last_access_at",
            [realm],
        )
        return [float(moment) for (moment,) in cursor.fetchall()]


def _client_type_sessions(
    decoded: _Decoded, ended: dict[tuple[str, bool], int]
) -> dict[tuple[str, str], int]:
    """{(clientId, "regular"|"offline"): live sessions holding that client}: the kept
    per-client-set bins less what ended by now. Sessions with no predicted expiry are not
    in the bins: they count in tokenadmin_index_sessions_unknown_expiry only."""
    by_set = dict(decoded.stored)
    for key, n in ended.items():
        by_set[key] = by_set.get(key, 0) - n
    client_sets = decoded.figures.client_sets
    counted: dict[tuple[str, str], int] = {}
    for (text, offline), n in by_set.items():
        if n <= 0:
            continue
        for client_id in client_sets.get(text, [0, {}])[1].values():
            label = (client_id, "offline" if offline else "regular")
            counted[label] = counted.get(label, 0) + n
    return counted


def _top_clients(counted: dict[tuple[str, str], int], top: int) -> dict[tuple[str, str], int]:
    """The `top` clients with most sessions (both types) keep their label; the rest add up
    under "other", so the label set stays bounded whatever the realm holds."""
    totals: dict[str, int] = {}
    for (client_id, _type), n in counted.items():
        totals[client_id] = totals.get(client_id, 0) + n
    kept = set(sorted(totals, key=lambda c: (-totals[c], c))[:top])
    folded: dict[tuple[str, str], int] = {}
    for (client_id, kind), n in counted.items():
        key = (client_id if client_id in kept else OTHER_CLIENTS, kind)
        folded[key] = folded.get(key, 0) + n
    return folded


def _offline_idle(decoded: _Decoded, now: datetime) -> dict[str, int]:
    """Offline sessions by idle age at `now`, from their last uses kept with the figures (the
    kept figures have no last-use bins; counting the rows each scrape grows with them)."""
    last_used = decoded.offline_last_used
    result: dict[str, int] = {}
    newer = 0  # used within the previous bound
    for label, seconds in OFFLINE_IDLE:
        within = len(last_used) - bisect_left(last_used, now.timestamp() - seconds)
        result[label] = within - newer
        newer = within
    result["older"] = len(last_used) - newer
    return result


class IndexCollector(Collector):
    """The index, revocation and report gauges, read fresh from the database per scrape."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        top = settings.METRICS_TOP_CLIENTS
        sessions = GaugeMetricFamily(
            "tokenadmin_index_sessions",
            "Live sessions in the index holding a client, by realm, clientId and type "
            f"(clients beyond the top {top} of a realm add up under 'other')",
            labels=["realm", "client", "type"],
        )
        totals = GaugeMetricFamily(
            "tokenadmin_index_sessions_total_live",
            "Live sessions in the index by realm and type (a session counts once)",
            labels=["realm", "type"],
        )
        users = GaugeMetricFamily(
            "tokenadmin_index_users", "Distinct users with a live session", labels=["realm"]
        )
        unknown = GaugeMetricFamily(
            "tokenadmin_index_sessions_unknown_expiry",
            "Sessions whose end the index cannot predict",
            labels=["realm"],
        )
        expiring = GaugeMetricFamily(
            "tokenadmin_index_sessions_expiring",
            "Live sessions by when they end: within 1h, then 1-6h, 6-24h, 1-7d, 7-30d, later "
            "(each bucket excludes the earlier ones)",
            labels=["realm", "within"],
        )
        idle = GaugeMetricFamily(
            "tokenadmin_index_offline_sessions_idle",
            "Offline sessions by time since last use: up to 1d, 1-7d, 7-30d, 30-90d, older",
            labels=["realm", "idle"],
        )
        written = RealmFigures.objects.order_by("realm").values_list("realm", "written_at")
        for realm, written_at in written:
            decoded = _figures_decoded(realm, written_at)
            figures = decoded.figures
            ended = realm_figures_ended(figures, realm=realm, now=now)
            live = _client_type_sessions(decoded, ended)
            for (client_id, kind), n in sorted(_top_clients(live, top).items()):
                sessions.add_metric([realm, client_id, kind], n)
            counted = realm_figures_live(figures, realm=realm, now=now, ended=ended)
            totals.add_metric([realm, "regular"], counted.online)
            totals.add_metric([realm, "offline"], counted.offline)
            users.add_metric([realm], counted.users)
            histogram = [n for _label, n in counted.expiry_histogram]
            for label, n in zip(EXPIRING_WITHIN, histogram, strict=False):
                expiring.add_metric([realm, label], n)
            unknown.add_metric([realm], figures.unknown_expiry)
            for label, n in _offline_idle(decoded, now).items():
                idle.add_metric([realm, label], n)
        yield from (sessions, totals, users, unknown, expiring, idle)
        yield from self._index_freshness(now)
        yield from self._revocations()
        yield from self._reports()

    @staticmethod
    def _index_freshness(now: datetime) -> Iterator[GaugeMetricFamily]:
        age = GaugeMetricFamily(
            "tokenadmin_index_age_seconds",
            "Seconds since the realm's last completed index refresh",
            labels=["realm"],
        )
        duration = GaugeMetricFamily(
            "tokenadmin_index_last_refresh_duration_seconds",
            "How long the realm's last completed index refresh took",
            labels=["realm"],
        )
        failed = GaugeMetricFamily(
            "tokenadmin_index_last_refresh_failed",
            "1 when the realm's last index refresh failed",
            labels=["realm"],
        )
        for index in RealmIndex.objects.order_by("realm"):
            failed.add_metric([index.realm], int(index.state == RealmIndex.State.FAILED))
            if index.refreshed_at is None:
                continue
            age.add_metric([index.realm], (now - index.refreshed_at).total_seconds())
            if index.started_at and index.started_at <= index.refreshed_at:
                took = (index.refreshed_at - index.started_at).total_seconds()
                duration.add_metric([index.realm], took)
        yield from (age, duration, failed)

    @staticmethod
    def _revocations() -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily(
            "tokenadmin_revocation_jobs",
            "Bulk revocation jobs by state (done: finished; stopped: could not go on)",
            labels=["state"],
        )
        job_counts = dict(
            RevocationJob.objects.order_by().values_list("state").annotate(n=Count("id"))
        )
        for state in RevocationJob.State.values:
            jobs.add_metric([state], job_counts.get(state, 0))
        items = GaugeMetricFamily(
            "tokenadmin_revocation_items",
            "Sessions of bulk revocation jobs by outcome",
            labels=["outcome"],
        )
        item_counts = dict(
            RevocationItem.objects.order_by().values_list("state").annotate(n=Count("id"))
        )
        for state in RevocationItem.State.values:
            items.add_metric([state], item_counts.get(state, 0))
        yield from (jobs, items)

    @staticmethod
    def _reports() -> Iterator[GaugeMetricFamily]:
        runs = GaugeMetricFamily(
            "tokenadmin_report_runs", "Expiry report runs by outcome", labels=["outcome"]
        )
        deliveries = GaugeMetricFamily(
            "tokenadmin_report_deliveries",
            "Expiry report mails by outcome (one per recipient of a run)",
            labels=["outcome"],
        )
        run_counts: dict[str, int] = {}
        mail_counts: dict[str, int] = {}
        for state, recipients in ReportRun.objects.order_by().values_list("state", "recipients"):
            run_counts[state] = run_counts.get(state, 0) + 1
            mail_counts[state] = mail_counts.get(state, 0) + len(recipients or [])
        for state in ReportRun.State.values:
            runs.add_metric([state], run_counts.get(state, 0))
            deliveries.add_metric([state], mail_counts.get(state, 0))
        yield from (runs, deliveries)
