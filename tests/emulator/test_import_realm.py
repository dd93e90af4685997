"""--import-realm as Keycloak's: one realm or an array of realms per file, ${ENV} placeholders
resolved at import, existing realms skipped (IGNORE_EXISTING), never merged."""

import json

from tests.fixtures.emulator import running_emulator
from tokenadmin.emulator.seed import read_realm_file, substitute_placeholders


def test_placeholders_resolve_from_the_environment_with_defaults():
    env = {"SECRET": "s3cret", "EMPTY": ""}
    rep = {
        "secret": "${SECRET}",
        "list": ["a-${SECRET}-b", "${MISSING:fallback}", "${EMPTY:unused}"],
        "nested": {"description": "${role_create-realm}", "other": "${MISSING}", "n": 5},
        "colon": "${MISSING:http://x:1/}",
    }
    assert substitute_placeholders(rep, env) == {
        "secret": "s3cret",
        "list": ["a-s3cret-b", "fallback", ""],
        # Unresolved without a default stays as written (Keycloak's own ${role_...} keys too).
        "nested": {"description": "${role_create-realm}", "other": "${MISSING}", "n": 5},
        "colon": "http://x:1/",
    }


def test_a_file_may_hold_one_realm_or_an_array_with_master_first(tmp_path):
    single = tmp_path / "one.json"
    single.write_text(json.dumps({"realm": "one", "displayName": "${NAME:One}"}))
    assert read_realm_file(single, {}) == [{"realm": "one", "displayName": "One"}]
    several = tmp_path / "all.json"
    several.write_text(json.dumps([{"realm": "b"}, {"realm": "master"}, {"realm": "a"}]))
    assert [r["realm"] for r in read_realm_file(several, {})] == ["master", "b", "a"]


def _realm(name: str, secret: str, display: str) -> dict:
    return {
        "realm": name,
        "enabled": True,
        "displayName": display,
        "clients": [
            {
                "clientId": "app",
                "secret": secret,
                "directAccessGrantsEnabled": True,
                "redirectUris": ["http://127.0.0.1/*"],
            }
        ],
        "users": [
            {
                "username": "ann",
                "enabled": True,
                "email": "ann@example.com",
                "credentials": [{"type": "password", "value": "${ANN_PASSWORD:ann-pw}"}],
            }
        ],
    }


def test_import_an_export_array_substitutes_and_skips_existing_realms(tmp_path):
    export = tmp_path / "realms.json"
    export.write_text(
        json.dumps(
            [
                # master exists (bootstrap): skipped, not merged.
                {"realm": "master", "accessTokenLifespan": 999, "clients": [{"clientId": "x"}]},
                _realm("alpha", "${ALPHA_SECRET}", "${ALPHA_NAME:Alpha team}"),
                _realm("beta", "${BETA_SECRET:beta-default}", "Beta"),
            ]
        )
    )
    again = tmp_path / "alpha-again.json"
    again.write_text(json.dumps(_realm("alpha", "second-secret", "Second")))
    env = {"ALPHA_SECRET": "alpha-from-env", "ANN_PASSWORD": "ann-from-env"}
    with running_emulator(
        "--import-realm", str(export), "--import-realm", str(again), env=env
    ) as emulator:
        admin = emulator.admin()
        realms = sorted(r["realm"] for r in admin.get_realms())
        assert realms == ["alpha", "beta", "master"]
        assert admin.get_realm("master")["accessTokenLifespan"] == 60
        assert admin.get_realm("alpha")["displayName"] == "Alpha team"
        alpha = emulator.password_login("alpha", "app", "ann", "ann-from-env", "alpha-from-env")
        assert alpha["access_token"]
        beta = emulator.password_login("beta", "app", "ann", "ann-from-env", "beta-default")
        assert beta["access_token"]
        output = emulator.output()
        for name in ("master", "alpha"):
            assert f"Realm '{name}' already exists. Import skipped" in output
