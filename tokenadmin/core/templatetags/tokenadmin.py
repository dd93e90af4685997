from django import template

from tokenadmin.core.durations import duration_text

register = template.Library()


@register.filter
def duration(seconds: int | float | None) -> str:
    """`{{ lifespan_s|duration }}` → "10 h": the one reading form (core/durations.py)."""
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
