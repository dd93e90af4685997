"""OIDC per realm: discovery, realm info, JWKS, token, userinfo, introspection, revocation."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from tokenadmin.emulator.backchannel import backchannel_logout
from tokenadmin.emulator.events import login_user_check, record_event
from tokenadmin.emulator.http import Ctx, HttpError, Router, empty, json_response, oauth_error
from tokenadmin.emulator.issuing import (
    access_token_problem,
    authenticate_client,
    issue_tokens,
    token_claims,
)
from tokenadmin.emulator.store import new_id

if TYPE_CHECKING:
    from tokenadmin.emulator.store import Client, Realm

router = Router()
P = "/realms/{realm}/protocol/openid-connect"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def oidc_realm(ctx: Ctx) -> Realm:
    realm = ctx.store.realm(ctx.params["realm"])
    if realm is None:
        raise HttpError(404, {"error": "Realm does not exist"})
    return realm


# -- token endpoint --------------------------------------------------------------------------------
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GRANTS = ("password", "client_credentials", "refresh_token", "authorization_code", DEVICE_GRANT)


@router.route(P + "/token", "POST")
def token(ctx: Ctx) -> Response:
    realm = oidc_realm(ctx)
    form = ctx.form()
    grant = form.get("grant_type")
    # An empty grant_type is present, so 26.7.3 calls it unsupported rather than missing.
    if grant is None:
        raise oauth_error(400, "invalid_request", "Missing form parameter: grant_type")
    if grant not in GRANTS:
        raise oauth_error(400, "unsupported_grant_type", "Unsupported grant_type")
    client = authenticate_client(ctx, realm, form)
    if grant == "password":
        body = _password(ctx, realm, client, form)
    elif grant == "client_credentials":
        body = _client_credentials(ctx, realm, client, form)
    elif grant == "refresh_token":
        body = _refresh(ctx, realm, client, form)
    elif grant == DEVICE_GRANT:
        from tokenadmin.emulator.device import device_code_grant  # device.py imports this module

        body = device_code_grant(ctx, realm, client, form)
    else:
        body = _code(ctx, realm, client, form)
    return json_response(body, headers=NO_STORE)


def user_may_go_offline(realm: Realm, user_id: str) -> bool:
    role = realm.roles.get("offline_access")
    user = realm.users.get(user_id)
    return bool(role and user and role.id in realm.user_role_ids(user))


def _password(ctx: Ctx, realm: Realm, client: Client, form: dict[str, str]) -> dict[str, Any]:
    if not client.rep.get("directAccessGrantsEnabled"):
        raise oauth_error(400, "unauthorized_client", "Client not allowed for direct access grants")
    user = login_user_check(
        realm,
        client_id=client.client_id,
        username=form.get("username") or "",
        password=form.get("password"),
        ip=ctx.client_ip,
    )
    if user is None:
        # 400 on 26.7.3 (401 on older releases): tests/parity password_grant_errors.
        raise oauth_error(400, "invalid_grant", "Invalid user credentials")
    if not user.enabled:
        raise oauth_error(400, "invalid_grant", "Account disabled")
    if user.required_actions:
        raise oauth_error(400, "invalid_grant", "Account is not fully set up")
    scope = form.get("scope") or ""
    offline = "offline_access" in scope.split()
    if offline and not user_may_go_offline(realm, user.id):
        raise oauth_error(400, "not_allowed", "Offline tokens not allowed for the user or client")
    now = ctx.store.clock.now()
    sid = new_id()
    # A direct grant asking for offline_access leaves only the offline session (26.7.3 lists
    # no online twin of it: tests/parity offline_sessions).
    us = realm.sessions.create(sid, user.id, ctx.client_ip, now, offline=offline)
    cs = realm.sessions.attach(us, client, now)
    record_event(
        realm,
        "LOGIN",
        client_id=client.client_id,
        user_id=user.id,
        session_id=sid,
        ip=ctx.client_ip,
        details={
            "auth_method": "openid-connect",
            "grant_type": "password",
            "username": user.username,
        },
    )
    body = issue_tokens(ctx, realm, client, user, us, cs, scope)
    return body


def _client_credentials(
    ctx: Ctx, realm: Realm, client: Client, form: dict[str, str]
) -> dict[str, Any]:
    if client.public:
        raise oauth_error(
            400, "unauthorized_client", "Public client not allowed to retrieve service account"
        )
    if not client.rep.get("serviceAccountsEnabled") or not client.service_account_user_id:
        raise oauth_error(
            400, "unauthorized_client", "Client not enabled to retrieve service account"
        )
    user = realm.users.get(client.service_account_user_id)
    if user is None or not user.enabled:
        raise oauth_error(400, "invalid_request", "User in service account not found or disabled")
    record_event(
        realm,
        "CLIENT_LOGIN",
        client_id=client.client_id,
        user_id=user.id,
        ip=ctx.client_ip,
        details={"grant_type": "client_credentials"},
    )
    return issue_tokens(
        ctx, realm, client, user, None, None, form.get("scope"), client_credentials=True
    )


def _refresh(ctx: Ctx, realm: Realm, client: Client, form: dict[str, str]) -> dict[str, Any]:
    token_text = form.get("refresh_token")
    if not token_text:
        raise oauth_error(400, "invalid_request", "No refresh token")
    try:
        return _refresh_checked(ctx, realm, client, token_text, form)
    except HttpError as exc:
        record_event(
            realm,
            "REFRESH_TOKEN_ERROR",
            client_id=client.client_id,
            ip=ctx.client_ip,
            error="invalid_token",
            details={"reason": str(exc.body.get("error_description"))},
        )
        raise


def _refresh_checked(
    ctx: Ctx, realm: Realm, client: Client, token_text: str, form: dict[str, str]
) -> dict[str, Any]:
    claims = token_claims(realm, token_text)
    if claims is None or claims.get("typ") not in ("Refresh", "Offline"):
        raise oauth_error(400, "invalid_grant", "Invalid refresh token")
    now = ctx.store.clock.now()
    exp = claims.get("exp")
    if isinstance(exp, int) and exp != 0 and now > exp:
        raise oauth_error(400, "invalid_grant", "Token is not active")
    if claims.get("azp") != client.client_id:
        raise oauth_error(
            400,
            "invalid_grant",
            "Invalid refresh token. Token client and authorized client don't match",
        )
    # Realm and client not-before are checked before the session: after logout-all a refresh
    # says "Stale token", not "Session not active" (26.7.3, tests/parity realm_logout_all).
    if int(claims.get("iat") or 0) < realm.effective_not_before(client, None):
        raise oauth_error(400, "invalid_grant", "Stale token")
    offline = claims["typ"] == "Offline"
    us = realm.sessions.get(str(claims.get("sid")), offline)
    if us is None:
        raise oauth_error(
            400,
            "invalid_grant",
            "Offline user session not found" if offline else "Session not active",
        )
    user = realm.users.get(str(claims.get("sub")))
    if user is None:
        raise oauth_error(400, "invalid_grant", "Unknown user")
    if not user.enabled:
        raise oauth_error(400, "invalid_grant", "User disabled")
    if int(claims.get("iat") or 0) < realm.effective_not_before(client, user):
        raise oauth_error(400, "invalid_grant", "Stale token")
    cs = us.clients.get(client.id)
    if cs is None:
        raise oauth_error(400, "invalid_grant", "Session doesn't have required client")
    if realm.rep.get("revokeRefreshToken"):
        jti = claims.get("jti")
        if jti != cs.current_refresh:
            if int(claims.get("iat") or 0) < cs.timestamp and cs.current_refresh is not None:
                raise oauth_error(400, "invalid_grant", "Stale token")
            cs.current_refresh = jti
            cs.use_count = 0
        if cs.use_count > realm.int_setting("refreshTokenMaxReuse"):
            realm.sessions.detach(us, client.id)
            raise oauth_error(400, "invalid_grant", "Maximum allowed refresh token reuse exceeded")
        cs.use_count += 1
    scope = form.get("scope") or claims.get("scope") or ""
    asked = set(scope.split())
    granted = set(str(claims.get("scope") or "").split())
    if form.get("scope") and not asked <= granted:
        raise oauth_error(400, "invalid_scope", "Invalid scopes: " + scope)
    realm.sessions.touch(us, cs, now)
    if offline:
        twin = realm.sessions.get(us.id, False)
        if twin is not None and client.id in twin.clients:
            realm.sessions.touch(twin, twin.clients[client.id], now)
    record_event(
        realm,
        "REFRESH_TOKEN",
        client_id=client.client_id,
        user_id=user.id,
        session_id=us.id,
        ip=ctx.client_ip,
        details={"token_id": str(claims.get("jti"))},
    )
    return issue_tokens(ctx, realm, client, user, us, cs, scope)


def _code(ctx: Ctx, realm: Realm, client: Client, form: dict[str, str]) -> dict[str, Any]:
    code = form.get("code")
    if not code:
        raise oauth_error(400, "invalid_request", "Missing parameter: code")
    now = ctx.store.clock.now()
    entry = realm.codes.pop(code, None)
    if entry is None or entry["exp"] < now or entry["client"] != client.id:
        record_event(
            realm,
            "CODE_TO_TOKEN_ERROR",
            client_id=client.client_id,
            ip=ctx.client_ip,
            error="invalid_code",
        )
        raise oauth_error(400, "invalid_grant", "Code not valid")
    if entry["redirect_uri"] and form.get("redirect_uri") != entry["redirect_uri"]:
        raise oauth_error(400, "invalid_grant", "Incorrect redirect_uri")
    challenge = entry.get("code_challenge")
    if challenge:
        verifier = form.get("code_verifier")
        if not verifier:
            raise oauth_error(400, "invalid_grant", "PKCE code verifier not specified")
        if not VERIFIER_RE.match(verifier):
            raise oauth_error(
                400, "invalid_grant", "PKCE verification failed: Invalid code verifier"
            )
        if entry.get("code_challenge_method") == "S256":
            digest = hashlib.sha256(verifier.encode("ascii")).digest()
            computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        else:
            computed = verifier
        if computed != challenge:
            raise oauth_error(400, "invalid_grant", "PKCE verification failed: Code mismatch")
    us = realm.sessions.get(entry["sid"], False)
    user = realm.users.get(entry["user"])
    if us is None or user is None or client.id not in us.clients:
        raise oauth_error(400, "invalid_grant", "Session not active")
    cs = us.clients[client.id]
    scope = entry.get("scope") or ""
    if "offline_access" in scope.split() and user_may_go_offline(realm, user.id):
        offline = realm.sessions.get(us.id, True) or realm.sessions.create(
            us.id, user.id, us.ip, now, remember_me=us.remember_me, offline=True
        )
        cs = realm.sessions.attach(offline, client, now)
        us = offline
    record_event(
        realm,
        "CODE_TO_TOKEN",
        client_id=client.client_id,
        user_id=user.id,
        session_id=us.id,
        ip=ctx.client_ip,
        details={"grant_type": "authorization_code"},
    )
    return issue_tokens(
        ctx, realm, client, user, us, cs, scope, nonce=entry.get("nonce"), acr=entry.get("acr", "1")
    )


# -- userinfo, introspection, revocation, logout ---------------------------------------------------
@router.route(P + "/userinfo", "GET", "POST")
def userinfo(ctx: Ctx) -> Response:
    realm = oidc_realm(ctx)
    header = ctx.request.headers.get("authorization", "")
    token_text = header[7:].strip() if header.lower().startswith("bearer ") else None
    if token_text is None and ctx.request.method == "POST":
        token_text = ctx.form().get("access_token")
    if not token_text:
        return _userinfo_error(realm, "invalid_request", "Token not provided", 401)
    claims = token_claims(realm, token_text)
    problem = access_token_problem(realm, claims, ctx.store.clock.now())
    if problem is not None or claims is None or claims.get("typ") != "Bearer":
        return _userinfo_error(realm, "invalid_token", problem or "Token verification failed", 401)
    user = realm.users[str(claims["sub"])]
    body: dict[str, Any] = {"sub": user.id}
    from tokenadmin.emulator.issuing import profile_claims

    body.update(profile_claims(user))
    return json_response(body)


def _userinfo_error(realm: Realm, error: str, description: str, status: int) -> Response:
    header = f'Bearer realm="{realm.name}", error="{error}", error_description="{description}"'
    return json_response(
        {"error": error, "error_description": description}, status, {"WWW-Authenticate": header}
    )


def refresh_token_live(realm: Realm, claims: dict[str, Any], now: int) -> bool:
    exp = claims.get("exp")
    if isinstance(exp, int) and exp != 0 and now > exp:
        return False
    offline = claims.get("typ") == "Offline"
    us = realm.sessions.get(str(claims.get("sid")), offline)
    client = realm.client_by_client_id.get(str(claims.get("azp")))
    user = realm.users.get(str(claims.get("sub")))
    if (
        us is None
        or client is None
        or user is None
        or not user.enabled
        or client.id not in us.clients
    ):
        return False
    return int(claims.get("iat") or 0) >= realm.effective_not_before(client, user)


@router.route(P + "/token/introspect", "POST")
def introspect(ctx: Ctx) -> Response:
    realm = oidc_realm(ctx)
    form = ctx.form()
    client = authenticate_client(ctx, realm, form)
    if client.public:
        raise oauth_error(403, "invalid_request", "Client not allowed.")
    token_text = form.get("token")
    if not token_text:
        raise oauth_error(400, "invalid_request", "Token not provided.")
    claims = token_claims(realm, token_text)
    now = ctx.store.clock.now()
    if claims is not None and claims.get("typ") in ("Refresh", "Offline"):
        live = refresh_token_live(realm, claims, now)
    else:
        live = access_token_problem(realm, claims, now) is None
    if not live or claims is None:
        return json_response({"active": False})
    body = dict(claims)
    user = realm.users.get(str(claims.get("sub")))
    body["client_id"] = claims.get("azp")
    if user is not None:
        body["username"] = user.username
    body["token_type"] = "Bearer"
    body["active"] = True
    return json_response(body)


@router.route(P + "/revoke", "POST")
def revoke(ctx: Ctx) -> Response:
    realm = oidc_realm(ctx)
    form = ctx.form()
    client = authenticate_client(ctx, realm, form)
    token_text = form.get("token")
    if not token_text:
        raise oauth_error(400, "invalid_request", "Token not provided")
    claims = token_claims(realm, token_text)
    now = ctx.store.clock.now()
    invalid = json_response({"error": "invalid_token", "error_description": "Invalid token"})
    if claims is None:
        return invalid
    if claims.get("azp") != client.client_id:
        raise oauth_error(400, "unauthorized_client", "Unmatching clients")
    typ = claims.get("typ")
    if typ in ("Refresh", "Offline"):
        if not refresh_token_live(realm, claims, now):
            return invalid
        # TokenRevocationEndpoint.revokeClient: the user's consent to the client goes; an offline
        # token takes the client out of all the user's offline sessions; the client is detached
        # from all the user's online sessions (emptied ones removed). No back-channel logout.
        user_id = str(claims.get("sub"))
        user = realm.users.get(user_id)
        if user is not None:
            user.consents.pop(client.id, None)
        if typ == "Offline":
            for us in realm.sessions.of_user(user_id, True):
                realm.sessions.detach(us, client.id)
        for us in realm.sessions.of_user(user_id, False):
            if client.id in us.clients:
                realm.sessions.detach(us, client.id)
                if not us.clients:
                    realm.sessions.remove(us)
    else:
        if access_token_problem(realm, claims, now) is not None:
            return invalid
        realm.revoked_jti[str(claims.get("jti"))] = int(claims.get("exp") or now)
        for jti, exp in list(realm.revoked_jti.items()):
            if exp < now:
                del realm.revoked_jti[jti]
    record_event(
        realm,
        "REVOKE_GRANT",
        client_id=client.client_id,
        user_id=str(claims.get("sub")),
        ip=ctx.client_ip,
    )
    return Response(b"", status_code=200)


def token_logout(ctx: Ctx, realm: Realm, form: dict[str, str]) -> Response:
    client = authenticate_client(ctx, realm, form)
    token_text = form.get("refresh_token")
    if not token_text:
        raise oauth_error(400, "invalid_request", "No refresh token")
    claims = token_claims(realm, token_text)
    if claims is None or claims.get("typ") not in ("Refresh", "Offline"):
        raise oauth_error(400, "invalid_grant", "Invalid refresh token")
    if claims.get("azp") != client.client_id:
        raise oauth_error(400, "invalid_grant", "Unmatching clients")
    offline = claims["typ"] == "Offline"
    us = realm.sessions.get(str(claims.get("sid")), offline)
    if us is not None:
        backchannel_logout(ctx, realm, [us])
        realm.sessions.remove(us)
        record_event(
            realm,
            "LOGOUT",
            client_id=client.client_id,
            user_id=us.user_id,
            session_id=us.id,
            ip=ctx.client_ip,
        )
    return empty(204)
