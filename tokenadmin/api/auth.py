"""Who calls the API: a browser session (as the pages) or a bearer access token from Keycloak.

A bearer token is verified against Keycloak's JWKS (keycloak/oidc.py) and every Keycloak call
of the request is made with it, so Keycloak decides and its admin events name the caller.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from ninja.security.base import AuthBase

from tokenadmin.accounts.backend import KeycloakBackend
from tokenadmin.accounts.gateway import gateway_for
from tokenadmin.accounts.models import User
from tokenadmin.accounts.rights import AdminRights
from tokenadmin.accounts.session_tokens import SID, rights_of
from tokenadmin.keycloak import Gateway, gateway_for_token
from tokenadmin.keycloak.oidc import TokenInvalid, access_token_verify

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


class NotAuthenticated(Exception):
    """No caller, or one we refuse; the message says why (never the token)."""


@dataclass(frozen=True)
class Caller:
    user: User
    rights: AdminRights
    own_session_id: str
    gateway: Callable[[], Gateway]
    by_bearer: bool


def _bearer_caller(token: str) -> Caller:
    try:
        claims = access_token_verify(token)
    except TokenInvalid as exc:
        raise NotAuthenticated(f"Bearer token refused: {exc}.") from None
    backend = KeycloakBackend()
    user = backend.filter_users_by_claims(claims).first()
    if user is None:
        user = backend.create_user(claims)
    elif user.email != claims.get("email", "") or not user.username.startswith(
        claims.get("preferred_username") or claims["sub"]
    ):
        # As at sign-in; left alone otherwise, so a script's calls do not each write a row.
        user = backend.update_user(user, claims)
    expires_in = int(claims["exp"] - time.time())
    return Caller(
        user=user,
        rights=AdminRights.from_claims(claims),
        own_session_id=str(claims.get("sid", "")),
        gateway=lambda: gateway_for_token(token, expires_in),
        by_bearer=True,
    )


def _csrf_refusal(request: HttpRequest) -> str | None:
    """Django's own CSRF check, for a browser session's unsafe method."""
    check = CsrfViewMiddleware(lambda r: HttpResponse())
    check.process_request(request)
    response = check.process_view(request, lambda r: HttpResponse(), (), {})
    return None if response is None else "CSRF check failed: send the csrftoken as X-CSRFToken."


def api_caller_resolve(request: HttpRequest) -> Caller:
    """The caller of an API request, or NotAuthenticated."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("Send 'Authorization: Bearer <access token>'.")
        return _bearer_caller(token.strip())
    if not request.user.is_authenticated:
        raise NotAuthenticated("Sign in, or send a Keycloak access token as a bearer token.")
    if request.method in UNSAFE:
        refusal = _csrf_refusal(request)
        if refusal:
            raise PermissionError(refusal)
    user = request.user
    assert isinstance(user, User)
    return Caller(
        user=user,
        rights=rights_of(request.session),
        own_session_id=request.session.get(SID, ""),
        gateway=lambda: gateway_for(request),
        by_bearer=False,
    )


def caller_of(request: HttpRequest) -> Caller:
    """The caller CallerAuth resolved for this request (every operation has an auth)."""
    caller = request.auth  # type: ignore[attr-defined]
    assert isinstance(caller, Caller)
    return caller


def require_right(caller: Caller, realm: str, right: str) -> None:
    if not caller.rights.can(realm, right):
        raise PermissionError(f"Your Keycloak roles do not include {right} on {realm}.")


class CallerAuth(AuthBase):
    """Browser session (CSRF on unsafe methods) or a Keycloak bearer token; with `right`, the
    caller's roles must grant it on the URL's realm, checked before the body is read (so a
    caller without rights learns nothing from a 400)."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __init__(self, right: str = "") -> None:
        super().__init__()
        self.right = right

    def __call__(self, request: HttpRequest) -> Caller | None:
        caller = api_caller_resolve(request)
        match = request.resolver_match
        if self.right and match and "realm" in match.kwargs:
            require_right(caller, str(match.kwargs["realm"]), self.right)
        return caller


VIEW_USERS = CallerAuth("view-users")
MANAGE_USERS = CallerAuth("manage-users")
VIEW_REALM = CallerAuth("view-realm")
MANAGE_REALM = CallerAuth("manage-realm")
