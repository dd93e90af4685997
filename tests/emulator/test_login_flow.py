"""Browser flows over HTTP: code with PKCE, SSO cookie, prompt=none, end-session."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import requests

REDIRECT = "http://127.0.0.1:8000/oidc/callback/"


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    return verifier, challenge


def auth_url(kc, realm="master", **params):
    base = {
        "client_id": "tokenadmin",
        "response_type": "code",
        "scope": "openid email profile",
        "redirect_uri": REDIRECT,
        "state": "st4te",
        "nonce": "n0nce",
    }
    base.update(params)
    return f"{kc.base_url}/realms/{realm}/protocol/openid-connect/auth", base


def form_action(html):
    line = next(line for line in html.splitlines() if 'action="' in line)
    return line.split('action="')[1].split('" method')[0]


def login(kc, browser, username="operator", password="operator", **params):
    url, query = auth_url(kc, **params)
    page = browser.get(url, params=query, timeout=5)
    assert page.status_code == 200
    return browser.post(
        form_action(page.text),
        data={"username": username, "password": password},
        allow_redirects=False,
        timeout=5,
    )


def callback_params(response):
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith("http://127.0.0.1:8000/oidc/callback/?")
    return location, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def exchange(kc, code, verifier, redirect=REDIRECT):
    return requests.post(
        f"{kc.base_url}/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect,
            "code_verifier": verifier,
        },
        auth=("tokenadmin", "tokenadmin-dev-secret"),
        timeout=5,
    )


def test_the_login_form_leads_to_a_code_that_exchanges_for_tokens(kc):
    verifier, challenge = pkce_pair()
    browser = requests.Session()
    response = login(kc, browser, code_challenge=challenge, code_challenge_method="S256")
    _, params = callback_params(response)
    assert list(params) == ["state", "session_state", "iss", "code"]
    assert params["state"] == "st4te"
    tokens = exchange(kc, params["code"], verifier)
    assert tokens.status_code == 200
    body = tokens.json()
    assert body["session_state"] == params["session_state"]
    id_token = kc.openid("master", "tokenadmin", "tokenadmin-dev-secret").decode_token(
        body["id_token"]
    )
    assert id_token["nonce"] == "n0nce"
    assert id_token["preferred_username"] == "operator"


def test_a_code_is_single_use(kc):
    verifier, challenge = pkce_pair()
    _, params = callback_params(
        login(kc, requests.Session(), code_challenge=challenge, code_challenge_method="S256")
    )
    assert exchange(kc, params["code"], verifier).status_code == 200
    again = exchange(kc, params["code"], verifier)
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant", "error_description": "Code not valid"}


def test_a_wrong_verifier_fails_pkce(kc):
    _, challenge = pkce_pair()
    _, params = callback_params(
        login(kc, requests.Session(), code_challenge=challenge, code_challenge_method="S256")
    )
    response = exchange(kc, params["code"], "x" * 50)
    assert response.status_code == 400
    assert response.json()["error_description"] == "PKCE verification failed: Code mismatch"


def test_the_tokenadmin_client_requires_pkce(kc):
    url, query = auth_url(kc)
    response = requests.get(url, params=query, allow_redirects=False, timeout=5)
    _, params = callback_params(response)
    assert params["error"] == "invalid_request"
    assert params["state"] == "st4te"


def test_an_unregistered_redirect_uri_gets_an_error_page(kc):
    url, query = auth_url(kc, redirect_uri="http://evil.example/cb")
    response = requests.get(url, params=query, allow_redirects=False, timeout=5)
    assert response.status_code == 400
    assert "Invalid parameter: redirect_uri" in response.text


def test_loopback_redirects_match_on_any_port(kc):
    _, challenge = pkce_pair()
    for redirect in ("http://localhost:9999/cb", "http://127.0.0.1:1234/x/y?z=1"):
        url, query = auth_url(
            kc, redirect_uri=redirect, code_challenge=challenge, code_challenge_method="S256"
        )
        assert requests.get(url, params=query, timeout=5).status_code == 200


def test_prompt_none_without_sso_answers_login_required(kc):
    _, challenge = pkce_pair()
    url, query = auth_url(kc, prompt="none", code_challenge=challenge, code_challenge_method="S256")
    _, params = callback_params(requests.get(url, params=query, allow_redirects=False, timeout=5))
    assert params["error"] == "login_required"
    assert params["state"] == "st4te"


def test_the_sso_cookie_logs_in_again_without_the_form(kc):
    browser = requests.Session()
    _, challenge = pkce_pair()
    _, first = callback_params(
        login(kc, browser, code_challenge=challenge, code_challenge_method="S256")
    )
    url, query = auth_url(kc, prompt="none", code_challenge=challenge, code_challenge_method="S256")
    _, second = callback_params(browser.get(url, params=query, allow_redirects=False, timeout=5))
    assert second["session_state"] == first["session_state"]
    assert "code" in second


def test_a_wrong_password_shows_the_form_again(kc):
    url, query = auth_url(kc)
    browser = requests.Session()
    page = browser.get(
        url,
        params={**query, "code_challenge": pkce_pair()[1], "code_challenge_method": "S256"},
        timeout=5,
    )
    again = browser.post(
        form_action(page.text), data={"username": "operator", "password": "bad"}, timeout=5
    )
    assert again.status_code == 200
    assert "Invalid username or password." in again.text


def test_end_session_with_id_token_hint_ends_sso_and_redirects(kc):
    verifier, challenge = pkce_pair()
    browser = requests.Session()
    _, params = callback_params(
        login(kc, browser, code_challenge=challenge, code_challenge_method="S256")
    )
    tokens = exchange(kc, params["code"], verifier).json()
    response = browser.get(
        f"{kc.base_url}/realms/master/protocol/openid-connect/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "http://127.0.0.1:8000/",
            "state": "bye",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "http://127.0.0.1:8000/?state=bye"
    admin = kc.admin()
    assert admin.get_sessions(admin.get_user_id("operator")) == []
    url, query = auth_url(kc, prompt="none", code_challenge=challenge, code_challenge_method="S256")
    _, after = callback_params(browser.get(url, params=query, allow_redirects=False, timeout=5))
    assert after["error"] == "login_required"


def test_end_session_refuses_an_unregistered_post_logout_uri(kc):
    tokens = kc.password_login(
        "master", "tokenadmin", "operator", "operator", secret="tokenadmin-dev-secret"
    )
    response = requests.get(
        f"{kc.base_url}/realms/master/protocol/openid-connect/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "http://evil.example/",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert response.status_code == 400
    assert "Invalid redirect uri" in response.text


def test_mlflow_code_flow_without_pkce_works(kc):
    browser = requests.Session()
    url = f"{kc.base_url}/realms/mlflow/protocol/openid-connect/auth"
    page = browser.get(
        url,
        params={
            "client_id": "mlflow",
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": "http://127.0.0.1:5000/callback",
            "state": "s",
        },
        timeout=5,
    )
    response = browser.post(
        form_action(page.text),
        data={"username": "mlflow_user", "password": "mlflow_user"},
        allow_redirects=False,
        timeout=5,
    )
    code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
    tokens = requests.post(
        f"{kc.base_url}/realms/mlflow/protocol/openid-connect/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": "mlflow",
            "client_secret": "mlflow-secret",
            "redirect_uri": "http://127.0.0.1:5000/callback",
        },
        timeout=5,
    )
    assert tokens.status_code == 200
    assert tokens.json()["refresh_expires_in"] == 1800


def test_loopback_rule_as_redirect_utils_drops_only_the_port():
    """RedirectUtils.verifyRedirectUri (22+): on no match, an http://localhost or http://127.0.0.1
    URI is tried again without its port; [::1] and https get no such rule."""
    from tokenadmin.emulator.redirects import verify_redirect_uri

    assert verify_redirect_uri(["http://127.0.0.1/cb"], "http://127.0.0.1:49152/cb")
    assert verify_redirect_uri(["http://localhost/cb"], "http://localhost:8000/cb?x=1") is None
    assert verify_redirect_uri(["http://127.0.0.1/cb"], "http://127.0.0.1:49152/other") is None
    assert verify_redirect_uri(["http://127.0.0.1:5000/cb"], "http://127.0.0.1:5001/cb") is None
    assert verify_redirect_uri(["http://[::1]/cb"], "http://[::1]:8000/cb") is None
    assert verify_redirect_uri(["https://localhost/cb"], "https://localhost:8443/cb") is None
    assert verify_redirect_uri(["http://127.0.0.1/*"], "http://127.0.0.1:1234/x?z=1")
