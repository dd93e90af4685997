"""Durations as admins type and read them: the one parser and the formatters every app uses.

Keycloak stores every lifespan in seconds; the index stores seconds too. Typed text becomes
seconds through `duration_parse` only; seconds become text through `duration_format` (the exact,
typeable form, for form fields and links: "1h30m") or `duration_text` (the reading form, for
pages and messages: "1 h 30 min"). `duration_parse(duration_format(s)) == s` for every whole
number of seconds.
"""

import re

# Seconds per unit; several spellings each, so "5 min", "5m" and "5 minutes" all parse.
_UNITS: dict[str, int] = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}
_FORMAT_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_TEXT_UNITS = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
_PIECE = re.compile(r"(\d+)\s*([a-z]+)")

# Error texts, imported by the tests.
ERROR_EMPTY = "Enter a duration such as 5m, 10h, 30d or 1h30m."
ERROR_NOT_A_DURATION = (
    "“{text}” is not a duration: use a number with a unit, such as 5m, 10h or 1h30m."
)
ERROR_NO_UNIT = "“{text}” has no unit: write {text}s for seconds, {text}m for minutes or {text}h."
ERROR_UNKNOWN_UNIT = "“{unit}” is not a unit: use s, m, h, d or w (for example 1h30m)."


class DurationError(ValueError):
    """The text is not a duration; `message` says so in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def duration_parse(text: str) -> int:
    """Seconds in `text`: "5m", "10h", "30d", "1h30m", "1 h 30 min", "-5m", "0".

    A number without a unit is refused, whatever the page: "45" could mean seconds or minutes,
    and a wrong guess cuts sessions off (a lifespan) or shows and revokes the wrong rows (a
    filter); the message says how to write it. Zero is the one number that needs no unit.
    Raises DurationError for anything else. Range checks (negative, too large) are the caller's
    job, so a negative value parses and gets its own clear message there.
    """
    stripped = text.strip()
    raw = stripped.lower()
    if not raw:
        raise DurationError(ERROR_EMPTY)
    sign = 1
    if raw[0] in "+-":
        sign = -1 if raw[0] == "-" else 1
        raw = raw[1:].strip()
    if raw.isdigit():
        if int(raw) == 0:
            return 0
        raise DurationError(ERROR_NO_UNIT.format(text=stripped))
    compact = raw.replace(",", " ")
    pieces = _PIECE.findall(compact)
    if not pieces or _PIECE.sub("", compact).strip():
        raise DurationError(ERROR_NOT_A_DURATION.format(text=stripped))
    total = 0
    for amount, unit in pieces:
        if unit not in _UNITS:
            raise DurationError(ERROR_UNKNOWN_UNIT.format(unit=unit))
        total += int(amount) * _UNITS[unit]
    return sign * total


def duration_format(seconds: int) -> str:
    """The shortest exact typeable form: 300 → "5m", 36000 → "10h", 5400 → "1h30m", 0 → "0"."""
    seconds = int(seconds)
    if seconds == 0:
        return "0"
    sign, rest = ("-" if seconds < 0 else ""), abs(seconds)
    pieces = []
    for unit, size in _FORMAT_UNITS:
        amount, rest = divmod(rest, size)
        if amount:
            pieces.append(f"{amount}{unit}")
    return sign + "".join(pieces)


def duration_text(seconds: int | float | None, parts: int = 2) -> str:
    """Seconds in the units admins think in: 300 → "5 min", 36000 → "10 h", 5400 → "1 h 30 min".

    Rounded down to at most `parts` units, so it is for reading, not for typing back."""
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds == 0:
        return "0 s"
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    pieces: list[str] = []
    for unit, size in _TEXT_UNITS:
        if seconds >= size and len(pieces) < parts:
            amount, seconds = divmod(seconds, size)
            pieces.append(f"{amount} {unit}")
        elif pieces:
            # Stop at the first empty unit after a filled one: "1 d 5 s" reads as noise.
            break
    return sign + " ".join(pieces)
