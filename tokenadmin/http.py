"""The typed request every view takes, and helpers views share."""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.http import HttpResponseStopPolling
from django_htmx.middleware import HtmxDetails

from tokenadmin.accounts.models import User
from tokenadmin.accounts.session_tokens import rights_of


class AuthedRequest(HttpRequest):
    htmx: HtmxDetails
    user: User


def page_or_partial(request: AuthedRequest, page: str, partial: str) -> str:
    """The whole page for a normal load; just the named partial for an htmx swap."""
    h = request.htmx
    if h and not h.boosted and not h.history_restore_request:
        return f"{page}#{partial}"
    return page


def render_poll(request: HttpRequest, template: str, context: dict, *, done: bool) -> HttpResponse:
    """The answer to an htmx poll (`hx-trigger="every 1s"`): the partial, and once `done` the
    status htmx documents for "stop polling" (286, django-htmx's HttpResponseStopPolling),
    which still swaps the final state in. The one way a poll stops; the page rendered for a
    finished thing simply carries no hx-trigger."""
    response = render(request, template, context)
    if done:
        response.status_code = HttpResponseStopPolling.status_code
    return response


def forbidden(request: HttpRequest, reason: str) -> HttpResponse:
    template = "403.html#forbidden" if getattr(request, "htmx", False) else "403.html"
    return render(request, template, {"reason": reason}, status=403)


def require_right(right: str) -> Callable:
    """Refuse a view unless the admin's roles grant `right` on the URL's `realm`.

    Keycloak checks again on every call; this only avoids offering what would be refused.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: AuthedRequest, *args: object, **kwargs: object) -> HttpResponse:
            realm = str(kwargs.get("realm", ""))
            if not rights_of(request.session).can(realm, right):
                return forbidden(request, f"Your Keycloak roles do not include {right} on {realm}.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
