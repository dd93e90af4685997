"""Acting as one of the cast against the emulator, without a browser: their own token and user."""

from dataclasses import dataclass

import pytest
from django.conf import settings

from tokenadmin.accounts.models import User
from tokenadmin.keycloak import Gateway, gateway_for_token
from tokenadmin.keycloak.oidc import unverified_claims


@dataclass
class Acting:
    gateway: Gateway
    user: User
    session_id: str


@pytest.fixture
def acting_as(kc, db):
    """A gateway carrying the cast member's own access token, their Django user and sid."""

    def login(username: str) -> Acting:
        tokens = kc.password_login(
            "master",
            settings.KEYCLOAK_CLIENT_ID,
            username,
            username,
            secret=settings.KEYCLOAK_CLIENT_SECRET,
        )
        claims = unverified_claims(tokens["access_token"])
        user, _ = User.objects.get_or_create(
            keycloak_sub=claims["sub"], defaults={"username": username}
        )
        return Acting(
            gateway_for_token(tokens["access_token"], int(tokens["expires_in"])),
            user,
            claims.get("sid", ""),
        )

    return login


@dataclass
class LiveSession:
    realm: str
    user_id: str
    session_id: str
    tokens: dict


@pytest.fixture
def mlflow_login(kc):
    """A real password login of mlflow_user to client mlflow: a session and a refresh token."""

    def login(offline: bool = False, username: str = "mlflow_user") -> LiveSession:
        tokens = kc.password_login(
            "mlflow", "mlflow", username, username, secret="mlflow-secret", offline=offline
        )
        user_id = kc.admin("mlflow").get_user_id(username)
        return LiveSession("mlflow", user_id, tokens["session_state"], tokens)

    return login
