"""The device grant on the emulator where real Keycloak cannot be driven cheaply: the clock
(expiry of the code), an SSO session at the code page, the polling interval of a client.
The rest is held to Keycloak 26.7.3 by tests/parity (device_authorization, device_approval)."""

import re

import requests

from tests.cli.conftest import device_approve

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def oidc(kc, endpoint: str) -> str:
    return f"{kc.base_url}/realms/master/protocol/openid-connect/{endpoint}"


def start(kc) -> dict:
    answer = requests.post(oidc(kc, "auth/device"), data={"client_id": "tokenadmin-cli"})
    assert answer.status_code == 200
    return answer.json()


def poll(kc, device_code: str) -> requests.Response:
    form = {"client_id": "tokenadmin-cli", "grant_type": DEVICE_GRANT, "device_code": device_code}
    return requests.post(oidc(kc, "token"), data=form, timeout=5)


def test_an_unapproved_code_expires_then_is_forgotten(kc):
    code = start(kc)

    kc.advance(code["expires_in"] + 1)
    expired = poll(kc, code["device_code"])
    kc.advance(code["interval"] + 10)
    forgotten = poll(kc, code["device_code"])

    assert expired.json()["error"] == "expired_token"
    assert forgotten.json() == {
        "error": "invalid_grant",
        "error_description": "Device code not valid",
    }


def test_polling_faster_than_the_interval_slows_down_and_waiting_does_not(kc):
    code = start(kc)

    first, second = poll(kc, code["device_code"]), poll(kc, code["device_code"])
    kc.advance(code["interval"])
    third = poll(kc, code["device_code"])

    assert [r.json()["error"] for r in (first, second, third)] == [
        "authorization_pending",
        "slow_down",
        "authorization_pending",
    ]


def test_the_client_attribute_sets_the_interval_and_lifespan(kc):
    admin = kc.admin("master")
    uuid = admin.get_client_id("tokenadmin-cli")
    attributes = {"oauth2.device.polling.interval": "1", "oauth2.device.code.lifespan": "120"}
    admin.update_client(uuid, {"attributes": attributes})

    code = start(kc)

    assert (code["interval"], code["expires_in"]) == (1, 120)


def test_a_user_code_for_an_expired_device_code_says_so(kc):
    code = start(kc)
    kc.advance(code["expires_in"] + 1)

    page = requests.get(code["verification_uri_complete"], timeout=5)

    assert "The code has expired" in page.text


def test_approved_through_the_page_the_poll_gets_tokens_for_tokenadmin(kc):
    code = start(kc)
    done = device_approve(code["verification_uri"], code["user_code"], "operator")

    tokens = poll(kc, code["device_code"])

    assert done.status_code == 200 and "Device Login Successful" in done.text
    assert tokens.status_code == 200
    introspected = kc.openid("master", "tokenadmin", "tokenadmin-dev-secret").introspect(
        tokens.json()["access_token"]
    )
    assert introspected["active"] and "tokenadmin" in introspected["aud"]
    assert introspected["azp"] == "tokenadmin-cli"


def test_a_browser_already_signed_in_goes_straight_to_consent(kc):
    first, second = start(kc), start(kc)
    browser = requests.Session()
    page = browser.get(first["verification_uri_complete"], timeout=5)
    action = re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    page = browser.post(action, data={"username": "operator", "password": "operator"})
    action = re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    browser.post(action, data={"accept": "Yes"}, timeout=5)

    again = browser.get(second["verification_uri_complete"], timeout=5)

    assert 'name="accept"' in again.text and 'name="password"' not in again.text
    assert poll(kc, first["device_code"]).status_code == 200
