import pytest
from django.template import Context, Template

from tokenadmin.core.durations import (
    ERROR_NO_UNIT,
    DurationError,
    duration_format,
    duration_parse,
    duration_text,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5m", 300),
        ("10h", 36000),
        ("30d", 2592000),
        ("1h30m", 5400),
        ("1 h 30 min", 5400),
        ("90s", 90),
        ("2w", 1209600),
        (" 12H ", 43200),
        ("-5m", -300),
        ("0", 0),
        ("1d 2h 3m 4s", 93784),
    ],
)
def test_admins_type_durations_in_human_units(text, seconds):
    assert duration_parse(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "abc", "5 parsecs", "1.5h", "h5", "5m and", "2", "300", "h", "2x", "2h junk"]
)
def test_text_that_is_not_a_duration_is_refused_with_a_plain_message(text):
    with pytest.raises(DurationError) as raised:
        duration_parse(text)
    assert "duration" in raised.value.message or "unit" in raised.value.message


def test_an_unknown_unit_is_named_in_the_message():
    with pytest.raises(DurationError) as raised:
        duration_parse("5 parsecs")
    assert "parsecs" in raised.value.message


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (300, "5m"),
        (36000, "10h"),
        (2592000, "30d"),
        (5400, "1h30m"),
        (0, "0"),
        (61, "1m1s"),
        (-300, "-5m"),
    ],
)
def test_seconds_are_shown_in_the_shortest_exact_form(seconds, text):
    assert duration_format(seconds) == text


@pytest.mark.parametrize("seconds", [0, 1, 59, 60, 3599, 3600, 86399, 5184000, 2147483647])
def test_formatting_then_parsing_gives_back_the_same_seconds(seconds):
    assert duration_parse(duration_format(seconds)) == seconds


@pytest.mark.parametrize("text", ["45", "300", " 7 ", "-5"])
def test_a_number_without_a_unit_is_refused_with_how_to_write_it(text):
    with pytest.raises(DurationError) as raised:
        duration_parse(text)
    assert raised.value.message == ERROR_NO_UNIT.format(text=text.strip())
    assert f"{text.strip()}m for minutes" in raised.value.message


def test_zero_needs_no_unit():
    assert duration_parse("0") == 0
    assert duration_parse("0s") == 0


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (300, "5 min"),
        (36000, "10 h"),
        (60, "1 min"),
        (5400, "1 h 30 min"),
        (2592000, "30 d"),
        (90061, "1 d 1 h"),
        (45, "45 s"),
        (0, "0 s"),
        (-120, "-2 min"),
        (None, "—"),
    ],
)
def test_pages_read_seconds_in_at_most_two_units(seconds, shown):
    assert duration_text(seconds) == shown


def test_the_template_filter_reads_durations_the_same_way():
    page = Template("{% load tokenadmin %}{{ s|duration }}, {{ s|duration_with_article }}")
    assert page.render(Context({"s": 39600})) == "11 h, an 11 h"
