"""When Keycloak will drop a session: pure arithmetic over the effective lifespans.

Follows the facts sheet (§5 lifespan settings, §6 expiry arithmetic): a zero or negative
setting means "the default" (for client values: "inherit the session's value"), remember-me
values only ever lengthen a session, a client value above the session value has no effect,
and an offline session has a maximum only when the realm enables one (or a client imposes its
own). Times are grace-free, as Keycloak 26 with persistent sessions applies them.

The dataclasses here are the one place the rules live; the lifespans pages and the expiry
reports build them from the same representations and reuse them.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tokenadmin.core.durations import duration_text

# Keycloak 26 defaults (facts sheet §5), in seconds.
SSO_IDLE_DEFAULT_S = 1800
SSO_MAX_DEFAULT_S = 36000
OFFLINE_IDLE_DEFAULT_S = 2592000
OFFLINE_MAX_DEFAULT_S = 5184000
ACCESS_TOKEN_DEFAULT_S = 300

# Client attributes (strings of seconds; blank or <= 0 = inherit).
ATTR_SESSION_IDLE = "client.session.idle.timeout"
ATTR_SESSION_MAX = "client.session.max.lifespan"
ATTR_OFFLINE_IDLE = "client.offline.session.idle.timeout"
ATTR_OFFLINE_MAX = "client.offline.session.max.lifespan"
ATTR_ACCESS_TOKEN = "access.token.lifespan"


def positive_or(value: object, default: int) -> int:
    """Keycloak's `pos(v, d)`: v if it is a number above 0, else d (floats are truncated)."""
    try:
        number = int(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default


@dataclass(frozen=True)
class Bounds:
    """Idle timeout and maximum lifespan of one kind of session; max None = no maximum."""

    idle_s: int
    max_s: int | None

    def expires_at(self, *, started_at: datetime, last_access_at: datetime) -> datetime:
        expires = last_access_at + timedelta(seconds=self.idle_s)
        if self.max_s is not None:
            expires = min(expires, started_at + timedelta(seconds=self.max_s))
        return expires


@dataclass(frozen=True)
class ClientOverrides:
    """A client's own lifespan attributes; 0 = not set (inherit the realm's value)."""

    session_idle_s: int = 0
    session_max_s: int = 0
    offline_idle_s: int = 0
    offline_max_s: int = 0
    # -1 in Keycloak means "until the SSO maximum"; kept as given, 0 = realm value.
    access_token_s: int = 0

    @classmethod
    def from_attributes(cls, attributes: Mapping[str, str]) -> "ClientOverrides":
        def read(name: str) -> int:
            return positive_or(attributes.get(name), 0)

        raw_access = attributes.get(ATTR_ACCESS_TOKEN)
        try:
            access = int(float(raw_access)) if raw_access not in (None, "") else 0
        except (TypeError, ValueError):
            access = 0
        return cls(
            session_idle_s=read(ATTR_SESSION_IDLE),
            session_max_s=read(ATTR_SESSION_MAX),
            offline_idle_s=read(ATTR_OFFLINE_IDLE),
            offline_max_s=read(ATTR_OFFLINE_MAX),
            access_token_s=access,
        )


NO_OVERRIDES = ClientOverrides()


@dataclass(frozen=True)
class EffectiveLifespans:
    """A realm's session lifespans with Keycloak's defaults applied, in seconds.

    `client_*` fields are None when the realm leaves them at 0 (clients inherit the session's
    value). `offline_max_s` is None when the realm does not enable an offline maximum.
    """

    sso_idle_s: int = SSO_IDLE_DEFAULT_S
    sso_max_s: int = SSO_MAX_DEFAULT_S
    # Effective remember-me values: max(SSO value, remember-me value), as Keycloak applies them.
    remember_me_idle_s: int = SSO_IDLE_DEFAULT_S
    remember_me_max_s: int = SSO_MAX_DEFAULT_S
    # The realm's "Remember me" switch; off kills remember-me sessions (Keycloak 26.4.2+).
    remember_me_enabled: bool = False
    client_idle_s: int | None = None
    client_max_s: int | None = None
    offline_idle_s: int = OFFLINE_IDLE_DEFAULT_S
    offline_max_s: int | None = None
    client_offline_idle_s: int | None = None
    client_offline_max_s: int | None = None
    access_token_s: int = ACCESS_TOKEN_DEFAULT_S

    @classmethod
    def from_representation(cls, rep: Mapping[str, object]) -> "EffectiveLifespans":
        """From a full RealmRepresentation (GET /admin/realms/{realm} with view-realm)."""
        sso_idle = positive_or(rep.get("ssoSessionIdleTimeout"), SSO_IDLE_DEFAULT_S)
        sso_max = positive_or(rep.get("ssoSessionMaxLifespan"), SSO_MAX_DEFAULT_S)
        offline_max_enabled = bool(rep.get("offlineSessionMaxLifespanEnabled", False))

        def optional(name: str) -> int | None:
            value = positive_or(rep.get(name), 0)
            return value or None

        return cls(
            sso_idle_s=sso_idle,
            sso_max_s=sso_max,
            remember_me_idle_s=max(
                sso_idle, positive_or(rep.get("ssoSessionIdleTimeoutRememberMe"), 0)
            ),
            remember_me_max_s=max(
                sso_max, positive_or(rep.get("ssoSessionMaxLifespanRememberMe"), 0)
            ),
            remember_me_enabled=bool(rep.get("rememberMe", False)),
            client_idle_s=optional("clientSessionIdleTimeout"),
            client_max_s=optional("clientSessionMaxLifespan"),
            offline_idle_s=positive_or(
                rep.get("offlineSessionIdleTimeout"), OFFLINE_IDLE_DEFAULT_S
            ),
            offline_max_s=(
                positive_or(rep.get("offlineSessionMaxLifespan"), OFFLINE_MAX_DEFAULT_S)
                if offline_max_enabled
                else None
            ),
            client_offline_idle_s=optional("clientOfflineSessionIdleTimeout"),
            client_offline_max_s=optional("clientOfflineSessionMaxLifespan"),
            access_token_s=positive_or(rep.get("accessTokenLifespan"), ACCESS_TOKEN_DEFAULT_S),
        )

    def session_bounds(self, *, offline: bool, remember_me: bool = False) -> Bounds:
        """The user session's own idle and max (facts §6)."""
        if offline:
            return Bounds(idle_s=self.offline_idle_s, max_s=self.offline_max_s)
        if remember_me:
            return Bounds(idle_s=self.remember_me_idle_s, max_s=self.remember_me_max_s)
        return Bounds(idle_s=self.sso_idle_s, max_s=self.sso_max_s)

    def client_bounds(
        self, client: ClientOverrides, *, offline: bool, remember_me: bool = False
    ) -> Bounds:
        """A client session's idle and max: client attribute, else realm client value, else the
        session's; never above the session's own (a longer client value has no effect)."""
        session = self.session_bounds(offline=offline, remember_me=remember_me)
        if not offline:
            idle = client.session_idle_s or self.client_idle_s or session.idle_s
            max_s = client.session_max_s or self.client_max_s or session.max_s
        else:
            idle = client.offline_idle_s or self.client_offline_idle_s or session.idle_s
            # A client's own offline max applies even when the realm has none; the realm's
            # client offline max only when the realm enables offline maximums.
            max_s = client.offline_max_s or (
                (self.client_offline_max_s or session.max_s) if session.max_s is not None else None
            )
        idle = min(idle, session.idle_s)
        if max_s is not None and session.max_s is not None:
            max_s = min(max_s, session.max_s)
        return Bounds(idle_s=idle, max_s=max_s)

    def as_dict(self) -> dict[str, int | bool | None]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class ClientActivity:
    """One client session of a user session: whose overrides, and when it was last used."""

    overrides: ClientOverrides = NO_OVERRIDES
    # None = the session's own lastAccess (online lists give no per-client time).
    last_access_at: datetime | None = None


@dataclass(frozen=True)
class SessionTimes:
    """What the expiry of one listed session depends on."""

    offline: bool
    remember_me: bool
    started_at: datetime
    last_access_at: datetime
    clients: Sequence[ClientActivity] = field(default_factory=tuple)


def session_expiry_predict(*, lifespans: EffectiveLifespans, session: SessionTimes) -> datetime:
    """When Keycloak will drop `session` if nobody uses it again (grace-free).

    Online: min(lastAccess + idle, start + max), remember-me values where they are longer.
    An online session outlives its client sessions, so client overrides do not move it.
    Offline: the same with the offline values (max only when enabled); an offline session also
    goes when its last client session expires, so it ends at the latest client session expiry
    if that comes first.
    """
    if session.remember_me and not session.offline and not lifespans.remember_me_enabled:
        # Keycloak 26.4.2+: switching realm "Remember me" off ends remember-me sessions.
        return session.started_at
    bounds = lifespans.session_bounds(offline=session.offline, remember_me=session.remember_me)
    expires = bounds.expires_at(
        started_at=session.started_at, last_access_at=session.last_access_at
    )
    if session.offline and session.clients:
        # Client session starts are not listed; the session's start is the earliest they
        # can be, so this errs towards "sooner".
        last_client = max(
            lifespans.client_bounds(
                client.overrides, offline=True, remember_me=session.remember_me
            ).expires_at(
                started_at=session.started_at,
                last_access_at=client.last_access_at or session.last_access_at,
            )
            for client in session.clients
        )
        expires = min(expires, last_client)
    return expires


def expires_in_text(expires_at: datetime | None, now: datetime) -> str:
    """ "expires in 2 h 10 min", "expired 5 min ago", or "—" when unknown."""
    if expires_at is None:
        return "—"
    seconds = int((expires_at - now).total_seconds())
    if seconds <= 0:
        return "expired" if seconds > -60 else f"expired {duration_text(-seconds)} ago"
    return f"expires in {duration_text(seconds)}"
