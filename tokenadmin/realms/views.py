from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tokenadmin.accounts.gateway import gateway_for
from tokenadmin.accounts.session_tokens import rights_of
from tokenadmin.http import AuthedRequest, forbidden

from .selectors import realms_overview_select


@require_GET
def realms_page(request: AuthedRequest) -> HttpResponse:
    rights = rights_of(request.session)
    if not rights.any_right():
        return forbidden(request, "Your Keycloak account holds no admin role on any realm.")
    rows = realms_overview_select(gateway=gateway_for(request), rights=rights)
    return render(request, "realms/realms.html", {"rows": rows})
