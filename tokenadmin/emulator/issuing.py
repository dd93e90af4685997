"""Building Keycloak 26 tokens: access, ID and refresh tokens, and the token response."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from tokenadmin.emulator.http import Ctx, oauth_error
from tokenadmin.emulator.mappers import mapped_audiences
from tokenadmin.emulator.sessions import pos, refresh_expiry, session_max_expiry
from tokenadmin.emulator.store import new_id
from tokenadmin.emulator.tokens import at_hash, sign_hs512, sign_rs256, verify

if TYPE_CHECKING:
    from tokenadmin.emulator.sessions import ClientSession, UserSession
    from tokenadmin.emulator.store import Client, Realm, User

REFRESH_EXTRA_SCOPES = ("web-origins", "acr", "roles", "basic")


def issuer(ctx: Ctx, realm: Realm) -> str:
    return f"{ctx.base_url}/realms/{realm.name}"


def token_scope(requested: str | None, offline: bool) -> str:
    words = (requested or "").split()
    scope = ["openid"] if "openid" in words else []
    if offline:
        scope.append("offline_access")
    scope += ["email", "profile"]
    return " ".join(scope)


def profile_claims(user: User) -> dict[str, Any]:
    out: dict[str, Any] = {"email_verified": user.email_verified}
    name = " ".join(p for p in (user.first_name, user.last_name) if p)
    if name:
        out["name"] = name
    out["preferred_username"] = user.username
    if user.first_name:
        out["given_name"] = user.first_name
    if user.last_name:
        out["family_name"] = user.last_name
    if user.email:
        out["email"] = user.email
    return out


def _roles(realm: Realm, user: User) -> tuple[list[str], dict[str, dict[str, list[str]]]]:
    realm_roles: list[str] = []
    resource: dict[str, dict[str, list[str]]] = {}
    for rid in realm.user_role_ids(user):
        role = realm.role_by_id.get(rid)
        if role is None:
            continue
        if role.client_role:
            owner = realm.clients.get(role.container_id)
            if owner is not None:
                resource.setdefault(owner.client_id, {"roles": []})["roles"].append(role.name)
        else:
            realm_roles.append(role.name)
    for entry in resource.values():
        entry["roles"].sort()
    return sorted(realm_roles), resource


def allowed_origins(client: Client) -> list[str]:
    origins: list[str] = []
    for origin in client.rep.get("webOrigins") or []:
        if origin == "+":
            for uri in client.rep.get("redirectUris") or []:
                parts = urlsplit(uri.rstrip("*"))
                if parts.scheme and parts.netloc:
                    origins.append(f"{parts.scheme}://{parts.netloc}")
        else:
            origins.append(origin)
    return sorted(set(origins))


def access_lifespan(realm: Realm, client: Client) -> int:
    value = client.attr("access.token.lifespan")
    if value is not None:
        try:
            number = int(float(value))
        except ValueError:
            number = 0
        if number == -1:
            return 10**9
        if number > 0:
            return number
    return pos(realm.rep.get("accessTokenLifespan"), 300)


def issue_tokens(
    ctx: Ctx,
    realm: Realm,
    client: Client,
    user: User,
    us: UserSession | None,
    cs: ClientSession | None,
    requested_scope: str | None,
    *,
    nonce: str | None = None,
    acr: str = "1",
    client_credentials: bool = False,
) -> dict[str, Any]:
    now = ctx.store.clock.now()
    iss = issuer(ctx, realm)
    offline = bool(us and us.offline)
    scope = token_scope(requested_scope, offline)
    exp = now + access_lifespan(realm, client)
    if us is not None:
        smax = session_max_expiry(realm, us)
        if smax is not None:
            exp = min(exp, smax)
    realm_roles, resource = _roles(realm, user)
    # The client's audience mappers first, then the clients the user holds roles of (Keycloak's
    # "audience resolve" mapper runs after them): tests/parity audience_mapper.
    audience = mapped_audiences(client)
    audience += sorted(k for k in resource if k != client.client_id and k not in audience)
    access: dict[str, Any] = {"exp": exp, "iat": now}
    if us is not None:
        access["auth_time"] = us.start
    access["jti"] = ("trrtcc:" if client_credentials else "onrtac:") + new_id()
    access["iss"] = iss
    if audience:
        access["aud"] = audience[0] if len(audience) == 1 else audience
    access["sub"] = user.id
    access["typ"] = "Bearer"
    access["azp"] = client.client_id
    if us is not None:
        access["sid"] = us.id
    access["acr"] = acr
    origins = allowed_origins(client)
    if origins:
        access["allowed-origins"] = origins
    access["realm_access"] = {"roles": realm_roles}
    if resource:
        access["resource_access"] = resource
    access["scope"] = scope
    if client_credentials:
        access["clientHost"] = ctx.client_ip
        access["clientAddress"] = ctx.client_ip
        access["client_id"] = client.client_id
    access.update(profile_claims(user))
    access_token = sign_rs256(realm.keys, access)

    body: dict[str, Any] = {"access_token": access_token, "expires_in": exp - now}
    refresh_token = None
    refresh_exp: int | None = None
    if us is not None and cs is not None:
        refresh_exp = refresh_expiry(realm, client, us, cs, now)
        refresh: dict[str, Any] = {}
        if refresh_exp is not None:
            refresh["exp"] = refresh_exp
        refresh.update(
            {
                "iat": now,
                "jti": new_id(),
                "iss": iss,
                "aud": iss,
                "sub": user.id,
                "typ": "Offline" if offline else "Refresh",
                "azp": client.client_id,
                "sid": us.id,
                "scope": " ".join([*scope.split(), *REFRESH_EXTRA_SCOPES]),
            }
        )
        # 26.7 refresh tokens also name the access token's audience and the token provider.
        if access.get("aud"):
            refresh["aud_x"] = access["aud"]
        refresh["prov"] = "default"
        refresh_token = sign_hs512(realm.keys, refresh)
    body["refresh_expires_in"] = 0 if refresh_exp is None else max(refresh_exp - now, 0)
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    body["token_type"] = "Bearer"
    if "openid" in scope.split():
        id_claims: dict[str, Any] = {"exp": exp, "iat": now}
        if us is not None:
            id_claims["auth_time"] = us.start
        id_claims.update(
            {"jti": new_id(), "iss": iss, "aud": client.client_id, "sub": user.id, "typ": "ID"}
        )
        id_claims["azp"] = client.client_id
        if nonce:
            id_claims["nonce"] = nonce
        if us is not None:
            id_claims["sid"] = us.id
        id_claims["at_hash"] = at_hash(access_token)
        id_claims["acr"] = acr
        id_claims.update(profile_claims(user))
        body["id_token"] = sign_rs256(realm.keys, id_claims)
    body["not-before-policy"] = realm.effective_not_before(client, user)
    if us is not None:
        body["session_state"] = us.id
    body["scope"] = scope
    return body


# -- client authentication -----------------------------------------------------------------------
INVALID_CLIENT = "Invalid client or Invalid client credentials"


def authenticate_client(ctx: Ctx, realm: Realm, form: dict[str, str]) -> Client:
    client_id = form.get("client_id") or None
    secret = form.get("client_secret") or None
    header = ctx.request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
            basic_id, _, basic_secret = decoded.partition(":")
            client_id, secret = unquote(basic_id), unquote(basic_secret)
        except (ValueError, UnicodeDecodeError):
            raise oauth_error(400, "invalid_request", "Invalid authorization header") from None
    if not client_id:
        raise oauth_error(400, "invalid_request", "Missing parameter: client_id")
    client = realm.client_by_client_id.get(client_id)
    if client is None or not client.rep.get("enabled", True):
        raise oauth_error(401, "invalid_client", INVALID_CLIENT)
    if client.rep.get("bearerOnly"):
        raise oauth_error(400, "unauthorized_client", "Bearer-only not allowed")
    if not client.public and (secret is None or secret != client.secret):
        raise oauth_error(401, "unauthorized_client", INVALID_CLIENT)
    return client


def token_claims(realm: Realm, token: str | None) -> dict[str, Any] | None:
    if not token:
        return None
    return verify(realm.keys, token)


def access_token_problem(realm: Realm, claims: dict[str, Any] | None, now: int) -> str | None:
    """None if the access token is live (as userinfo/introspection see it), else the reason."""
    if claims is None or claims.get("typ") not in ("Bearer", "ID"):
        return "Token verification failed"
    if not isinstance(claims.get("exp"), int) or claims["exp"] < now:
        return "Token verification failed"
    if claims.get("jti") in realm.revoked_jti:
        return "Token verification failed"
    user = realm.users.get(str(claims.get("sub")))
    client = realm.client_by_client_id.get(str(claims.get("azp")))
    if user is None or not user.enabled or client is None:
        return "Token verification failed"
    if int(claims.get("iat") or 0) < realm.effective_not_before(client, user):
        return "Token verification failed"
    sid = claims.get("sid")
    if sid is not None:
        us = realm.sessions.get(sid, False)
        if us is None or client.id not in us.clients:
            us = realm.sessions.get(sid, True)
        if us is None or client.id not in us.clients:
            return "User session not found or doesn't have client attached on it"
    return None
