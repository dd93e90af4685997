from django import template

register = template.Library()

_UNITS = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))


def duration_text(seconds: int | float | None, parts: int = 2) -> str:
    """Seconds in the units admins think in: 300 → "5 min", 36000 → "10 h", 5400 → "1 h 30 min"."""
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds == 0:
        return "0 s"
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    pieces = []
    for unit, size in _UNITS:
        if seconds >= size and len(pieces) < parts:
            amount, seconds = divmod(seconds, size)
            pieces.append(f"{amount} {unit}")
        elif pieces:
            # Stop at the first empty unit after a filled one: "1 d 5 s" reads as noise.
            break
    return sign + " ".join(pieces)


@register.filter
def duration(seconds: int | float | None) -> str:
    return duration_text(seconds)
