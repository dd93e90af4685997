"""Browser flows: the authorization endpoint with a real login form, SSO cookie, end-session."""

from __future__ import annotations

import base64
import html
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.responses import HTMLResponse, RedirectResponse, Response

from tokenadmin.emulator.backchannel import backchannel_logout
from tokenadmin.emulator.events import login_user_check, record_event
from tokenadmin.emulator.http import Ctx, Router, oauth_error
from tokenadmin.emulator.issuing import issuer, token_claims
from tokenadmin.emulator.oidc import P, oidc_realm, token_logout
from tokenadmin.emulator.redirects import post_logout_uris, verify_redirect_uri
from tokenadmin.emulator.sessions import session_max_expiry
from tokenadmin.emulator.store import new_id
from tokenadmin.emulator.tokens import sign_hs512

if TYPE_CHECKING:
    from tokenadmin.emulator.sessions import UserSession
    from tokenadmin.emulator.store import Client, Realm, User

router = Router()
IDENTITY_COOKIE = "KEYCLOAK_IDENTITY"
SESSION_COOKIE = "KEYCLOAK_SESSION"

PAGE = """<!DOCTYPE html>
<html class="login-pf" lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="robots" content="noindex, nofollow">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{margin:0;font-family:system-ui,sans-serif;background:#1d2327;color:#222}}
#kc-header{{color:#fff;text-align:center;padding:48px 0 24px;font-size:28px;letter-spacing:.1em;
text-transform:uppercase}}
.card-pf{{background:#fff;max-width:420px;margin:0 auto;padding:32px 40px;
border-top:4px solid #39a5dc;
box-shadow:0 2px 12px rgba(0,0,0,.4)}}
#kc-page-title{{font-size:22px;font-weight:400;text-align:center;margin:0 0 24px}}
form label{{display:block;margin:12px 0 4px;font-size:14px}}
input[type=text],input[type=password]{{width:100%;box-sizing:border-box;padding:8px;font-size:15px;
border:1px solid #bbb}}
input[type=submit]{{width:100%;margin-top:20px;padding:10px;font-size:15px;color:#fff;border:0;
background:#0066cc;cursor:pointer}}
.alert-error{{background:#fde8e8;border:1px solid #c9190b;padding:8px 12px;margin-bottom:12px}}
</style></head>
<body class="login-pf-page">
<header id="kc-header"><div id="kc-header-wrapper">{realm}</div></header>
<main class="card-pf"><h1 id="kc-page-title">{heading}</h1>
{body}
</main></body></html>
"""


def error_page(realm_name: str, message: str, status: int = 400) -> HTMLResponse:
    body = f'<div class="alert-error"><span class="kc-feedback-text">{html.escape(message)}</span></div>'  # noqa: E501
    return HTMLResponse(
        PAGE.format(
            title="Error", realm=html.escape(realm_name), heading="We are sorry...", body=body
        ),
        status_code=status,
    )


def _client_data(request: dict) -> str:
    """Keycloak 26's client_data: base64url JSON of redirect URI, response type and state."""
    data = {"ru": request.get("redirect_uri"), "rt": "code", "st": request.get("state")}
    text = json.dumps({k: v for k, v in data.items() if v}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def login_form(
    ctx: Ctx,
    realm: Realm,
    tab_id: str,
    client: Client,
    error: str | None = None,
    username: str = "",
) -> HTMLResponse:
    # The action is on one line, with '&' unescaped, as python-keycloak's tests parse it.
    action = (
        f"{issuer(ctx, realm)}/login-actions/authenticate?session_code={new_id()}"
        f"&execution={new_id()}&client_id={client.client_id}&tab_id={tab_id}"
        f"&client_data={_client_data(realm.auth_sessions.get(tab_id) or {})}"
    )
    parts = []
    if error:
        parts.append(
            f'<div class="alert-error" id="input-error"><span class="kc-feedback-text">'
            f"{html.escape(error)}</span></div>"
        )
    parts.append(
        f'<form id="kc-form-login" onsubmit="login.disabled = true; return true;" action="{action}" '  # noqa: E501
        'method="post">'
    )
    parts.append('<label for="username">Username or email</label>')
    parts.append(
        f'<input id="username" name="username" value="{html.escape(username)}" '
        'type="text" autofocus autocomplete="username">'
    )
    parts.append('<label for="password">Password</label>')
    parts.append(
        '<input id="password" name="password" type="password" autocomplete="current-password">'
    )
    if realm.rep.get("rememberMe"):
        parts.append(
            '<label><input id="rememberMe" name="rememberMe" type="checkbox"> Remember me</label>'
        )
    parts.append('<input type="hidden" id="id-hidden-input" name="credentialId">')
    parts.append('<input name="login" id="kc-login" type="submit" value="Sign In">')
    parts.append("</form>")
    title = f"Sign in to {realm.rep.get('displayName') or realm.name}"
    return HTMLResponse(
        PAGE.format(
            title=html.escape(title),
            realm=html.escape(realm.name),
            heading="Sign in to your account",
            body="\n".join(parts),
        )
    )


def _redirect(uri: str, params: dict[str, str], mode: str = "query") -> Response:
    if mode == "form_post":
        inputs = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
        )
        return HTMLResponse(
            f'<html lang="en"><body onload="document.forms[0].submit()"><form method="post" '
            f'action="{html.escape(uri)}">{inputs}</form></body></html>'
        )
    separator = "#" if mode == "fragment" else ("&" if "?" in uri else "?")
    return RedirectResponse(uri + separator + urlencode(params), status_code=302)


def _sso_session(ctx: Ctx, realm: Realm) -> UserSession | None:
    cookie = ctx.request.cookies.get(IDENTITY_COOKIE)
    claims = token_claims(realm, cookie) if cookie else None
    if not claims or claims.get("typ") != "Serialized-ID":
        return None
    us = realm.sessions.get(str(claims.get("sid")), False)
    user = realm.users.get(str(claims.get("sub")))
    if us is None or user is None or not user.enabled or us.user_id != user.id:
        return None
    return us


def _set_sso_cookies(ctx: Ctx, realm: Realm, response: Response, us: UserSession) -> None:
    now = ctx.store.clock.now()
    smax = session_max_expiry(realm, us) or now + 36000
    identity = sign_hs512(
        realm.keys,
        {
            "exp": smax,
            "iat": now,
            "jti": new_id(),
            "iss": issuer(ctx, realm),
            "sub": us.user_id,
            "typ": "Serialized-ID",
            "sid": us.id,
        },
    )
    path = f"/realms/{realm.name}/"
    max_age = (us.remember_me and max(smax - now, 0)) or None
    response.set_cookie(
        IDENTITY_COOKIE, identity, path=path, httponly=True, samesite="lax", max_age=max_age
    )
    response.set_cookie(SESSION_COOKIE, us.id, path=path, samesite="lax", max_age=max_age)


def _clear_sso_cookies(realm: Realm, response: Response) -> None:
    for name in (IDENTITY_COOKIE, SESSION_COOKIE):
        response.delete_cookie(name, path=f"/realms/{realm.name}/")


# -- authorization endpoint ------------------------------------------------------------------------
def _auth_params(ctx: Ctx) -> dict[str, str]:
    params = dict(ctx.query)
    if ctx.request.method == "POST":
        params.update(ctx.form())
    return params


@router.route(P + "/auth", "GET", "POST")
def authorize(ctx: Ctx) -> Response:
    realm = oidc_realm(ctx)
    params = _auth_params(ctx)
    client = realm.client_by_client_id.get(params.get("client_id", ""))
    if client is None:
        return error_page(realm.name, "Client not found.")
    if not client.rep.get("enabled", True):
        return error_page(realm.name, "Client disabled.")
    redirect_uri = verify_redirect_uri(
        client.rep.get("redirectUris") or [], params.get("redirect_uri"), client.rep.get("rootUrl")
    )
    if redirect_uri is None:
        return error_page(realm.name, "Invalid parameter: redirect_uri")
    state = params.get("state")
    mode = params.get("response_mode") or "query"
    iss = issuer(ctx, realm)

    def fail(error: str, description: str | None = None) -> Response:
        out = {"error": error}
        if description:
            out["error_description"] = description
        if state is not None:
            out["state"] = state
        out["iss"] = iss
        return _redirect(redirect_uri, out, mode)

    response_type = params.get("response_type")
    if not response_type:
        return fail("invalid_request", "Missing parameter: response_type")
    if response_type != "code":
        return fail(
            "unsupported_response_type",
            "Client is not allowed to initiate browser login with given "
            "response_type. Implicit flow is disabled for the client.",
        )
    if not client.rep.get("standardFlowEnabled"):
        return fail(
            "unauthorized_client",
            "Client is not allowed to initiate browser login with given "
            "response_type. Standard flow is disabled for the client.",
        )
    challenge = params.get("code_challenge")
    method = params.get("code_challenge_method")
    forced = client.attr("pkce.code.challenge.method")
    if method and method not in ("plain", "S256"):
        return fail("invalid_request", "Invalid parameter: code_challenge_method")
    if forced:
        if not method:
            return fail("invalid_request", "Missing parameter: code_challenge_method")
        if not challenge:
            return fail("invalid_request", "Missing parameter: code_challenge")
        if (method or "plain") != forced:
            return fail(
                "invalid_request",
                "Invalid parameter: code challenge method is not matching the configured one",
            )
    if challenge and not method:
        method = "plain"
    request = {
        "client": client.id,
        "redirect_uri": params.get("redirect_uri"),
        "resolved": redirect_uri,
        "state": state,
        "nonce": params.get("nonce"),
        "scope": params.get("scope") or "",
        "code_challenge": challenge,
        "code_challenge_method": method,
        "mode": mode,
        "created": ctx.store.clock.now(),
    }
    prompt = (params.get("prompt") or "").split()
    us = _sso_session(ctx, realm)
    if us is not None and "login" not in prompt:
        return _finish(ctx, realm, client, realm.users[us.user_id], us, request, acr="0")
    if "none" in prompt:
        return fail("login_required")
    tab_id = new_id()[:11]
    realm.auth_sessions[tab_id] = request
    if len(realm.auth_sessions) > 10000:
        realm.auth_sessions.pop(next(iter(realm.auth_sessions)))
    return login_form(ctx, realm, tab_id, client, username=params.get("login_hint", ""))


def _finish(
    ctx: Ctx,
    realm: Realm,
    client: Client,
    user: User,
    us: UserSession,
    request: dict[str, Any],
    acr: str,
) -> Response:
    now = ctx.store.clock.now()
    cs = us.clients.get(client.id)
    if cs is None:
        realm.sessions.attach(us, client, now)
    realm.sessions.touch(us, us.clients[client.id], now)
    if client.rep.get("consentRequired") and client.id not in user.consents:
        user.consents[client.id] = {
            "created": ctx.store.clock.now_ms(),
            "updated": ctx.store.clock.now_ms(),
            "scopes": ["email", "profile"],
        }
    code = f"{new_id()}.{us.id}.{client.id}"
    realm.codes[code] = {
        "client": client.id,
        "sid": us.id,
        "user": user.id,
        "redirect_uri": request["redirect_uri"],
        "nonce": request["nonce"],
        "scope": request["scope"],
        "acr": acr,
        "code_challenge": request["code_challenge"],
        "code_challenge_method": request["code_challenge_method"],
        "exp": now + realm.int_setting("accessCodeLifespan"),
    }
    out: dict[str, str] = {}
    if request["state"] is not None:
        out["state"] = request["state"]
    out["session_state"] = us.id
    out["iss"] = issuer(ctx, realm)
    out["code"] = code
    response = _redirect(request["resolved"], out, request["mode"])
    _set_sso_cookies(ctx, realm, response, us)
    return response


@router.route("/realms/{realm}/login-actions/authenticate", "POST")
def authenticate(ctx: Ctx) -> Response:
    realm = oidc_realm(ctx)
    tab_id = ctx.query.get("tab_id", "")
    request = realm.auth_sessions.get(tab_id)
    now = ctx.store.clock.now()
    if request is None or request["created"] + realm.int_setting("accessCodeLifespanLogin") < now:
        return error_page(
            realm.name, "Your login attempt timed out. Login will start from the beginning."
        )
    client = realm.clients.get(request["client"])
    if client is None:
        return error_page(realm.name, "Client not found.")
    form = ctx.form()
    username = form.get("username", "")
    user = login_user_check(
        realm,
        client_id=client.client_id,
        username=username,
        password=form.get("password"),
        ip=ctx.client_ip,
    )
    if user is None:
        return login_form(ctx, realm, tab_id, client, "Invalid username or password.", username)
    if not user.enabled:
        return login_form(
            ctx, realm, tab_id, client, "Account is disabled, contact your administrator.", username
        )
    if "UPDATE_PASSWORD" in user.required_actions:
        # Imported here: required_actions builds on this module's page and _finish.
        from tokenadmin.emulator.required_actions import update_password_form

        realm.auth_sessions[tab_id]["user"] = user.id
        return update_password_form(ctx, realm, tab_id, client)
    if request.get("device_user_code"):
        # The device grant: consent next, the session only once the user grants (device.py).
        from tokenadmin.emulator.device import device_consent_page

        request["user"] = user.id
        return device_consent_page(ctx, realm, tab_id, client)
    del realm.auth_sessions[tab_id]
    remember = bool(realm.rep.get("rememberMe")) and form.get("rememberMe") in ("on", "true")
    us = realm.sessions.create(new_id(), user.id, ctx.client_ip, now, remember_me=remember)
    record_event(
        realm,
        "LOGIN",
        client_id=client.client_id,
        user_id=user.id,
        session_id=us.id,
        ip=ctx.client_ip,
        details={
            "auth_method": "openid-connect",
            "username": user.username,
            "redirect_uri": str(request["redirect_uri"]),
        },
    )
    return _finish(ctx, realm, client, user, us, request, acr="1")


# -- end session-----------------------------------------------------------------------------------
def _browser_logout(ctx: Ctx, realm: Realm, params: dict[str, str], confirmed: bool) -> Response:
    hint = params.get("id_token_hint")
    redirect = params.get("post_logout_redirect_uri")
    client_id = params.get("client_id")
    claims = None
    if hint:
        claims = token_claims(realm, hint)
        if claims is None:
            return error_page(realm.name, "Invalid IDToken")
        if client_id and client_id != claims.get("azp"):
            return error_page(
                realm.name, "Parameter client_id different than the client ID in the id_token_hint"
            )
        client_id = str(claims.get("azp"))
    elif redirect and not client_id:
        return error_page(realm.name, "Missing parameters: id_token_hint")
    client = realm.client_by_client_id.get(client_id or "")
    if client_id and client is None:
        return error_page(realm.name, "Client not found.")
    if redirect and (
        client is None or verify_redirect_uri(post_logout_uris(client.rep), redirect) is None
    ):
        return error_page(realm.name, "Invalid redirect uri")
    us = _sso_session(ctx, realm)
    if us is None and claims is not None and claims.get("sid"):
        us = realm.sessions.get(str(claims["sid"]), False)
    if not hint and not confirmed and us is not None:
        fields = "".join(
            f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k in ("client_id", "post_logout_redirect_uri", "state")
        )
        body = (
            f'<p>Do you want to log out?</p><form action="{issuer(ctx, realm)}/protocol/openid-connect/logout/'  # noqa: E501
            f'logout-confirm" method="post">{fields}<input name="confirmLogout" id="kc-logout" type="submit" '  # noqa: E501
            'value="Logout"></form>'
        )
        return HTMLResponse(
            PAGE.format(
                title="Logging out", realm=html.escape(realm.name), heading="Logging out", body=body
            )
        )
    if us is not None:
        backchannel_logout(ctx, realm, [us])
        realm.sessions.remove(us)
        record_event(
            realm,
            "LOGOUT",
            client_id=client_id,
            user_id=us.user_id,
            session_id=us.id,
            ip=ctx.client_ip,
        )
    if redirect:
        out = {"state": params["state"]} if params.get("state") else {}
        response: Response = RedirectResponse(
            redirect + (("&" if "?" in redirect else "?") + urlencode(out) if out else ""),
            status_code=302,
        )
    else:
        response = HTMLResponse(
            PAGE.format(
                title="Signing out",
                realm=html.escape(realm.name),
                heading="You are logged out",
                body="",
            )
        )
    _clear_sso_cookies(realm, response)
    return response


@router.route(P + "/logout", "GET")
def logout_get(ctx: Ctx) -> Response:
    realm = oidc_realm(ctx)
    return _browser_logout(ctx, realm, dict(ctx.query), confirmed=False)


@router.route(P + "/logout", "POST")
def logout_post(ctx: Ctx) -> Response:
    realm = oidc_realm(ctx)
    form = ctx.form()
    if (
        "refresh_token" in form
        or "client_secret" in form
        or ctx.request.headers.get("authorization")
    ):
        return token_logout(ctx, realm, form)
    if "id_token_hint" in form or "post_logout_redirect_uri" in form:
        return _browser_logout(ctx, realm, form, confirmed=False)
    if "client_id" in form:
        raise oauth_error(400, "invalid_request", "No refresh token")
    return _browser_logout(ctx, realm, form, confirmed=False)


@router.route(P + "/logout/logout-confirm", "POST")
def logout_confirm(ctx: Ctx) -> Response:
    realm = oidc_realm(ctx)
    return _browser_logout(ctx, realm, ctx.form(), confirmed=True)
