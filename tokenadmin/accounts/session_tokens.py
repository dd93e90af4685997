"""The admin's Keycloak tokens, kept server-side in the Django session (never in a page)."""

import time

from django.contrib.sessions.backends.base import SessionBase

from tokenadmin.keycloak.oidc import TokenSet, unverified_claims

from .rights import AdminRights

ACCESS = "oidc_access_token"  # the key mozilla-django-oidc uses
ID = "oidc_id_token"  # the key mozilla-django-oidc uses
REFRESH = "oidc_refresh_token"
ACCESS_EXPIRES_AT = "oidc_access_token_expires_at"
RIGHTS = "admin_rights"
# The admin's own Keycloak session id, so pages can mark it and revocation can spare it.
SID = "keycloak_sid"
TOKEN_KEYS = (ACCESS, ID, REFRESH, ACCESS_EXPIRES_AT, RIGHTS, SID)


def tokens_store(session: SessionBase, tokens: TokenSet) -> AdminRights:
    """Keep a fresh token set and the rights its access token carries."""
    now = time.time()
    session[ACCESS] = tokens.access_token
    if tokens.id_token:
        session[ID] = tokens.id_token
    if tokens.refresh_token:
        session[REFRESH] = tokens.refresh_token
    session[ACCESS_EXPIRES_AT] = now + tokens.expires_in_s
    claims = unverified_claims(tokens.access_token)
    rights = AdminRights.from_claims(claims)
    session[RIGHTS] = rights.as_session()
    session[SID] = claims.get("sid", "")
    return rights


def access_token_seconds_left(session: SessionBase) -> float:
    return float(session.get(ACCESS_EXPIRES_AT, 0)) - time.time()


def rights_of(session: SessionBase) -> AdminRights:
    return AdminRights.from_session(session.get(RIGHTS))
