"""Realm reads: the list, one realm, its session statistics."""

from typing import Self

from keycloak import KeycloakOpenIDConnection

from ._base import GatewayBase, realm_path
from .types import ClientSessionStats, Realm, RealmLifespans


class RealmCalls(GatewayBase):
    def realms_list(self) -> list[Realm]:
        """GET /admin/realms: the realms this caller may see something of."""
        reps = self._get("admin/realms", "list the realms")
        return [_realm_from_rep(rep) for rep in reps]

    def realm_get(self, realm: str) -> Realm:
        """GET /admin/realms/{realm}."""
        return _realm_from_rep(self._get(realm_path(realm), f"read realm {realm}"))

    def client_session_stats(self, realm: str) -> list[ClientSessionStats]:
        """GET /admin/realms/{realm}/client-session-stats (counts arrive as strings)."""
        rows = self._get(
            realm_path(realm, "client-session-stats"), f"count the sessions of {realm}"
        )
        return [
            ClientSessionStats(
                client_uuid=row["id"],
                client_id=row["clientId"],
                active=int(row.get("active", 0)),
                offline=int(row.get("offline", 0)),
            )
            for row in rows
        ]

    def twin(self) -> Self:
        """Another gateway acting as the same account with the same token, on its own HTTP
        connection: for threads paging in parallel without logging in once per thread."""
        c = self._connection
        connection = KeycloakOpenIDConnection(
            server_url=c.server_url,
            grant_type=c.grant_type,
            username=c.username,
            password=c.password,
            token=c.token,
            realm_name=c.realm_name,
            client_id=c.client_id or "",  # always set: both factories give one
            verify=c.verify,
            client_secret_key=c.client_secret_key,
            user_realm_name=c.user_realm_name,
            timeout=c.timeout,
        )
        # Same renewal time as the original (the setter would count the lifetime from now).
        connection._expires_at = c.expires_at
        return type(self)(connection)


def _realm_from_rep(rep: dict) -> Realm:
    # Without view-realm Keycloak returns a reduced representation with no token settings.
    has_settings = "accessTokenLifespan" in rep
    return Realm(
        name=rep["realm"],
        display_name=rep.get("displayName") or rep["realm"],
        enabled=bool(rep.get("enabled", True)),
        lifespans=RealmLifespans.from_representation(rep) if has_settings else None,
    )
