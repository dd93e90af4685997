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
    pieces: list[str] = []
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


def with_article(text: str) -> str:
    """ "a 5 h", "an 11 h", "an 8 min": the article a number is read with, in front of it."""
    number = text.split(" ", 1)[0].lstrip("-")
    n = int(number) if number.isdigit() else -1
    # eight, eighty, eleven, eighteen, eleven/eighteen thousand
    starts_with_vowel_sound = number.startswith("8") or n in (11, 18) or n // 1000 in (11, 18)
    return f"{'an' if starts_with_vowel_sound else 'a'} {text}"


@register.filter
def duration_with_article(seconds: int | float | None) -> str:
    """ "an 11 h", "a 5 h": a duration as the words before "job" need it."""
    return with_article(duration_text(seconds))
