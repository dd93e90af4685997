"""Old → new of lifespan settings, in human units, and the impact on live sessions."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from tokenadmin.sessionindex.expiry import (
    NO_OVERRIDES,
    ClientActivity,
    ClientOverrides,
    EffectiveLifespans,
    SessionTimes,
    session_expiry_predict,
)

from .catalog import FIELDS, value_text


@dataclass(frozen=True)
class FieldChange:
    name: str
    label: str
    group: str
    old: int | bool | None
    new: int | bool | None
    old_text: str
    new_text: str


def lifespans_diff(
    old: Mapping[str, int | bool], new: Mapping[str, int | bool]
) -> list[FieldChange]:
    """Each lifespan field whose value differs, in the catalog's order."""
    changes = []
    for field in FIELDS:
        before, after = old.get(field.name), new.get(field.name)
        if before == after:
            continue
        changes.append(
            FieldChange(
                name=field.name,
                label=field.label,
                group=field.group,
                old=before,
                new=after,
                old_text=value_text(field, before),
                new_text=value_text(field, after),
            )
        )
    return changes


@dataclass(frozen=True)
class SessionRow:
    """What the impact needs of one indexed session (IndexedSession's columns)."""

    offline: bool
    remember_me: bool
    started_at: datetime
    last_access_at: datetime
    client_uuids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExpiryBuckets:
    at_once: int = 0
    within_hour: int = 0
    within_day: int = 0


@dataclass(frozen=True)
class Impact:
    """How live sessions fare under the current and the new values."""

    sessions: int
    now: ExpiryBuckets
    after: ExpiryBuckets
    shortened: int
    lengthened: int

    @property
    def ended_by_change(self) -> int:
        return self.after.at_once - self.now.at_once


def _bucket(expires: datetime, now: datetime) -> int:
    if expires <= now:
        return 0
    if expires <= now + timedelta(hours=1):
        return 1
    if expires <= now + timedelta(days=1):
        return 2
    return 3


def lifespans_impact(
    *,
    old: Mapping[str, object],
    new: Mapping[str, object],
    sessions: Iterable[SessionRow],
    now: datetime,
    client_overrides: Mapping[str, ClientOverrides] | None = None,
) -> Impact:
    """Recompute each session's expiry with the old and the new realm values.

    `old`/`new` are realm representations (or just their lifespan fields). Sessions that
    would already be gone under the old values are left out: the change does nothing to them.
    """
    overrides = client_overrides or {}
    before_rules = EffectiveLifespans.from_representation(old)
    after_rules = EffectiveLifespans.from_representation(new)
    counts_now = [0, 0, 0, 0]
    counts_after = [0, 0, 0, 0]
    total = shortened = lengthened = 0
    for row in sessions:
        times = SessionTimes(
            offline=row.offline,
            remember_me=row.remember_me,
            started_at=row.started_at,
            last_access_at=row.last_access_at,
            clients=tuple(
                ClientActivity(overrides=overrides.get(uuid, NO_OVERRIDES))
                for uuid in row.client_uuids
            ),
        )
        before = session_expiry_predict(lifespans=before_rules, session=times)
        if before <= now:
            continue
        after = session_expiry_predict(lifespans=after_rules, session=times)
        total += 1
        counts_now[_bucket(before, now)] += 1
        counts_after[_bucket(after, now)] += 1
        if after < before:
            shortened += 1
        elif after > before:
            lengthened += 1

    def buckets(c: list[int]) -> ExpiryBuckets:
        return ExpiryBuckets(at_once=c[0], within_hour=c[1], within_day=c[2])

    return Impact(
        sessions=total,
        now=buckets(counts_now),
        after=buckets(counts_after),
        shortened=shortened,
        lengthened=lengthened,
    )
