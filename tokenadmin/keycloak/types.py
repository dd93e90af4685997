"""Typed results of gateway calls: our names, our units (seconds, aware datetimes)."""

from dataclasses import dataclass

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
