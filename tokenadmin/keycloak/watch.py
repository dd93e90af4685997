"""What the findings checks read from Keycloak besides sessions: which users exist, and the
user and admin events that say when a credential changed."""

from datetime import date

from ._base import GatewayBase, realm_path
from .types import CredentialChange, EventsConfig

# The user events that mean "this user's password or credential changed": the required action
# and the account console send UPDATE_PASSWORD (deprecated) and UPDATE_CREDENTIAL together,
# the forgotten-password flow RESET_PASSWORD.
CREDENTIAL_EVENT_TYPES = ("UPDATE_PASSWORD", "UPDATE_CREDENTIAL", "RESET_PASSWORD")
# An admin's "reset password" leaves only an admin event: ACTION on users/<id>/reset-password.
RESET_PATH = "users/*/reset-password"


class WatchCalls(GatewayBase):
    def user_ids(self, realm: str, *, page_size: int = 1000) -> set[str]:
        """GET users?briefRepresentation=true, every page: the ids of every user of the realm."""
        ids: set[str] = set()
        first = 0
        while True:
            reps = self._get(
                realm_path(realm, "users"),
                f"list the users of {realm}",
                briefRepresentation="true",
                first=first,
                max=page_size,
            )
            ids.update(rep["id"] for rep in reps)
            first += len(reps)
            if len(reps) < page_size:
                return ids

    def user_count(self, realm: str) -> int:
        """GET users/count: how many users the realm has (service accounts left out)."""
        return int(self._get(realm_path(realm, "users", "count"), f"count the users of {realm}"))

    def events_config(self, realm: str) -> EventsConfig:
        """GET events/config (view-events): whether Keycloak saves user and admin events."""
        rep = self._get(realm_path(realm, "events", "config"), f"read the events setup of {realm}")
        return EventsConfig.from_representation(rep)

    def credential_changes(
        self, realm: str, *, since: date, page_size: int = 500
    ) -> list[CredentialChange]:
        """Every saved credential change since the day `since` (Keycloak filters by whole days,
        UTC): the user events UPDATE_PASSWORD / UPDATE_CREDENTIAL / RESET_PASSWORD and the admin
        events of a password reset, newest first as Keycloak lists them."""
        changes: list[CredentialChange] = []
        day = since.isoformat()
        first = 0
        while True:
            reps = self._get(
                realm_path(realm, "events"),
                f"read the user events of {realm}",
                type=list(CREDENTIAL_EVENT_TYPES),
                dateFrom=day,
                first=first,
                max=page_size,
            )
            changes.extend(CredentialChange.from_user_event(rep) for rep in reps if "userId" in rep)
            first += len(reps)
            if len(reps) < page_size:
                break
        first = 0
        while True:
            reps = self._get(
                realm_path(realm, "admin-events"),
                f"read the admin events of {realm}",
                operationTypes="ACTION",
                resourceTypes="USER",
                resourcePath=RESET_PATH,
                dateFrom=day,
                first=first,
                max=page_size,
            )
            changes.extend(CredentialChange.from_admin_event(rep) for rep in reps)
            first += len(reps)
            if len(reps) < page_size:
                break
        return changes
