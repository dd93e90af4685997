"""The admin's own OIDC tokens: refresh, claims, end-session URL.

mozilla-django-oidc does the login itself; what it does not do (refresh before expiry, reading
roles from the access token, Keycloak's end-session URL) lives here.
"""

import base64
import json
from dataclasses import dataclass
from urllib.parse import urlencode

import jwt
from django.conf import settings
from keycloak import KeycloakOpenID

from .errors import KeycloakUnavailable, mapped_errors


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    id_token: str
    expires_in_s: int
    refresh_expires_in_s: int

    @classmethod
    def from_response(cls, body: dict) -> "TokenSet":
        return cls(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token", ""),
            id_token=body.get("id_token", ""),
            expires_in_s=int(body.get("expires_in", 0)),
            refresh_expires_in_s=int(body.get("refresh_expires_in", 0)),
        )


def _openid(*, timeout_s: int, max_retries: int) -> KeycloakOpenID:
    return KeycloakOpenID(
        server_url=settings.KEYCLOAK_URL,
        realm_name=settings.KEYCLOAK_REALM,
        client_id=settings.KEYCLOAK_CLIENT_ID,
        client_secret_key=settings.KEYCLOAK_CLIENT_SECRET,
        timeout=timeout_s,
        max_retries=max_retries,
    )


def tokens_refresh(refresh_token: str) -> TokenSet:
    """POST {iss}/protocol/openid-connect/token with grant_type=refresh_token.

    Raises Rejected (400 invalid_grant) when the SSO session is gone, KeycloakUnavailable when
    Keycloak cannot be reached. One try within KEYCLOAK_RENEW_TIMEOUT_S: python-keycloak's
    default retry would make a hung Keycloak cost the page twice the timeout.
    """
    with mapped_errors("renew your login"):
        openid = _openid(timeout_s=settings.KEYCLOAK_RENEW_TIMEOUT_S, max_retries=0)
        return TokenSet.from_response(openid.refresh_token(refresh_token))


def unverified_claims(jwt: str) -> dict:
    """The payload of a JWT we received straight from Keycloak's token endpoint.

    Used only to decide which buttons to show; Keycloak re-checks every call, so no signature
    check is needed for that.
    """
    try:
        payload = jwt.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


def end_session_url(*, id_token: str, post_logout_redirect_uri: str) -> str:
    """Keycloak's browser end-session URL, so the SSO session really ends."""
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": post_logout_redirect_uri,
            "client_id": settings.KEYCLOAK_CLIENT_ID,
        }
    )
    return f"{settings.OIDC_OP_LOGOUT_ENDPOINT}?{query}"


# JWKS keys are cached by PyJWT's client (it refetches once on an unknown key id, so Keycloak's
# key rotation is followed); one client per process and JWKS address.
_jwks_clients: dict[str, jwt.PyJWKClient] = {}
ACCESS_TOKEN_LEEWAY_S = 60  # as the login's ID token check (accounts/backend.py)


class TokenInvalid(Exception):
    """A bearer token Keycloak did not issue to us, or no longer valid; the message says why."""


def access_token_verify(token: str) -> dict:
    """The claims of a bearer access token, verified against Keycloak: RS256 signature by a key
    of its JWKS, our realm's issuer, tokenadmin as audience (or the token's authorized party),
    not expired. TokenInvalid otherwise; KeycloakUnavailable when the JWKS cannot be read."""
    url = settings.OIDC_OP_JWKS_ENDPOINT
    if url not in _jwks_clients:
        _jwks_clients[url] = jwt.PyJWKClient(
            url, cache_keys=True, timeout=settings.KEYCLOAK_TIMEOUT_S
        )
    try:
        key = _jwks_clients[url].get_signing_key_from_jwt(token)
    except jwt.PyJWKClientConnectionError:
        raise KeycloakUnavailable("check your token") from None
    except jwt.PyJWKClientError as exc:
        raise TokenInvalid("the token is not signed by a key Keycloak publishes") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenInvalid("the token is not a JWT") from exc
    issuer = f"{settings.KEYCLOAK_PUBLIC_URL}/realms/{settings.KEYCLOAK_REALM}"
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            issuer=[issuer, f"{settings.KEYCLOAK_URL}/realms/{settings.KEYCLOAK_REALM}"],
            options={"verify_aud": False, "require": ["exp", "iss", "sub"]},
            leeway=ACCESS_TOKEN_LEEWAY_S,
        )
    except jwt.ExpiredSignatureError:
        raise TokenInvalid("the token has expired") from None
    except jwt.InvalidIssuerError:
        raise TokenInvalid("the token was issued by another realm or server") from None
    except jwt.InvalidTokenError as exc:
        raise TokenInvalid(f"the token is invalid ({type(exc).__name__})") from None
    audience = claims.get("aud") or []
    audience = [audience] if isinstance(audience, str) else list(audience)
    client_id = settings.KEYCLOAK_CLIENT_ID
    if client_id not in audience and claims.get("azp") != client_id:
        raise TokenInvalid(f"the token is not meant for {client_id} (audience)")
    if claims.get("typ", "Bearer") != "Bearer":
        raise TokenInvalid("the token is not an access token")
    return claims
