"""Sessions over the API: a realm's indexed sessions with the sessions page's filters and
sorts (signed cursors, JSON or CSV); one user's and one client's sessions live from Keycloak."""

from datetime import datetime
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from tokenadmin.keycloak.types import KcSession
from tokenadmin.sessionindex.csv import sessions_csv_rows
from tokenadmin.sessionindex.filters import ROW_FILTER_KEYS, SessionFilterForm, SessionFilters
from tokenadmin.sessionindex.models import IndexedSession
from tokenadmin.sessionindex.search import term_matches
from tokenadmin.sessionindex.selectors import indexed_sessions_select, sort_order
from tokenadmin.sessionindex.selectors_live import (
    client_sessions_live_select,
    user_sessions_live_select,
)
from tokenadmin.sessionindex.selectors_page import (
    SMALL_SET,
    PageSession,
    indexed_sessions_page_select,
    page_sessions_select,
)
from tokenadmin.sessionindex.selectors_refresh import realm_index_get

from .auth import VIEW_USERS, caller_of
from .cursors import (
    MAX_LIMIT,
    filter_key_of,
    keyset_after_q,
    keyset_cursor_load,
    keyset_cursor_make,
)
from .schemas import ERRORS, ClientSessionsOut, SessionOut, SessionPage

# Mounted under /realms beside realms.py's router: the same URL tree, a separate concern.
router = Router(tags=["sessions"])


class SessionQuery(Schema):
    q: str = ""
    type: str = ""
    client: str = ""
    expiring_within: str = ""
    idle_over: str = ""
    older_than: str = ""
    sort: str = ""
    limit: int = 100
    cursor: str = Field(
        "",
        description="`next_cursor` of the page before, with the same filters and sort: the "
        "page starts after that page's last session (a keyset: as fast deep in as at the start).",
    )
    format: Literal["json", "csv"] = "json"


def _session_out(s: PageSession | KcSession) -> SessionOut:
    """One session as the API shows it, from the index or read live (no predicted end then)."""
    if isinstance(s, PageSession):
        session_id, expires_at = s.session_id, s.expires_at
    else:
        session_id, expires_at = s.id, None
    # Not validated here: django-ninja validates the whole answer against the schema once on
    # the way out (validating each of 500 rows here as well doubled the answer's time).
    return SessionOut.model_construct(
        session_id=session_id,
        type="offline" if s.offline else "regular",
        username=s.username,
        user_id=s.user_id,
        ip_address=s.ip_address,
        started_at=s.started_at,
        last_access_at=s.last_access_at,
        remember_me=s.remember_me,
        clients=sorted(s.clients.values()),
        expires_at=expires_at,
    )


def _page_rows(
    *,
    realm: str,
    filters: SessionFilters,
    sessions: QuerySet[IndexedSession],
    cursor: str,
    filter_key: str,
    limit: int,
    now: datetime,
) -> list[PageSession]:
    """Up to `limit` sessions of the query, after the cursor's key if there is one."""
    order = sort_order(filters.sort)
    if filters.q:
        # A rare term: its few sessions from the trigram table, as the sessions page finds
        # them, instead of testing every row of the sort index (the search still applies).
        found = term_matches(realm=realm, term=filters.q, offline=None, few=SMALL_SET)
        if found is not None and found.rows is not None:
            sessions = sessions.filter(id__in=[pk for pk, _offline in found.rows])
    if cursor:
        # Keyset: the rows after the cursor's key, read from that point of the sort index.
        after = keyset_cursor_load(cursor, IndexedSession, order, filter_key)
        sessions = sessions.filter(keyset_after_q(IndexedSession, order, after))
    elif filters.expiring_within_s is not None and order[0].removeprefix("-") != "expires_at":
        # "Expiring within" sorted by another column, first page: read straight, the database
        # takes the expiry range and sorts every match (270 ms at 100k); the sessions page's
        # own first page walks the sort index instead (75 ms, its counts included).
        page = indexed_sessions_page_select(
            realm=realm, filters=filters, number=1, per_page=limit, now=now
        )
        return [row.session for row in page.rows]
    # Ids first, inside the sort index, then one page of rows (no counts: scripts page on).
    ids = list(sessions.values_list("id", flat=True)[:limit])
    by_id = page_sessions_select(ids)
    return [by_id[pk] for pk in ids if pk in by_id]


def _last_key(rows: list[PageSession], order: list[str]) -> dict[str, Any] | None:
    """The sort columns of the page's last row still indexed. A refresh may drop rows between
    the two reads: then an earlier row's key, so the next page repeats a few, never skips."""
    fields = [term.removeprefix("-") for term in order]
    for ids in ([rows[-1].id], [row.id for row in rows]):
        keys = {k["id"]: k for k in IndexedSession.objects.filter(pk__in=ids).values(*fields)}
        for row in reversed(rows):
            if row.id in keys:
                return keys[row.id]
    return None


@router.get(
    "/{realm}/sessions",
    auth=VIEW_USERS,
    response={200: SessionPage, **ERRORS},
    summary="Sessions of a realm (the sessions page's filters and sorts)",
    description="`format=csv` streams every matching session as CSV (cursor and limit ignored).",
)
def sessions_list(
    request: HttpRequest, realm: str, params: Query[SessionQuery]
) -> StreamingHttpResponse | SessionPage:
    query = {k: getattr(params, k) for k in (*ROW_FILTER_KEYS, "sort") if getattr(params, k)}
    form = SessionFilterForm(query)
    if form.errors:
        raise HttpError(400, " ".join(form.error_texts()))
    if not 1 <= params.limit <= MAX_LIMIT:
        raise HttpError(400, f"limit must be between 1 and {MAX_LIMIT}.")
    index = realm_index_get(realm=realm)
    now = timezone.now()
    filters = form.filters()
    sessions = indexed_sessions_select(realm=realm, filters=filters, now=now)
    refreshed_at = index.refreshed_at if index else None
    if params.format == "csv":
        response = StreamingHttpResponse(
            sessions_csv_rows(sessions=sessions, refreshed_at=refreshed_at),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{realm}-sessions.csv"'
        response["Cache-Control"] = "no-store"
        return response
    filter_key = filter_key_of(query)
    order = sort_order(filters.sort)
    rows = _page_rows(
        realm=realm,
        filters=filters,
        sessions=sessions,
        cursor=params.cursor,
        filter_key=filter_key,
        limit=params.limit + 1,
        now=now,
    )
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    key = _last_key(rows, order) if more else None
    next_cursor = keyset_cursor_make(key, order, filter_key) if key else None
    return SessionPage.model_construct(
        realm=realm,
        refreshed_at=refreshed_at,
        items=[_session_out(s) for s in rows],
        next_cursor=next_cursor,
    )


@router.get(
    "/{realm}/users/{user_id}/sessions",
    auth=VIEW_USERS,
    response={200: list[SessionOut], **ERRORS},
    summary="One user's sessions, online and offline, live from Keycloak",
)
def user_sessions(request: HttpRequest, realm: str, user_id: str) -> list[SessionOut]:
    live = user_sessions_live_select(
        gateway=caller_of(request).gateway(), realm=realm, user_id=user_id
    )
    offline = {s.id: s for group in live.offline_by_client for s in group.sessions}
    return [_session_out(s) for s in [*live.online, *offline.values()]]


@router.get(
    "/{realm}/clients/{client_uuid}/sessions",
    auth=VIEW_USERS,
    response={200: ClientSessionsOut, **ERRORS},
    summary="One client's sessions (a page, first/max as Keycloak), live from Keycloak",
)
def client_sessions(
    request: HttpRequest,
    realm: str,
    client_uuid: str,
    offline: bool = False,
    first: int = Query(0, ge=0, le=10**7),
    max: int = Query(100, ge=1, le=MAX_LIMIT),
) -> ClientSessionsOut:
    live = client_sessions_live_select(
        gateway=caller_of(request).gateway(),
        realm=realm,
        client_uuid=client_uuid,
        offline=offline,
        first=first,
        max_=max,
    )
    return ClientSessionsOut(
        client_id=live.client.client_id,
        online_count=live.online_count,
        offline_count=live.offline_count,
        items=[_session_out(s) for s in live.sessions],
    )
