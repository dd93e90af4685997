"""The ledger over the API, with the ledger page's filters (and its visibility rules)."""

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from tokenadmin.ledger.selectors import LedgerFilterForm, ledger_entries_visible_select

from .auth import caller_of
from .cursors import MAX_LIMIT, cursor_offset, cursor_offset_make, filter_key_of
from .schemas import ERRORS, LedgerEntryOut, LedgerPage

router = Router(tags=["ledger"])


class LedgerQuery(Schema):
    q: str = ""
    realm: str = ""
    action: str = ""
    outcome: str = ""
    actor: str = ""
    since: str = Field("", description="YYYY-MM-DD")
    until: str = Field("", description="YYYY-MM-DD")
    limit: int = Field(100, ge=1, le=MAX_LIMIT)
    cursor: str = ""


@router.get("", response={200: LedgerPage, **ERRORS}, summary="The ledger, with the page's filters")
def ledger_list(request: HttpRequest, params: Query[LedgerQuery]) -> LedgerPage:
    caller = caller_of(request)
    if not caller.rights.any_right():
        raise PermissionError("Your Keycloak roles grant no admin right on any realm.")
    query = {k: v for k, v in params.dict().items() if k not in ("limit", "cursor") and v}
    form = LedgerFilterForm(query)
    if not form.is_valid():
        texts = [f"{name}: {' '.join(str(e) for e in errs)}" for name, errs in form.errors.items()]
        raise HttpError(400, " ".join(texts))
    entries = ledger_entries_visible_select(filters=form.cleaned_data, rights=caller.rights)
    filter_key = filter_key_of(query)
    offset = cursor_offset(params.cursor, filter_key)
    rows = list(entries[offset : offset + params.limit + 1])
    more = len(rows) > params.limit
    return LedgerPage(
        items=[
            LedgerEntryOut(
                id=e.pk,
                created_at=e.created_at,
                actor=e.actor_username,
                realm=e.realm,
                action=e.action,
                target_type=e.target_type,
                target_id=e.target_id,
                target_label=e.target_label,
                reason=e.reason,
                ticket=e.ticket,
                outcome=e.outcome,
                detail=e.detail,
            )
            for e in rows[: params.limit]
        ],
        next_cursor=cursor_offset_make(offset + params.limit, filter_key) if more else None,
    )
