from django.http import HttpRequest
from django.urls import reverse

from tokenadmin.keycloak.oidc import end_session_url

from .session_tokens import ID


def keycloak_logout_url(request: HttpRequest) -> str:
    """Called by mozilla-django-oidc's logout view before it clears the Django session."""
    signed_out = request.build_absolute_uri(reverse("accounts:signed-out"))
    id_token = request.session.get(ID)
    if not id_token:
        return signed_out
    return end_session_url(id_token=id_token, post_logout_redirect_uri=signed_out)
