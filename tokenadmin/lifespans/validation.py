"""Checking lifespan settings before they reach Keycloak: errors block, warnings need a tick.

Keycloak itself refuses almost nothing (only a zero login or user-action code lifespan), so
values that would break logins or silently do nothing are caught here, in plain words.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from tokenadmin.core.durations import DurationError, duration_parse, duration_text

from .catalog import BY_NAME, FIELDS, INT32_MAX, LifespanValues

ERROR_NEGATIVE = "{label} cannot be negative."
ERROR_TOO_LARGE = "{label} is too large: Keycloak stores at most {limit} (about 68 years)."
ERROR_ZERO_REFUSED = "{label} cannot be 0: Keycloak refuses it (logins would fail at once)."
ERROR_ZERO_ACCESS_TOKEN = "{label} cannot be 0: every access token would expire as it is issued."
ERROR_NOT_A_COUNT = "{label} must be a whole number, such as 0 or 1."

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    level: Level
    fields: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class ParsedForm:
    """What the admin typed: `values` for fields that parsed, `typed` exactly as entered."""

    values: LifespanValues
    typed: dict[str, str]
    errors: dict[str, str]


ZERO_REFUSED = ("accessCodeLifespanLogin", "accessCodeLifespanUserAction")


def lifespans_form_parse(data: Mapping[str, str]) -> ParsedForm:
    """Turn the editor's fields (human units; checkboxes "on") into typed values.

    A field that does not parse gets an error and keeps its text, so nothing typed is lost.
    """
    values: LifespanValues = {}
    typed: dict[str, str] = {}
    errors: dict[str, str] = {}
    for field in FIELDS:
        if field.kind == "switch":
            values[field.name] = data.get(field.name) in ("on", "true", "1")
            continue
        text = str(data.get(field.name, "")).strip()
        typed[field.name] = text
        if field.kind == "count":
            try:
                values[field.name] = int(text)
            except ValueError:
                errors[field.name] = ERROR_NOT_A_COUNT.format(label=field.label)
            continue
        try:
            values[field.name] = duration_parse(text)
        except DurationError as exc:
            errors[field.name] = f"{field.label}: {exc.message}"
    return ParsedForm(values=values, typed=typed, errors=errors)


def _pos(value: int | bool, default: int) -> int:
    return int(value) if int(value) > 0 else default


def _t(seconds: int) -> str:
    return duration_text(seconds)


def lifespans_check(values: LifespanValues) -> list[Finding]:
    """Errors for impossible values, warnings for inconsistent ones; each names its fields."""
    findings: list[Finding] = []
    for field in FIELDS:
        if field.kind == "switch" or field.name not in values:
            continue
        value = int(values[field.name])
        if value < 0:
            message = ERROR_NEGATIVE.format(label=field.label)
            findings.append(Finding("error", (field.name,), message))
        elif value > INT32_MAX:
            message = ERROR_TOO_LARGE.format(label=field.label, limit=f"{INT32_MAX:,} s")
            findings.append(Finding("error", (field.name,), message))
        elif value == 0 and field.name in ZERO_REFUSED:
            findings.append(
                Finding("error", (field.name,), ERROR_ZERO_REFUSED.format(label=field.label))
            )
        elif value == 0 and field.name == "accessTokenLifespan":
            message = ERROR_ZERO_ACCESS_TOKEN.format(label=field.label)
            findings.append(Finding("error", (field.name,), message))
    if any(f.level == "error" for f in findings) or set(values) != set(BY_NAME):
        return findings
    return findings + _warnings(values)


# A warning rule: (whether it applies, the fields it names, what it says).
_Rule = tuple[bool, tuple[str, ...], str]


def _fired(rules: list[_Rule]) -> list[Finding]:
    return [Finding("warning", fields, message) for applies, fields, message in rules if applies]


def _sso_warnings(v: LifespanValues) -> list[Finding]:
    """Client and access-token lifespans against the SSO session they live in."""
    sso_idle = _pos(v["ssoSessionIdleTimeout"], 1800)
    sso_max = _pos(v["ssoSessionMaxLifespan"], 36000)
    client_idle = int(v["clientSessionIdleTimeout"])
    client_max = int(v["clientSessionMaxLifespan"])
    access = int(v["accessTokenLifespan"])
    # The idle timeout that ends a session first: the client's when set below the realm's.
    client_idle_first = 0 < client_idle < sso_idle
    idle = client_idle if client_idle_first else sso_idle
    idle_name = "Client Session Idle" if client_idle_first else "SSO Session Idle"
    idle_field = "clientSessionIdleTimeout" if client_idle_first else "ssoSessionIdleTimeout"
    return _fired(
        [
            (
                client_idle > sso_idle,
                ("clientSessionIdleTimeout", "ssoSessionIdleTimeout"),
                f"Client Session Idle ({_t(client_idle)}) is longer than SSO Session Idle "
                f"({_t(sso_idle)}): it has no effect, the login goes idle first.",
            ),
            (
                client_max > sso_max,
                ("clientSessionMaxLifespan", "ssoSessionMaxLifespan"),
                f"Client Session Max ({_t(client_max)}) is longer than SSO Session Max "
                f"({_t(sso_max)}): it has no effect, the login ends first.",
            ),
            (
                access > idle,
                ("accessTokenLifespan", idle_field),
                f"Access Token Lifespan ({_t(access)}) is longer than {idle_name} "
                f"({_t(idle)}): an application that refreshes only when its token runs "
                "out will find its session already ended.",
            ),
            (
                access > sso_max,
                ("accessTokenLifespan", "ssoSessionMaxLifespan"),
                f"Access Token Lifespan ({_t(access)}) is longer than SSO Session Max "
                f"({_t(sso_max)}): tokens are cut off at the session's end anyway.",
            ),
            (
                sso_idle > sso_max,
                ("ssoSessionIdleTimeout", "ssoSessionMaxLifespan"),
                f"SSO Session Idle ({_t(sso_idle)}) is longer than SSO Session Max "
                f"({_t(sso_max)}): the idle timeout can never be reached.",
            ),
        ]
    )


def _remember_me_warnings(v: LifespanValues) -> list[Finding]:
    rules: list[_Rule] = []
    for name, normal, normal_label in (
        (
            "ssoSessionIdleTimeoutRememberMe",
            _pos(v["ssoSessionIdleTimeout"], 1800),
            "SSO Session Idle",
        ),
        (
            "ssoSessionMaxLifespanRememberMe",
            _pos(v["ssoSessionMaxLifespan"], 36000),
            "SSO Session Max",
        ),
    ):
        value = int(v[name])
        label = BY_NAME[name].label
        rules.append(
            (
                0 < value < normal,
                (name,),
                f"{label} ({_t(value)}) is shorter than {normal_label} ({_t(normal)}): "
                "it has no effect, remember-me logins get the longer of the two.",
            )
        )
        rules.append(
            (
                value > 0 and not v["rememberMe"],
                (name, "rememberMe"),
                f"{label} is set but Remember me is off: no login can use it.",
            )
        )
    return _fired(rules)


def _offline_warnings(v: LifespanValues) -> list[Finding]:
    idle = _pos(v["offlineSessionIdleTimeout"], 2592000)
    limited = bool(v["offlineSessionMaxLifespanEnabled"])
    top = _pos(v["offlineSessionMaxLifespan"], 5184000)
    client_idle = int(v["clientOfflineSessionIdleTimeout"])
    client_max = int(v["clientOfflineSessionMaxLifespan"])
    return _fired(
        [
            (
                client_idle > idle,
                ("clientOfflineSessionIdleTimeout", "offlineSessionIdleTimeout"),
                f"Client Offline Session Idle ({_t(client_idle)}) is longer than Offline "
                f"Session Idle ({_t(idle)}): it has no effect.",
            ),
            (
                limited and top < idle,
                ("offlineSessionMaxLifespan", "offlineSessionIdleTimeout"),
                f"Offline Session Max ({_t(top)}) is shorter than Offline Session Idle "
                f"({_t(idle)}): offline tokens end at the maximum before they can go idle.",
            ),
            (
                limited and client_max > top,
                ("clientOfflineSessionMaxLifespan", "offlineSessionMaxLifespan"),
                f"Client Offline Session Max ({_t(client_max)}) is longer than Offline "
                f"Session Max ({_t(top)}): it has no effect.",
            ),
            (
                not limited and client_max > 0,
                ("clientOfflineSessionMaxLifespan", "offlineSessionMaxLifespanEnabled"),
                "Client Offline Session Max is set but Offline Session Max Limited is off: "
                "it has no effect until the limit is switched on.",
            ),
        ]
    )


def _token_warnings(v: LifespanValues) -> list[Finding]:
    reuse = int(v["refreshTokenMaxReuse"])
    return _fired(
        [
            (
                reuse > 0 and not v["revokeRefreshToken"],
                ("refreshTokenMaxReuse", "revokeRefreshToken"),
                f"Refresh Token Max Reuse is {reuse} but Revoke Refresh "
                "Token is off: reuse is only limited when rotation is on.",
            ),
            (
                int(v["accessCodeLifespan"]) == 0,
                ("accessCodeLifespan",),
                "Client login timeout is 0: authorization codes expire as they are issued, "
                "so browser logins will fail.",
            ),
        ]
    )


def _warnings(v: LifespanValues) -> list[Finding]:
    """Settings Keycloak accepts that do not do what they seem to, in the page's order."""
    return _sso_warnings(v) + _remember_me_warnings(v) + _offline_warnings(v) + _token_warnings(v)


def errors_of(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level == "error"]


def warnings_of(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level == "warning"]
