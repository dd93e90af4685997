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


def _warn(fields: tuple[str, ...], message: str) -> Finding:
    return Finding("warning", fields, message)


def _sso_warnings(v: LifespanValues) -> list[Finding]:
    """Client and access-token lifespans against the SSO session they live in."""
    out: list[Finding] = []
    sso_idle = _pos(v["ssoSessionIdleTimeout"], 1800)
    sso_max = _pos(v["ssoSessionMaxLifespan"], 36000)
    client_idle = int(v["clientSessionIdleTimeout"])
    client_max = int(v["clientSessionMaxLifespan"])
    access = int(v["accessTokenLifespan"])
    if client_idle > sso_idle:
        out.append(
            _warn(
                ("clientSessionIdleTimeout", "ssoSessionIdleTimeout"),
                f"Client Session Idle ({_t(client_idle)}) is longer than SSO Session Idle "
                f"({_t(sso_idle)}): it has no effect, the login goes idle first.",
            )
        )
    if client_max > sso_max:
        out.append(
            _warn(
                ("clientSessionMaxLifespan", "ssoSessionMaxLifespan"),
                f"Client Session Max ({_t(client_max)}) is longer than SSO Session Max "
                f"({_t(sso_max)}): it has no effect, the login ends first.",
            )
        )
    out += _access_warnings(
        access=access, client_idle=client_idle, sso_idle=sso_idle, sso_max=sso_max
    )
    if sso_idle > sso_max:
        out.append(
            _warn(
                ("ssoSessionIdleTimeout", "ssoSessionMaxLifespan"),
                f"SSO Session Idle ({_t(sso_idle)}) is longer than SSO Session Max "
                f"({_t(sso_max)}): the idle timeout can never be reached.",
            )
        )
    return out


def _access_warnings(
    *, access: int, client_idle: int, sso_idle: int, sso_max: int
) -> list[Finding]:
    out: list[Finding] = []
    effective_idle = min(client_idle, sso_idle) if client_idle > 0 else sso_idle
    idle_name = (
        "Client Session Idle" if client_idle > 0 and client_idle < sso_idle else "SSO Session Idle"
    )
    idle_field = (
        "clientSessionIdleTimeout"
        if idle_name == "Client Session Idle"
        else "ssoSessionIdleTimeout"
    )
    if access > effective_idle:
        out.append(
            _warn(
                ("accessTokenLifespan", idle_field),
                f"Access Token Lifespan ({_t(access)}) is longer than {idle_name} "
                f"({_t(effective_idle)}): an application that refreshes only when its token runs "
                "out will find its session already ended.",
            )
        )
    if access > sso_max:
        out.append(
            _warn(
                ("accessTokenLifespan", "ssoSessionMaxLifespan"),
                f"Access Token Lifespan ({_t(access)}) is longer than SSO Session Max "
                f"({_t(sso_max)}): tokens are cut off at the session's end anyway.",
            )
        )
    return out


def _remember_me_warnings(v: LifespanValues) -> list[Finding]:
    out: list[Finding] = []
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
        if 0 < value < normal:
            out.append(
                _warn(
                    (name,),
                    f"{label} ({_t(value)}) is shorter than {normal_label} ({_t(normal)}): "
                    "it has no effect, remember-me logins get the longer of the two.",
                )
            )
        if value > 0 and not v["rememberMe"]:
            out.append(
                _warn(
                    (name, "rememberMe"),
                    f"{label} is set but Remember me is off: no login can use it.",
                )
            )
    return out


def _offline_warnings(v: LifespanValues) -> list[Finding]:
    out: list[Finding] = []
    offline_idle = _pos(v["offlineSessionIdleTimeout"], 2592000)
    offline_max_on = bool(v["offlineSessionMaxLifespanEnabled"])
    offline_max = _pos(v["offlineSessionMaxLifespan"], 5184000)
    client_offline_idle = int(v["clientOfflineSessionIdleTimeout"])
    client_offline_max = int(v["clientOfflineSessionMaxLifespan"])
    if client_offline_idle > offline_idle:
        out.append(
            _warn(
                ("clientOfflineSessionIdleTimeout", "offlineSessionIdleTimeout"),
                f"Client Offline Session Idle ({_t(client_offline_idle)}) is longer than Offline "
                f"Session Idle ({_t(offline_idle)}): it has no effect.",
            )
        )
    if offline_max_on and offline_max < offline_idle:
        out.append(
            _warn(
                ("offlineSessionMaxLifespan", "offlineSessionIdleTimeout"),
                f"Offline Session Max ({_t(offline_max)}) is shorter than Offline Session Idle "
                f"({_t(offline_idle)}): offline tokens end at the maximum before they can go idle.",
            )
        )
    if offline_max_on and client_offline_max > offline_max:
        out.append(
            _warn(
                ("clientOfflineSessionMaxLifespan", "offlineSessionMaxLifespan"),
                f"Client Offline Session Max ({_t(client_offline_max)}) is longer than Offline "
                f"Session Max ({_t(offline_max)}): it has no effect.",
            )
        )
    if not offline_max_on and client_offline_max > 0:
        out.append(
            _warn(
                ("clientOfflineSessionMaxLifespan", "offlineSessionMaxLifespanEnabled"),
                "Client Offline Session Max is set but Offline Session Max Limited is off: "
                "it has no effect until the limit is switched on.",
            )
        )
    return out


def _token_warnings(v: LifespanValues) -> list[Finding]:
    out: list[Finding] = []
    if int(v["refreshTokenMaxReuse"]) > 0 and not v["revokeRefreshToken"]:
        out.append(
            _warn(
                ("refreshTokenMaxReuse", "revokeRefreshToken"),
                f"Refresh Token Max Reuse is {int(v['refreshTokenMaxReuse'])} but Revoke Refresh "
                "Token is off: reuse is only limited when rotation is on.",
            )
        )
    if int(v["accessCodeLifespan"]) == 0:
        out.append(
            _warn(
                ("accessCodeLifespan",),
                "Client login timeout is 0: authorization codes expire as they are issued, "
                "so browser logins will fail.",
            )
        )
    return out


def _warnings(v: LifespanValues) -> list[Finding]:
    """Settings Keycloak accepts that do not do what they seem to, in the page's order."""
    return _sso_warnings(v) + _remember_me_warnings(v) + _offline_warnings(v) + _token_warnings(v)


def errors_of(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level == "error"]


def warnings_of(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level == "warning"]
