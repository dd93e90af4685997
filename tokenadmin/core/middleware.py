from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.db import OperationalError
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


# SQLite says "database is locked" (or "busy") once its busy timeout has run out.
BUSY_WORDS = ("locked", "busy")
DATABASE_BUSY = (
    "Another process held the database for longer than a request waits for it, "
    "so this request stopped."
)
DATABASE_BUSY_RETRY_AFTER_S = 5
SIGN_IN_URL_NAMES = {"oidc_authentication_init", "oidc_authentication_callback"}


def database_is_busy(exception: BaseException | None) -> bool:
    """A lock timeout, also when wrapped (the session store turns it into UpdateError)."""
    for _ in range(5):
        if exception is None:
            return False
        if isinstance(exception, OperationalError):
            return any(word in str(exception).lower() for word in BUSY_WORDS)
        exception = exception.__cause__ or exception.__context__
    return False


def database_busy_response(request: HttpRequest) -> HttpResponse:
    """503 with a message (an htmx swap gets the partial); the session is not saved on it."""
    template = "database_busy.html"
    if getattr(request, "htmx", False):
        template += "#database-busy"
    match = getattr(request, "resolver_match", None)
    context = {
        "message": DATABASE_BUSY,
        "sign_in": bool(match and match.url_name in SIGN_IN_URL_NAMES),
    }
    response = render(request, template, context, status=503)
    response["Retry-After"] = str(DATABASE_BUSY_RETRY_AFTER_S)
    response.database_busy = True  # type: ignore[attr-defined]
    return response


class DatabaseBusyMiddleware:
    """The database locked by another writer past the busy timeout (SQLite waits that long,
    retrying, before it gives up): a clear 503 in the page, never a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return database_busy_response(request) if database_is_busy(exception) else None


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, except that a session save that finds the database locked becomes the same
    503 message (sign-in saves a session), and a busy answer does not wait a second time."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if getattr(response, "database_busy", False):
            return response
        try:
            return super().process_response(request, response)
        except Exception as exc:
            if not database_is_busy(exc):
                raise
            return database_busy_response(request)
