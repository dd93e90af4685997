"""Bulk revocation: from a selection or a recipe to a plan (count, sample, exclusions) to a job.

Recipes (recipes.py):
- `selection`: session ids ticked in the sessions browser (`<id>` or `<id>:offline`);
- `client`: everyone on client X (online and optionally offline);
- `offline_older_than`: offline tokens of client X started more than N days ago;
- `group`: all sessions of the members of group G (live);
- `filter`: the sessions page's filter (query string) or a saved view's, over the session index;
- `realm`: every online session of the admin's own login realm, theirs excepted (logout-all
  would sign them out too).

The preview builds a Plan once: the exact count and a sample, with no per-session work in the
request. Filters and selections count in the index; "one client", "offline older than" and
"the whole realm" count there too (as of its last refresh) and the job reads them live from
Keycloak when it runs; a group is read live (its members only). The plan travels signed from
the preview to the start, so the start acts on what the admin saw; the full list of sessions
is built by the job (targets.py), streamed. The acting admin's own session is never a target.
"""

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db.models import QuerySet
from django.utils import timezone

from tokenadmin.accounts.models import User
from tokenadmin.keycloak import Gateway, NotFound
from tokenadmin.sessionindex.filters import SessionFilters, SessionType, filters_from_query
from tokenadmin.sessionindex.models import IndexedSession, SavedView
from tokenadmin.sessionindex.selectors import indexed_sessions_select, sessions_count_select
from tokenadmin.sessionindex.selectors_refresh import realm_index_get

from .models import RevocationJob
from .outcomes import NOTHING_SELECTED, RevocationRefused
from .recipes import OWN_SESSION_WHY, Kind, Recipe, Target
from .recording import is_login_realm
from .residual import residual_risk_for
from .targets import (
    INDEX_COLUMNS,
    index_for_selection,
    live_for_group,
    live_for_user,
    target_of_row,
)

__all__ = ["OWN_SESSION_WHY", "Kind", "Plan", "Recipe", "Target"]

SAMPLE_SIZE = 20
# How long a preview may be acted on; after that the admin previews again.
PLAN_MAX_AGE_S = 30 * 60
PLAN_SALT = "tokenadmin.revocation.plan"
PLAN_ALTERED = "This preview was altered on its way back; nothing was revoked. Preview again."
PLAN_EXPIRED = (
    "This preview is more than {minutes} minutes old; nothing was revoked. Preview again to "
    "see what would be revoked now."
)
PLAN_OTHER_REALM = "This preview is for another realm; nothing was revoked. Preview again."
SAVED_VIEW_GONE = (
    "The saved view this revocation was previewed with has been deleted since; "
    "nothing was revoked. Preview again."
)
LIVE_WHEN_RUN = "the job reads the list live from Keycloak when it runs"


@dataclass(frozen=True)
class Plan:
    """What the admin previewed: the recipe as resolved, how many sessions it names and a
    sample, whom it spares, where the figures came from."""

    realm: str
    recipe: Recipe
    # None: the index was never refreshed, so only the job (reading Keycloak) will know.
    count: int | None
    offline_count: int
    sample: tuple[Target, ...]
    excluded: tuple[dict[str, str], ...]
    source: str
    residual_risk: tuple[str, ...] = ()
    made_at: float = field(default_factory=time.time)

    @property
    def total(self) -> int:
        return self.count or 0

    @property
    def label(self) -> str:
        return self.recipe.label()

    def as_dict(self) -> dict[str, Any]:
        return {
            "realm": self.realm,
            "recipe": self.recipe.as_dict(),
            "count": self.count,
            "offline_count": self.offline_count,
            "sample": [t.as_dict() for t in self.sample],
            "excluded": list(self.excluded),
            "source": self.source,
            "residual_risk": list(self.residual_risk),
            "made_at": self.made_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Plan":
        return cls(
            realm=data["realm"],
            recipe=Recipe.from_dict(data["recipe"]),
            count=data["count"],
            offline_count=data["offline_count"],
            sample=tuple(Target.from_dict(t) for t in data["sample"]),
            excluded=tuple(data["excluded"]),
            source=data["source"],
            residual_risk=tuple(data["residual_risk"]),
            made_at=data["made_at"],
        )


def plan_sign(plan: Plan) -> str:
    """The plan as the preview's form carries it: signed (and timestamped) by SECRET_KEY."""
    return signing.dumps(plan.as_dict(), salt=PLAN_SALT, compress=True)


def plan_load(signed: str, *, realm: str) -> Plan:
    """The plan a preview signed; RevocationRefused if altered, too old or for another realm."""
    max_age_s = PLAN_MAX_AGE_S
    try:
        data = signing.loads(signed, salt=PLAN_SALT, max_age=timedelta(seconds=max_age_s))
        plan = Plan.from_dict(data)
    except signing.SignatureExpired:
        raise RevocationRefused(PLAN_EXPIRED.format(minutes=max_age_s // 60)) from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise RevocationRefused(PLAN_ALTERED) from None
    if plan.realm != realm:
        raise RevocationRefused(PLAN_OTHER_REALM)
    return plan


# --- the preview ---------------------------------------------------------------------------------


def _index_source(realm: str, *, live_later: bool) -> tuple[str, bool]:
    """(where the figures come from, whether the index was ever refreshed)."""
    index = realm_index_get(realm=realm)
    later = f"; {LIVE_WHEN_RUN}" if live_later else ""
    if index is None or index.refreshed_at is None:
        if live_later:
            return f"the session index was never refreshed, so {LIVE_WHEN_RUN}", False
        return "the session index (never refreshed: refresh it first for a complete list)", False
    minutes = int((timezone.now() - index.refreshed_at).total_seconds() // 60)
    when = "less than a minute ago" if minutes < 1 else f"{minutes} min ago"
    return f"counted in the session index as of its last refresh, {when}{later}", True


def _index_filters(recipe: Recipe) -> SessionFilters:
    """The index's view of a recipe (the same sessions, as of the last refresh)."""
    if recipe.kind == Kind.FILTER:
        return filters_from_query(recipe.query)
    if recipe.kind == Kind.CLIENT:
        kind = SessionType.ALL if recipe.include_offline else SessionType.REGULAR
        return SessionFilters(client=recipe.client_id, type=kind)
    if recipe.kind == Kind.OFFLINE_OLDER_THAN:
        return SessionFilters(
            client=recipe.client_id,
            type=SessionType.OFFLINE,
            older_than_s=recipe.older_than_days * 86400,
        )
    if recipe.kind == Kind.REALM:
        return SessionFilters(type=SessionType.REGULAR)
    raise ValueError(f"no index view of recipe {recipe.kind!r}")


def _own_excluded(username: str, own_session_id: str) -> dict[str, str]:
    return {"session_id": own_session_id, "username": username, "why": OWN_SESSION_WHY}


def _plan_from_index(*, admin: Gateway, realm: str, recipe: Recipe, own_session_id: str) -> Plan:
    """Count and sample in the index: two aggregates and two short reads, at any size."""
    live_later = recipe.kind != Kind.FILTER
    source, refreshed = _index_source(realm, live_later=live_later)
    rows: QuerySet[IndexedSession] = indexed_sessions_select(
        realm=realm, filters=_index_filters(recipe)
    )
    excluded: list[dict[str, str]] = []
    if own_session_id:
        # An offline session may share the admin's id, and revoking it drops its online twin.
        own = list(rows.filter(session_id=own_session_id).values_list("username", flat=True))
        if own or recipe.kind == Kind.REALM:  # the realm recipe is the admin's login realm
            excluded.append(_own_excluded(own[0] if own else "", own_session_id))
        rows = rows.exclude(session_id=own_session_id)
    counts = sessions_count_select(sessions=rows)
    sample = [target_of_row(row) for row in rows.values_list(*INDEX_COLUMNS)[:SAMPLE_SIZE]]
    unknown = live_later and not refreshed and not counts.total
    if unknown and recipe.kind == Kind.CLIENT:
        return _plan_from_client_counts(
            admin=admin, realm=realm, recipe=recipe, own_session_id=own_session_id
        )
    clients = {recipe.client_id} if recipe.client_id else None
    filters = _index_filters(recipe)
    if recipe.kind == Kind.FILTER and filters.client:
        clients = {filters.client}
    return Plan(
        realm=realm,
        recipe=recipe,
        count=None if unknown else counts.total,
        offline_count=counts.offline,
        sample=tuple(sample),
        excluded=tuple(excluded),
        source=source,
        residual_risk=tuple(
            residual_risk_for(admin=admin, realm=realm, client_ids=clients)
            if counts.total or unknown
            else ()
        ),
    )


def _plan_from_client_counts(
    *, admin: Gateway, realm: str, recipe: Recipe, own_session_id: str
) -> Plan:
    """One client in a realm the index never saw: Keycloak's own counts (two cheap calls)."""
    client = admin.client_by_client_id(realm, recipe.client_id)
    if client is None:
        raise NotFound(f"find client {recipe.client_id} in {realm}", "Could not find client")
    online = admin.client_session_count(realm, client.uuid, offline=False)
    offline = (
        admin.client_session_count(realm, client.uuid, offline=True)
        if recipe.include_offline
        else 0
    )
    excluded = []
    # The admin's own session is on tokenadmin's client in the realm they signed in to.
    if (
        own_session_id
        and is_login_realm(realm)
        and recipe.client_id == settings.KEYCLOAK_CLIENT_ID
        and online
    ):
        excluded.append(_own_excluded("", own_session_id))
        online -= 1
    return Plan(
        realm=realm,
        recipe=recipe,
        count=online + offline,
        offline_count=offline,
        sample=(),
        excluded=tuple(excluded),
        source=f"counted live by Keycloak (the session index was never refreshed); {LIVE_WHEN_RUN}",
        residual_risk=tuple(
            residual_risk_for(admin=admin, realm=realm, client_ids={recipe.client_id})
            if online + offline
            else ()
        ),
    )


def _plan_from_list(
    *, admin: Gateway, realm: str, recipe: Recipe, own_session_id: str, source: str
) -> Plan:
    """Count a selection's or a group's sessions as they stream by, keeping only a sample and
    the keys seen (a selection is what one page ticked; a group, its members' sessions)."""
    if recipe.kind == Kind.SELECTION:
        found = index_for_selection(realm, recipe)
    elif recipe.kind == Kind.USER:
        found = live_for_user(admin, realm, recipe)
    else:
        found = live_for_group(admin, realm, recipe)
    seen: set[tuple[str, bool]] = set()
    sample: list[Target] = []
    excluded: list[dict[str, str]] = []
    offline = 0
    clients: set[str] = set()
    for target in found:
        if target.key in seen:
            continue
        seen.add(target.key)
        if own_session_id and target.session_id == own_session_id:
            if not any(ex["session_id"] == own_session_id for ex in excluded):
                excluded.append(_own_excluded(target.username, own_session_id))
            continue
        offline += target.offline
        clients.update(target.client_ids)
        if len(sample) < SAMPLE_SIZE:
            sample.append(target)
    count = len(seen) - sum(1 for key in seen if key[0] == own_session_id)
    return Plan(
        realm=realm,
        recipe=recipe,
        count=count,
        offline_count=offline,
        sample=tuple(sample),
        excluded=tuple(excluded),
        source=source,
        residual_risk=tuple(
            residual_risk_for(admin=admin, realm=realm, client_ids=clients or None) if count else ()
        ),
    )


def revocation_plan_build(
    *, admin: Gateway, realm: str, recipe: Recipe, own_session_id: str
) -> Plan:
    """What a recipe would revoke, the admin's own session excepted: count, sample, source.

    A saved view's query is frozen into the plan's recipe, so the job revokes what was shown.
    """
    if recipe.kind == Kind.SELECTION:
        source, _ = _index_source(realm, live_later=False)
        return _plan_from_list(
            admin=admin, realm=realm, recipe=recipe, own_session_id=own_session_id, source=source
        )
    if recipe.kind in (Kind.GROUP, Kind.USER):
        return _plan_from_list(
            admin=admin,
            realm=realm,
            recipe=recipe,
            own_session_id=own_session_id,
            source="live from Keycloak",
        )
    if recipe.kind == Kind.FILTER and recipe.saved_view_id:
        view = SavedView.objects.filter(pk=recipe.saved_view_id, realm=realm).first()
        if view is None:
            raise RevocationRefused(SAVED_VIEW_GONE)
        recipe = Recipe.from_dict({**recipe.as_dict(), "query": view.query})
    if recipe.kind not in Kind.ALL:
        raise ValueError(f"unknown recipe {recipe.kind!r}")
    return _plan_from_index(admin=admin, realm=realm, recipe=recipe, own_session_id=own_session_id)


# --- from a plan to a job ------------------------------------------------------------------------


def revocation_job_create(
    *,
    plan: Plan,
    actor: User,
    reason: str,
    ticket: str = "",
    spared_session_ids: tuple[str, ...] = (),
) -> RevocationJob:
    """Store the job as previewed; its worker lists the sessions (targets.py) and revokes them.

    `spared_session_ids`: sessions the job must never revoke (the acting admin's own), on top
    of those the plan excluded. The caller builds the list or enqueues the job on commit.
    """
    if plan.count == 0:
        raise RevocationRefused(NOTHING_SELECTED)
    if (
        plan.recipe.saved_view_id
        and not SavedView.objects.filter(pk=plan.recipe.saved_view_id, realm=plan.realm).exists()
    ):
        raise RevocationRefused(SAVED_VIEW_GONE)
    spared = {ex["session_id"] for ex in plan.excluded} | {s for s in spared_session_ids if s}
    return RevocationJob.objects.create(
        realm=plan.realm,
        action=plan.recipe.ledger_action().value,
        label=plan.label[:500],
        recipe=plan.recipe.as_dict(),
        actor=actor,
        actor_username=actor.username,
        reason=reason,
        ticket=ticket,
        total=plan.total,
        excluded=list(plan.excluded),
        spared_session_ids=sorted(spared),
        targets_ready=False,
        residual_risk=list(plan.residual_risk),
    )
