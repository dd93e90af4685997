def test_superadmin_sees_every_realm_with_lifespans_in_human_units(client_as, kc):
    page = client_as("admin").get("/realms/").content.decode()
    assert 'data-realm="master"' in page
    assert 'data-realm="mlflow"' in page
    assert "1 min" in page  # master's 60 s access tokens
    assert "5 min" in page  # mlflow's Keycloak defaults
    assert "10 h" in page


def test_a_viewer_sees_only_the_realm_their_roles_cover(client_as, kc):
    page = client_as("viewer").get("/realms/").content.decode()
    assert 'data-realm="mlflow"' in page
    assert 'data-realm="master"' not in page
    assert "view-users" in page
    assert "manage-users" not in page


def test_an_admin_without_any_role_gets_a_clear_403(client_as, kc):
    response = client_as("outsider").get("/realms/")
    assert response.status_code == 403
    assert "no admin role" in response.content.decode()


def test_keycloak_down_gives_a_message_not_a_500(client_as, kc):
    client = client_as("admin")
    kc.fault(path="/admin/realms.*", status=503)
    response = client.get("/realms/")
    assert response.status_code == 503
    page = response.content.decode()
    assert "Keycloak is unreachable or failing" in page
    assert "Traceback" not in page


def test_each_realm_links_only_to_the_pages_the_admins_roles_open(client_as, kc):
    page = client_as("viewer").get("/realms/").content.decode()
    assert 'href="/sessions/mlflow/"' in page
    assert 'href="/lifespans/mlflow/"' in page
    assert "Revoke…" not in page
    page = client_as("operator").get("/realms/").content.decode()
    assert "Revoke…" in page
