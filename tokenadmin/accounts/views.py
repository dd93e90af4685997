from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

from .session_tokens import TOKEN_KEYS


@login_not_required
def signed_out(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/signed_out.html")


@login_not_required
def login_failed(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/login_failed.html", status=401)


class KeycloakCallbackView(OIDCAuthenticationCallbackView):
    """mozilla-django-oidc's callback, keeping the new tokens when one admin replaces another.

    Django's login() flushes the session when a different user signs in on the same browser,
    which would drop the tokens the backend just stored; carry them over the flush.
    """

    def login_success(self) -> HttpResponse:
        session = self.request.session
        carried = {key: session[key] for key in TOKEN_KEYS if key in session}
        response = super().login_success()
        for key, value in carried.items():
            session[key] = value
        return response
