"""The emulator against real Keycloak: each scenario runs on both and must observe the same.

A scenario (tests/parity/scenarios.py) makes a realm of its own on each server, makes the calls
tokenadmin makes and returns a normalised observation. Differences listed in differences.py are
taken out of the comparison (and printed in the parity table); any other difference fails.
"""

import json
import os
from pathlib import Path

import pytest

from .differences import DIFFERENCES
from .scenarios import SCENARIOS, Target
from .table import TABLE_PATH, scenario_rows, table_write

pytestmark = pytest.mark.real_keycloak


def _anonymous(observation: dict, server, realm: str) -> dict:
    """The observation with this run's realm name and server address replaced by placeholders,
    so the table is the same from run to run."""
    text = json.dumps(observation).replace(server.base_url, "<server>").replace(realm, "<realm>")
    return json.loads(text)


def _compared(name: str, observation: dict) -> dict:
    return {k: v for k, v in observation.items() if k not in DIFFERENCES.get(name, {})}


def _diff(emulator: dict, real: dict) -> str:
    lines = []
    for key in sorted(set(emulator) | set(real)):
        mine, theirs = emulator.get(key, "<absent>"), real.get(key, "<absent>")
        if mine != theirs:
            lines.append(
                f"{key}:\n  emulator: {json.dumps(mine)}\n  keycloak: {json.dumps(theirs)}"
            )
    return "\n".join(lines)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_emulator_observes_what_keycloak_does(
    name, kc, real_keycloak, realm_name_unique, parity_results
):
    # `kc` is the shared emulator reset to its seed: no clock moves or faults of earlier tests.
    emulator = kc
    # Our Keycloak must still be running: another one answering on its port would be a lie.
    assert real_keycloak.process.poll() is None, (
        f"real Keycloak exited:\n{real_keycloak.log()[-2000:]}"
    )
    scenario = SCENARIOS[name]
    realm = realm_name_unique
    real = _anonymous(scenario(Target(real_keycloak.base_url), realm), real_keycloak, realm)
    emulated = _anonymous(scenario(Target(emulator.base_url), realm), emulator, realm)
    parity_results[name] = {"emulator": emulated, "real": real}
    differing = _diff(_compared(name, emulated), _compared(name, real))
    assert not differing, f"{name}: the emulator differs from Keycloak\n{differing}"


def test_documented_differences_name_real_scenarios():
    assert set(DIFFERENCES) <= set(SCENARIOS)
    assert all(reason.strip() for keys in DIFFERENCES.values() for reason in keys.values())


def test_committed_table_covers_every_scenario(parity_results):
    """docs/keycloak-parity.md has one row per scenario, each the same or a documented difference.

    `PARITY_TABLE=1 pytest tests/parity` rewrites it from this run first (this test runs last).
    """
    if os.environ.get("PARITY_TABLE") == "1":
        assert table_write(parity_results), "run every scenario to write the table"
    rows = scenario_rows(Path(TABLE_PATH).read_text())
    assert set(rows) == set(SCENARIOS), "regenerate it: PARITY_TABLE=1 pytest tests/parity"
    for name, verdict in rows.items():
        expected = "same" if not DIFFERENCES.get(name) else "documented difference"
        assert verdict == expected, f"{name}: the table says {verdict!r}, expected {expected!r}"
