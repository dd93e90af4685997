"""The parity results of this run, for the table (tests/parity/table.py)."""

import pytest


@pytest.fixture(scope="session")
def parity_results() -> dict[str, dict]:
    return {}
