from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tokenadmin.http import AuthedRequest, require_right

from .record import EXPIRING_LABELS, IDLE_LABELS
from .selectors import DEFAULT_SPAN, SPANS, realm_history_select
from .tables import history_rows_html


@never_cache
@require_GET
@require_right("view-users")
def realm_history_page(request: AuthedRequest, realm: str) -> HttpResponse:
    """The realm's sessions over time, with the ledger's changes as markers."""
    span = request.GET.get("span", DEFAULT_SPAN)
    if span not in SPANS:  # a hand-edited link: the default span, said so
        span, unknown_span = DEFAULT_SPAN, True
    else:
        unknown_span = False
    history = realm_history_select(realm=realm, span=span, now=timezone.now())
    return render(
        request,
        "history/realm_history.html",
        {
            "realm": realm,
            "history": history,
            "chart_data": history.chart_data(),
            "rows_html": history_rows_html(history),
            "last_clients": [
                (name, history.points[-1].clients[name]) for name in history.top_clients
            ],
            "spans": list(SPANS),
            "unknown_span": unknown_span,
            "expiring_labels": EXPIRING_LABELS,
            "idle_labels": IDLE_LABELS,
        },
    )
