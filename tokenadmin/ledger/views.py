import json

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tokenadmin.accounts.session_tokens import rights_of
from tokenadmin.core.csv import csv_lines
from tokenadmin.http import AuthedRequest, forbidden, page_or_partial

from .models import LedgerEntry
from .selectors import LedgerFilterForm, ledger_entries_visible_select

PAGE_SIZE = 50
CSV_COLUMNS = (
    "created_at",
    "actor_username",
    "realm",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "reason",
    "ticket",
    "outcome",
    "detail",
    "before",
    "after",
)


NO_RIGHTS = "Your Keycloak roles include no admin right on any realm."


def _entries(request: AuthedRequest) -> tuple[LedgerFilterForm, QuerySet[LedgerEntry]]:
    """The admin's entries: every entry of the realms whose users they may view; of the other
    realms they hold a right on, only the changes to settings (no user or session data)."""
    form = LedgerFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    return form, ledger_entries_visible_select(filters=filters, rights=rights_of(request.session))


@never_cache
@require_GET
def ledger_page(request: AuthedRequest) -> HttpResponse:
    if not rights_of(request.session).any_right():
        return forbidden(request, NO_RIGHTS)
    form, entries = _entries(request)
    paginator = Paginator(entries, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    template = page_or_partial(request, "ledger/ledger.html", "ledger-results")
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "realm_choices": _realm_choices(request),
    }
    return render(request, template, context)


def _realm_choices(request: AuthedRequest) -> list[str]:
    """The realms the realm filter offers: those the admin holds a right on (for master's admin,
    also every realm the ledger names)."""
    rights = rights_of(request.session)
    realms = set(rights.by_realm)
    if rights.is_superadmin:
        realms |= set(LedgerEntry.objects.values_list("realm", flat=True).distinct())
    return sorted(realms)


@never_cache
@require_GET
def ledger_csv(request: AuthedRequest) -> HttpResponseBase:
    """Every matching entry, streamed, so an export never holds the ledger in memory."""
    if not rights_of(request.session).any_right():
        return forbidden(request, NO_RIGHTS)
    _form, entries = _entries(request)

    def rows():
        yield CSV_COLUMNS
        for entry in entries.iterator(chunk_size=1000):
            values = []
            for column in CSV_COLUMNS:
                value = getattr(entry, column)
                if column in ("before", "after"):
                    value = json.dumps(value) if value is not None else ""
                elif column == "created_at":
                    value = value.isoformat()
                values.append(value)
            yield values

    response = StreamingHttpResponse(csv_lines(rows()), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="tokenadmin-ledger.csv"'
    return response
