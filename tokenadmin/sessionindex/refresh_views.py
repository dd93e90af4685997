"""'Refresh now' and its progress: the freshness partial, swapped in place by htmx."""

from datetime import datetime

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from tokenadmin.http import AuthedRequest, render_poll, require_right

from .models import RealmIndex
from .refresh_start import realm_index_refresh_start
from .selectors import realm_totals_select
from .selectors_refresh import index_refresh_next_at, realm_index_get

FRESHNESS_TEMPLATE = "sessionindex/partials/freshness.html"


def freshness_context(*, realm: str, index: RealmIndex | None, now: datetime) -> dict[str, object]:
    """What the freshness partial shows: the realm's index, its live and ended sessions at
    `now` (the same counts as the page's cards), and when the schedule refreshes it next if
    its last refresh was cut off."""
    live, ended = realm_totals_select(realm=realm, now=now)
    context: dict[str, object] = {
        "realm": realm,
        "realm_index": index,
        "live_counts": live,
        "ended": ended,
    }
    if index is not None and index.lease_lapsed:
        context["next_refresh_at"] = index_refresh_next_at()
    return context


@require_POST
@require_right("view-users")
def refresh_now(request: AuthedRequest, realm: str) -> HttpResponse:
    """Queue a refresh of the realm's index as the worker; the admin's view-users on the realm
    was checked above (the worker's service account reads what the admin may read)."""
    index = realm_index_refresh_start(realm=realm)
    if not request.htmx:
        return redirect("sessions:realm", realm=realm)
    return render(
        request,
        FRESHNESS_TEMPLATE,
        freshness_context(realm=realm, index=index, now=timezone.now()),
    )


@require_GET
@require_right("view-users")
def refresh_progress(request: AuthedRequest, realm: str) -> HttpResponse:
    """Polled every second while a refresh runs; once it is over (or was cut off: its lease
    lapsed), stop polling (286) and tell the page its sessions changed. Opened directly: the
    realm's sessions page."""
    if not request.htmx:
        return redirect("sessions:realm", realm=realm)
    index = realm_index_get(realm=realm)
    context = freshness_context(realm=realm, index=index, now=timezone.now())
    done = index is None or not index.is_refreshing
    response = render_poll(request, FRESHNESS_TEMPLATE, context, done=done)
    if done:
        trigger_client_event(response, "sessions-changed")
    return response
