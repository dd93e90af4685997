from urllib.parse import urlsplit

from django.test import override_settings

from tokenadmin.accounts.models import User
from tokenadmin.accounts.session_tokens import ACCESS, REFRESH


def test_logging_in_through_keycloak_creates_the_admin_matched_on_sub(client_as, kc):
    client = client_as("operator")
    user = User.objects.get(username="operator")
    assert user.keycloak_sub
    assert client.session[ACCESS]
    # A second login finds the same row, whatever the username does.
    User.objects.filter(pk=user.pk).update(username="renamed")
    client.logout()
    client_as("operator")
    assert User.objects.get(pk=user.pk).username == "operator"
    assert User.objects.count() == 1


def test_logout_ends_the_keycloak_session_too(client_as, kc):
    client = client_as("viewer")
    response = client.post("/oidc/logout/")
    assert response.status_code == 302
    location = response["Location"]
    assert "/protocol/openid-connect/logout?" in location
    assert "id_token_hint=" in location
    assert "post_logout_redirect_uri=" in location
    # The Django session is gone: the next page asks to log in again.
    assert client.get("/realms/").status_code == 302


@override_settings(KEYCLOAK_REFRESH_MARGIN_S=10**6)
def test_the_admin_keeps_working_after_the_access_token_expires(client_as, kc):
    client = client_as("admin")
    first_access = client.session[ACCESS]
    kc.advance(120)  # master's access tokens live 60 s
    response = client.get("/realms/")
    assert response.status_code == 200
    assert b"mlflow" in response.content
    assert client.session[ACCESS] != first_access


@override_settings(KEYCLOAK_REFRESH_MARGIN_S=10**6)
def test_when_the_keycloak_session_is_gone_the_admin_is_sent_to_log_in(client_as, kc):
    client = client_as("admin")
    kc.advance(36000 + 60)  # past SSO max: Keycloak refuses the refresh
    response = client.get(
        "/realms/", headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/realms/"}
    )
    assert response["HX-Redirect"].startswith("/oidc/authenticate/")
    assert REFRESH not in client.session


def test_keycloak_s_clock_a_little_ahead_of_ours_does_not_stop_the_sign_in(client_as, kc):
    kc.advance(30)  # Keycloak issues tokens "30 s in the future"
    client = client_as("operator")
    assert client.get("/realms/").status_code == 200


def test_clocks_too_far_apart_show_the_sign_in_failed_page(client, kc, db):
    from tests.fixtures.dashboard import keycloak_login_code

    kc.advance(3600)
    client.defaults["HTTP_HOST"] = "localhost"
    start = client.get("/oidc/authenticate/")
    callback = keycloak_login_code(start["Location"], "admin", "admin")
    parsed = urlsplit(callback)
    response = client.get(parsed.path + "?" + parsed.query, follow=True)
    assert response.status_code == 401
    assert "Sign-in through Keycloak failed" in response.content.decode()


def test_keycloak_failing_during_sign_in_shows_the_sign_in_failed_page(client, kc, db):
    from tests.fixtures.dashboard import keycloak_login_code

    client.defaults["HTTP_HOST"] = "localhost"
    start = client.get("/oidc/authenticate/")
    callback = keycloak_login_code(start["Location"], "admin", "admin")
    kc.fault(path=".*/protocol/openid-connect/token", status=503)
    parsed = urlsplit(callback)
    response = client.get(parsed.path + "?" + parsed.query, follow=True)
    assert response.status_code == 401
    assert "Sign-in through Keycloak failed" in response.content.decode()


def test_signing_in_as_another_admin_on_the_same_browser_acts_as_the_new_one(client_as, kc):
    client_as("viewer")
    page = client_as("operator").get("/realms/").content.decode()
    assert "Olga Operator" in page
    assert "manage-users" in page
