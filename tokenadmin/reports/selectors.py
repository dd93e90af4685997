"""Building an expiry report: counts aggregated in the database, details capped, and every
matching row streamed into the CSV, so 100,000 indexed sessions never sit in memory at once."""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.urls import reverse

from tokenadmin.core.csv import csv_text
from tokenadmin.core.durations import duration_format
from tokenadmin.lifespans.selectors import lifespan_changes_since
from tokenadmin.sessionindex.expiry import SSO_MAX_DEFAULT_S
from tokenadmin.sessionindex.models import IndexedSession, RealmIndex
from tokenadmin.sessionindex.selectors import indexed_sessions_select, saved_view_filters

from .models import ExpiryReport, ReportRun

# Rows per section in the email body; the CSV carries them all.
DETAIL_LIMIT = 25
OFFLINE_LAPSING = "offline_lapsing"
SSO_MAX = "sso_max"
LONG_IDLE = "long_idle"
MANY_SESSIONS = "many_sessions"
LIFESPAN_CHANGES = "lifespan_changes"
CSV_COLUMNS = (
    "section",
    "realm",
    "username",
    "user_id",
    "session_id",
    "type",
    "clients",
    "ip_address",
    "started_at",
    "last_access_at",
    "expires_at",
    "sessions",
)
_SESSION_FIELDS = (
    "realm",
    "username",
    "user_id",
    "session_id",
    "offline",
    "client_ids_text",
    "ip_address",
    "started_at",
    "last_access_at",
    "expires_at",
)


# A section's title for a count of one: "1 offline token lapsing", not "1 offline tokens …".
ONE_OF = {
    "Offline tokens lapsing": "offline token lapsing",
    "Sessions reaching their SSO maximum": "session reaching its SSO maximum",
    "Long-idle sessions still valid": "long-idle session still valid",
    "Users with unusually many sessions": "user with unusually many sessions",
}


@dataclass(frozen=True)
class Section:
    """One part of the report: how many, per realm, the first rows, and where to see them all."""

    key: str
    title: str
    description: str
    count: int
    by_realm: dict[str, int]
    rows: list[dict[str, Any]]
    links: dict[str, str]
    per_user: bool = False

    @property
    def realm_rows(self) -> list[dict[str, Any]]:
        return [
            {"realm": realm, "count": n, "link": self.links.get(realm, "")}
            for realm, n in self.by_realm.items()
        ]

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.rows))


@dataclass(frozen=True)
class LifespanChanges:
    available: bool
    since: datetime | None
    changes: list[Any] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.changes)


@dataclass(frozen=True)
class ReportContent:
    report: ExpiryReport
    now: datetime
    realms: list[str]
    sections: list[Section]
    lifespan_changes: LifespanChanges | None
    # When each realm's index was last refreshed (None = never): the report is as fresh as it.
    refreshed_at: dict[str, datetime | None]
    querysets: dict[str, QuerySet] = field(repr=False, default_factory=dict)

    @property
    def is_empty(self) -> bool:
        changes = self.lifespan_changes.count if self.lifespan_changes else 0
        return changes == 0 and all(section.count == 0 for section in self.sections)

    def headline(self) -> list[str]:
        """ "3 offline tokens lapsing", … for every section that found something."""
        parts = [
            f"1 {ONE_OF.get(s.title, s.title.lower())}"
            if s.count == 1
            else f"{s.count} {s.title[0].lower()}{s.title[1:]}"
            for s in self.sections
            if s.count
        ]
        if self.lifespan_changes and self.lifespan_changes.count:
            n = self.lifespan_changes.count
            parts.append(f"{n} lifespan change{'s' if n != 1 else ''}")
        return parts

    def counts(self) -> dict[str, int | None]:
        found: dict[str, int | None] = {s.key: s.count for s in self.sections}
        if self.lifespan_changes is not None:
            found[LIFESPAN_CHANGES] = (
                self.lifespan_changes.count if self.lifespan_changes.available else None
            )
        return found

    def csv_row_count(self) -> int:
        """Rows the CSV holds below its header (one per session, or per user above the
        threshold), from the counts already made."""
        return sum(section.count for section in self.sections)

    def csv_rows(self) -> Iterator[list[str]]:
        """Every matching row of every section, straight from the database cursor."""
        return csv_rows_of(self.querysets)

    def csv_text(self) -> str:
        return csv_text(self.csv_rows())


def csv_rows_of(querysets: Mapping[str, QuerySet]) -> Iterator[list[str]]:
    """The report's CSV: a header, then every section's rows in the section's order, read as
    plain tuples in chunks (flat memory at any size)."""
    yield list(CSV_COLUMNS)
    for key, queryset in querysets.items():
        if key == MANY_SESSIONS:
            for realm, user_id, username, n in queryset.values_list(
                "realm", "user_id", "username", "n"
            ).iterator(chunk_size=2000):
                yield [key, realm, username, user_id, "", "", "", "", "", "", "", n]
            continue
        for values in queryset.values_list(*_SESSION_FIELDS).iterator(chunk_size=2000):
            realm, username, user_id, session_id, offline, clients, ip, started, last, ends = values
            yield [
                key,
                realm,
                username,
                user_id,
                session_id,
                "offline" if offline else "regular",
                clients.strip(),
                ip,
                _iso(started),
                _iso(last),
                _iso(ends),
                "",
            ]


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def sessions_page_url(realm: str, query: Mapping[str, str]) -> str:
    """The sessions page of `realm` filtered by `query`, as an absolute link for an email."""
    path = reverse("sessions:realm", args=[realm])
    return f"{settings.TOKENADMIN_BASE_URL}{path}?{urlencode(dict(query))}"


def _base(report: ExpiryReport, realms: list[str], now: datetime) -> QuerySet[IndexedSession]:
    """Sessions of the report's realms and clients that are still live at `now`, as the
    sessions page counts them: an ended one (predicted expiry passed since the last refresh)
    is left out, one with no predicted expiry stays."""
    if report.saved_view_id and report.saved_view:
        # The saved view's own filter, exactly as the sessions page applies it.
        view = report.saved_view
        sessions = indexed_sessions_select(
            realm=view.realm, filters=saved_view_filters(view), now=now
        ).order_by()
    else:
        sessions = IndexedSession.objects.filter(realm__in=realms)
    sessions = sessions.filter(Q(expires_at__gt=now) | Q(expires_at__isnull=True))
    if report.client_ids:
        by_client = Q()
        for client_id in report.client_ids:
            by_client |= Q(client_ids_text__contains=f" {client_id} ")
        sessions = sessions.filter(by_client)
    return sessions


def _link_query(report: ExpiryReport, **extra: str) -> dict[str, str]:
    query: dict[str, str] = {}
    if report.saved_view_id and report.saved_view:
        query.update({k: str(v) for k, v in report.saved_view.query.items()})
    if len(report.client_ids) == 1:
        query["client"] = report.client_ids[0]
    query.update(extra)
    return query


def _by_realm(queryset: QuerySet, realms: list[str]) -> dict[str, int]:
    counts = dict.fromkeys(realms, 0)
    for row in queryset.order_by().values("realm").annotate(n=Count("id")):
        counts[row["realm"]] = row["n"]
    return counts


def _session_rows(queryset: QuerySet, extra: Callable[[dict], dict] | None = None) -> list[dict]:
    rows = []
    for row in queryset.values(*_SESSION_FIELDS)[:DETAIL_LIMIT]:
        row["clients"] = row.pop("client_ids_text").strip()
        if extra:
            row.update(extra(row))
        rows.append(row)
    return rows


def _session_section(
    *,
    key: str,
    title: str,
    description: str,
    sessions: QuerySet[IndexedSession],
    report: ExpiryReport,
    realms: list[str],
    link_params: Callable[[str], dict[str, str]],
    row_extra: Callable[[dict], dict] | None = None,
) -> Section:
    """A section listing sessions: counts per realm, the first rows, a sessions-page link per
    realm filtered by `link_params(realm)` as the section's own filter."""
    by_realm = _by_realm(sessions, realms)
    return Section(
        key=key,
        title=title,
        description=description,
        count=sum(by_realm.values()),
        by_realm=by_realm,
        rows=_session_rows(sessions, row_extra),
        links={
            realm: sessions_page_url(realm, _link_query(report, **link_params(realm)))
            for realm in realms
        },
    )


def lifespan_changes_select(*, realms: list[str], since: datetime) -> LifespanChanges:
    """Changes to the realms' lifespans since `since` (through tokenadmin or found by the drift
    watch), as lines for the email."""
    changes: list[dict[str, Any]] = []
    for realm in realms:
        for change in lifespan_changes_since(realm, since):
            changes.append(
                {
                    "realm": realm,
                    "at": change.at,
                    "who": change.who,
                    "outside_tokenadmin": change.outside_tokenadmin,
                    "fields": [
                        f"{field.label}: {field.old_text} → {field.new_text}"
                        for field in change.changes
                    ],
                }
            )
    return LifespanChanges(available=True, since=since, changes=changes)


def last_sent_at(report: ExpiryReport) -> datetime:
    """When this report last went out (or was found empty): "since the last report"."""
    last = (
        ReportRun.objects.filter(
            report=report, state__in=[ReportRun.State.SENT, ReportRun.State.SKIPPED_EMPTY]
        )
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return last or report.created_at


def _sso_max_by_realm(realms: list[str], sso_max_s: Mapping[str, int] | None) -> dict[str, int]:
    return {realm: (sso_max_s or {}).get(realm, SSO_MAX_DEFAULT_S) for realm in realms}


def report_querysets(
    *, report: ExpiryReport, now: datetime, sso_max_s: Mapping[str, int] | None = None
) -> dict[str, QuerySet]:
    """Each enabled section's rows at `now`, in the section's order, unevaluated: what the
    report counts and samples, and what its CSV streams."""
    realms = report.report_realms
    base = _base(report, realms, now)
    querysets: dict[str, QuerySet] = {}
    if report.offline_within_days is not None:
        within = timedelta(days=report.offline_within_days)
        querysets[OFFLINE_LAPSING] = base.filter(
            offline=True, expires_at__lte=now + within
        ).order_by("expires_at", "id")
    if report.sso_max_within_hours is not None:
        within_s = report.sso_max_within_hours * 3600
        reaching = Q()
        for realm, max_s in _sso_max_by_realm(realms, sso_max_s).items():
            # started + max < now + within  ⇔  started < now + within - max (the page's older_than)
            reaching |= Q(realm=realm, started_at__lt=now + timedelta(seconds=within_s - max_s))
        querysets[SSO_MAX] = base.filter(reaching, offline=False).order_by("started_at", "id")
    if report.idle_over_hours is not None:
        idle = timedelta(hours=report.idle_over_hours)
        querysets[LONG_IDLE] = base.filter(last_access_at__lt=now - idle).order_by(
            "last_access_at", "id"
        )
    if report.sessions_per_user_over is not None:
        # Grouped by user id alone, inside the (realm, user_id, expires_at) index; the name
        # read once per user above the threshold. Grouping by the name too read every table
        # row (2.4 s of a 1,000,000-session report, twice).
        username = IndexedSession.objects.filter(
            realm=OuterRef("realm"), user_id=OuterRef("user_id")
        ).values("username")[:1]
        querysets[MANY_SESSIONS] = (
            base.order_by()
            .values("realm", "user_id")
            .annotate(n=Count("id"))
            .filter(n__gt=report.sessions_per_user_over)
            .annotate(username=Subquery(username))
            .order_by("-n", "realm", "username")
        )
    return querysets


def _offline_section(report: ExpiryReport, qs: QuerySet[Any], realms: list[str]) -> Section:
    days = report.offline_within_days
    assert days is not None
    within = timedelta(days=days)
    return _session_section(
        key=OFFLINE_LAPSING,
        title="Offline tokens lapsing",
        description=f"Offline sessions that end within {days} days unless a client refreshes them.",
        sessions=qs,
        report=report,
        realms=realms,
        link_params=lambda realm: {
            "type": "offline",
            "expiring_within": duration_format(int(within.total_seconds())),
            "sort": "expires",
        },
    )


def _sso_max_section(
    report: ExpiryReport, qs: QuerySet[Any], realms: list[str], max_by_realm: dict[str, int]
) -> Section:
    hours = report.sso_max_within_hours
    assert hours is not None
    within_s = hours * 3600
    return _session_section(
        key=SSO_MAX,
        title="Sessions reaching their SSO maximum",
        description=f"Regular sessions that hit the realm's SSO session max within "
        f"{hours} hours; their users must sign in again then.",
        sessions=qs,
        report=report,
        realms=realms,
        link_params=lambda realm: {
            "type": "regular",
            "older_than": duration_format(max(max_by_realm[realm] - within_s, 0)),
            "sort": "started",
        },
        row_extra=lambda row: {
            "max_at": row["started_at"]
            + timedelta(seconds=max_by_realm.get(row["realm"], SSO_MAX_DEFAULT_S))
        },
    )


def _idle_section(report: ExpiryReport, qs: QuerySet[Any], realms: list[str]) -> Section:
    hours = report.idle_over_hours
    assert hours is not None
    idle = timedelta(hours=hours)
    return _session_section(
        key=LONG_IDLE,
        title="Long-idle sessions still valid",
        description=f"Sessions nobody used for more than {hours} hours "
        "that Keycloak still accepts.",
        sessions=qs,
        report=report,
        realms=realms,
        link_params=lambda realm: {
            "idle_over": duration_format(int(idle.total_seconds())),
            "sort": "last_access",
        },
    )


def _many_sessions_section(report: ExpiryReport, qs: QuerySet[Any], realms: list[str]) -> Section:
    # Users above the threshold per realm: the grouped rows are few (one per such user).
    # One pass: counted per realm, the first DETAIL_LIMIT kept as the section's rows.
    by_realm = dict.fromkeys(realms, 0)
    rows: list[dict[str, Any]] = []
    for realm, user_id, username, n in qs.values_list("realm", "user_id", "username", "n").iterator(
        chunk_size=2000
    ):
        by_realm[realm] += 1
        if len(rows) < DETAIL_LIMIT:
            row = {"realm": realm, "user_id": user_id, "username": username, "n": n}
            rows.append({**row, "link": sessions_page_url(realm, _link_query(report, q=username))})
    return Section(
        key=MANY_SESSIONS,
        title="Users with unusually many sessions",
        description=f"Users holding more than {report.sessions_per_user_over} valid "
        "sessions (regular and offline together).",
        count=sum(by_realm.values()),
        by_realm=by_realm,
        rows=rows,
        links={},
        per_user=True,
    )


def expiry_report_build(
    *, report: ExpiryReport, now: datetime, sso_max_s: Mapping[str, int] | None = None
) -> ReportContent:
    """What the report finds at `now` in the local session index.

    `sso_max_s` gives each realm's SSO session max (Keycloak's default when missing).
    """
    realms = report.report_realms
    querysets = report_querysets(report=report, now=now, sso_max_s=sso_max_s)
    sections: list[Section] = []
    if report.offline_within_days is not None:
        sections.append(_offline_section(report, querysets[OFFLINE_LAPSING], realms))
    if report.sso_max_within_hours is not None:
        max_by_realm = _sso_max_by_realm(realms, sso_max_s)
        sections.append(_sso_max_section(report, querysets[SSO_MAX], realms, max_by_realm))
    if report.idle_over_hours is not None:
        sections.append(_idle_section(report, querysets[LONG_IDLE], realms))
    if report.sessions_per_user_over is not None:
        sections.append(_many_sessions_section(report, querysets[MANY_SESSIONS], realms))

    lifespan_changes = (
        lifespan_changes_select(realms=realms, since=last_sent_at(report))
        if report.include_lifespan_changes
        else None
    )
    refreshed_at = dict.fromkeys(realms)
    for realm, when in RealmIndex.objects.filter(realm__in=realms).values_list(
        "realm", "refreshed_at"
    ):
        refreshed_at[realm] = when
    return ReportContent(
        report=report,
        now=now,
        realms=realms,
        sections=sections,
        lifespan_changes=lifespan_changes,
        refreshed_at=refreshed_at,
        querysets=querysets,
    )
