from tokenadmin.keycloak.types import KcClient
from tokenadmin.lifespans.effective import client_lifespans_matrix

MLFLOW_REALM = {
    "accessTokenLifespan": 300,
    "ssoSessionIdleTimeout": 1800,
    "ssoSessionMaxLifespan": 36000,
}


def client(client_id, **attributes):
    rep = {"id": f"uuid-{client_id}", "clientId": client_id, "attributes": attributes}
    return KcClient.from_representation(rep)


def cells(row):
    return {key: (cell.text, cell.state) for key, cell in row.cells.items()}


def test_a_client_without_overrides_inherits_every_value_and_offline_max_is_never():
    [row] = client_lifespans_matrix(realm_lifespans=MLFLOW_REALM, clients=[client("mlflow")])
    assert cells(row) == {
        "access": ("5 min", "inherited"),
        "session_idle": ("30 min", "inherited"),
        "session_max": ("10 h", "inherited"),
        "offline_idle": ("30 d", "inherited"),
        "offline_max": ("never", "never"),
    }


def test_an_api_client_with_60_minute_tokens_is_overridden():
    realm = {**MLFLOW_REALM, "accessTokenLifespan": 60}
    [row] = client_lifespans_matrix(
        realm_lifespans=realm, clients=[client("api-client", **{"access.token.lifespan": "3600"})]
    )
    assert cells(row)["access"] == ("1 h", "overridden")
    assert row.overrides["access.token.lifespan"] == "3600"


def test_a_client_max_above_sso_max_has_no_effect():
    [row] = client_lifespans_matrix(
        realm_lifespans=MLFLOW_REALM,
        clients=[client("mlflow", **{"client.session.max.lifespan": "43200"})],
    )
    assert cells(row)["session_max"] == ("10 h", "no-effect")
    assert "no effect" in row.cells["session_max"].note


def test_realm_client_values_are_inherited_and_a_client_offline_max_applies_without_realm_max():
    realm = {**MLFLOW_REALM, "clientSessionIdleTimeout": 900}
    rows = client_lifespans_matrix(
        realm_lifespans=realm,
        clients=[
            client("b-jobs", **{"client.offline.session.max.lifespan": "604800"}),
            client("a-web"),
        ],
    )
    assert [r.client_id for r in rows] == ["a-web", "b-jobs"]
    assert cells(rows[0])["session_idle"] == ("15 min", "inherited")
    assert rows[0].cells["session_idle"].note == "realm Client Session Idle"
    assert cells(rows[1])["offline_max"] == ("7 d", "overridden")


def test_offline_max_inherits_the_realm_value_when_enabled():
    realm = {
        **MLFLOW_REALM,
        "offlineSessionMaxLifespanEnabled": True,
        "offlineSessionMaxLifespan": 5184000,
    }
    [row] = client_lifespans_matrix(realm_lifespans=realm, clients=[client("mlflow")])
    assert cells(row)["offline_max"] == ("60 d", "inherited")
