"""The server side of the command line: /cli.json tells `tokenadmin login` where Keycloak is
and which client to sign in with (public facts: the login page shows the same)."""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


@login_not_required
@require_GET
def cli_config(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "keycloak_url": settings.KEYCLOAK_PUBLIC_URL,
            "realm": settings.KEYCLOAK_REALM,
            "client_id": settings.CLI_CLIENT_ID,
            "api": "/api/v1/",
        }
    )
