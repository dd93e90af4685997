"""One-target revokes (POST, htmx); the old user and client page URLs redirect to the one
user and client pages under sessions/."""

from collections.abc import Callable

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from tokenadmin.accounts.gateway import gateway_for
from tokenadmin.accounts.session_tokens import SID
from tokenadmin.http import AuthedRequest, require_right

from . import realmwide, services
from .forms import OptionalReasonForm
from .outcomes import RevocationRefused, RevokeOutcome
from .selectors import users_find_select


def _reason(request: AuthedRequest) -> dict[str, str]:
    form = OptionalReasonForm(request.POST)
    form.is_valid()
    return {
        "reason": form.cleaned_data.get("reason", ""),
        "ticket": form.cleaned_data.get("ticket", ""),
    }


def outcome_response(request: AuthedRequest, outcome: RevokeOutcome) -> HttpResponse:
    template = "revocation/result.html#outcome" if request.htmx else "revocation/result.html"
    response = render(request, template, {"outcome": outcome})
    return trigger_client_event(response, "sessions-changed")


def refused_response(request: AuthedRequest, refused: RevocationRefused) -> HttpResponse:
    template = "revocation/result.html#refused" if request.htmx else "revocation/result.html"
    return render(request, template, {"refused": refused.message}, status=409)


def _revoke_response(
    request: AuthedRequest, revoke: Callable[..., RevokeOutcome], **target: object
) -> HttpResponse:
    """Call one single-target service with the admin, actor and reason; render what it did."""
    try:
        outcome = revoke(
            admin=gateway_for(request), actor=request.user, **target, **_reason(request)
        )
    except RevocationRefused as refused:
        return refused_response(request, refused)
    return outcome_response(request, outcome)


@require_POST
@require_right("manage-users")
def revoke_session(
    request: AuthedRequest, realm: str, user_id: str, session_id: str
) -> HttpResponse:
    return _revoke_response(
        request,
        services.session_revoke,
        realm=realm,
        user_id=user_id,
        session_id=session_id,
        own_session_id=request.session.get(SID, ""),
    )


@require_POST
@require_right("manage-users")
def revoke_offline_session(
    request: AuthedRequest, realm: str, user_id: str, session_id: str
) -> HttpResponse:
    return _revoke_response(
        request,
        services.offline_session_revoke,
        realm=realm,
        user_id=user_id,
        session_id=session_id,
        own_session_id=request.session.get(SID, ""),
    )


@require_POST
@require_right("manage-users")
def sign_out_user(request: AuthedRequest, realm: str, user_id: str) -> HttpResponse:
    return _revoke_response(request, services.user_sign_out, realm=realm, user_id=user_id)


@require_POST
@require_right("manage-users")
def revoke_consent(
    request: AuthedRequest, realm: str, user_id: str, client_id: str
) -> HttpResponse:
    return _revoke_response(
        request, services.consent_revoke, realm=realm, user_id=user_id, client_id=client_id
    )


@require_POST
@require_right("manage-realm")
def realm_not_before(request: AuthedRequest, realm: str) -> HttpResponse:
    return _revoke_response(
        request,
        realmwide.realm_not_before_update,
        realm=realm,
        clear=request.POST.get("clear") == "1",
    )


@require_POST
@require_right("manage-realm")
def realm_push(request: AuthedRequest, realm: str) -> HttpResponse:
    return _revoke_response(request, realmwide.revocation_push, realm=realm)


@require_POST
@require_right("manage-clients")
def client_not_before(request: AuthedRequest, realm: str, client_id: str) -> HttpResponse:
    return _revoke_response(
        request,
        realmwide.client_not_before_update,
        realm=realm,
        client_id=client_id,
        clear=request.POST.get("clear") == "1",
    )


@require_POST
@require_right("manage-clients")
def client_push(request: AuthedRequest, realm: str, client_id: str) -> HttpResponse:
    return _revoke_response(request, realmwide.revocation_push, realm=realm, client_id=client_id)


@never_cache  # the redirect names a user id: no cache keeps it either
@require_GET
@require_right("view-users")
def user_page(request: AuthedRequest, realm: str, user_id: str) -> HttpResponse:
    """The old revocation user page: the one user page now lives under sessions."""
    return redirect("sessions:user", realm=realm, user_id=user_id)


@never_cache
@require_GET
@require_right("view-users")
def user_find(request: AuthedRequest, realm: str) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    users = users_find_select(admin=gateway_for(request), realm=realm, query=query)
    return render(
        request, "revocation/user_find.html", {"realm": realm, "query": query, "users": users}
    )


@require_GET
@require_right("view-clients")
def client_find(request: AuthedRequest, realm: str) -> HttpResponse:
    client_id = request.GET.get("client", "").strip()
    if not client_id:
        return redirect("revocation:index")
    return client_page(request, realm=realm, client_id=client_id)


@require_GET
@require_right("view-clients")
def client_page(request: AuthedRequest, realm: str, client_id: str) -> HttpResponse:
    """The old revocation client page (by clientId): on to the one client page (by uuid)."""
    client = realmwide.client_or_not_found(gateway_for(request), realm, client_id)
    return redirect("sessions:client", realm=realm, client_uuid=client.uuid)
