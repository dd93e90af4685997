"""docker/keycloak/bootstrap-master.sh against real Keycloak, with the distribution's kcadm.sh:
the dashboard admin signs in, the worker refreshes the index with the README's rights and no
more. The `realkc` fixture ran the script once already; the test runs it again (idempotent)."""

import base64
import json
import re

import pytest
import requests
from playwright.sync_api import expect

from tests.fixtures.browser import login_through_keycloak, screenshot
from tokenadmin.sessionindex.models import IndexedSession, RealmIndex
from tokenadmin.sessionindex.refresh import realm_index_refresh

from .conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    BOOTSTRAP_DIR,
    REALKC_TIMEOUT_S,
    REALM_USER,
    REALM_USER_PASSWORD,
)

pytestmark = pytest.mark.timeout(REALKC_TIMEOUT_S)

# What the README promises the worker; view-users and view-clients are composites that bring
# query-users, query-groups and query-clients with them.
WORKER_ROLES = {"view-realm", "view-users", "view-clients", "view-events", "manage-users"}
WORKER_IMPLIED = {"query-users", "query-groups", "query-clients"}


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _worker_token(realkc) -> str:
    answer = requests.post(
        f"{realkc.keycloak.base_url}/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "tokenadmin-worker",
            "client_secret": realkc.secrets.worker,
        },
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def _clients_named(realkc, client_id: str) -> list[dict]:
    answer = realkc.keycloak.admin_api(
        "GET", "/admin/realms/master/clients", params={"clientId": client_id}
    )
    answer.raise_for_status()
    return answer.json()


def test_the_roles_file_is_what_the_readme_lists():
    listed = (BOOTSTRAP_DIR / "tokenadmin-worker-roles.txt").read_text().split()
    assert set(listed) == WORKER_ROLES


def test_a_second_run_changes_nothing_and_keeps_the_admins_password(realkc):
    result = realkc.bootstrap(TOKENADMIN_ADMIN_PASSWORD="a-password-the-script-must-not-set")
    assert result.returncode == 0, result.stderr
    assert "updated client tokenadmin in master" in result.stdout
    assert "updated client tokenadmin-worker in master" in result.stdout
    assert "created" not in result.stdout
    # kcadm kept its login where KCADM_CONFIG said, not in a /tmp file other runs share.
    assert realkc.kcadm_config.exists()

    assert len(_clients_named(realkc, "tokenadmin")) == 1
    (worker,) = _clients_named(realkc, "tokenadmin-worker")
    assert worker["serviceAccountsEnabled"] is True
    (dashboard,) = _clients_named(realkc, "tokenadmin")
    assert dashboard["redirectUris"] == [f"{realkc.dashboard_url}/oidc/callback/"]
    assert dashboard["attributes"]["post.logout.redirect.uris"] == (
        f"{realkc.dashboard_url}/accounts/signed-out/"
    )
    # The first password still signs the admin in (admin-cli allows password grants).
    login = requests.post(
        f"{realkc.keycloak.base_url}/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": ADMIN_USERNAME,
            "password": ADMIN_PASSWORD,
        },
        timeout=30,
    )
    assert login.status_code == 200, login.text
    admin_id = realkc.user_id("master", ADMIN_USERNAME)
    roles = realkc.keycloak.admin_api(
        "GET", f"/admin/realms/master/users/{admin_id}/role-mappings/realm"
    ).json()
    assert "admin" in {role["name"] for role in roles}


def test_the_worker_has_exactly_the_readme_rights_on_each_realm(realkc):
    claims = _claims(_worker_token(realkc))
    for realm in ("master", realkc.realm):
        assert set(claims["resource_access"][f"{realm}-realm"]["roles"]) == (
            WORKER_ROLES | WORKER_IMPLIED
        )
    # No admin realm role, nothing on other clients beyond a user's defaults.
    assert "admin" not in claims["realm_access"]["roles"]
    assert set(claims["resource_access"]) == {"master-realm", f"{realkc.realm}-realm", "account"}


def test_keycloak_refuses_the_worker_what_it_should_not_do(realkc):
    headers = {"Authorization": f"Bearer {_worker_token(realkc)}"}
    realm_url = f"{realkc.keycloak.base_url}/admin/realms/{realkc.realm}"
    # It may read the realm (view-realm)...
    assert requests.get(realm_url, headers=headers, timeout=30).status_code == 200
    # ...but not change it (manage-realm), nor clients (manage-clients), nor make realms.
    update = requests.put(realm_url, json={"accessTokenLifespan": 60}, headers=headers, timeout=30)
    assert update.status_code == 403, update.text
    client = requests.post(
        f"{realm_url}/clients", json={"clientId": "sneaky"}, headers=headers, timeout=30
    )
    assert client.status_code == 403, client.text
    new_realm = requests.post(
        f"{realkc.keycloak.base_url}/admin/realms",
        json={"realm": "sneaky", "enabled": True},
        headers=headers,
        timeout=30,
    )
    assert new_realm.status_code == 403, new_realm.text
    assert realkc.realm_get(realkc.realm)["accessTokenLifespan"] != 60


def test_the_bootstrapped_admin_signs_in_and_the_worker_refreshes_the_index(
    realkc, page, live_server
):
    made = set(realkc.sessions_make(realkc.realm, REALM_USER, REALM_USER_PASSWORD, 3))

    login_through_keycloak(page, live_server.url, ADMIN_USERNAME, ADMIN_PASSWORD)
    expect(page).to_have_url(re.compile(r"/realms/$"))
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(ADMIN_USERNAME)
    expect(page.locator(f"tr[data-realm='{realkc.realm}']")).to_be_visible()
    screenshot(page, "realkc-bootstrapped-admin-realms")

    index = realm_index_refresh(realm=realkc.realm)
    assert index.state == RealmIndex.State.DONE, index.error
    indexed = set(
        IndexedSession.objects.filter(realm=realkc.realm, offline=False).values_list(
            "session_id", flat=True
        )
    )
    assert made <= indexed
    assert indexed == realkc.user_session_ids(realkc.realm, REALM_USER)
