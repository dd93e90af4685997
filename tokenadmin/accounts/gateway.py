from tokenadmin.http import AuthedRequest
from tokenadmin.keycloak import Gateway, LoginExpired, gateway_for_token

from .session_tokens import ACCESS, access_token_seconds_left


def gateway_for(request: AuthedRequest) -> Gateway:
    """A gateway acting as the logged-in admin, with their own Keycloak access token."""
    token = request.session.get(ACCESS)
    if not token:
        raise LoginExpired("act as you in Keycloak")
    return gateway_for_token(token, int(access_token_seconds_left(request.session)))
