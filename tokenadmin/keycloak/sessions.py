"""Sessions, users and clients as the session pages and the index refresh read them."""

from ._base import GatewayBase, realm_path
from .types import Consent, KcClient, KcSession, KcUser

# Keycloak's own page size for client session lists.
PAGE_SIZE = 100


class SessionCalls(GatewayBase):
    def clients_list(self, realm: str) -> list[KcClient]:
        """GET /admin/realms/{realm}/clients."""
        reps = self._get(realm_path(realm, "clients"), f"list the clients of {realm}")
        return [KcClient.from_representation(rep) for rep in reps]

    def client_get(self, realm: str, client_uuid: str) -> KcClient:
        """GET /admin/realms/{realm}/clients/{uuid}."""
        rep = self._get(realm_path(realm, "clients", client_uuid), f"read a client of {realm}")
        return KcClient.from_representation(rep)

    def client_sessions_page(
        self, realm: str, client_uuid: str, *, offline: bool, first: int, max_: int = PAGE_SIZE
    ) -> list[KcSession]:
        """GET clients/{uuid}/user-sessions or /offline-sessions with first/max."""
        kind = "offline-sessions" if offline else "user-sessions"
        reps = self._get(
            realm_path(realm, "clients", client_uuid, kind),
            f"list the sessions of a client of {realm}",
            first=first,
            max=max_,
        )
        return [KcSession.from_representation(rep, offline=offline) for rep in reps]

    def client_session_count(self, realm: str, client_uuid: str, *, offline: bool) -> int:
        """GET clients/{uuid}/session-count or /offline-session-count."""
        kind = "offline-session-count" if offline else "session-count"
        body = self._get(
            realm_path(realm, "clients", client_uuid, kind),
            f"count the sessions of a client of {realm}",
        )
        return int(body["count"])

    def user_get(self, realm: str, user_id: str) -> KcUser:
        """GET /admin/realms/{realm}/users/{id}."""
        rep = self._get(realm_path(realm, "users", user_id), f"read a user of {realm}")
        return KcUser.from_representation(rep)

    def users_search(self, realm: str, search: str, *, max_: int = 20) -> list[KcUser]:
        """GET /admin/realms/{realm}/users?search=…"""
        reps = self._get(
            realm_path(realm, "users"), f"search the users of {realm}", search=search, max=max_
        )
        return [KcUser.from_representation(rep) for rep in reps]

    def users_disabled(self, realm: str, *, page_size: int = 500) -> list[KcUser]:
        """GET users?enabled=false&briefRepresentation=true, every page: the realm's disabled
        users (Keycloak keeps their sessions listed; the findings check names them)."""
        users: list[KcUser] = []
        while True:
            reps = self._get(
                realm_path(realm, "users"),
                f"list the disabled users of {realm}",
                enabled="false",
                briefRepresentation="true",
                first=len(users),
                max=page_size,
            )
            users.extend(KcUser.from_representation(rep) for rep in reps)
            if len(reps) < page_size:
                return users

    def user_sessions(self, realm: str, user_id: str) -> list[KcSession]:
        """GET users/{id}/sessions: the user's online sessions only."""
        reps = self._get(
            realm_path(realm, "users", user_id, "sessions"), f"list a user's sessions in {realm}"
        )
        return [KcSession.from_representation(rep, offline=False) for rep in reps]

    def user_offline_sessions(self, realm: str, user_id: str, client_uuid: str) -> list[KcSession]:
        """GET users/{id}/offline-sessions/{client uuid}."""
        reps = self._get(
            realm_path(realm, "users", user_id, "offline-sessions", client_uuid),
            f"list a user's offline sessions in {realm}",
        )
        return [KcSession.from_representation(rep, offline=True) for rep in reps]

    def user_consents(self, realm: str, user_id: str) -> list[Consent]:
        """GET users/{id}/consents: the only way to learn which clients hold offline tokens."""
        reps = self._get(
            realm_path(realm, "users", user_id, "consents"), f"list a user's consents in {realm}"
        )
        return [Consent.from_representation(rep) for rep in reps]
