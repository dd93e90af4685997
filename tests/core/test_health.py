def test_health_answers_without_login(client, db):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_every_other_page_needs_a_login(client, db):
    response = client.get("/realms/")
    assert response.status_code == 302
    assert response["Location"].startswith("/oidc/authenticate/?next=/realms/")


def test_an_htmx_request_without_login_gets_a_client_redirect_not_a_302(client, db):
    response = client.get(
        "/realms/", headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/realms/"}
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/oidc/authenticate/?next=/realms/"


def test_pages_carry_the_content_security_policy(client, db):
    response = client.get("/health")
    assert "script-src 'self'" in response["Content-Security-Policy"]
