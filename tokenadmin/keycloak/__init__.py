"""The gateway package: the only code in tokenadmin that imports python-keycloak."""

from .errors import (
    Conflict,
    Forbidden,
    GatewayError,
    KeycloakUnavailable,
    LoginExpired,
    NotFound,
    Rejected,
)
from .gateway import Gateway, gateway_for_token, gateway_for_worker

__all__ = [
    "Conflict",
    "Forbidden",
    "Gateway",
    "GatewayError",
    "KeycloakUnavailable",
    "LoginExpired",
    "NotFound",
    "Rejected",
    "gateway_for_token",
    "gateway_for_worker",
]
