"""What the history page reads: a realm's points over a span, and the ledger's markers."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from tokenadmin.ledger.models import Action, LedgerEntry

from .models import HistoryPoint
from .record import EXPIRING_LABELS, IDLE_LABELS

SPANS: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "90d": timedelta(days=90),
    "2y": timedelta(days=730),
}
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
        """The charts' numbers (json_script): x in epoch seconds on a linear axis."""
        xs = [int(p.at.timestamp()) for p in self.points]

        def series(values: list[int]) -> list[dict[str, int]]:
            return [{"x": x, "y": y} for x, y in zip(xs, values, strict=True)]

        return {
            "start": int(self.start.timestamp()),
            "end": int(self.end.timestamp()),
            "types": {
                "Regular": series([p.online for p in self.points]),
                "Offline": series([p.offline for p in self.points]),
                "Distinct users": series([p.users for p in self.points]),
            },
            "clients": {
                name: series([sum(p.clients.get(name, [0, 0])) for p in self.points])
                for name in self.top_clients
            },
            "expiring": {
                label: series([_at(p.expiring, i) for p in self.points])
                for i, label in enumerate(EXPIRING_LABELS)
            },
            "idle": {
                label: series([_at(p.offline_idle, i) for p in self.points])
                for i, label in enumerate(IDLE_LABELS)
            },
            "markers": [
                {"x": int(m.at.timestamp()), "kind": m.kind, "label": m.label} for m in self.markers
            ],
        }


def _at(values: list[int], i: int) -> int:
    return values[i] if i < len(values) else 0


def realm_history_select(*, realm: str, span: str, now: datetime) -> RealmHistory:
    """The realm's points within `span` before `now` (every grain: the newest are refresh
    points, older ones hourly or daily means) and the ledger's revocations and lifespan
    changes in the same window."""
    start = now - SPANS[span]
    points = list(
        HistoryPoint.objects.filter(realm=realm, at__gte=start, at__lte=now).order_by("at", "id")
    )
    totals: dict[str, int] = {}
    if points:
        for name, pair in points[-1].clients.items():
            totals[name] = sum(pair)
    top = sorted(totals, key=lambda name: (-totals[name], name))[:TOP_CLIENTS]
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
