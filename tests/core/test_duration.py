import pytest

from tokenadmin.core.templatetags.tokenadmin import duration_text


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
def test_lifespans_read_in_the_units_admins_use(seconds, shown):
    assert duration_text(seconds) == shown
