"""The user and client pages, read live from the emulator through the gateway."""

HTMX = {"HX-Request": "true"}


def user_id(kc, realm: str, username: str) -> str:
    return kc.admin(realm_name=realm).get_user_id(username)


def client_uuid(kc, realm: str, client_id: str) -> str:
    return kc.admin(realm_name=realm).get_client_id(client_id)


def test_the_user_page_shows_online_sessions_offline_sessions_per_client_and_consents(
    client_as, kc
):
    offline = kc.password_login(
        "master", "sdk-client", "data_scientist", "data_scientist", offline=True
    )
    online = kc.password_login("master", "sdk-client", "data_scientist", "data_scientist")
    page = (
        client_as("admin")
        .get(f"/sessions/master/users/{user_id(kc, 'master', 'data_scientist')}/")
        .content.decode()
    )
    assert 'data-testid="user-name">data_scientist' in page
    assert "Dana Scientist" in page
    assert f'data-session-id="{online["session_state"]}"' in page
    # The new offline session is listed under the client that holds it.
    sdk_group = page.split('data-client-id="sdk-client"')[1].split("</section>")[0]
    assert f'data-session-id="{offline["session_state"]}"' in sdk_group
    assert 'data-testid="user-consents"' in page
    assert "offline token</span>" in page


def test_a_user_without_offline_tokens_says_so(client_as, kc):
    page = (
        client_as("operator")
        .get(f"/sessions/mlflow/users/{user_id(kc, 'mlflow', 'mlflow_admin')}/")
        .content.decode()
    )
    assert 'data-testid="no-offline-sessions"' in page
    assert 'data-testid="online-count">1<' in page


def test_the_client_page_shows_live_counts_and_pages_its_sessions(client_as, kc):
    for _ in range(3):
        kc.password_login("mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret")
    kc.password_login(
        "mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret", offline=True
    )
    admin = kc.admin(realm_name="mlflow")
    uuid = client_uuid(kc, "mlflow", "mlflow")
    online_count = admin.connection.raw_get(
        f"admin/realms/mlflow/clients/{uuid}/session-count"
    ).json()["count"]
    offline_count = admin.connection.raw_get(
        f"admin/realms/mlflow/clients/{uuid}/offline-session-count"
    ).json()["count"]
    client = client_as("viewer")
    page = client.get(f"/sessions/mlflow/clients/{uuid}/").content.decode()
    assert 'data-testid="client-name">mlflow' in page
    assert f'data-testid="client-online-count">{online_count}<' in page
    assert f'data-testid="client-offline-count">{offline_count}<' in page
    assert page.count("<tr data-session-id=") == online_count
    part = client.get(f"/sessions/mlflow/clients/{uuid}/?type=offline", headers=HTMX)
    body = part.content.decode()
    assert body.lstrip().startswith('<div id="client-sessions"')
    assert 'data-kind="offline"' in body
    assert body.count("<tr data-session-id=") == offline_count >= 1


def test_the_client_page_needs_view_clients(client_as, kc):
    uuid = client_uuid(kc, "master", "api-client")
    response = client_as("viewer").get(f"/sessions/master/clients/{uuid}/")
    assert response.status_code == 403


def test_keycloak_down_on_the_user_page_is_a_message_not_a_500(client_as, kc):
    client = client_as("admin")
    target = user_id(kc, "master", "wallaroo_user")
    kc.fault(path="/admin/realms/master/users.*", status=503)
    response = client.get(f"/sessions/master/users/{target}/")
    assert response.status_code == 503
    assert "Keycloak is unreachable or failing" in response.content.decode()


def test_an_unknown_user_is_keycloak_s_404_in_the_page(client_as, kc):
    response = client_as("admin").get("/sessions/master/users/no-such-user/")
    assert response.status_code == 404
    assert "Keycloak does not know this" in response.content.decode()
