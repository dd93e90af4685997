"""The gateway: the only code that talks to Keycloak.

Interactive calls carry the logged-in admin's own access token, so Keycloak decides what the
admin may do and its admin events name the real person. Background jobs use the worker's
service account. Every call has a timeout and maps failures to GatewayError subclasses.
"""

from typing import Any
from urllib.parse import quote

from django.conf import settings
from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakGetError, raise_error_from_response

from .errors import mapped_errors
from .types import ClientSessionStats, Realm, RealmLifespans


def _path(realm: str, *parts: str) -> str:
    return "/".join(["admin/realms", quote(realm, safe=""), *(quote(p, safe="") for p in parts)])


class Gateway:
    """One Keycloak admin connection; methods name the endpoint they call."""

    def __init__(self, connection: KeycloakOpenIDConnection) -> None:
        self._admin = KeycloakAdmin(connection=connection)
        self._connection = connection

    # --- plumbing ---------------------------------------------------------------------------
    def _get(self, path: str, what: str, **query: Any) -> Any:
        with mapped_errors(what):
            response = self._connection.raw_get(path, **query)
            return raise_error_from_response(response, KeycloakGetError, expected_codes=[200])

    # --- realms -----------------------------------------------------------------------------
    def realms_list(self) -> list[Realm]:
        """GET /admin/realms: the realms this caller may see something of."""
        reps = self._get("admin/realms", "list the realms")
        return [_realm_from_rep(rep) for rep in reps]

    def realm_get(self, realm: str) -> Realm:
        """GET /admin/realms/{realm}."""
        return _realm_from_rep(self._get(_path(realm), f"read realm {realm}"))

    def client_session_stats(self, realm: str) -> list[ClientSessionStats]:
        """GET /admin/realms/{realm}/client-session-stats (counts arrive as strings)."""
        rows = self._get(_path(realm, "client-session-stats"), f"count the sessions of {realm}")
        return [
            ClientSessionStats(
                client_uuid=row["id"],
                client_id=row["clientId"],
                active=int(row.get("active", 0)),
                offline=int(row.get("offline", 0)),
            )
            for row in rows
        ]


def _realm_from_rep(rep: dict) -> Realm:
    # Without view-realm Keycloak returns a reduced representation with no token settings.
    has_settings = "accessTokenLifespan" in rep
    return Realm(
        name=rep["realm"],
        display_name=rep.get("displayName") or rep["realm"],
        enabled=bool(rep.get("enabled", True)),
        lifespans=RealmLifespans.from_representation(rep) if has_settings else None,
    )


def gateway_for_token(access_token: str, expires_in_s: int) -> Gateway:
    """A gateway acting as the admin who holds `access_token` (no refresh: the web tier does)."""
    connection = KeycloakOpenIDConnection(
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
