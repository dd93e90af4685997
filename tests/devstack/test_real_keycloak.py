"""The project's real Keycloak: the pinned version runs, answers as Keycloak, and stops cleanly."""

import re
import subprocess
import sys
from pathlib import Path

from tokenadmin.devstack.keycloak import KEYCLOAK_VERSION

ROOT = Path(__file__).resolve().parents[2]


def test_it_runs_the_pinned_version_with_realm_master(real_keycloak):
    # Other tests may have added their realms already (pytest-django runs database tests first).
    realms = real_keycloak.admin_api("GET", "/admin/realms").json()
    assert "master" in [realm["realm"] for realm in realms]
    info = real_keycloak.admin_api("GET", "/admin/serverinfo").json()
    assert info["systemInfo"]["version"] == KEYCLOAK_VERSION


def test_the_bootstrap_admin_signs_in_and_a_wrong_password_is_refused(real_keycloak):
    token = real_keycloak.password_login("master", "admin-cli", "admin", "admin")
    assert token["token_type"] == "Bearer"
    wrong = real_keycloak.openid("master", "admin-cli")
    try:
        wrong.token("admin", "not-the-password")
    except Exception as exc:  # python-keycloak's KeycloakAuthenticationError
        # Keycloak 26.7 answers invalid_grant with 400 (OAuth 2.0 section 5.2), not 401.
        assert exc.response_code == 400
        assert b"Invalid user credentials" in exc.response_body
    else:
        raise AssertionError("a wrong password was accepted")


def test_compose_runs_the_same_keycloak_version_as_the_tests():
    compose = (ROOT / "docker" / "compose.yaml").read_text()
    tags = re.findall(r"quay\.io/keycloak/keycloak:([\w.]+)", compose)
    assert tags and set(tags) == {KEYCLOAK_VERSION}


def test_it_says_what_is_missing_instead_of_hanging(tmp_path):
    # No java anywhere: a clear message and exit 1, before any download or boot.
    result = subprocess.run(
        [sys.executable, "-m", "tokenadmin.devstack.keycloak", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)},
    )
    assert result.returncode == 1
    assert "Keycloak needs Java 17, 21 or 25" in result.stderr
