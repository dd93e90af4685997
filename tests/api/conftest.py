import pytest
from django.test import Client

from tokenadmin.sessionindex.refresh import realm_index_refresh

SECRET = "tokenadmin-dev-secret"


@pytest.fixture
def bearer_for(kc, db):
    """A Django client that sends a Keycloak access token issued to tokenadmin for `username`."""

    def make(username: str) -> Client:
        token = kc.password_login("master", "tokenadmin", username, username, secret=SECRET)
        return Client(headers={"Authorization": f"Bearer {token['access_token']}"})

    return make


@pytest.fixture
def mlflow_sessions(kc, db):
    """Two mlflow_user sessions in Keycloak, the index refreshed."""
    ids = [
        kc.password_login("mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret")[
            "session_state"
        ]
        for _ in range(2)
    ]
    realm_index_refresh(realm="mlflow")
    return ids
