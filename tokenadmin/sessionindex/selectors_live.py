"""Live reads of Keycloak through the gateway for the user and client pages (the index can
be a refresh old; these pages are not)."""

from dataclasses import dataclass

from tokenadmin.keycloak import Gateway
from tokenadmin.keycloak.types import Consent, KcClient, KcSession, KcUser


@dataclass(frozen=True)
class OfflineClientSessions:
    """A user's offline sessions that hold one client (uuid None: a consent for a client that
    Keycloak no longer lists)."""

    client_uuid: str | None
    client_id: str
    sessions: list[KcSession]


@dataclass(frozen=True)
class UserSessionsLive:
    user: KcUser
    online: list[KcSession]
    offline_by_client: list[OfflineClientSessions]
    consents: list[Consent]

    @property
    def offline_total(self) -> int:
        return len({s.id for group in self.offline_by_client for s in group.sessions})


def user_sessions_live_select(*, gateway: Gateway, realm: str, user_id: str) -> UserSessionsLive:
    """Everything Keycloak holds for one user: online sessions, offline ones per client, consents.

    Keycloak has no "all offline sessions of a user" call: the consents that carry an offline
    token name the clients, and each such client's list is asked for separately.
    """
    user = gateway.user_get(realm, user_id)
    online = sorted(gateway.user_sessions(realm, user_id), key=lambda s: s.started_at, reverse=True)
    consents = gateway.user_consents(realm, user_id)
    offline_client_ids = sorted(c.client_id for c in consents if c.offline_token)
    groups: list[OfflineClientSessions] = []
    if offline_client_ids:
        uuid_of = {client.client_id: client.uuid for client in gateway.clients_list(realm)}
        for client_id in offline_client_ids:
            uuid = uuid_of.get(client_id)
            sessions = gateway.user_offline_sessions(realm, user_id, uuid) if uuid else []
            groups.append(OfflineClientSessions(uuid, client_id, sessions))
    return UserSessionsLive(user=user, online=online, offline_by_client=groups, consents=consents)


@dataclass(frozen=True)
class ClientSessionsLive:
    client: KcClient
    online_count: int
    offline_count: int
    offline: bool  # which list `sessions` is
    sessions: list[KcSession]
    first: int
    max: int

    @property
    def listed_total(self) -> int:
        return self.offline_count if self.offline else self.online_count

    @property
    def last_index(self) -> int:
        return self.first + len(self.sessions)

    @property
    def has_next(self) -> bool:
        return self.last_index < self.listed_total

    @property
    def has_previous(self) -> bool:
        return self.first > 0


def client_sessions_live_select(
    *, gateway: Gateway, realm: str, client_uuid: str, offline: bool, first: int, max_: int
) -> ClientSessionsLive:
    """A client, its live session counts, and one page of its online or offline sessions, read
    from Keycloak with first/max (the index can be a refresh old; this page is not)."""
    client = gateway.client_get(realm, client_uuid)
    online_count = gateway.client_session_count(realm, client_uuid, offline=False)
    offline_count = gateway.client_session_count(realm, client_uuid, offline=True)
    sessions = gateway.client_sessions_page(
        realm, client_uuid, offline=offline, first=first, max_=max_
    )
    return ClientSessionsLive(
        client=client,
        online_count=online_count,
        offline_count=offline_count,
        offline=offline,
        sessions=sessions,
        first=first,
        max=max_,
    )
