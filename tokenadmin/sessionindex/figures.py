"""Figures kept with the index: a realm's totals, distinct users, expiry bins and client sets,
written by the refresh that wrote the rows (realm_figures_store) and adjusted by the revokes
that drop rows (forget.py), so the sessions page and the realms list read a few numbers
instead of counting a million rows on every load.

The kept figures describe every stored row; a session whose predicted expiry has passed since
(ended) is still a row. realm_figures_live_select takes the ended ones out at the page's
`now`: they are few between two refreshes, a short range of the (realm, expires_at, offline)
index. So kept figures less the ended ones equal what counting the live rows gives.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, F, Max, QuerySet
from django.utils import timezone

from .models import (
    FIGURES_BIN_S,
    FIGURES_COARSE_BIN_S,
    FIGURES_FINE_FOR_S,
    IndexedSession,
    RealmFigures,
)

# The chart's buckets: (label, upper bound in seconds from now, exclusive of the previous).
EXPIRY_BUCKETS: tuple[tuple[str, int], ...] = (
    ("≤ 1 h", 3600),
    ("1-6 h", 6 * 3600),
    ("6-24 h", 86400),
    ("1-7 d", 7 * 86400),
    ("7-30 d", 30 * 86400),
)

# A stored expiry's whole epoch seconds, in SQL (the fraction dropped, as int(timestamp())
# drops it for the revokes' adjustments).
_EPOCH_SQL = {
    "sqlite": "CAST(strftime('%%s', expires_at) AS INTEGER)",
    "postgresql": "FLOOR(EXTRACT(EPOCH FROM expires_at))::bigint",
}


def _bin_sql(fine_until: int) -> str:
    """A stored expiry's bin (its start), in SQL; NULL for no expiry."""
    epoch = _EPOCH_SQL[connection.vendor]
    return (
        f"CASE WHEN {epoch} < {int(fine_until)} THEN {epoch} - {epoch} %% {FIGURES_BIN_S} "
        f"ELSE {epoch} - {epoch} %% {FIGURES_COARSE_BIN_S} END"
    )


def expiry_bin(moment: datetime, fine_until: int) -> int:
    """The start (epoch seconds) of the bin holding `moment`."""
    t = int(moment.timestamp())
    return t - t % (FIGURES_BIN_S if t < fine_until else FIGURES_COARSE_BIN_S)


def _fine_until(now: datetime) -> int:
    end = int(now.timestamp()) + FIGURES_FINE_FOR_S
    return end - end % FIGURES_COARSE_BIN_S + FIGURES_COARSE_BIN_S


def realm_figures_forget(*, realm: str) -> None:
    """The rows are about to change outside what the figures follow (a refresh's batch):
    until the next realm_figures_store, pages count the rows themselves."""
    RealmFigures.objects.filter(realm=realm).delete()


def realm_figures_store(*, realm: str) -> RealmFigures:
    """Count the realm's stored rows once (the end of a refresh) and keep the figures: one
    grouped pass for the types, expiries and client sets, one over the users."""
    table = connection.ops.quote_name(IndexedSession._meta.db_table)
    fine_until = _fine_until(timezone.now())
    bin_sql = _bin_sql(fine_until)
    by_type = [0, 0]
    unknown = 0
    bins: dict[str, int] = {}
    set_bins: dict[str, dict[str, list[int]]] = {}
    set_totals: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT client_ids_text, offline, {bin_sql}, COUNT(*) FROM {table} "  # noqa: S608
            "WHERE realm = %s GROUP BY 1, 2, 3",
            [realm],
        )
        for text, offline, key, n in cursor.fetchall():
            by_type[bool(offline)] += n
            set_totals[text] = set_totals.get(text, 0) + n
            if key is None:
                unknown += n
                continue
            key = str(int(key))
            bins[key] = bins.get(key, 0) + n
            set_bins.setdefault(text, {}).setdefault(key, [0, 0])[bool(offline)] += n
    rows = IndexedSession.objects.filter(realm=realm)
    sets = {
        text: [n, rows.filter(client_ids_text=text).values_list("clients", flat=True).first()]
        for text, n in set_totals.items()
    }
    user_bins = _user_bins_count(realm=realm, users=None, fine_until=fine_until)
    figures, _created = RealmFigures.objects.update_or_create(
        realm=realm,
        defaults={
            "online": by_type[0],
            "offline": by_type[1],
            "users": sum(user_bins.values()),
            "unknown_expiry": unknown,
            "expiry_bins": bins,
            "client_sets": sets,
            "set_bins": set_bins,
            "user_bins": user_bins,
            "fine_until": fine_until,
        },
    )
    return figures


def _user_last_ends_sql(table: str, users: int | None) -> str:
    """Each user's last predicted end (NULL when a session has none), of every user of the
    realm or of `users` given ones."""
    among = f" AND user_id IN ({', '.join(['%s'] * users)})" if users else ""
    return (
        "SELECT CASE WHEN COUNT(expires_at) < COUNT(*) THEN NULL ELSE MAX(expires_at) END "  # noqa: S608
        f"AS expires_at FROM {table} WHERE realm = %s{among} GROUP BY user_id"
    )


def _user_bins_count(*, realm: str, users: list[str] | None, fine_until: int) -> dict[str, int]:
    """{bin of a user's last end, or "none": users} of the realm's users (or of `users`)."""
    table = connection.ops.quote_name(IndexedSession._meta.db_table)
    bin_sql = _bin_sql(fine_until)
    inner = _user_last_ends_sql(table, len(users) if users else None)
    counted: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {bin_sql}, COUNT(*) FROM ({inner}) u GROUP BY 1",  # noqa: S608
            [realm, *(users or [])],
        )
        for key, n in cursor.fetchall():
            counted["none" if key is None else str(int(key))] = n
    return counted


def realm_figures_rows_drop(*, realm: str, rows: QuerySet[IndexedSession]) -> int:
    """Delete these rows of the realm's index and take them out of its kept figures, in one
    transaction (the figures row locked: two revokes at once each take out their own)."""
    with transaction.atomic():
        figures = RealmFigures.objects.select_for_update().filter(realm=realm).first()
        if figures is None:
            deleted, _ = rows.delete()
            return deleted
        gone = list(rows.values_list("offline", "user_id", "client_ids_text", "expires_at"))
        users = sorted({user_id for _o, user_id, _t, _e in gone})
        fine_until = figures.fine_until
        before = _users_bins(realm=realm, users=users, fine_until=fine_until)
        deleted, _ = rows.delete()
        after = _users_bins(realm=realm, users=users, fine_until=fine_until)
        # Each user's last end moves (or the user is gone): out of the old bin, into the new.
        for counted, step in ((before, -1), (after, 1)):
            for key, n in counted.items():
                figures.user_bins[key] = figures.user_bins.get(key, 0) + step * n
                if not figures.user_bins[key]:
                    del figures.user_bins[key]
        figures.users = sum(figures.user_bins.values())
        if _figures_take_out(figures, gone):
            figures.save()
        else:  # figures that did not hold these rows: unknown from now on
            figures.delete()
    return deleted


def _users_bins(*, realm: str, users: list[str], fine_until: int) -> dict[str, int]:
    counted: dict[str, int] = {}
    for start in range(0, len(users), 500):
        part = _user_bins_count(
            realm=realm, users=users[start : start + 500], fine_until=fine_until
        )
        for key, n in part.items():
            counted[key] = counted.get(key, 0) + n
    return counted


def _figures_take_out(figures: RealmFigures, gone: list[tuple]) -> bool:
    """Take the rows out of the figures; False when the figures did not hold them."""
    bins, sets, set_bins = figures.expiry_bins, figures.client_sets, figures.set_bins
    for offline, _user_id, text, expires_at in gone:
        if offline:
            figures.offline -= 1
        else:
            figures.online -= 1
        if expires_at is None:
            figures.unknown_expiry -= 1
        else:
            key = str(expiry_bin(expires_at, figures.fine_until))
            bins[key] = bins.get(key, 0) - 1
            if not bins[key]:
                del bins[key]
            by_type = set_bins.setdefault(text, {}).setdefault(key, [0, 0])
            by_type[bool(offline)] -= 1
            if not any(by_type):
                del set_bins[text][key]
        counted = sets.setdefault(text, [0, {}])
        counted[0] -= 1
        if not counted[0]:
            del sets[text]
            set_bins.pop(text, None)
    numbers = (figures.online, figures.offline, figures.unknown_expiry)
    return (
        min(numbers) >= 0
        and all(n > 0 for n in bins.values())
        and all(n > 0 for n, _clients in sets.values())
        and all(n > 0 for n in figures.user_bins.values())
        and all(min(pair) >= 0 for by_bin in set_bins.values() for pair in by_bin.values())
    )


@dataclass(frozen=True)
class LiveFigures:
    """The realm's live sessions at `now`, from the kept figures less the ended ones."""

    online: int
    offline: int
    ended_online: int
    ended_offline: int
    users: int
    # [(bucket label, sessions)], soonest first; "unknown" last when any.
    expiry_histogram: list[tuple[str, int]]
    # {(client uuid, clientId): live sessions holding it}
    clients: dict[tuple[str, str], int]


# The last answer of realm_figures_ended, by (realm, figures row, when it was written, now):
# one page load asks three times for the same `now` (the freshness line, the table's counts,
# the cards). Any change to the figures saves them (written_at moves) or deletes them.
_ended_last: tuple[tuple, dict[tuple[str, bool], int]] | None = None


def realm_figures_ended(
    figures: RealmFigures, *, realm: str, now: datetime
) -> dict[tuple[str, bool], int]:
    """{(client set, offline): rows} of the realm's rows whose predicted end is at or before
    `now`: the kept bins before `now`'s bin, and that bin's part up to `now` read from the
    expires index (at most FIGURES_BIN_S of ends)."""
    global _ended_last
    asked = (realm, figures.pk, figures.written_at, now)
    last = _ended_last  # one read: another thread may replace it meanwhile
    if last is not None and last[0] == asked:
        return dict(last[1])
    ended = _ended_count(figures, realm=realm, now=now)
    _ended_last = (asked, ended)
    return dict(ended)


def _ended_count(
    figures: RealmFigures, *, realm: str, now: datetime
) -> dict[tuple[str, bool], int]:
    key = expiry_bin(now, figures.fine_until)
    ended: dict[tuple[str, bool], int] = {}
    for text, by_bin in figures.set_bins.items():
        for bin_key, (online, offline) in by_bin.items():
            if int(bin_key) < key:
                ended[(text, False)] = ended.get((text, False), 0) + online
                ended[(text, True)] = ended.get((text, True), 0) + offline
    bin_start = datetime.fromtimestamp(key, tz=UTC)
    partial = IndexedSession.objects.filter(
        realm=realm, expires_at__gte=bin_start, expires_at__lte=now
    ).order_by()
    # Counted here, not by a GROUP BY: SQLite would rather walk the whole (realm,
    # client_ids_text, offline, expires_at) index in group order than read the bin's range of
    # the expires index (which holds both columns) and sort it.
    # Read by a plain cursor: Django's converters cost more than the read (a bin holds up to
    # 15,000 ends at 1,000,000 sessions).
    sql, params = partial.values_list("client_ids_text", "offline").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        counted = Counter(cursor.fetchall())
    for (text, offline), n in counted.items():
        ended[(text, bool(offline))] = ended.get((text, bool(offline)), 0) + n
    return ended


def realm_figures_live_select(*, realm: str, now: datetime) -> LiveFigures | None:
    """The kept figures less what ended by `now`, or None when the realm has none kept."""
    figures = RealmFigures.objects.filter(realm=realm).first()
    if figures is None:
        return None
    return realm_figures_live(figures, realm=realm, now=now)


def realm_figures_live(
    figures: RealmFigures,
    *,
    realm: str,
    now: datetime,
    ended: dict[tuple[str, bool], int] | None = None,
) -> LiveFigures:
    """realm_figures_live_select of figures already loaded (and their realm_figures_ended at
    `now`, when the caller has it): /metrics keeps the decoded figures between scrapes."""
    if ended is None:
        ended = realm_figures_ended(figures, realm=realm, now=now)
    ended_by = {False: 0, True: 0}
    sets = {text: n for text, (n, _clients) in figures.client_sets.items()}
    for (text, offline), n in ended.items():
        ended_by[offline] += n
        sets[text] = sets.get(text, 0) - n
    clients: dict[tuple[str, str], int] = {}
    for text, n in sets.items():
        for uuid, client_id in figures.client_sets.get(text, [0, {}])[1].items():
            clients[(uuid, client_id)] = clients.get((uuid, client_id), 0) + n
    return LiveFigures(
        online=figures.online - ended_by[False],
        offline=figures.offline - ended_by[True],
        ended_online=ended_by[False],
        ended_offline=ended_by[True],
        users=figures.users - _users_ended(figures, realm=realm, now=now),
        expiry_histogram=_histogram(figures, realm=realm, now=now, ended=sum(ended_by.values())),
        clients={key: n for key, n in clients.items() if n > 0},
    )


def _users_ended(figures: RealmFigures, *, realm: str, now: datetime) -> int:
    """Users whose last session ended by `now`: the kept bins before `now`'s bin, and the
    users with an end in that bin up to `now` whose last end is then (each looked up in the
    (realm, user_id) index)."""
    key = expiry_bin(now, figures.fine_until)
    before = sum(
        n for bin_key, n in figures.user_bins.items() if bin_key != "none" and int(bin_key) < key
    )
    bin_start = datetime.fromtimestamp(key, tz=UTC)
    in_bin = IndexedSession.objects.filter(
        realm=realm, expires_at__gte=bin_start, expires_at__lte=now
    ).values("user_id")
    last = (
        IndexedSession.objects.filter(realm=realm, user_id__in=in_bin)
        .order_by()
        .values("user_id")
        .annotate(known=Count("expires_at"), total=Count("id"), last=Max("expires_at"))
        .filter(known=F("total"), last__lte=now)
    )
    return before + last.count()


def _histogram(
    figures: RealmFigures, *, realm: str, now: datetime, ended: int
) -> list[tuple[str, int]]:
    """The chart's buckets from the bins: rows expiring up to each bound are the bins wholly
    before the bound's bin, plus that bin's part up to the bound (a range of the expires
    index); rows up to `now` are the ended ones."""
    bins = sorted((int(key), n) for key, n in figures.expiry_bins.items())
    known = sum(n for _key, n in bins)
    rows = IndexedSession.objects.filter(realm=realm).order_by()
    histogram: list[tuple[str, int]] = []
    below = ended  # rows expiring up to the previous bound
    for label, bound_s in EXPIRY_BUCKETS:
        bound = now + timedelta(seconds=bound_s)
        key = expiry_bin(bound, figures.fine_until)
        bin_start = datetime.fromtimestamp(key, tz=UTC)
        upto = sum(n for k, n in bins if k < key)
        upto += rows.filter(expires_at__gte=bin_start, expires_at__lte=bound).count()
        histogram.append((label, upto - below))
        below = upto
    histogram.append(("> 30 d", known - below))
    if figures.unknown_expiry:
        histogram.append(("unknown", figures.unknown_expiry))
    return histogram
