"""The gateway: the only code that talks to Keycloak.

Interactive calls carry the logged-in admin's own access token, so Keycloak decides what the
admin may do and its admin events name the real person. Background jobs use the worker's
service account. Every call has a timeout and maps failures to GatewayError subclasses.
Each area of Keycloak's API has its own module with one method per endpoint; `Gateway`
gathers them.
"""

from typing import Any, NoReturn

from django.conf import settings
from keycloak import KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakConnectionError

from .breaker import keycloak_outage_get
from .errors import mapped_errors
from .lifespans import LifespanCalls
from .realms import RealmCalls
from .revocation import RevocationCalls
from .sessions import SessionCalls


class Gateway(RealmCalls, SessionCalls, RevocationCalls, LifespanCalls):
    """Every Keycloak call tokenadmin makes, acting as one admin or the worker."""


class _NotAsking(KeycloakOpenIDConnection):
    """A connection that does not call Keycloak: the circuit breaker says it is not answering,
    so every call fails at once as unreachable instead of waiting for its timeout."""

    def raw_get(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise KeycloakConnectionError("not asked: Keycloak has not been answering")

    raw_post = raw_put = raw_delete = raw_get


def gateway_for_token(access_token: str, expires_in_s: int) -> Gateway:
    """A gateway acting as the admin who holds `access_token` (no refresh: the web tier does).

    While the circuit breaker is open (keycloak/breaker.py) its calls fail at once.
    """
    outage = keycloak_outage_get()
    connection_class = (
        _NotAsking if outage is not None and outage.is_open else KeycloakOpenIDConnection
    )
    connection = connection_class(
        server_url=settings.KEYCLOAK_URL,
        realm_name=settings.KEYCLOAK_REALM,
        user_realm_name=settings.KEYCLOAK_REALM,
        client_id=settings.KEYCLOAK_CLIENT_ID,
        # Only the access token: with no refresh token and no secret, python-keycloak cannot
        # quietly swap a dead admin login for the client's own service account.
        token={"access_token": access_token, "expires_in": max(expires_in_s, 1)},
        timeout=settings.KEYCLOAK_TIMEOUT_S,
    )
    return Gateway(connection)


def gateway_for_worker() -> Gateway:
    """A gateway acting as the worker's service account (client credentials), for jobs."""
    connection = KeycloakOpenIDConnection(
        server_url=settings.KEYCLOAK_URL,
        realm_name=settings.KEYCLOAK_REALM,
        user_realm_name=settings.KEYCLOAK_REALM,
        client_id=settings.KEYCLOAK_WORKER_CLIENT_ID,
        client_secret_key=settings.KEYCLOAK_WORKER_CLIENT_SECRET,
        grant_type="client_credentials",
        timeout=settings.KEYCLOAK_TIMEOUT_S,
    )
    with mapped_errors("sign in as the worker's service account"):
        connection.get_token()
    return Gateway(connection)
