from django.http import HttpRequest

from tokenadmin.keycloak import Gateway, LoginExpired, gateway_for_token

from .session_tokens import ACCESS, access_token_seconds_left


# HttpRequest, not tokenadmin.http's AuthedRequest: only the session is read, and accounts stays
# below tokenadmin.http (which reads the admin's rights from here).
def gateway_for(request: HttpRequest) -> Gateway:
    """A gateway acting as the logged-in admin, with their own Keycloak access token."""
    token = request.session.get(ACCESS)
    if not token:
        raise LoginExpired("act as you in Keycloak")
    return gateway_for_token(token, int(access_token_seconds_left(request.session)))
