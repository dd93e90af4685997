"""The gateway's typed results and writes, against the emulator over HTTP: what callers read
(RealmSettings, KcClient, GatewayError.keycloak_status) and what Keycloak then holds."""

import pytest
from django.conf import settings

from tokenadmin.keycloak import Conflict, Gateway, KeycloakUnavailable, gateway_for_token


@pytest.fixture
def admin_gateway(kc) -> Gateway:
    tokens = kc.password_login(
        "master",
        settings.KEYCLOAK_CLIENT_ID,
        "admin",
        "admin",
        secret=settings.KEYCLOAK_CLIENT_SECRET,
    )
    return gateway_for_token(tokens["access_token"], int(tokens["expires_in"]))


def test_realm_settings_carry_not_before_and_the_lifespans_keycloak_holds(kc, admin_gateway):
    admin_gateway.realm_not_before_set("mlflow", 1_700_000_000)

    realm = admin_gateway.realm_settings("mlflow")

    held = kc.admin().get_realm("mlflow")
    assert realm.name == "mlflow"
    assert realm.not_before_s == 1_700_000_000
    assert realm.admin_events_enabled == bool(held.get("adminEventsEnabled"))
    assert realm.lifespans["accessTokenLifespan"] == held["accessTokenLifespan"]
    assert "displayName" not in realm.lifespans  # lifespan fields only


def test_putting_lifespans_changes_only_them_and_keeps_every_other_setting(kc, admin_gateway):
    kc.admin().update_realm("mlflow", {"displayName": "MLflow stack"})
    realm = admin_gateway.realm_settings("mlflow")

    admin_gateway.realm_lifespans_put("mlflow", realm, {"accessTokenLifespan": 420})

    held = kc.admin().get_realm("mlflow")
    assert held["accessTokenLifespan"] == 420
    assert held["displayName"] == "MLflow stack"


def test_putting_client_attributes_keeps_its_other_attributes_and_reads_its_admin_url(
    kc, admin_gateway
):
    keycloak = kc.admin("mlflow")
    uuid = keycloak.get_client_id("mlflow")
    keycloak.update_client(
        uuid, {"adminUrl": "http://mlflow:5000/admin", "attributes": {"kept": "yes"}}
    )
    client = admin_gateway.client_get("mlflow", uuid)
    assert client.admin_url == "http://mlflow:5000/admin"

    admin_gateway.client_attributes_put("mlflow", client, {"access.token.lifespan": "600"})

    attributes = keycloak.get_client(uuid)["attributes"]
    assert attributes["access.token.lifespan"] == "600"
    assert attributes["kept"] == "yes"


def test_a_client_read_carries_its_not_before(admin_gateway, kc):
    uuid = kc.admin("mlflow").get_client_id("mlflow")
    admin_gateway.client_not_before_set("mlflow", uuid, 1_700_000_123)

    assert admin_gateway.client_get("mlflow", uuid).not_before_s == 1_700_000_123


def test_an_error_carries_the_status_keycloak_answered(kc, admin_gateway):
    kc.fault(path=r"/admin/realms/mlflow/clients$", method="GET", status=409)

    with pytest.raises(Conflict) as refused:
        admin_gateway.clients_list("mlflow")

    assert refused.value.keycloak_status == 409
    assert refused.value.status_text == "HTTP 409"


def test_an_error_without_an_answer_has_no_status(kc, admin_gateway):
    kc.fault(path=r"/admin/realms/mlflow/clients$", method="GET", reset_connection=True)

    with pytest.raises(KeycloakUnavailable) as failed:
        admin_gateway.clients_list("mlflow")

    assert failed.value.keycloak_status is None
    assert failed.value.status_text == "no answer"
