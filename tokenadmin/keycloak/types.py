"""Typed results of gateway calls: our names, our units (seconds, aware datetimes)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Realm fields that hold token and session lifespans, all in seconds.
LIFESPAN_FIELDS = (
    "accessTokenLifespan",
    "accessTokenLifespanForImplicitFlow",
    "ssoSessionIdleTimeout",
    "ssoSessionMaxLifespan",
    "ssoSessionIdleTimeoutRememberMe",
    "ssoSessionMaxLifespanRememberMe",
    "clientSessionIdleTimeout",
    "clientSessionMaxLifespan",
    "offlineSessionIdleTimeout",
    "offlineSessionMaxLifespanEnabled",
    "offlineSessionMaxLifespan",
    "clientOfflineSessionIdleTimeout",
    "clientOfflineSessionMaxLifespan",
    "accessCodeLifespan",
    "accessCodeLifespanUserAction",
    "accessCodeLifespanLogin",
    "actionTokenGeneratedByAdminLifespan",
    "actionTokenGeneratedByUserLifespan",
    "revokeRefreshToken",
    "refreshTokenMaxReuse",
    "rememberMe",
)


@dataclass(frozen=True)
class RealmLifespans:
    access_token_s: int
    sso_idle_s: int
    sso_max_s: int
    offline_idle_s: int
    offline_max_enabled: bool
    offline_max_s: int

    @classmethod
    def from_representation(cls, rep: dict) -> "RealmLifespans":
        return cls(
            access_token_s=int(rep.get("accessTokenLifespan", 300)),
            sso_idle_s=int(rep.get("ssoSessionIdleTimeout", 1800)),
            sso_max_s=int(rep.get("ssoSessionMaxLifespan", 36000)),
            offline_idle_s=int(rep.get("offlineSessionIdleTimeout", 2592000)),
            offline_max_enabled=bool(rep.get("offlineSessionMaxLifespanEnabled", False)),
            offline_max_s=int(rep.get("offlineSessionMaxLifespan", 5184000)),
        )


@dataclass(frozen=True)
class RealmSettings:
    """GET /admin/realms/{realm} read with view-realm: the settings tokenadmin uses."""

    name: str
    not_before_s: int  # epoch s, 0 = none
    admin_events_enabled: bool
    # The LIFESPAN_FIELDS Keycloak sent, under Keycloak's names (the lifespan catalog's keys);
    # absent ones are left out, so readers apply Keycloak's defaults.
    lifespans: Mapping[str, object]
    # The whole representation, only for the gateway's read-modify-write (facts §4.3).
    _representation: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_representation(cls, rep: dict[str, Any]) -> "RealmSettings":
        return cls(
            name=rep.get("realm", ""),
            not_before_s=int(rep.get("notBefore") or 0),
            admin_events_enabled=bool(rep.get("adminEventsEnabled", False)),
            lifespans={name: rep[name] for name in LIFESPAN_FIELDS if name in rep},
            _representation=rep,
        )


@dataclass(frozen=True)
class Realm:
    name: str
    display_name: str
    enabled: bool
    # None when the admin may not view the realm's settings (Keycloak sends a reduced rep).
    lifespans: RealmLifespans | None


@dataclass(frozen=True)
class ClientSessionStats:
    client_uuid: str
    client_id: str
    active: int
    offline: int


@dataclass(frozen=True)
class KcSession:
    """A user session as Keycloak lists it (UserSessionRepresentation), in our units."""

    id: str
    user_id: str
    username: str
    ip_address: str
    started_at: datetime
    last_access_at: datetime
    remember_me: bool
    clients: dict[str, str]  # {client uuid: clientId}
    offline: bool

    @classmethod
    def from_representation(cls, rep: dict, *, offline: bool) -> "KcSession":
        # Keycloak sends start and lastAccess in epoch milliseconds; we keep aware datetimes.
        return cls(
            id=rep["id"],
            user_id=rep.get("userId", ""),
            username=rep.get("username", ""),
            ip_address=rep.get("ipAddress", ""),
            started_at=datetime.fromtimestamp(rep.get("start", 0) / 1000, tz=UTC),
            last_access_at=datetime.fromtimestamp(rep.get("lastAccess", 0) / 1000, tz=UTC),
            remember_me=bool(rep.get("rememberMe", False)),
            clients=dict(rep.get("clients", {})),
            offline=offline,
        )


@dataclass(frozen=True)
class KcClient:
    uuid: str
    client_id: str
    name: str
    enabled: bool
    public: bool
    bearer_only: bool
    service_accounts: bool
    attributes: dict[str, str]
    admin_url: str  # where Keycloak pushes not-before and logouts ("" = nowhere)
    not_before_s: int  # epoch s, 0 = none
    # The full representation, only for the gateway's read-modify-write updates.
    _representation: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_representation(cls, rep: dict[str, Any]) -> "KcClient":
        return cls(
            uuid=rep["id"],
            client_id=rep["clientId"],
            name=rep.get("name") or rep["clientId"],
            enabled=bool(rep.get("enabled", True)),
            public=bool(rep.get("publicClient", False)),
            bearer_only=bool(rep.get("bearerOnly", False)),
            service_accounts=bool(rep.get("serviceAccountsEnabled", False)),
            attributes=dict(rep.get("attributes", {})),
            admin_url=str(rep.get("adminUrl") or ""),
            not_before_s=int(rep.get("notBefore") or 0),
            _representation=rep,
        )


@dataclass(frozen=True)
class KcUser:
    id: str
    username: str
    email: str
    first_name: str
    last_name: str
    enabled: bool

    @classmethod
    def from_representation(cls, rep: dict) -> "KcUser":
        return cls(
            id=rep["id"],
            username=rep.get("username", ""),
            email=rep.get("email", ""),
            first_name=rep.get("firstName", ""),
            last_name=rep.get("lastName", ""),
            enabled=bool(rep.get("enabled", False)),
        )


@dataclass(frozen=True)
class Consent:
    client_id: str
    granted_scopes: tuple[str, ...]
    created_at: datetime | None
    last_updated_at: datetime | None
    # True when the grant is an offline token (additionalGrants "Offline Token").
    offline_token: bool

    @classmethod
    def from_representation(cls, rep: dict) -> "Consent":
        def when(ms: int | None) -> datetime | None:
            return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms else None

        return cls(
            client_id=rep["clientId"],
            granted_scopes=tuple(rep.get("grantedClientScopes", [])),
            created_at=when(rep.get("createdDate")),
            last_updated_at=when(rep.get("lastUpdatedDate")),
            offline_token=any(
                g.get("key") == "Offline Token" for g in rep.get("additionalGrants", [])
            ),
        )


@dataclass(frozen=True)
class EventsConfig:
    """GET events/config: whether Keycloak saves user events (and which) and admin events."""

    events_enabled: bool
    enabled_event_types: tuple[str, ...]  # empty: every type is saved
    admin_events_enabled: bool

    @classmethod
    def from_representation(cls, rep: dict[str, Any]) -> "EventsConfig":
        return cls(
            events_enabled=bool(rep.get("eventsEnabled", False)),
            enabled_event_types=tuple(rep.get("enabledEventTypes") or ()),
            admin_events_enabled=bool(rep.get("adminEventsEnabled", False)),
        )

    def saves(self, event_type: str) -> bool:
        return self.events_enabled and (
            not self.enabled_event_types or event_type in self.enabled_event_types
        )


@dataclass(frozen=True)
class CredentialChange:
    """A user's password or credential changed at `at` (a user event or an admin's reset)."""

    user_id: str
    at: datetime
    how: str  # the user event's type, or "ADMIN_RESET_PASSWORD"

    @classmethod
    def from_user_event(cls, rep: dict[str, Any]) -> "CredentialChange":
        return cls(
            user_id=str(rep["userId"]),
            at=datetime.fromtimestamp(int(rep["time"]) / 1000, tz=UTC),
            how=str(rep["type"]),
        )

    @classmethod
    def from_admin_event(cls, rep: dict[str, Any]) -> "CredentialChange":
        # resourcePath "users/<id>/reset-password"
        return cls(
            user_id=str(rep.get("resourcePath", "")).split("/")[1],
            at=datetime.fromtimestamp(int(rep["time"]) / 1000, tz=UTC),
            how="ADMIN_RESET_PASSWORD",
        )
