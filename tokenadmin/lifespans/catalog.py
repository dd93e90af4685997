"""Every realm token and session setting Keycloak has, as admins think of them.

One entry per RealmRepresentation field (facts sheet §5): its group, a plain label, a one-line
explanation, Keycloak's default and what 0 means. Pages, validation and diffs all read this.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from tokenadmin.core.durations import duration_text
from tokenadmin.keycloak.types import LIFESPAN_FIELDS

Kind = Literal["duration", "switch", "count"]
LifespanValues = dict[str, int | bool]

# Keycloak keeps these in Java ints: anything above is refused or wraps around.
INT32_MAX = 2_147_483_647


@dataclass(frozen=True)
class LifespanField:
    name: str  # the RealmRepresentation field
    label: str  # as Keycloak's console labels it, so admins recognise it
    group: str
    help: str
    default: int | bool
    kind: Kind = "duration"
    # What Keycloak does with 0, in words ("" when 0 is just zero).
    zero_means: str = ""

    def default_text(self) -> str:
        return value_text(self, self.default)


SESSIONS = "Sessions"
TOKENS = "Tokens"
OFFLINE = "Offline access"
CODES = "Login codes and action tokens"
ROTATION = "Refresh-token rotation"
GROUPS = (SESSIONS, TOKENS, OFFLINE, CODES, ROTATION)

FIELDS: tuple[LifespanField, ...] = (
    LifespanField(
        "ssoSessionIdleTimeout",
        "SSO Session Idle",
        SESSIONS,
        "A login ends when nobody uses it (no refresh, no SSO login) for this long.",
        1800,
        zero_means="Keycloak's default (30 min)",
    ),
    LifespanField(
        "ssoSessionMaxLifespan",
        "SSO Session Max",
        SESSIONS,
        "A login ends this long after it started, however busy it is.",
        36000,
        zero_means="Keycloak's default (10 h)",
    ),
    LifespanField(
        "rememberMe",
        "Remember me",
        SESSIONS,
        "Offer “Remember me” on the login page; switching it off ends remember-me logins.",
        False,
        kind="switch",
    ),
    LifespanField(
        "ssoSessionIdleTimeoutRememberMe",
        "SSO Session Idle Remember Me",
        SESSIONS,
        "Idle timeout for logins with “Remember me” ticked; only counts if longer than SSO idle.",
        0,
        zero_means="same as SSO Session Idle",
    ),
    LifespanField(
        "ssoSessionMaxLifespanRememberMe",
        "SSO Session Max Remember Me",
        SESSIONS,
        "Maximum for logins with “Remember me” ticked; only counts if longer than SSO max.",
        0,
        zero_means="same as SSO Session Max",
    ),
    LifespanField(
        "clientSessionIdleTimeout",
        "Client Session Idle",
        SESSIONS,
        "How long one application's part of a login (its refresh token) survives unused.",
        0,
        zero_means="same as SSO Session Idle",
    ),
    LifespanField(
        "clientSessionMaxLifespan",
        "Client Session Max",
        SESSIONS,
        "How long one application's part of a login lasts at most; cannot exceed SSO max.",
        0,
        zero_means="same as SSO Session Max",
    ),
    LifespanField(
        "accessTokenLifespan",
        "Access Token Lifespan",
        TOKENS,
        "How long an access token works before the application must refresh it.",
        300,
    ),
    LifespanField(
        "accessTokenLifespanForImplicitFlow",
        "Access Token Lifespan For Implicit Flow",
        TOKENS,
        "The same for the implicit flow, where there is no refresh token.",
        900,
    ),
    LifespanField(
        "offlineSessionIdleTimeout",
        "Offline Session Idle",
        OFFLINE,
        "An offline token (for jobs and scripts) dies if not refreshed for this long.",
        2592000,
        zero_means="Keycloak's default (30 d)",
    ),
    LifespanField(
        "offlineSessionMaxLifespanEnabled",
        "Offline Session Max Limited",
        OFFLINE,
        "Whether offline tokens have a hard maximum at all; off means they live while used.",
        False,
        kind="switch",
    ),
    LifespanField(
        "offlineSessionMaxLifespan",
        "Offline Session Max",
        OFFLINE,
        "The hard maximum of an offline token, when the switch above is on.",
        5184000,
        zero_means="Keycloak's default (60 d)",
    ),
    LifespanField(
        "clientOfflineSessionIdleTimeout",
        "Client Offline Session Idle",
        OFFLINE,
        "Idle timeout of one application's offline token; cannot exceed Offline Session Idle.",
        0,
        zero_means="same as Offline Session Idle",
    ),
    LifespanField(
        "clientOfflineSessionMaxLifespan",
        "Client Offline Session Max",
        OFFLINE,
        "Maximum of one application's offline token; cannot exceed Offline Session Max.",
        0,
        zero_means="same as Offline Session Max",
    ),
    LifespanField(
        "accessCodeLifespan",
        "Client login timeout",
        CODES,
        "How long an application has to swap the login's authorization code for tokens.",
        60,
    ),
    LifespanField(
        "accessCodeLifespanUserAction",
        "User action lifespan",
        CODES,
        "How long a user has for a required action after login (update password, verify email).",
        300,
    ),
    LifespanField(
        "accessCodeLifespanLogin",
        "Login timeout",
        CODES,
        "How long a user may take to fill in the login page.",
        1800,
    ),
    LifespanField(
        "actionTokenGeneratedByAdminLifespan",
        "Default admin-initiated action lifespan",
        CODES,
        "How long an emailed link an admin sends (reset password, verify email) stays valid.",
        43200,
    ),
    LifespanField(
        "actionTokenGeneratedByUserLifespan",
        "User-initiated action lifespan",
        CODES,
        "How long a link a user asks for (forgot password) stays valid.",
        300,
    ),
    LifespanField(
        "revokeRefreshToken",
        "Revoke Refresh Token",
        ROTATION,
        "Each refresh token may be used only a limited number of times (rotation).",
        False,
        kind="switch",
    ),
    LifespanField(
        "refreshTokenMaxReuse",
        "Refresh Token Max Reuse",
        ROTATION,
        "With rotation on: how many extra times one refresh token may be reused.",
        0,
        kind="count",
    ),
)
BY_NAME: dict[str, LifespanField] = {f.name: f for f in FIELDS}
assert set(BY_NAME) == set(LIFESPAN_FIELDS), "catalog and LIFESPAN_FIELDS disagree"

# master's admin-cli tokens are shorter: Keycloak creates master with 60 s access tokens.
MASTER_DEFAULTS: Mapping[str, int | bool] = {"accessTokenLifespan": 60}


def default_of(field: LifespanField, realm: str) -> int | bool:
    if realm == "master" and field.name in MASTER_DEFAULTS:
        return MASTER_DEFAULTS[field.name]
    return field.default


def value_text(field: LifespanField, value: int | bool | None) -> str:
    """A value as the pages show it: "10 h", "on"/"off", "3", "0 (same as SSO Session Idle)"."""
    if value is None:
        return "—"
    if field.kind == "switch":
        return "on" if value else "off"
    if field.kind == "count":
        return str(int(value))
    if int(value) == 0 and field.zero_means:
        return f"0 ({field.zero_means})"
    return duration_text(int(value))


def lifespan_values_of(lifespans: Mapping[str, object]) -> LifespanValues:
    """The realm's lifespan fields (RealmSettings.lifespans: Keycloak's names), typed;
    Keycloak's defaults for absent ones."""
    values: LifespanValues = {}
    for field in FIELDS:
        raw = lifespans.get(field.name, field.default)
        if field.kind == "switch":
            values[field.name] = bool(raw)
        else:
            try:
                values[field.name] = int(float(raw))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                values[field.name] = int(field.default)
    return values


def grouped(fields: tuple[LifespanField, ...] = FIELDS) -> list[tuple[str, list[LifespanField]]]:
    return [(group, [f for f in fields if f.group == group]) for group in GROUPS]
