"""Parity results of the run; PARITY_TABLE=1 writes docs/keycloak-parity.md at its end."""

import os

import pytest

from .table import table_write


@pytest.fixture(scope="session")
def parity_results():
    results: dict[str, dict] = {}
    yield results
    if os.environ.get("PARITY_TABLE") == "1" and results:
        table_write(results)
