"""Drift watch: notice lifespan changes made outside tokenadmin, and who made them."""

import logging
from dataclasses import dataclass
from datetime import datetime

from tokenadmin.keycloak import Gateway, GatewayError, gateway_for_worker
from tokenadmin.keycloak.types import RealmSettings

from .catalog import LifespanValues, lifespan_values_of
from .models import LifespanSnapshot

logger = logging.getLogger(__name__)

WHO_EVENTS_OFF = "unknown (admin events are off)"
WHO_NO_EVENT = "unknown (no admin event recorded)"
WHO_NOT_ALLOWED = "unknown (admin events could not be read)"
BASELINE_NOTE = "first seen by the drift watch: taken as the approved baseline"


@dataclass(frozen=True)
class Culprit:
    who: str
    at: datetime | None


def realm_change_culprit(
    *, gateway: Gateway, realm: str, settings: RealmSettings, since: datetime | None
) -> Culprit:
    """Who last updated the realm after `since`, by Keycloak's admin events (if kept)."""
    if not settings.admin_events_enabled:
        return Culprit(WHO_EVENTS_OFF, None)
    try:
        events = gateway.realm_update_events(realm)
    except GatewayError:
        return Culprit(WHO_NOT_ALLOWED, None)
    # Our own event-config and other sub-resource updates are REALM updates too; the realm
    # itself has an empty resource path.
    recent = [
        e for e in events if e.resource_path in ("", realm) and (since is None or e.at >= since)
    ]
    if not recent:
        return Culprit(WHO_NO_EVENT, None)
    event = max(recent, key=lambda e: e.at)
    return Culprit(_username(gateway, event.auth_realm_id, event.auth_user_id), event.at)


def _username(gateway: Gateway, realm_id: str, user_id: str) -> str:
    if not user_id:
        return WHO_NO_EVENT
    try:
        realm_name = gateway.realm_name_of_id(realm_id) or "master"
        return gateway.user_get(realm_name, user_id).username or user_id
    except GatewayError:
        return f"user id {user_id}"


def last_approved(realm: str) -> LifespanSnapshot | None:
    return (
        LifespanSnapshot.objects.filter(realm=realm, kind=LifespanSnapshot.Kind.APPROVED)
        .order_by("-taken_at", "-id")
        .first()
    )


def last_drift_since(approved: LifespanSnapshot) -> LifespanSnapshot | None:
    """The drift watch's latest record of the realm since its last approved snapshot."""
    return (
        LifespanSnapshot.objects.filter(
            realm=approved.realm,
            kind=LifespanSnapshot.Kind.DRIFT,
            taken_at__gte=approved.taken_at,
        )
        .order_by("-taken_at", "-id")
        .first()
    )


def lifespans_drift_check(*, gateway: Gateway, realm: str) -> LifespanSnapshot | None:
    """Compare the realm's lifespans with the last approved snapshot; record a drift once.

    Returns the DRIFT snapshot for the realm's current values, or None when there is no drift.
    A realm never seen before gets its current values as the approved baseline.
    """
    settings = gateway.realm_settings(realm)
    values: LifespanValues = lifespan_values_of(settings.lifespans)
    approved = last_approved(realm)
    if approved is None:
        LifespanSnapshot.objects.create(
            realm=realm,
            kind=LifespanSnapshot.Kind.APPROVED,
            values=values,
            actor_username="tokenadmin",
            note=BASELINE_NOTE,
        )
        return None
    if values == approved.values:
        return None
    known = last_drift_since(approved)
    if known is not None and known.values == values:
        return known
    culprit = realm_change_culprit(
        gateway=gateway,
        realm=realm,
        settings=settings,
        since=known.taken_at if known else approved.taken_at,
    )
    return LifespanSnapshot.objects.create(
        realm=realm,
        kind=LifespanSnapshot.Kind.DRIFT,
        values=values,
        previous_values=known.values if known else approved.values,
        changed_at=culprit.at,
        actor_username=culprit.who,
    )


def lifespans_drift_watch(*, gateway: Gateway | None = None) -> dict[str, bool]:
    """Check every realm the worker sees; {realm: drifted}. A failing realm skips only itself."""
    gateway = gateway or gateway_for_worker()
    drifted: dict[str, bool] = {}
    for realm in gateway.realms_list():
        try:
            drifted[realm.name] = (
                lifespans_drift_check(gateway=gateway, realm=realm.name) is not None
            )
        except GatewayError as exc:
            logger.warning("drift watch skipped realm %s: %s", realm.name, exc.message)
    return drifted
