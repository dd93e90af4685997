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

from tokenadmin.keycloak import LoginExpired, Rejected

from .renewal import admin_login_renew
from .session_tokens import REFRESH, access_token_seconds_left

logger = logging.getLogger(__name__)

# mozilla-django-oidc's own views: they are the way in, so they cannot require a login.
OIDC_URL_NAMES = {"oidc_authentication_init", "oidc_authentication_callback", "oidc_logout"}


def login_redirect(request: HttpRequest) -> HttpResponse:
    """Send the browser to log in; an htmx request gets HX-Redirect, never a 302 to swap."""
    htmx = getattr(request, "htmx", None)
    if htmx:
        next_path = htmx.current_url_abs_path or "/"
        login_url = resolve_url(settings.LOGIN_URL)
        return HttpResponseClientRedirect(redirect_to_login(next_path, login_url)["Location"])
    return redirect_to_login(request.get_full_path(), resolve_url(settings.LOGIN_URL))


class LoginRequiredMiddleware(DjangoLoginRequired):
    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match and match.url_name in OIDC_URL_NAMES:
            return None
        # The API (tokenadmin/api) answers "not authenticated" itself, as a problem document,
        # and takes bearer tokens: no redirect to a login page for scripts.
        if match and match.namespace == "api":
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)

    def handle_no_permission(self, request, view_func):
        return login_redirect(request)


class TokenRefreshMiddleware:
    """Renew the admin's access token before it expires (master's live only 60 s).

    If the SSO session is gone, the Django login ends too; if Keycloak is down or hung, the
    request goes on at once (see accounts/renewal.py) and the page says Keycloak is not
    answering. Views that need no login (/health, the sign-in views) never renew.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if not getattr(view_func, "login_required", True) or (
            match and match.url_name in OIDC_URL_NAMES
        ):
            return None
        session = request.session
        if not (
            request.user.is_authenticated
            and session.get(REFRESH)
            and access_token_seconds_left(session) < settings.KEYCLOAK_REFRESH_MARGIN_S
        ):
            return None
        try:
            admin_login_renew(session=session)
        except (Rejected, LoginExpired):
            logger.info("Keycloak login of %s ended; signing out", request.user.username)
            logout(request)
            messages.info(request, "Your Keycloak session has ended. Please sign in again.")
            return login_redirect(request)
        return None
