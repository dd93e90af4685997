"""The realm picker and the realm lifespans editor (settings, diff, impact, rollback)."""

from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from tokenadmin.accounts.gateway import gateway_for
from tokenadmin.accounts.session_tokens import rights_of
from tokenadmin.http import AuthedRequest, forbidden, page_or_partial, require_right

from .editing import EditorState, editor_open, editor_submit, values_from_token
from .selectors import history_page_select, lifespan_realms_select, snapshot_get

PAGE = "lifespans/realm.html"
BODY = "lifespans-body"


def _render_editor(request: AuthedRequest, realm: str, state: EditorState) -> HttpResponse:
    rights = rights_of(request.session)
    context = {
        "realm": realm,
        "state": state,
        "tab": "settings",
        "can_save": rights.can(realm, "manage-realm"),
        "history": history_page_select(
            realm=realm, current=state.current, number=request.GET.get("history", 1)
        ),
    }
    return render(request, page_or_partial(request, PAGE, BODY), context)


@require_GET
def lifespans_index(request: AuthedRequest) -> HttpResponse:
    rights = rights_of(request.session)
    if not rights.any_right():
        return forbidden(request, "Your Keycloak account holds no admin role on any realm.")
    realms = lifespan_realms_select(gateway=gateway_for(request), rights=rights)
    return render(request, "lifespans/index.html", {"realms": realms})


@require_GET
@require_right("view-realm")
def realm_lifespans_page(request: AuthedRequest, realm: str) -> HttpResponse:
    state = editor_open(gateway=gateway_for(request), realm=realm)
    return _render_editor(request, realm, state)


@require_GET
@require_right("manage-realm")
def realm_lifespans_rollback(request: AuthedRequest, realm: str, snapshot_id: int) -> HttpResponse:
    """Open the editor on a snapshot's values, already at the diff: confirming rolls back."""
    snapshot = snapshot_get(realm=realm, snapshot_id=snapshot_id)
    if snapshot is None:
        return HttpResponseBadRequest("No such snapshot of this realm.")
    state = editor_open(
        gateway=gateway_for(request), realm=realm, rollback_of=snapshot, actor=request.user
    )
    return _render_editor(request, realm, state)


@require_POST
@require_right("manage-realm")
def realm_lifespans_save(request: AuthedRequest, realm: str) -> HttpResponse:
    loaded = values_from_token(request.POST.get("loaded", ""))
    if loaded is None:
        return HttpResponseBadRequest("The form is damaged or too old: reload the page.")
    rollback_of = None
    if rollback_id := request.POST.get("rollback_of", "").strip():
        if not rollback_id.isdigit():
            return HttpResponseBadRequest("Bad snapshot id.")
        rollback_of = snapshot_get(realm=realm, snapshot_id=int(rollback_id))
    state = editor_submit(
        gateway=gateway_for(request),
        realm=realm,
        data=request.POST,
        loaded=loaded,
        step=request.POST.get("step", "review"),
        accept_warnings=request.POST.get("accept_warnings") == "on",
        reviewed=values_from_token(request.POST.get("reviewed", "")),
        rollback_of=rollback_of,
        actor=request.user,
    )
    return _render_editor(request, realm, state)
