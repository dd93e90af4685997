"""Realm settings and client lifespan attributes: read-modify-write of the representations."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from ._base import GatewayBase, realm_path
from .types import KcClient, RealmSettings


@dataclass(frozen=True)
class AdminEvent:
    """One entry of Keycloak's admin events, in our units."""

    at: datetime
    operation: str
    resource_type: str
    resource_path: str
    auth_realm_id: str
    auth_user_id: str

    @classmethod
    def from_representation(cls, rep: dict) -> "AdminEvent":
        auth = rep.get("authDetails") or {}
        # Keycloak sends event times in epoch milliseconds.
        return cls(
            at=datetime.fromtimestamp(int(rep.get("time", 0)) / 1000, tz=UTC),
            operation=rep.get("operationType", ""),
            resource_type=rep.get("resourceType", ""),
            resource_path=rep.get("resourcePath", ""),
            auth_realm_id=auth.get("realmId", ""),
            auth_user_id=auth.get("userId", ""),
        )


class LifespanCalls(GatewayBase):
    def realm_settings(self, realm: str) -> RealmSettings:
        """GET /admin/realms/{realm}: the realm's settings (needs view-realm for the lifespans:
        without it Keycloak answers a reduced representation)."""
        rep = self._get(realm_path(realm), f"read the settings of realm {realm}")
        return RealmSettings.from_representation(rep)

    def realm_lifespans_put(
        self, realm: str, settings: RealmSettings, values: Mapping[str, int | bool]
    ) -> None:
        """PUT /admin/realms/{realm}: the representation `settings` was read from, with the
        lifespan `values` put in (needs manage-realm).

        Keycloak resets some omitted fields and replaces `attributes` wholesale, so the whole
        representation goes back, changed only in these fields (facts §4.3).
        """
        self._put(
            realm_path(realm),
            f"save the settings of realm {realm}",
            {**settings._representation, **values},
        )

    def client_attributes_put(
        self, realm: str, client: KcClient, attributes: Mapping[str, str]
    ) -> None:
        """PUT /admin/realms/{realm}/clients/{uuid}: the representation `client` was read from,
        with these `attributes` set and its other attributes kept."""
        rep = client._representation
        self._put(
            realm_path(realm, "clients", client.uuid),
            f"save a client of {realm}",
            {**rep, "attributes": {**(rep.get("attributes") or {}), **attributes}},
        )

    def realm_update_events(self, realm: str, *, max_: int = 50) -> list[AdminEvent]:
        """GET admin-events?resourceTypes=REALM&operationTypes=UPDATE, newest first."""
        reps = self._get(
            realm_path(realm, "admin-events"),
            f"read the admin events of {realm}",
            resourceTypes="REALM",
            operationTypes="UPDATE",
            max=max_,
        )
        return [AdminEvent.from_representation(rep) for rep in reps]

    def realm_name_of_id(self, realm_id: str) -> str | None:
        """The name of the realm with internal id `realm_id`, from GET /admin/realms."""
        for rep in self._get("admin/realms", "list the realms"):
            if rep.get("id") == realm_id:
                return rep.get("realm")
        return None
