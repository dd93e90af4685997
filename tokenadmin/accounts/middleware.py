"""Login for every page but /health, and the admin's Keycloak tokens kept fresh server-side."""

import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect

from tokenadmin.keycloak import KeycloakUnavailable, LoginExpired, Rejected
from tokenadmin.keycloak.oidc import tokens_refresh

from .session_tokens import REFRESH, access_token_seconds_left, tokens_store

logger = logging.getLogger(__name__)

# mozilla-django-oidc's own views: they are the way in, so they cannot require a login.
OIDC_URL_NAMES = {"oidc_authentication_init", "oidc_authentication_callback", "oidc_logout"}


def login_redirect(request: HttpRequest) -> HttpResponse:
    """Send the browser to log in; an htmx request gets HX-Redirect, never a 302 to swap."""
    if getattr(request, "htmx", False):
        next_path = request.htmx.current_url_abs_path or "/"
        login_url = resolve_url(settings.LOGIN_URL)
        return HttpResponseClientRedirect(redirect_to_login(next_path, login_url)["Location"])
    return redirect_to_login(request.get_full_path(), resolve_url(settings.LOGIN_URL))


class LoginRequiredMiddleware(DjangoLoginRequired):
    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match and match.url_name in OIDC_URL_NAMES:
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)

    def handle_no_permission(self, request, view_func):
        return login_redirect(request)


class TokenRefreshMiddleware:
    """Renew the admin's access token before it expires (master's live only 60 s).

    If the SSO session is gone, the Django login ends too; if Keycloak is down, the request goes
    on and the page reports Keycloak as unreachable.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if (
            request.user.is_authenticated
            and session.get(REFRESH)
            and access_token_seconds_left(session) < settings.KEYCLOAK_REFRESH_MARGIN_S
        ):
            try:
                tokens_store(session, tokens_refresh(session[REFRESH]))
            except (Rejected, LoginExpired):
                logger.info("Keycloak login of %s ended; signing out", request.user.username)
                logout(request)
                messages.info(request, "Your Keycloak session has ended. Please sign in again.")
                return login_redirect(request)
            except KeycloakUnavailable:
                logger.warning(
                    "Could not renew the login of %s: Keycloak unreachable", request.user.username
                )
        return self.get_response(request)
