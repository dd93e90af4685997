"""The sessions pages that read the local index: the realms list, a realm's sessions, its CSV,
and saved views. The user and client pages read Keycloak live (views_live.py)."""

from datetime import datetime

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from tokenadmin.accounts.gateway import gateway_for
from tokenadmin.accounts.session_tokens import SID, rights_of
from tokenadmin.core.csv import csv_chunks
from tokenadmin.http import AuthedRequest, forbidden, page_or_partial, require_right
from tokenadmin.realms.selectors import realm_names_select

from .csv import sessions_csv_rows
from .filters import (
    DEFAULT_PER_PAGE,
    FILTER_KEYS,
    PER_PAGE_CHOICES,
    SORT_COLUMNS,
    SessionFilterForm,
    SessionFilters,
    SessionType,
)
from .forms import SavedViewForm, query_with
from .models import SavedView
from .refresh_views import freshness_context
from .rows_html import session_client_url_base, session_revoke_url_base, session_rows_html
from .selectors import (
    indexed_realms_select,
    indexed_sessions_select,
    realm_figures_select,
    saved_views_select,
)
from .selectors_page import SessionPage, indexed_sessions_page_select
from .selectors_refresh import realm_index_get
from .services import SavedViewInUse, saved_view_create, saved_view_delete

PAGE_TEMPLATE = "sessionindex/realm_sessions.html"
NO_REALM_TO_VIEW = "Your Keycloak roles do not include view-users on any realm."


@never_cache
@require_GET
def sessions_index(request: AuthedRequest) -> HttpResponse:
    """The realms whose users the admin may view, with what the index holds for each."""
    rights = rights_of(request.session)
    if not rights.any_right():
        return forbidden(request, NO_REALM_TO_VIEW)
    names = realm_names_select(gateway=gateway_for(request), rights=rights, right="view-users")
    if not names:
        return forbidden(request, NO_REALM_TO_VIEW)
    return render(
        request,
        "sessionindex/index.html",
        {"realms": indexed_realms_select(realms=names, now=timezone.now())},
    )


# What a narrow screen leaves out of the table: user, clients, expiry and the action stay.
DETAIL_COLUMNS = frozenset({"ip", "started", "last_access", "type", "remember_me"})


def _column_headers(params: dict[str, str], filters: SessionFilters) -> list[dict]:
    """Each sortable column's label, link and state: a click sorts by it, a second reverses."""
    current = filters.sort.removeprefix("-")
    descending = filters.sort.startswith("-")
    headers = []
    for key, (label, _field) in SORT_COLUMNS.items():
        active = key == current
        # Ascending on the first click everywhere, so a click always does the same thing.
        next_sort = f"-{key}" if active and not descending else key
        headers.append(
            {
                "key": key,
                "label": label,
                "active": active,
                "descending": active and descending,
                # Hidden on a phone (the row's details line under the user says them).
                "detail": key in DETAIL_COLUMNS,
                "query": query_with(params, sort=next_sort, page=None),
            }
        )
    return headers


def _results_context(
    request: AuthedRequest, realm: str, form: SessionFilterForm, now: datetime
) -> dict[str, object]:
    filters = form.filters()
    per_page = form.page_size()
    page: SessionPage = indexed_sessions_page_select(
        realm=realm,
        filters=filters,
        number=form.page_number(),
        per_page=per_page,
        my_session_id=request.session.get(SID, ""),
        now=now,
    )
    params = form.filter_query()
    if per_page != DEFAULT_PER_PAGE:
        params["per_page"] = str(per_page)
    page_params = {**params, "page": str(page.number)} if page.number > 1 else params
    rights = rights_of(request.session)
    can_revoke = rights.can(realm, "manage-users")
    can_view_clients = rights.can(realm, "view-clients")
    # Reversed once, not once per row and badge: reverse() costs ~0.2 ms a call.
    user_url_base = reverse("sessions:user", args=[realm, "-"]).removesuffix("-/")
    client_url_base = session_client_url_base(realm)
    revoke_url_base = session_revoke_url_base(realm)
    return {
        "realm": realm,
        "form": form,
        "filters": filters,
        "counts": page.counts,
        "page": page,
        "query": query_with(page_params),
        "filter_query": query_with(form.filter_query()),
        "headers": _column_headers(params, filters),
        "per_page_links": [
            {"size": n, "active": n == per_page, "query": query_with(params, per_page=n, page=None)}
            for n in PER_PAGE_CHOICES
        ],
        "previous_query": query_with(params, page=page.number - 1),
        "next_query": query_with(params, page=page.number + 1),
        "last_query": query_with(params, page=page.num_pages),
        "can_view_clients": can_view_clients,
        "can_revoke": can_revoke,
        # The realm's index, and when the next scheduled refresh runs if the last was cut off.
        **freshness_context(realm=realm, index=realm_index_get(realm=realm), now=now),
        # The table rows, built in Python (rows_html.py): the template engine spent most of
        # an htmx answer on them.
        "rows_html": session_rows_html(
            page.rows,
            can_revoke=can_revoke,
            can_view_clients=can_view_clients,
            user_url_base=user_url_base,
            client_url_base=client_url_base,
            revoke_url_base=revoke_url_base,
        ),
    }


@never_cache
@require_GET
@require_right("view-users")
def realm_sessions_page(request: AuthedRequest, realm: str) -> HttpResponse:
    """Every indexed session of a realm: search, filters, sort, paging, all in the URL."""
    form = SessionFilterForm(request.GET)
    # One "now" for the whole answer: which sessions have ended (predicted expiry passed since
    # the last refresh) is decided once, so the freshness line, cards, chart, client counts
    # and table all count the same live sessions.
    now = timezone.now()
    context = _results_context(request, realm, form, now)
    template = page_or_partial(request, PAGE_TEMPLATE, "session-results")
    if template == PAGE_TEMPLATE:
        # The cards and charts describe the whole realm and load with the page only: a search
        # or sort answers just the table (counts and one page), which keeps it instant.
        # From the figures kept with the index, less the sessions ended by `now`.
        summary, clients = realm_figures_select(realm=realm, now=now)
        chosen = form.filters().client
        context.update(
            {
                "clients": clients,
                # A shared link may name a client the index no longer holds: keep it selected.
                "client_missing": bool(chosen) and chosen not in {c.client_id for c in clients},
                "client_chart": {
                    "labels": [c.client_id for c in clients[:10]],
                    "values": [c.sessions for c in clients[:10]],
                },
                "summary": summary,
                "expiry_chart": {
                    "labels": [label for label, _n in summary.expiry_histogram],
                    "values": [n for _label, n in summary.expiry_histogram],
                },
                "type_choices": SessionType.CHOICES,
                **_saved_views_context(request, realm),
            }
        )
    return render(request, template, context)


@never_cache
@require_GET
@require_right("view-users")
def realm_sessions_csv(request: AuthedRequest, realm: str) -> StreamingHttpResponse:
    """The page's filtered set, all pages, streamed row by row (page and size are ignored)."""
    filters = SessionFilterForm(request.GET).filters()
    now = timezone.now()
    # Live sessions only, as the page lists them: an ended one is not in the file.
    sessions = indexed_sessions_select(realm=realm, filters=filters, now=now)
    index = realm_index_get(realm=realm)
    rows = sessions_csv_rows(sessions=sessions, refreshed_at=index.refreshed_at if index else None)
    response = StreamingHttpResponse(csv_chunks(rows), content_type="text/csv")
    stamp = now.strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="sessions-{realm}-{stamp}.csv"'
    return response


def _saved_views_context(
    request: AuthedRequest, realm: str, save_form: SavedViewForm | None = None
) -> dict[str, object]:
    rights = rights_of(request.session)
    may_manage = rights.can(realm, "manage-users")
    views = [
        {
            "view": view,
            # In the page's own order: PostgreSQL's jsonb keeps keys in its own order.
            "query": query_with({key: view.query[key] for key in FILTER_KEYS if key in view.query}),
            "deletable": may_manage or view.owner_id == request.user.pk,
        }
        for view in saved_views_select(realm=realm, user=request.user)
    ]
    return {"saved_views": views, "save_form": save_form or SavedViewForm(realm=realm)}


@never_cache
@require_POST
@require_right("view-users")
def saved_view_create_view(request: AuthedRequest, realm: str) -> HttpResponse:
    """Name the page's current filter; the form posts the filter fields along (hx-include)."""
    save_form = SavedViewForm(request.POST, realm=realm)
    filter_form = SessionFilterForm(request.POST)
    saved = save_form.is_valid()
    if saved:
        saved_view_create(
            actor=request.user,
            realm=realm,
            name=save_form.cleaned_data["name"],
            query=filter_form.filter_query(),
            description=save_form.cleaned_data["description"],
            shared=save_form.cleaned_data["shared"],
        )
    if not request.htmx:  # a plain form post: back to the sessions page, not a bare piece
        return redirect("sessions:realm", realm=realm)
    context = {"realm": realm, **_saved_views_context(request, realm, None if saved else save_form)}
    return render(request, f"{PAGE_TEMPLATE}#saved-views", context)


@never_cache
@require_POST
@require_right("view-users")
def saved_view_delete_view(request: AuthedRequest, realm: str, view_id: int) -> HttpResponse:
    view = get_object_or_404(SavedView, pk=view_id, realm=realm)
    rights = rights_of(request.session)
    if view.owner_id != request.user.pk and not rights.can(realm, "manage-users"):
        return forbidden(request, "Only its owner or an admin with manage-users may delete it.")
    refused = ""
    try:
        saved_view_delete(actor=request.user, view=view)
    except SavedViewInUse as in_use:
        refused = in_use.message
    if not request.htmx:
        return redirect("sessions:realm", realm=realm)
    context = {"realm": realm, "delete_refused": refused, **_saved_views_context(request, realm)}
    return render(request, f"{PAGE_TEMPLATE}#saved-views", context)
