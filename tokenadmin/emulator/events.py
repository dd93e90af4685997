"""Login events and admin events, kept per realm when the realm enables them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tokenadmin.emulator.store import new_id

if TYPE_CHECKING:
    from tokenadmin.emulator.authz import AdminAuth
    from tokenadmin.emulator.store import Realm, User

MAX_KEPT = 10000


def events_expire(realm: Realm) -> None:
    """Drop the user events older than the realm's eventsExpiration (seconds), as Keycloak's
    ClearExpiredEvents task does (it runs every 15 minutes; here at each write and read).
    Without an expiration Keycloak keeps every event (the emulator at most MAX_KEPT)."""
    expiration = int(realm.rep.get("eventsExpiration") or 0)
    if expiration <= 0 or not realm.events:
        return
    oldest = realm.clock.now_ms() - expiration * 1000
    if realm.events[0]["time"] < oldest:
        realm.events[:] = [e for e in realm.events if e["time"] >= oldest]


def record_event(
    realm: Realm,
    event_type: str,
    *,
    client_id: str | None = None,
    user_id: str | None = None,
    session_id: str | None = None,
    ip: str | None = None,
    error: str | None = None,
    details: dict[str, str] | None = None,
) -> None:
    if not realm.rep.get("eventsEnabled"):
        return
    enabled = realm.rep.get("enabledEventTypes") or []
    if enabled and event_type not in enabled:
        return
    event: dict[str, Any] = {
        "id": new_id(),
        "time": realm.clock.now_ms(),
        "type": event_type,
        "realmId": realm.id,
    }
    for key, value in (
        ("clientId", client_id),
        ("userId", user_id),
        ("sessionId", session_id),
        ("ipAddress", ip),
        ("error", error),
    ):
        if value is not None:
            event[key] = value
    if details:
        event["details"] = details
    realm.events.append(event)
    events_expire(realm)
    if len(realm.events) > MAX_KEPT:
        del realm.events[: len(realm.events) - MAX_KEPT]


def login_user_check(
    realm: Realm, *, client_id: str, username: str, password: str | None, ip: str | None
) -> User | None:
    """The user these credentials name, or None after recording Keycloak's LOGIN_ERROR; shared
    by the login form and the password grant."""
    user = realm.find_login_user(username)
    if user is None or user.password is None or user.password != password:
        record_event(
            realm,
            "LOGIN_ERROR",
            client_id=client_id,
            user_id=user.id if user else None,
            ip=ip,
            error="user_not_found" if user is None else "invalid_user_credentials",
        )
        return None
    return user


def record_admin_event(
    realm: Realm,
    auth: AdminAuth | None,
    operation: str,
    resource_type: str,
    resource_path: str,
    representation: Any = None,
    ip: str | None = None,
) -> None:
    if not realm.rep.get("adminEventsEnabled"):
        return
    event: dict[str, Any] = {
        "id": new_id(),
        "time": realm.clock.now_ms(),
        "realmId": realm.id,
        "authDetails": {},
        "operationType": operation,
        "resourceType": resource_type,
    }
    if resource_path:  # the realm's own path is "": Keycloak then sends no resourcePath
        event["resourcePath"] = resource_path
    if auth is not None:
        event["authDetails"] = {
            "realmId": auth.realm.id,
            "clientId": auth.client.id if auth.client else None,
            "userId": auth.user.id,
            "ipAddress": ip,
        }
        event["authDetails"] = {k: v for k, v in event["authDetails"].items() if v is not None}
    if representation is not None and realm.rep.get("adminEventsDetailsEnabled"):
        event["representation"] = json.dumps(representation, separators=(",", ":"))
    realm.admin_events.append(event)
    if len(realm.admin_events) > MAX_KEPT:
        del realm.admin_events[: len(realm.admin_events) - MAX_KEPT]
