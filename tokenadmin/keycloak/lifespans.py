"""Realm and client lifespan settings: read-modify-write of the representations."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from ._base import GatewayBase, realm_path


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
    def realm_representation(self, realm: str) -> dict:
        """GET /admin/realms/{realm}: the full RealmRepresentation (needs view-realm)."""
        return self._get(realm_path(realm), f"read the settings of realm {realm}")

    def realm_representation_put(self, realm: str, representation: dict) -> None:
        """PUT /admin/realms/{realm} with the whole representation (needs manage-realm).

        Keycloak resets some omitted fields and replaces `attributes` wholesale, so callers pass
        back everything they read, changed only where they mean to (facts §4.3).
        """
        # raw_put hands `data` to requests as is: a dict would go out form-encoded.
        self._put(
            realm_path(realm), f"save the settings of realm {realm}", json.dumps(representation)
        )

    def client_representation(self, realm: str, client_uuid: str) -> dict:
        """GET /admin/realms/{realm}/clients/{uuid}: the full ClientRepresentation."""
        return self._get(realm_path(realm, "clients", client_uuid), f"read a client of {realm}")

    def client_representation_put(self, realm: str, client_uuid: str, representation: dict) -> None:
        """PUT /admin/realms/{realm}/clients/{uuid} with the whole representation."""
        self._put(
            realm_path(realm, "clients", client_uuid),
            f"save a client of {realm}",
            json.dumps(representation),
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
