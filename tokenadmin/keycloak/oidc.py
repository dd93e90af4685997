"""The admin's own OIDC tokens: refresh, claims, end-session URL.

mozilla-django-oidc does the login itself; what it does not do (refresh before expiry, reading
roles from the access token, Keycloak's end-session URL) lives here.
"""

import base64
import json
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from keycloak import KeycloakOpenID

from .errors import mapped_errors


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
