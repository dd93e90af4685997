"""A client's lifespan overrides as the editor takes them: human units, blank = inherit."""

from collections.abc import Mapping
from dataclasses import dataclass

from tokenadmin.core.durations import DurationError, duration_format, duration_parse

from .catalog import INT32_MAX
from .effective import COLUMNS, OVERRIDE_ATTRIBUTES

ERROR_NEGATIVE = "{heading} cannot be negative (only the access token takes -1: until SSO max)."
ERROR_TOO_LARGE = "{heading} is too large: Keycloak stores at most {limit:,} s."


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    description: str
    attributes: dict[str, str]


PRESETS: tuple[Preset, ...] = (
    Preset(
        "mlflow",
        "MLflow client",
        "Keycloak's defaults: inherit every realm value (5-minute tokens, 10-hour logins).",
        dict.fromkeys(OVERRIDE_ATTRIBUTES, ""),
    ),
    Preset(
        "api-client",
        "Wallaroo-style api-client",
        "60-minute access tokens (access.token.lifespan = 3600); sessions inherit the realm.",
        {**dict.fromkeys(OVERRIDE_ATTRIBUTES, ""), "access.token.lifespan": "3600"},
    ),
)
PRESETS_BY_KEY = {p.key: p for p in PRESETS}
HEADINGS = {attribute: heading for _key, heading, attribute in COLUMNS}


def override_texts(attributes: Mapping[str, str]) -> dict[str, str]:
    """Attribute values (seconds as strings) as the editor shows them: "1h", "" for inherit."""
    texts = {}
    for name in OVERRIDE_ATTRIBUTES:
        raw = str(attributes.get(name) or "").strip()
        try:
            seconds = int(float(raw)) if raw else 0
        except ValueError:
            texts[name] = raw
            continue
        if seconds == -1 and name == "access.token.lifespan":
            texts[name] = "-1"
        else:
            texts[name] = duration_format(seconds) if seconds > 0 else ""
    return texts


@dataclass(frozen=True)
class ParsedOverrides:
    attributes: dict[str, str]  # seconds as strings, "" = inherit
    typed: dict[str, str]
    errors: dict[str, str]


def client_overrides_parse(data: Mapping[str, str]) -> ParsedOverrides:
    """The client editor's fields → attribute values. Blank or 0 means inherit."""
    attributes: dict[str, str] = {}
    typed: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name in OVERRIDE_ATTRIBUTES:
        text = str(data.get(name, "")).strip()
        typed[name] = text
        heading = HEADINGS[name]
        if not text:
            attributes[name] = ""
            continue
        if text == "-1" and name == "access.token.lifespan":
            # Keycloak's own marker (until SSO max), not a duration: typed and shown as "-1".
            attributes[name] = "-1"
            continue
        try:
            seconds = duration_parse(text)
        except DurationError as exc:
            errors[name] = f"{heading}: {exc.message}"
            continue
        if seconds == -1 and name == "access.token.lifespan":
            attributes[name] = "-1"
        elif seconds < 0:
            errors[name] = ERROR_NEGATIVE.format(heading=heading)
        elif seconds > INT32_MAX:
            errors[name] = ERROR_TOO_LARGE.format(heading=heading, limit=INT32_MAX)
        else:
            attributes[name] = str(seconds) if seconds else ""
    return ParsedOverrides(attributes=attributes, typed=typed, errors=errors)


@dataclass(frozen=True)
class OverrideInput:
    key: str
    heading: str
    attribute: str
    text: str
    error: str


def override_inputs(typed: Mapping[str, str], errors: Mapping[str, str]) -> list[OverrideInput]:
    """The editor's five inputs, in the matrix's column order."""
    return [
        OverrideInput(key, heading, attribute, typed.get(attribute, ""), errors.get(attribute, ""))
        for key, heading, attribute in COLUMNS
    ]
