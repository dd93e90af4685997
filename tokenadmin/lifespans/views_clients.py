"""Effective lifespans per client, and editing a client's overrides."""

from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from tokenadmin.accounts.gateway import gateway_for
from tokenadmin.accounts.session_tokens import rights_of
from tokenadmin.http import AuthedRequest, page_or_partial, require_right

from .clients import (
    PRESETS,
    PRESETS_BY_KEY,
    client_overrides_parse,
    override_inputs,
    override_texts,
)
from .effective import COLUMNS
from .selectors_clients import client_for_overrides_get, client_matrix_select
from .services import client_lifespans_update

PAGE = "lifespans/clients.html"


def _matrix_context(request: AuthedRequest, realm: str) -> dict:
    matrix = client_matrix_select(gateway=gateway_for(request), realm=realm)
    return {
        "realm": realm,
        "tab": "clients",
        "columns": COLUMNS,
        "rows": matrix.rows,
        "state": {"drift": matrix.drift},
        "can_edit": rights_of(request.session).can(realm, "manage-clients"),
        "can_save": rights_of(request.session).can(realm, "manage-realm"),
        "presets": PRESETS,
    }


@require_GET
@require_right("view-realm")
@require_right("view-clients")  # Keycloak lists a realm's clients only with it
def client_lifespans_page(request: AuthedRequest, realm: str) -> HttpResponse:
    context = _matrix_context(request, realm)
    return render(request, page_or_partial(request, PAGE, "client-matrix"), context)


def _editor_response(request: AuthedRequest, realm: str, context: dict) -> HttpResponse:
    """The editor alone for an htmx swap; opened directly (new tab, reload), the whole clients
    page with the editor in its slot, never an unstyled piece."""
    if request.htmx:
        return render(request, "lifespans/clients.html#client-editor", context)
    return render(request, PAGE, {**_matrix_context(request, realm), **context})


@require_http_methods(["GET", "POST"])
@require_right("manage-clients")
def client_lifespans_edit(request: AuthedRequest, realm: str, client_uuid: str) -> HttpResponse:
    """GET: the override editor (optionally filled from ?preset=); POST: save the overrides."""
    gateway = gateway_for(request)
    client = client_for_overrides_get(gateway=gateway, realm=realm, client_uuid=client_uuid)
    context: dict = {"realm": realm, "client": client, "presets": PRESETS, "columns": COLUMNS}
    if request.method == "GET":
        preset_key = request.GET.get("preset", "")
        if preset_key and preset_key not in PRESETS_BY_KEY:
            return HttpResponseBadRequest("Unknown preset.")
        preset = PRESETS_BY_KEY.get(preset_key)
        attributes = preset.attributes if preset else client.attributes
        context.update(inputs=override_inputs(override_texts(attributes), {}), preset=preset)
        return _editor_response(request, realm, context)
    parsed = client_overrides_parse(request.POST)
    if parsed.errors:
        context.update(inputs=override_inputs(parsed.typed, parsed.errors), errors=parsed.errors)
        return _editor_response(request, realm, context)
    outcome = client_lifespans_update(
        gateway=gateway,
        realm=realm,
        client_uuid=client_uuid,
        overrides=parsed.attributes,
        actor=request.user,
    )
    if not request.htmx:
        return redirect("lifespans:clients", realm=realm)
    context = _matrix_context(request, realm)
    context["saved"] = outcome
    return render(request, "lifespans/clients.html#client-matrix", context)
