"""The OAuth 2.0 device authorization grant (RFC 8628) as Keycloak 26 does it.

Keycloak's DeviceEndpoint and DeviceGrantType: POST .../auth/device gives a device code and a
user code; the user enters the code at /realms/R/device, signs in (or is already), and grants
access on a consent page (always shown for this flow unless the user granted it before); the
device polls the token endpoint with grant_type urn:ietf:params:oauth:grant-type:device_code.
The client attribute oauth2.device.authorization.grant.enabled turns it on per client.
"""

from __future__ import annotations

import html
import secrets
from typing import TYPE_CHECKING, Any

from starlette.responses import HTMLResponse, RedirectResponse, Response

from tokenadmin.emulator.events import record_event
from tokenadmin.emulator.http import Ctx, Router, json_response, oauth_error
from tokenadmin.emulator.issuing import authenticate_client, issue_tokens, issuer
from tokenadmin.emulator.login import PAGE, _set_sso_cookies, _sso_session, login_form
from tokenadmin.emulator.oidc import NO_STORE, P, oidc_realm
from tokenadmin.emulator.store import new_id

if TYPE_CHECKING:
    from tokenadmin.emulator.store import Client, Realm

router = Router()
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ENABLED_ATTR = "oauth2.device.authorization.grant.enabled"
# Keycloak's default user code: eight consonants, shown as XXXX-XXXX.
USER_CODE_CHARS = "BCDFGHJKLMNPQRSTVWXZ"
INVALID_CODE = "Invalid code, please try again."
EXPIRED_CODE = "The code has expired. Please go back to your device and try connecting again."


def device_grant_enabled(client: Client) -> bool:
    return client.attr(ENABLED_ATTR) == "true"


def _lifespan(realm: Realm, client: Client) -> int:
    return client.attr_int("oauth2.device.code.lifespan") or (
        realm.int_setting("oauth2DeviceCodeLifespan") or 600
    )


def _interval(realm: Realm, client: Client) -> int:
    value = client.attr("oauth2.device.polling.interval")
    if value is not None:
        return max(int(float(value)), 0)
    return realm.int_setting("oauth2DevicePollingInterval")


def _user_code_key(text: str) -> str:
    return "".join(c for c in text.upper() if c.isalpha())


def _live(realm: Realm, now: int) -> None:
    """Drop what Keycloak's single-use store would have dropped: a code is kept until its
    expiry plus the interval plus 10 s (so a late poll still hears expired_token)."""
    for code, entry in list(realm.device_codes.items()):
        if entry["keep_until"] < now:
            del realm.device_codes[code]
            realm.user_codes.pop(entry["user_code"], None)


# -- the device's side ----------------------------------------------------------------------------
@router.route(P + "/auth/device", "POST")
def device_authorization(ctx: Ctx) -> Response:
    realm = oidc_realm(ctx)
    form = ctx.form()
    client = authenticate_client(ctx, realm, form)
    if not device_grant_enabled(client):
        # 26.7.3's words (tests/parity device_authorization); older releases said invalid_grant.
        raise oauth_error(
            400,
            "unauthorized_client",
            "Client is not allowed to initiate OAuth 2.0 Device Authorization Grant. "
            "The flow is disabled for the client.",
        )
    now = ctx.store.clock.now()
    _live(realm, now)
    lifespan, interval = _lifespan(realm, client), _interval(realm, client)
    device_code = secrets.token_urlsafe(32)
    user_code = "".join(secrets.choice(USER_CODE_CHARS) for _ in range(8))
    realm.device_codes[device_code] = {
        "client": client.id,
        "scope": form.get("scope") or "",
        "exp": now + lifespan,
        "keep_until": now + lifespan + interval + 10,
        "interval": interval,
        "user_code": user_code,
        "state": "pending",
        "sid": None,
        "poll_until": 0,
    }
    realm.user_codes[user_code] = device_code
    shown = f"{user_code[:4]}-{user_code[4:]}"
    uri = f"{issuer(ctx, realm)}/device"
    body = {
        "device_code": device_code,
        "user_code": shown,
        "verification_uri": uri,
        "verification_uri_complete": f"{uri}?user_code={shown}",
        "expires_in": lifespan,
        "interval": interval,
    }
    return json_response(body, headers=NO_STORE)


def device_code_grant(ctx: Ctx, realm: Realm, client: Client, form: dict[str, str]) -> Any:
    """The token endpoint's device_code grant, its checks in Keycloak's order."""
    if not device_grant_enabled(client):
        raise oauth_error(
            400, "invalid_grant", "Client not allowed OAuth 2.0 Device Authorization Grant"
        )
    code = form.get("device_code")
    if code is None:
        raise oauth_error(400, "invalid_request", "Missing parameter: device_code")
    now = ctx.store.clock.now()
    _live(realm, now)
    entry = realm.device_codes.get(code)
    if entry is None:
        raise oauth_error(400, "invalid_grant", "Device code not valid")
    if now > entry["exp"]:
        raise oauth_error(400, "expired_token", "Device code is expired")
    if now < entry["poll_until"]:
        raise oauth_error(400, "slow_down", "Slow down")
    entry["poll_until"] = now + entry["interval"]
    if entry["state"] == "denied":
        raise oauth_error(400, "access_denied", "The end user denied the authorization request")
    if entry["state"] == "pending":
        raise oauth_error(
            400, "authorization_pending", "The authorization request is still pending"
        )
    us = realm.sessions.get(str(entry["sid"]), False)
    del realm.device_codes[code]
    user = realm.users.get(us.user_id) if us else None
    if us is None or user is None:
        raise oauth_error(400, "invalid_grant", "Session not active")
    if not user.enabled:
        raise oauth_error(400, "invalid_grant", "User disabled")
    cs = us.clients.get(client.id)
    if cs is None:
        raise oauth_error(400, "invalid_grant", "Auth error")
    record_event(
        realm,
        "OAUTH2_DEVICE_CODE_TO_TOKEN",
        client_id=client.client_id,
        user_id=user.id,
        session_id=us.id,
        ip=ctx.client_ip,
        details={"grant_type": DEVICE_GRANT},
    )
    return issue_tokens(ctx, realm, client, user, us, cs, entry["scope"])


# -- the user's side: enter the code, sign in, grant ----------------------------------------------
def _page(realm: Realm, title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        PAGE.format(
            title=html.escape(title), realm=html.escape(realm.name), heading=title, body=body
        )
    )


def _code_page(ctx: Ctx, realm: Realm, error: str | None = None) -> HTMLResponse:
    parts = []
    if error:
        parts.append(
            f'<div class="alert-error"><span class="kc-feedback-text">{html.escape(error)}'
            "</span></div>"
        )
    parts.append(
        f'<form id="kc-user-verify-device-user-code-form" action="{issuer(ctx, realm)}/device" '
        'method="post"><label for="device-user-code">Enter the code provided by your device '
        'and click Submit</label><input id="device-user-code" name="device_user_code" '
        'type="text" autofocus><input type="submit" value="Submit"></form>'
    )
    return _page(realm, "Device Login", "".join(parts))


@router.route("/realms/{realm}/device", "GET")
def device_page(ctx: Ctx) -> Response:
    realm = oidc_realm(ctx)
    return _verify(ctx, realm, ctx.query.get("user_code") or "")


@router.route("/realms/{realm}/device", "POST")
def device_page_post(ctx: Ctx) -> Response:
    realm = oidc_realm(ctx)
    return _verify(ctx, realm, ctx.form().get("device_user_code") or "")


def _verify(ctx: Ctx, realm: Realm, text: str) -> Response:
    if not text:
        return _code_page(ctx, realm)
    now = ctx.store.clock.now()
    _live(realm, now)
    user_code = _user_code_key(text)
    entry = realm.device_codes.get(realm.user_codes.get(user_code, ""))
    if entry is None or entry["state"] != "pending":
        return _code_page(ctx, realm, INVALID_CODE)
    if now > entry["exp"]:
        return _code_page(ctx, realm, EXPIRED_CODE)
    client = realm.clients[entry["client"]]
    tab_id = new_id()[:11]
    realm.auth_sessions[tab_id] = {
        "client": client.id,
        "device_user_code": user_code,
        "scope": entry["scope"],
        "created": now,
        "redirect_uri": None,
    }
    us = _sso_session(ctx, realm)
    if us is not None:
        realm.auth_sessions[tab_id].update(user=us.user_id, sid=us.id)
        return device_consent_page(ctx, realm, tab_id, client)
    return login_form(ctx, realm, tab_id, client)


def device_consent_page(ctx: Ctx, realm: Realm, tab_id: str, client: Client) -> Response:
    """After sign-in, the consent page: 26.7.3 shows it on every device sign-in, even to a
    user who granted the client before (tests/parity device_approval)."""
    action = (
        f"{issuer(ctx, realm)}/login-actions/consent?client_id={client.client_id}&tab_id={tab_id}"
    )
    name = html.escape(client.rep.get("name") or client.client_id)
    body = (
        f'<form class="form-actions" action="{html.escape(action)}" method="POST">'
        f'<input type="hidden" name="code" value="{new_id()}">'
        f"<p>Do you grant these access privileges to {name}?</p>"
        '<button name="accept" id="kc-login" type="submit">Yes</button>'
        '<button name="cancel" id="kc-cancel" type="submit">No</button></form>'
    )
    return _page(realm, f"Grant Access to {client.rep.get('name') or client.client_id}", body)


@router.route("/realms/{realm}/login-actions/consent", "POST")
def consent(ctx: Ctx) -> Response:
    realm = oidc_realm(ctx)
    tab_id = ctx.query.get("tab_id", "")
    if tab_id not in realm.auth_sessions or "user" not in realm.auth_sessions[tab_id]:
        return _page(realm, "We are sorry...", "Your login attempt timed out.")
    return _finish(ctx, realm, tab_id, accept="accept" in ctx.form())


def _finish(ctx: Ctx, realm: Realm, tab_id: str, *, accept: bool) -> Response:
    request = realm.auth_sessions.pop(tab_id)
    status = f"{issuer(ctx, realm)}/device/status"
    device_code = realm.user_codes.pop(request["device_user_code"], "")
    entry = realm.device_codes.get(device_code)
    now = ctx.store.clock.now()
    if entry is None or now > entry["exp"]:
        return RedirectResponse(f"{status}?error=expired_token", status_code=302)
    if not accept:
        entry["state"] = "denied"
        return RedirectResponse(f"{status}?error=access_denied", status_code=302)
    client, user = realm.clients[request["client"]], realm.users[request["user"]]
    us = realm.sessions.get(request.get("sid") or "", False)
    if us is None:
        us = realm.sessions.create(new_id(), user.id, ctx.client_ip, now)
        record_event(
            realm,
            "LOGIN",
            client_id=client.client_id,
            user_id=user.id,
            session_id=us.id,
            ip=ctx.client_ip,
            details={"auth_method": "openid-connect", "username": user.username},
        )
    realm.sessions.attach(us, client, now)
    user.consents.setdefault(
        client.id,
        {"created": ctx.store.clock.now_ms(), "updated": ctx.store.clock.now_ms(), "scopes": []},
    )
    entry.update(state="approved", sid=us.id)
    response = RedirectResponse(status, status_code=302)
    _set_sso_cookies(ctx, realm, response, us)
    return response


@router.route("/realms/{realm}/device/status", "GET")
def device_status(ctx: Ctx) -> Response:
    realm = oidc_realm(ctx)
    error = ctx.query.get("error")
    if not error:
        return _page(
            realm, "Device Login Successful", "<p>Please return to your device and continue.</p>"
        )
    message = {
        "access_denied": "Consent denied for connecting the device.",
        "expired_token": EXPIRED_CODE,
    }.get(error, "Device Login failed")
    return _page(
        realm,
        "Device Login Failed",
        f'<div class="alert-error"><span class="kc-feedback-text">{html.escape(message)}'
        "</span></div>",
    )
