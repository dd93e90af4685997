from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tokenadmin.accounts.middleware import login_redirect
from tokenadmin.keycloak import GatewayError, LoginExpired


class ContentSecurityPolicyMiddleware:
    """Send the CSP from settings (Django 5.2 has no built-in CSP)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class GatewayErrorMiddleware:
    """Keycloak slow, down or refusing becomes a clear message in the page, never a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, GatewayError):
            return None
        if isinstance(exception, LoginExpired):
            logout(request)
            return login_redirect(request)
        template = "gateway_error.html"
        if getattr(request, "htmx", False):
            template += "#gateway-error"
        return render(request, template, {"error": exception}, status=exception.status_code)
