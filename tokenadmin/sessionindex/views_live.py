"""The user and client pages: live from Keycloak through the gateway, never from the index."""

from datetime import UTC, datetime

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tokenadmin.accounts.gateway import gateway_for
from tokenadmin.accounts.session_tokens import SID, rights_of
from tokenadmin.http import AuthedRequest, page_or_partial, require_right

from .forms import query_with
from .selectors_live import client_sessions_live_select, user_sessions_live_select

CLIENT_PAGE_SIZE = 50


@never_cache
@require_GET
@require_right("view-users")
def user_page(request: AuthedRequest, realm: str, user_id: str) -> HttpResponse:
    """One user's details, online sessions, offline sessions per client and consents, each
    with its revoke button when the admin holds manage-users (the revoke views check again).

    The one user page: the sessions browser, the ledger, job items and the revocation search all
    link here. After a revoke the page asks for its `user-sessions` part again."""
    live = user_sessions_live_select(gateway=gateway_for(request), realm=realm, user_id=user_id)
    return render(
        request,
        page_or_partial(request, "sessionindex/user.html", "user-sessions"),
        {
            "realm": realm,
            "live": live,
            "my_session_id": request.session.get(SID, ""),
            "can_view_clients": rights_of(request.session).can(realm, "view-clients"),
        },
    )


class ClientSessionsForm(forms.Form):
    type = forms.ChoiceField(
        required=False, choices=(("", "Online"), ("online", "Online"), ("offline", "Offline"))
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=10**6)


@never_cache
@require_GET
@require_right("view-clients")
@require_right("view-users")  # the sessions listed name users and their addresses
def client_page(request: AuthedRequest, realm: str, client_uuid: str) -> HttpResponse:
    """A client, its live online and offline session counts, its sessions page by page
    (Keycloak's first/max paging on clients/{uuid}/user-sessions or /offline-sessions) and the
    revoke actions the admin's rights allow. The one client page."""
    form = ClientSessionsForm(request.GET)
    form.is_valid()
    offline = form.cleaned_data.get("type") == "offline"
    number = form.cleaned_data.get("page") or 1
    live = client_sessions_live_select(
        gateway=gateway_for(request),
        realm=realm,
        client_uuid=client_uuid,
        offline=offline,
        first=(number - 1) * CLIENT_PAGE_SIZE,
        max_=CLIENT_PAGE_SIZE,
    )
    params = {"type": "offline"} if offline else {}
    not_before = live.client.not_before_s
    context = {
        "realm": realm,
        "form": form,
        "live": live,
        "number": number,
        "not_before_at": datetime.fromtimestamp(not_before, tz=UTC) if not_before else None,
        "my_session_id": request.session.get(SID, ""),
        "online_query": query_with({}),
        "offline_query": query_with({"type": "offline"}),
        "previous_query": query_with(params, page=number - 1 if number > 2 else None),
        "next_query": query_with(params, page=number + 1),
    }
    template = page_or_partial(request, "sessionindex/client.html", "client-sessions")
    return render(request, template, context)
