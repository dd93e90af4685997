"""Figures kept with the index: a realm's totals, distinct users, expiry bins and client sets,
written by the refresh that wrote the rows (realm_figures_store) and adjusted by the revokes
that drop rows (forget.py), so the sessions page and the realms list read a few numbers
instead of counting a million rows on every load.

The kept figures describe every stored row; a session whose predicted expiry has passed since
(ended) is still a row. realm_figures_live_select takes the ended ones out at the page's
`now`: they are few between two refreshes, a short range of the (realm, expires_at, offline)
index. So kept figures less the ended ones equal what counting the live rows gives.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from .models import FIGURES_BIN_S, IndexedSession, RealmFigures

# The chart's buckets: (label, upper bound in seconds from now, exclusive of the previous).
EXPIRY_BUCKETS: tuple[tuple[str, int], ...] = (
    ("≤ 1 h", 3600),
    ("1-6 h", 6 * 3600),
    ("6-24 h", 86400),
    ("1-7 d", 7 * 86400),
    ("7-30 d", 30 * 86400),
)

# A stored expiry's bin, in SQL: whole epoch seconds // FIGURES_BIN_S (the fraction dropped,
# as int(datetime.timestamp()) drops it for the revokes' adjustments).
_BIN_SQL = {
    "sqlite": "CAST(strftime('%%s', expires_at) AS INTEGER) / {w}",
    "postgresql": "FLOOR(FLOOR(EXTRACT(EPOCH FROM expires_at)) / {w})::bigint",
}


def expiry_bin(moment: datetime) -> int:
    return int(moment.timestamp()) // FIGURES_BIN_S


def realm_figures_forget(*, realm: str) -> None:
    """The rows are about to change outside what the figures follow (a refresh's batch):
    until the next realm_figures_store, pages count the rows themselves."""
    RealmFigures.objects.filter(realm=realm).delete()


def realm_figures_store(*, realm: str) -> RealmFigures:
    """Count the realm's stored rows once (the end of a refresh) and keep the figures."""
    rows = IndexedSession.objects.filter(realm=realm).order_by()
    by_type = dict(rows.values("offline").annotate(n=Count("id")).values_list("offline", "n"))
    users = rows.aggregate(n=Count("user_id", distinct=True))["n"]
    bins, unknown = _expiry_bins_count(realm)
    sets: dict[str, list] = {}
    for text, n in rows.values_list("client_ids_text").annotate(n=Count("id")):
        clients = rows.filter(client_ids_text=text).values_list("clients", flat=True).first()
        sets[text] = [n, clients or {}]
    figures, _created = RealmFigures.objects.update_or_create(
        realm=realm,
        defaults={
            "online": by_type.get(False, 0),
            "offline": by_type.get(True, 0),
            "users": users,
            "unknown_expiry": unknown,
            "expiry_bins": bins,
            "client_sets": sets,
        },
    )
    return figures


def _expiry_bins_count(realm: str) -> tuple[dict[str, int], int]:
    """({bin: rows}, rows with no expiry): one pass over the realm's expires index."""
    table = connection.ops.quote_name(IndexedSession._meta.db_table)
    bin_sql = _BIN_SQL[connection.vendor].format(w=FIGURES_BIN_S)
    sql = f"SELECT {bin_sql}, COUNT(*) FROM {table} WHERE realm = %s GROUP BY 1"  # noqa: S608
    bins: dict[str, int] = {}
    unknown = 0
    with connection.cursor() as cursor:
        cursor.execute(sql, [realm])
        for key, n in cursor.fetchall():
            if key is None:
                unknown = n
            else:
                bins[str(int(key))] = n
    return bins, unknown


def realm_figures_rows_drop(*, realm: str, rows: QuerySet[IndexedSession]) -> int:
    """Delete these rows of the realm's index and take them out of its kept figures, in one
    transaction (the figures row locked: two revokes at once each take out their own)."""
    with transaction.atomic():
        figures = RealmFigures.objects.select_for_update().filter(realm=realm).first()
        if figures is None:
            deleted, _ = rows.delete()
            return deleted
        gone = list(rows.values_list("offline", "user_id", "client_ids_text", "expires_at"))
        deleted, _ = rows.delete()
        users = {user_id for _o, user_id, _t, _e in gone}
        still = IndexedSession.objects.filter(realm=realm, user_id__in=users)
        figures.users -= len(users - set(still.values_list("user_id", flat=True).distinct()))
        if _figures_take_out(figures, gone):
            figures.save()
        else:  # figures that did not hold these rows: unknown from now on
            figures.delete()
    return deleted


def _figures_take_out(figures: RealmFigures, gone: list[tuple]) -> bool:
    """Take the rows out of the figures; False when the figures did not hold them."""
    bins, sets = figures.expiry_bins, figures.client_sets
    for offline, _user_id, text, expires_at in gone:
        if offline:
            figures.offline -= 1
        else:
            figures.online -= 1
        if expires_at is None:
            figures.unknown_expiry -= 1
        else:
            key = str(expiry_bin(expires_at))
            bins[key] = bins.get(key, 0) - 1
            if not bins[key]:
                del bins[key]
        counted = sets.setdefault(text, [0, {}])
        counted[0] -= 1
        if not counted[0]:
            del sets[text]
    numbers = (figures.online, figures.offline, figures.users, figures.unknown_expiry)
    return (
        min(numbers) >= 0
        and all(n > 0 for n in bins.values())
        and all(n > 0 for n, _clients in sets.values())
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


def realm_figures_live_select(*, realm: str, now: datetime) -> LiveFigures | None:
    """The kept figures less what ended by `now`, or None when the realm has none kept."""
    figures = RealmFigures.objects.filter(realm=realm).first()
    if figures is None:
        return None
    ended = IndexedSession.objects.filter(realm=realm, expires_at__lte=now).order_by()
    ended_by = {"online": 0, "offline": 0}
    sets = {text: n for text, (n, _clients) in figures.client_sets.items()}
    for text, offline, n in ended.values_list("client_ids_text", "offline").annotate(n=Count("id")):
        ended_by["offline" if offline else "online"] += n
        sets[text] = sets.get(text, 0) - n
    clients: dict[tuple[str, str], int] = {}
    for text, n in sets.items():
        for uuid, client_id in figures.client_sets.get(text, [0, {}])[1].items():
            clients[(uuid, client_id)] = clients.get((uuid, client_id), 0) + n
    return LiveFigures(
        online=figures.online - ended_by["online"],
        offline=figures.offline - ended_by["offline"],
        ended_online=ended_by["online"],
        ended_offline=ended_by["offline"],
        users=figures.users - _users_ended(realm=realm, now=now),
        expiry_histogram=_histogram(figures, realm=realm, now=now, ended=sum(ended_by.values())),
        clients={key: n for key, n in clients.items() if n > 0},
    )


def _users_ended(*, realm: str, now: datetime) -> int:
    """Users whose every session has ended: each ended row's user looked up in the (realm,
    user_id) index for a row still live."""
    live = IndexedSession.objects.filter(realm=realm, user_id=OuterRef("user_id")).filter(
        Q(expires_at__gt=now) | Q(expires_at__isnull=True)
    )
    ended = IndexedSession.objects.filter(realm=realm, expires_at__lte=now).order_by()
    return ended.exclude(Exists(live)).aggregate(n=Count("user_id", distinct=True))["n"]


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
        key = expiry_bin(bound)
        bin_start = datetime.fromtimestamp(key * FIGURES_BIN_S, tz=UTC)
        upto = sum(n for k, n in bins if k < key)
        upto += rows.filter(expires_at__gte=bin_start, expires_at__lte=bound).count()
        histogram.append((label, upto - below))
        below = upto
    histogram.append(("> 30 d", known - below))
    if figures.unknown_expiry:
        histogram.append(("unknown", figures.unknown_expiry))
    return histogram
