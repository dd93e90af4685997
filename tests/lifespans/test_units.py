import pytest

from tokenadmin.lifespans.units import DurationError, duration_format, duration_parse


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5m", 300),
        ("10h", 36000),
        ("30d", 2592000),
        ("1h30m", 5400),
        ("1 h 30 min", 5400),
        ("90s", 90),
        ("300", 300),
        ("2w", 1209600),
        (" 12H ", 43200),
        ("-5m", -300),
        ("0", 0),
        ("1d 2h 3m 4s", 93784),
    ],
)
def test_admins_type_durations_in_human_units(text, seconds):
    assert duration_parse(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "5 parsecs", "1.5h", "h5", "5m and"])
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
