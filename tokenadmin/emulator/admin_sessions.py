"""Admin REST: sessions, revocation, not-before, consents, counts, events."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from tokenadmin.emulator import backchannel
from tokenadmin.emulator.admin_common import (
    admin_event,
    admin_realm,
    find_client,
    find_user,
    paging,
    require,
)
from tokenadmin.emulator.events import events_expire
from tokenadmin.emulator.http import (
    NOT_FOUND,
    Ctx,
    HttpError,
    Router,
    empty,
    json_response,
    not_found,
)

if TYPE_CHECKING:
    from tokenadmin.emulator.sessions import UserSession
    from tokenadmin.emulator.store import Realm

router = Router()
R = "/admin/realms/{realm}"


def session_rep(
    realm: Realm, us: UserSession, per_client: str | None = None, kind: str | None = None
) -> dict[str, Any]:
    user = realm.users.get(us.user_id)
    last = us.last
    if per_client is not None and us.offline and per_client in us.clients:
        last = us.clients[per_client].timestamp
    out: dict[str, Any] = {
        "id": us.id,
        "username": user.username if user else None,
        "userId": us.user_id,
        "ipAddress": us.ip,
        "start": us.start * 1000,
        "lastAccess": last * 1000,
    }
    if kind is None:
        out["rememberMe"] = us.remember_me
    clients = {}
    for cu in us.clients:
        client = realm.clients.get(cu)
        if client is not None:
            clients[cu] = client.client_id
    out["clients"] = clients
    out["transientUser"] = False
    if kind is not None:
        out["type"] = kind
    return out


# -- per user--------------------------------------------------------------------------------------
@router.route(R + "/users/{uid}/sessions", "GET")
def user_sessions(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-users")
    user = find_user(realm, ctx.params["uid"])
    return json_response([session_rep(realm, us) for us in realm.sessions.of_user(user.id, False)])


@router.route(R + "/users/{uid}/offline-sessions/{cu}", "GET")
def user_offline_sessions(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-users")
    user = find_user(realm, ctx.params["uid"])
    client = find_client(realm, ctx.params["cu"], "Client not found")
    sessions = [us for us in realm.sessions.of_user(user.id, True) if client.id in us.clients]
    return json_response([session_rep(realm, us, client.id) for us in sessions])


@router.route(R + "/users/{uid}/consents", "GET")
def user_consents(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-users")
    user = find_user(realm, ctx.params["uid"])
    offline_clients: dict[str, None] = {}
    for us in realm.sessions.of_user(user.id, True):
        for cu in us.clients:
            offline_clients[cu] = None
    out = []
    for cu, consent in user.consents.items():
        client = realm.clients.get(cu)
        if client is None:
            continue
        grants = [{"client": cu, "key": "Offline Token"}] if cu in offline_clients else []
        out.append(
            {
                "clientId": client.client_id,
                "grantedClientScopes": list(consent.get("scopes", [])),
                "createdDate": consent["created"],
                "lastUpdatedDate": consent["updated"],
                "additionalGrants": grants,
            }
        )
    for cu in offline_clients:
        client = realm.clients.get(cu)
        if client is None or cu in user.consents:
            continue
        out.append(
            {
                "clientId": client.client_id,
                # Keycloak builds an empty rep here: no dates, and its JSON omits nulls.
                "grantedClientScopes": [],
                "additionalGrants": [{"client": cu, "key": "Offline Token"}],
            }
        )
    return json_response(out)


@router.route(R + "/users/{uid}/consents/{client_id}", "DELETE")
def user_consent_revoke(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-users")
    user = find_user(realm, ctx.params["uid"])
    client = realm.client_by_client_id.get(ctx.params["client_id"])
    if client is None:
        raise not_found("Client not found")
    revoked_consent = user.consents.pop(client.id, None) is not None
    revoked_offline = False
    for us in realm.sessions.of_user(user.id, True):
        if client.id in us.clients:
            realm.sessions.detach(us, client.id)
            revoked_offline = True
    if revoked_consent:
        for us in realm.sessions.of_user(user.id, False):
            if client.id in us.clients:
                realm.sessions.detach(us, client.id)
    if not revoked_consent and not revoked_offline:
        raise not_found("Consent nor offline token not found")
    admin_event(ctx, realm, "DELETE", "USER", f"users/{user.id}/consents/{client.client_id}")
    return empty()


@router.route(R + "/users/{uid}/logout", "POST")
def user_logout(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-users")
    user = find_user(realm, ctx.params["uid"])
    user.not_before = ctx.store.clock.now()
    online = realm.sessions.of_user(user.id, False)
    backchannel.backchannel_logout(ctx, realm, online)
    for us in online:
        realm.sessions.remove(us)
    admin_event(ctx, realm, "ACTION", "USER", f"users/{user.id}/logout")
    return empty()


# -- per client------------------------------------------------------------------------------------
def _client_sessions(ctx: Ctx, offline: bool) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-clients")
    client = find_client(realm, ctx.params["cu"])
    first, max_ = paging(ctx, 100)
    page = realm.sessions.client_page(client.id, offline, first, max_)
    return json_response([session_rep(realm, us, client.id if offline else None) for us in page])


def _client_count(ctx: Ctx, offline: bool) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-clients")
    client = find_client(realm, ctx.params["cu"])
    return json_response({"count": realm.sessions.client_count(client.id, offline)})


router.add(R + "/clients/{cu}/user-sessions", "GET", lambda ctx: _client_sessions(ctx, False))
router.add(R + "/clients/{cu}/offline-sessions", "GET", lambda ctx: _client_sessions(ctx, True))
router.add(R + "/clients/{cu}/session-count", "GET", lambda ctx: _client_count(ctx, False))
router.add(R + "/clients/{cu}/offline-session-count", "GET", lambda ctx: _client_count(ctx, True))


@router.route(R + "/client-session-stats", "GET")
def client_session_stats(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-realm")
    online = realm.sessions.client_counts(False)
    offline = realm.sessions.client_counts(True)
    out = []
    for cu, client in realm.clients.items():
        active, off = online.get(cu, 0), offline.get(cu, 0)
        if active or off:
            out.append(
                {"id": cu, "clientId": client.client_id, "active": str(active), "offline": str(off)}
            )
    return json_response(out)


def _ui_sessions(ctx: Ctx, realm: Realm, client_uuid: str | None) -> Response:
    kind = ctx.query.get("type", "ALL")
    if kind not in ("ALL", "REGULAR", "OFFLINE"):
        raise HttpError(404, NOT_FOUND)
    search = ctx.query.get("search") or ""
    first, max_ = paging(ctx, 10)
    out: list[dict[str, Any]] = []
    skipped = 0
    for offline in (False, True):
        if (kind == "REGULAR" and offline) or (kind == "OFFLINE" and not offline):
            continue
        it = (
            realm.sessions.iter_client(client_uuid, offline)
            if client_uuid
            else realm.sessions.iter_all(offline)
        )
        for us in it:
            if search:
                user = realm.users.get(us.user_id)
                names = [realm.clients[c].client_id for c in us.clients if c in realm.clients]
                if not (
                    search in (user.username if user else "")
                    or search in us.ip
                    or any(search in n for n in names)
                ):
                    continue
            if skipped < first:
                skipped += 1
                continue
            out.append(session_rep(realm, us, kind="OFFLINE" if offline else "REGULAR"))
            if len(out) >= max_:
                return json_response(out)
    return json_response(out)


@router.route(R + "/ui-ext/sessions", "GET")
def ui_sessions(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-realm")
    return _ui_sessions(ctx, realm, None)


@router.route(R + "/ui-ext/sessions/client", "GET")
def ui_client_sessions(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-clients")
    client = find_client(realm, ctx.query.get("clientId") or "")
    return _ui_sessions(ctx, realm, client.id)


# -- revocation------------------------------------------------------------------------------------
@router.route(R + "/sessions/{sid}", "DELETE")
def session_delete(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-users")
    offline = ctx.bool_query("isOffline")
    us = realm.sessions.get(ctx.params["sid"], offline)
    if us is None:
        raise not_found("Sesssion not found")
    # Keycloak back-channels the deleted session's clients only (not an offline one's online twin).
    backchannel.backchannel_logout(ctx, realm, [us])
    realm.sessions.remove(us)
    if offline:
        twin = realm.sessions.get(us.id, False)
        if twin is not None:
            realm.sessions.remove(twin)
    admin_event(ctx, realm, "DELETE", "USER_SESSION", f"sessions/{us.id}")
    return empty()


@router.route(R + "/logout-all", "POST")
def logout_all(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-users")
    # No back-channel logout tokens (facts sheet §1.2). 26.7.3 ends offline sessions too
    # (their refresh then says "Offline user session not found": tests/parity realm_logout_all).
    realm.sessions.clear(offline=False)
    realm.sessions.clear(offline=True)
    realm.rep["notBefore"] = ctx.store.clock.now()
    admin_event(ctx, realm, "ACTION", "REALM", "logout-all")
    # ResourceAdminManager.logoutAll: a LogoutAction to each enabled client's adminUrl.
    return backchannel.logout_all(ctx, realm, realm.int_setting("notBefore"))


@router.route(R + "/push-revocation", "POST")
def push_revocation(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-realm")
    admin_event(ctx, realm, "ACTION", "REALM", "push-revocation")
    not_before = realm.int_setting("notBefore")
    return backchannel.push_not_before(ctx, realm, list(realm.clients.values()), not_before)


@router.route(R + "/clients/{cu}/push-revocation", "POST")
def client_push_revocation(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-clients")
    client = find_client(realm, ctx.params["cu"])
    admin_event(ctx, realm, "ACTION", "CLIENT", f"clients/{client.id}/push-revocation")
    # pushClientRevocationPolicy sends the client's notBefore as it is; it does not set it.
    not_before = int(client.rep.get("notBefore") or 0)
    return backchannel.push_not_before(ctx, realm, [client], not_before)


# -- events----------------------------------------------------------------------------------------
def _config(realm: Realm) -> dict[str, Any]:
    rep = realm.rep
    return {
        "eventsEnabled": bool(rep.get("eventsEnabled")),
        "eventsListeners": list(rep.get("eventsListeners") or []),
        "enabledEventTypes": list(rep.get("enabledEventTypes") or []),
        "adminEventsEnabled": bool(rep.get("adminEventsEnabled")),
        "adminEventsDetailsEnabled": bool(rep.get("adminEventsDetailsEnabled")),
        **({"eventsExpiration": rep["eventsExpiration"]} if rep.get("eventsExpiration") else {}),
    }


@router.route(R + "/events/config", "GET")
def events_config(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-events")
    return json_response(_config(realm))


@router.route(R + "/events/config", "PUT")
def events_config_update(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-events")
    rep = ctx.json_object()
    for key in (
        "eventsEnabled",
        "eventsListeners",
        "enabledEventTypes",
        "adminEventsEnabled",
        "adminEventsDetailsEnabled",
        "eventsExpiration",
    ):
        if key in rep and rep[key] is not None and (key in realm.rep or key == "eventsExpiration"):
            realm.rep[key] = rep[key]
    admin_event(ctx, realm, "UPDATE", "REALM", "events/config", rep)
    return empty()


def _day_ms(text: str | None, end: bool) -> int | None:
    if not text:
        return None
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        raise HttpError(
            400, {"error": "Invalid value for 'Date(From|To)', expected format is yyyy-MM-dd"}
        ) from None
    moment = datetime.datetime.combine(
        day, datetime.time.max if end else datetime.time.min, datetime.UTC
    )
    return int(moment.timestamp() * 1000)


@router.route(R + "/events", "GET")
def events_list(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-events")
    q = ctx.query
    events_expire(realm)
    types = set(q.getlist("type"))
    date_from, date_to = _day_ms(q.get("dateFrom"), False), _day_ms(q.get("dateTo"), True)
    first, max_ = paging(ctx, 100)
    out = []
    for event in reversed(realm.events):
        if types and event["type"] not in types:
            continue
        if q.get("client") and event.get("clientId") != q.get("client"):
            continue
        if q.get("user") and event.get("userId") != q.get("user"):
            continue
        if q.get("ipAddress") and event.get("ipAddress") != q.get("ipAddress"):
            continue
        if (date_from and event["time"] < date_from) or (date_to and event["time"] > date_to):
            continue
        out.append(event)
    return json_response(out[first : first + max_])


@router.route(R + "/events", "DELETE")
def events_clear(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-events")
    realm.events.clear()
    return empty()


@router.route(R + "/admin-events", "GET")
def admin_events_list(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "view-events")
    q = ctx.query
    ops, types = set(q.getlist("operationTypes")), set(q.getlist("resourceTypes"))
    date_from, date_to = _day_ms(q.get("dateFrom"), False), _day_ms(q.get("dateTo"), True)
    path = q.get("resourcePath")
    first, max_ = paging(ctx, 100)
    out = []
    for event in reversed(realm.admin_events):
        auth = event.get("authDetails", {})
        if ops and event["operationType"] not in ops:
            continue
        if types and event["resourceType"] not in types:
            continue
        if q.get("authUser") and auth.get("userId") != q.get("authUser"):
            continue
        if path and not _path_match(path, event.get("resourcePath", "")):
            continue
        if (date_from and event["time"] < date_from) or (date_to and event["time"] > date_to):
            continue
        out.append(event)
    return json_response(out[first : first + max_])


def _path_match(pattern: str, value: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(value, pattern)


@router.route(R + "/admin-events", "DELETE")
def admin_events_clear(ctx: Ctx) -> Response:
    realm = admin_realm(ctx)
    require(ctx, realm.name, "manage-events")
    realm.admin_events.clear()
    return empty()
