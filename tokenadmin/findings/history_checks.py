"""Checks over what tokenadmin itself keeps: the session counts of past refreshes (history)
and the lifespans drift watch's snapshots. Neither reads Keycloak."""

from statistics import median

from tokenadmin.history.models import Grain, HistoryPoint
from tokenadmin.lifespans.models import LifespanSnapshot

from .checks import Seen
from .models import Kind, RealmThresholds, Severity

# The latest refresh is compared with the median of up to this many refreshes before it, and
# only once at least MIN_PAST of them exist (a median of one point is just that point).
RECENT = 12
MIN_PAST = 3


def _jump(*, now: int, past: list[int], thresholds: RealmThresholds) -> tuple[int, int] | None:
    """(median, change) when `now` is off the median by the realm's percent and minimum."""
    middle = int(median(past))
    change = now - middle
    if abs(change) < thresholds.count_jump_min:
        return None
    if middle and abs(change) * 100 < thresholds.count_jump_percent * middle:
        return None
    return middle, change


def _jump_seen(subject: str, label: str, now: int, middle: int, change: int, n: int) -> Seen:
    direction = "rose" if change > 0 else "fell"
    share = f" ({abs(change) * 100 // middle}%)" if middle else ""
    return Seen(
        kind=Kind.COUNT_JUMP,
        subject=subject,
        subject_label=label,
        severity=Severity.MEDIUM if change > 0 else Severity.LOW,
        explanation=(
            f"The sessions of {label} {direction} to {now:,} against a median of {middle:,} "
            f"over the {n} refreshes before, a change of {change:+,}{share}. A sudden rise can "
            "be a script logging in over and over or a credential-stuffing run; a sudden fall, "
            "a mass logout or a realm change nobody announced."
        ),
    )


def count_jump_check(*, realm: str, thresholds: RealmThresholds) -> list[Seen]:
    """The realm's and each client's session count at the latest refresh against the median
    of the refreshes before it (history keeps one point per refresh)."""
    points = list(
        HistoryPoint.objects.filter(realm=realm, grain=Grain.REFRESH)
        .order_by("-at", "-id")
        .values_list("online", "offline", "clients")[: RECENT + 1]
    )
    if len(points) < MIN_PAST + 1:
        return []
    (online, offline, clients), past = points[0], points[1:]
    found = []
    total = online + offline
    jump = _jump(now=total, past=[a + b for a, b, _ in past], thresholds=thresholds)
    if jump:
        found.append(_jump_seen("realm", f"realm {realm}", total, *jump, len(past)))
    for client_id in sorted(set(clients) | {c for _, _, cs in past for c in cs}):
        now = sum(clients.get(client_id, [0, 0]))
        before = [sum(cs.get(client_id, [0, 0])) for _, _, cs in past]
        jump = _jump(now=now, past=before, thresholds=thresholds)
        if jump:
            found.append(
                _jump_seen(f"client:{client_id}", f"client {client_id}", now, *jump, len(past))
            )
    return found


def lifespan_drift_check(*, realm: str) -> list[Seen]:
    """A drift the watch recorded that nobody has approved or rolled back since (both save
    an APPROVED snapshot through tokenadmin)."""
    latest = (
        LifespanSnapshot.objects.filter(
            realm=realm,
            kind__in=[LifespanSnapshot.Kind.APPROVED, LifespanSnapshot.Kind.DRIFT],
        )
        .order_by("-taken_at", "-id")
        .first()
    )
    if latest is None or latest.kind != LifespanSnapshot.Kind.DRIFT:
        return []
    before = latest.previous_values or {}
    fields = sorted(k for k, v in latest.values.items() if before.get(k) != v)
    when = latest.changed_at or latest.taken_at
    return [
        Seen(
            kind=Kind.LIFESPAN_DRIFT,
            subject="lifespans",
            subject_label=realm,
            severity=Severity.MEDIUM,
            explanation=(
                f"The lifespans of {realm} were changed outside tokenadmin on "
                f"{when:%Y-%m-%d %H:%M} UTC by {latest.actor_username or 'someone unknown'}: "
                f"{', '.join(fields) or 'no field named'}. Approve the new values or roll them "
                "back on the lifespans page; until then, session ends are predicted from "
                "values nobody here chose."
            ),
        )
    ]
