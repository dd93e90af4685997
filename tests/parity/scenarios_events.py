"""Parity scenarios for what the findings checks read: credential changes in the user and
admin events (types, fields, paging, day filter) and a client's secret creation time."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from .scenarios import (
    APP_SECRET,
    TIMEOUT_S,
    Target,
    _code_login,
    _cookies_over_http,
    _form_action,
    _ok,
    epoch_ms_now,
    epoch_s_now,
    kind,
    realm_make,
)

RESET_QUERY = {
    "operationTypes": "ACTION",
    "resourceTypes": "USER",
    "resourcePath": "users/*/reset-password",
}


def _day(offset: int = 0) -> str:
    return (datetime.now(tz=UTC) + timedelta(days=offset)).date().isoformat()


def _resets(t: Target, realm: str, **params: Any) -> list[dict[str, Any]]:
    found = t.admin("GET", f"/{realm}/admin-events", params={**RESET_QUERY, **params})
    return _ok(found, 200).json()


def credential_reset_events(t: Target, realm: str) -> dict[str, Any]:
    """An admin's password resets in admin-events (ACTION on users/<id>/reset-password, no
    representation), paged with first/max and filtered by dateFrom; none in the user events;
    a final password lifts UPDATE_PASSWORD."""
    ids = realm_make(t, realm, users=("alice", "bob"))
    config = t.admin("PUT", f"/{realm}/events/config", json={"eventsEnabled": True})
    _ok(config, 204)
    reset = f"/{realm}/users/{ids['alice']}/reset-password"
    _ok(t.admin("PUT", reset, json={"type": "password", "value": "t1", "temporary": True}), 204)
    pending = _ok(t.admin("GET", f"/{realm}/users/{ids['alice']}"), 200).json()
    time.sleep(0.01)
    _ok(t.admin("PUT", reset, json={"type": "password", "value": "t2", "temporary": False}), 204)
    bob = f"/{realm}/users/{ids['bob']}/reset-password"
    _ok(t.admin("PUT", bob, json={"type": "password", "value": "t3", "temporary": False}), 204)
    after = _ok(t.admin("GET", f"/{realm}/users/{ids['alice']}"), 200).json()
    every = _resets(t, realm, dateFrom=_day())
    newest = every[0] if every else {}
    user_events = t.admin(
        "GET",
        f"/{realm}/events",
        params=[("type", "UPDATE_PASSWORD"), ("type", "UPDATE_CREDENTIAL"), ("dateFrom", _day())],
    )
    return {
        "resets listed": len(every),
        "newest first": [e["resourcePath"] == f"users/{ids['bob']}/reset-password" for e in every],
        "times descending": [e["time"] for e in every]
        == sorted((e["time"] for e in every), reverse=True),
        "event keys": sorted(newest),
        "time": epoch_ms_now(newest.get("time")),
        "types": sorted({(e["operationType"], e["resourceType"]) for e in every}),
        "path shape": sorted(
            {re.sub(r"users/[^/]+/", "users/<id>/", e["resourcePath"]) for e in every}
        ),
        "representation": [kind(e.get("representation")) for e in every],
        "page 1 (max 2)": len(_resets(t, realm, first=0, max=2)),
        "page 2 (first 2, max 2)": len(_resets(t, realm, first=2, max=2)),
        "from tomorrow": len(_resets(t, realm, dateFrom=_day(1))),
        "from yesterday": len(_resets(t, realm, dateFrom=_day(-1))),
        "user events of admin resets": _ok(user_events, 200).json(),
        "temporary -> required actions": pending.get("requiredActions"),
        "final -> required actions": after.get("requiredActions"),
    }


def password_update_events(t: Target, realm: str) -> dict[str, Any]:
    """A user told to update their password does so at login: the form, then the user events
    UPDATE_PASSWORD and UPDATE_CREDENTIAL (credential_type password) and their fields."""
    ids = realm_make(t, realm)
    _ok(t.admin("PUT", f"/{realm}/events/config", json={"eventsEnabled": True}), 204)
    reset = f"/{realm}/users/{ids['alice']}/reset-password"
    temporary = {"type": "password", "value": "temp-pw", "temporary": True}
    _ok(t.admin("PUT", reset, json=temporary), 204)
    session, page = _code_login(t, realm, "app", "alice", "temp-pw")
    if page.status_code == 302 and "required-action" in page.headers.get("Location", ""):
        page = session.get(page.headers["Location"], allow_redirects=False, timeout=TIMEOUT_S)
        _cookies_over_http(session)
    inputs = set(re.findall(r'<input[^>]*name="([^"]+)"', page.text))
    done = session.post(
        _form_action(page),
        data={"password-new": "new-pw-1", "password-confirm": "new-pw-1"},
        allow_redirects=False,
        timeout=TIMEOUT_S,
    )
    query = [("type", x) for x in ("UPDATE_PASSWORD", "UPDATE_CREDENTIAL")]
    listed = _ok(t.admin("GET", f"/{realm}/events", params=query), 200).json()
    user = _ok(t.admin("GET", f"/{realm}/users/{ids['alice']}"), 200).json()
    newest = listed[0] if listed else {}
    return {
        "form": {
            "status": page.status_code,
            "inputs": sorted(inputs & {"password-new", "password-confirm"}),
        },
        "after submit": {
            "status": done.status_code,
            "code": "code=" in done.headers.get("Location", ""),
        },
        # Both are saved in the same millisecond: their order between them is not fixed.
        "types": sorted(e["type"] for e in listed),
        "event keys": sorted(newest),
        "time": epoch_ms_now(newest.get("time")),
        "user and client": [(e.get("userId") == ids["alice"], e.get("clientId")) for e in listed],
        "credential_type": [e.get("details", {}).get("credential_type") for e in listed],
        "username detail": [e.get("details", {}).get("username") for e in listed],
        "required actions after": user.get("requiredActions"),
        "new password works": t.token(
            realm, "app", username="alice", password="new-pw-1", client_secret=APP_SECRET
        ).status_code,
    }


def _secret_time(t: Target, realm: str, uuid: str) -> Any:
    client = _ok(t.admin("GET", f"/{realm}/clients/{uuid}"), 200).json()
    return client.get("attributes", {}).get("client.secret.creation.time")


def client_secret_creation_time(t: Target, realm: str) -> dict[str, Any]:
    """`client.secret.creation.time` (epoch seconds, a string attribute) on a client whose
    secret Keycloak made, on one given its secret, and after POST client-secret."""
    ids = realm_make(t, realm)
    made = t.admin("POST", f"/{realm}/clients", json={"clientId": "made", "publicClient": False})
    made_uuid = _ok(made, 201).headers["Location"].rsplit("/", 1)[1]
    created = _secret_time(t, realm, made_uuid)
    given = _secret_time(t, realm, ids["app"])
    public = _secret_time(t, realm, ids["spa"])
    time.sleep(1.1)
    regenerated = _ok(t.admin("POST", f"/{realm}/clients/{made_uuid}/client-secret"), 200)
    rotated = _secret_time(t, realm, made_uuid)
    events = t.admin(
        "GET",
        f"/{realm}/admin-events",
        params={"operationTypes": "ACTION", "resourceTypes": "CLIENT"},
    )
    paths = [
        re.sub(r"clients/[^/]+/", "clients/<id>/", e.get("resourcePath", ""))
        for e in _ok(events, 200).json()
    ]
    return {
        "made by Keycloak": {"kind": kind(created), "now": epoch_s_now(_int(created))},
        "given in the representation": {"kind": kind(given), "now": epoch_s_now(_int(given))},
        "public client": kind(public),
        "regenerate answers": regenerated.status_code,
        "after regenerate": epoch_s_now(_int(rotated)),
        "moved forward": (_int(rotated) or 0) > (_int(created) or 0),
        "admin event paths": paths,
    }


def _int(text: Any) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


EVENT_SCENARIOS = {
    f.__name__: f
    for f in (credential_reset_events, password_update_events, client_secret_creation_time)
}
