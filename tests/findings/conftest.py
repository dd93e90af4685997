"""Fixtures the findings tests borrow: a real webhook receiver for the alerts they lead to."""

from tests.alerts.conftest import receiver  # noqa: F401
