"""What the history page reads: a realm's points over a span, and the ledger's markers."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection

from tokenadmin.ledger.models import Action, LedgerEntry

from .models import Grain, HistoryPoint
from .record import EXPIRING_LABELS, IDLE_LABELS

SPANS: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "90d": timedelta(days=90),
    "2y": timedelta(days=730),
}
# The width of one shown point per span (0: every stored point): a chart some 500 pixels wide
# gains nothing from 2,700 points over 90 days, and the page stays small and quick.
SHOWN_STEP_S: dict[str, int] = {"24h": 0, "7d": 3600, "90d": 6 * 3600, "2y": 86400}
DEFAULT_SPAN = "7d"
TOP_CLIENTS = 6

REVOCATIONS = frozenset(
    {
        Action.SESSION_REVOKED,
        Action.OFFLINE_SESSION_REVOKED,
        Action.USER_SIGNED_OUT,
        Action.CONSENT_REVOKED,
        Action.CLIENT_SESSIONS_REVOKED,
        Action.REALM_SIGNED_OUT,
        Action.NOT_BEFORE_SET,
        Action.PUSH_REVOCATION,
        Action.BULK_REVOCATION,
    }
)
LIFESPAN_CHANGES = frozenset(
    {
        Action.LIFESPANS_UPDATED,
        Action.LIFESPANS_ROLLED_BACK,
        Action.CLIENT_LIFESPANS_UPDATED,
    }
)


@dataclass(frozen=True)
class Marker:
    at: datetime
    kind: str  # "revocation" or "lifespans"
    label: str  # the action, who, what: no secrets (the ledger holds none)


@dataclass(frozen=True)
class RealmHistory:
    span: str
    start: datetime
    end: datetime
    points: list[HistoryPoint]
    markers: list[Marker]
    top_clients: list[str]

    def chart_data(self) -> dict:
        """The charts' numbers (json_script): one list of x (epoch seconds, a linear axis) and
        one list of y per series, the same length."""
        return {
            "start": int(self.start.timestamp()),
            "end": int(self.end.timestamp()),
            "x": [int(p.at.timestamp()) for p in self.points],
            "types": {
                "Regular": [p.online for p in self.points],
                "Offline": [p.offline for p in self.points],
                "Distinct users": [p.users for p in self.points],
            },
            "clients": {
                name: [sum(p.clients.get(name, [0, 0])) for p in self.points]
                for name in self.top_clients
            },
            "expiring": {
                label: [_at(p.expiring, i) for p in self.points]
                for i, label in enumerate(EXPIRING_LABELS)
            },
            "idle": {
                label: [_at(p.offline_idle, i) for p in self.points]
                for i, label in enumerate(IDLE_LABELS)
            },
            "markers": [
                {"x": int(m.at.timestamp()), "kind": m.kind, "label": m.label} for m in self.markers
            ],
        }


def _at(values: list[int], i: int) -> int:
    return values[i] if i < len(values) else 0


# Epoch seconds of a stored point, and one number inside a JSON column, per database: the
# means of a long span are taken in SQL (parsing thousands of JSON columns in Python is what
# made a 90-day page slow).
_EPOCH_SQL = {
    "sqlite": "CAST(strftime('%%s', at) AS INTEGER)",
    "postgresql": "FLOOR(EXTRACT(EPOCH FROM at))::bigint",
}
_ITEM_SQL = {
    "sqlite": "COALESCE(json_extract({column}, %s), 0)",
    "postgresql": "COALESCE(({column} #>> %s)::float, 0)",
}


# A client's number: SQLite's JSON paths cannot name a key holding a double quote, so the key
# is matched as a value (json_each) there; PostgreSQL's path is a text array.
_CLIENT_ITEM_SQL = {
    "sqlite": (
        "COALESCE((SELECT json_extract(j.value, '$[{i}]') FROM json_each(clients) j "
        "WHERE j.key = %s), 0)"
    ),
    "postgresql": "COALESCE((clients #>> %s)::float, 0)",
}


def _item_path(i: int) -> str | list[str]:
    return [str(i)] if connection.vendor == "postgresql" else f"$[{i}]"


def _client_param(name: str, i: int) -> str | list[str]:
    return [name, str(i)] if connection.vendor == "postgresql" else name


def _means_select(
    *, realm: str, start: datetime, end: datetime, step_s: int, clients: list[str]
) -> list[HistoryPoint]:
    """The stored points' means per `step_s` (weighted by the refreshes each stands for),
    stamped at the step's start, as unsaved HistoryPoints holding only `clients`."""
    epoch = _EPOCH_SQL[connection.vendor]
    item = _ITEM_SQL[connection.vendor]
    sums = ["SUM(samples)", "SUM(samples * online)", "SUM(samples * offline)"]
    sums += ["SUM(samples * users)", "SUM(samples * refresh_s)"]
    params: list[str | list[str]] = []
    for column in ("expiring", "offline_idle"):
        for i in range(5):
            sums.append(f"SUM(samples * {item.format(column=column)})")
            params.append(_item_path(i))
    for name in clients:
        for i in (0, 1):
            if connection.vendor == "sqlite" and '"' not in name:  # a path: 4x quicker
                sums.append(f"SUM(samples * {item.format(column='clients')})")
                params.append(f'$."{name}"[{i}]')
            else:
                sums.append(f"SUM(samples * {_CLIENT_ITEM_SQL[connection.vendor].format(i=i)})")
                params.append(_client_param(name, i))
    table = connection.ops.quote_name(HistoryPoint._meta.db_table)
    sql = (
        f"SELECT {epoch} - {epoch} %% %s AS step, {', '.join(sums)} FROM {table} "  # noqa: S608
        "WHERE realm = %s AND at >= %s AND at <= %s GROUP BY 1 ORDER BY 1"
    )
    with connection.cursor() as cursor:
        bounds = [connection.ops.adapt_datetimefield_value(t) for t in (start, end)]
        cursor.execute(sql, [step_s, *params, realm, *bounds])
        rows = cursor.fetchall()
    points = []
    for step, samples, *totals in rows:
        means = [round(t / samples) for t in totals]
        online, offline, users = means[:3]
        expiring, idle, pairs = means[4:9], means[9:14], means[14:]
        points.append(
            HistoryPoint(
                realm=realm,
                at=datetime.fromtimestamp(step, tz=UTC),
                grain=Grain.REFRESH,
                samples=samples,
                online=online,
                offline=offline,
                users=users,
                clients={n: pairs[2 * i : 2 * i + 2] for i, n in enumerate(clients)},
                expiring=expiring,
                offline_idle=idle,
                refresh_s=round(totals[3] / samples, 3),
            )
        )
    return points


def realm_history_select(*, realm: str, span: str, now: datetime) -> RealmHistory:
    """The realm's points within `span` before `now` (every grain: the newest are refresh
    points, older ones hourly or daily means) and the ledger's revocations and lifespan
    changes in the same window."""
    start = now - SPANS[span]
    stored = HistoryPoint.objects.filter(realm=realm, at__gte=start, at__lte=now)
    last = stored.order_by("-at", "-id").first()
    totals = {name: sum(pair) for name, pair in last.clients.items()} if last else {}
    top = sorted(totals, key=lambda name: (-totals[name], name))[:TOP_CLIENTS]
    step_s = SHOWN_STEP_S[span]
    if step_s:
        points = _means_select(realm=realm, start=start, end=now, step_s=step_s, clients=top)
    else:
        points = list(stored.order_by("at", "id"))
    entries = LedgerEntry.objects.filter(
        realm=realm,
        created_at__gte=start,
        created_at__lte=now,
        action__in=[*REVOCATIONS, *LIFESPAN_CHANGES],
    ).order_by("created_at")
    markers = [
        Marker(
            at=e.created_at,
            kind="lifespans" if e.action in LIFESPAN_CHANGES else "revocation",
            label=" · ".join(
                part for part in (e.action_label, e.target_label, e.actor_username) if part
            ),
        )
        for e in entries[:500]
    ]
    return RealmHistory(
        span=span, start=start, end=now, points=points, markers=markers, top_clients=top
    )
