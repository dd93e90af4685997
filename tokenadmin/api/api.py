"""/api/v1/: the pages' powers as JSON, described by OpenAPI (django-ninja).

Thin handlers: parse, authorize, call the same selectors and services the pages call, shape
the answer. Every error is an RFC 9457 problem (problems.py); nothing here talks to Keycloak
but through the caller's gateway.
"""

import hashlib
import logging
from datetime import UTC, datetime
from typing import Any, Literal

from django.core import signing
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils import timezone
from ninja import NinjaAPI, Query, Router, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from pydantic import Field

from tokenadmin.core.middleware import database_is_busy
from tokenadmin.keycloak import GatewayError
from tokenadmin.keycloak.types import KcSession
from tokenadmin.ledger.selectors import LedgerFilterForm, ledger_entries_visible_select
from tokenadmin.realms.selectors import realms_overview_select
from tokenadmin.revocation.bulk import PLAN_MAX_AGE_S, Recipe, plan_load, plan_sign
from tokenadmin.revocation.forms import RecipeForm
from tokenadmin.revocation.jobs import job_counts
from tokenadmin.revocation.launch import revocation_bulk_start, revocation_plan_prepare
from tokenadmin.revocation.models import RevocationJob
from tokenadmin.revocation.outcomes import RevocationRefused
from tokenadmin.sessionindex.csv import sessions_csv_rows
from tokenadmin.sessionindex.filters import ROW_FILTER_KEYS, SessionFilterForm
from tokenadmin.sessionindex.models import IndexedSession
from tokenadmin.sessionindex.selectors import indexed_sessions_select
from tokenadmin.sessionindex.selectors_live import (
    client_sessions_live_select,
    user_sessions_live_select,
)
from tokenadmin.sessionindex.selectors_refresh import realm_index_get

from .auth import MANAGE_USERS, VIEW_USERS, Caller, CallerAuth, NotAuthenticated, require_right
from .lifespans import router as lifespans_router
from .models import AppliedPlan
from .problems import PROBLEM_TYPE, problem
from .reports import router as reports_router
from .schemas import (
    ERRORS,
    ApplyIn,
    ClientSessionsOut,
    JobItemOut,
    JobOut,
    LedgerEntryOut,
    LedgerPage,
    Lifespans,
    PlanIn,
    PlanOut,
    Problem,
    RealmOut,
    SessionOut,
    SessionPage,
    TargetOut,
)

logger = logging.getLogger(__name__)
CURSOR_SALT = "tokenadmin.api.cursor"
MAX_LIMIT = 500


class Api(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        """Errors are documented as what they are: application/problem+json."""
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                for answer in operation.get("responses", {}).values():
                    content = answer.get("content", {})
                    body = content.get("application/json", {})
                    if body.get("schema", {}).get("$ref", "").endswith("/Problem"):
                        answer["content"] = {PROBLEM_TYPE: content.pop("application/json")}
        return schema

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        # django-ninja's root answers 404 ("see the docs page"), which we do not serve (CSP):
        # point at the OpenAPI document instead.
        urls = super()._get_urls()
        urls[-1] = path("", _api_index, name="api-root")
        return urls

    def create_temporal_response(self, request: HttpRequest) -> HttpResponse:
        # Answers carry sessions and user data: no browser or proxy keeps them.
        response = super().create_temporal_response(request)
        response["Cache-Control"] = "no-store"
        return response


def _api_index(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"openapi": reverse("api:openapi-json"), "version": "1"})


api = Api(
    title="tokenadmin API",
    version="1",
    urls_namespace="api",
    auth=CallerAuth(),
    # The docs page loads Swagger UI from a CDN, which our CSP forbids: the JSON only.
    docs_url=None,
    description="Sessions, revocation as plan then apply, and jobs; errors as RFC 9457.",
)


# --- errors: one shape, never a 500 --------------------------------------------------------------
@api.exception_handler(NotAuthenticated)
def _not_authenticated(request: HttpRequest, exc: NotAuthenticated) -> HttpResponse:
    response = problem(request, status=401, title="Not authenticated", detail=str(exc))
    response["WWW-Authenticate"] = 'Bearer realm="tokenadmin"'
    return response


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem(request, status=401, title="Not authenticated", detail="Sign in first.")


@api.exception_handler(PermissionError)
def _denied(request: HttpRequest, exc: PermissionError) -> HttpResponse:
    return problem(request, status=403, title="Forbidden", detail=str(exc))


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {"where": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
        for e in exc.errors
    ]
    detail = "; ".join(f"{e['where']}: {e['message']}" for e in errors) or "Bad input."
    return problem(request, status=400, title="Bad input", detail=detail, errors=errors)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    title = {400: "Bad input", 404: "Not found", 409: "Conflict"}.get(exc.status_code, "Error")
    return problem(request, status=exc.status_code, title=title, detail=str(exc.message))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem(request, status=404, title="Not found", detail=str(exc) or "Not found.")


@api.exception_handler(RevocationRefused)
def _refused(request: HttpRequest, exc: RevocationRefused) -> HttpResponse:
    return problem(request, status=409, title="Refused", detail=exc.message)


@api.exception_handler(GatewayError)
def _gateway(request: HttpRequest, exc: GatewayError) -> HttpResponse:
    # Keycloak's own refusal (403), a login gone (401), or Keycloak down (503): its message.
    return problem(request, status=exc.status_code, title=exc.title, detail=exc.message)


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    if database_is_busy(exc):
        return problem(
            request,
            status=503,
            title="Database busy",
            detail="The database is busy with other writes; try again in a moment.",
        )
    # Still one shape for a script; the traceback goes to the log, not to the caller.
    logger.exception("API %s %s failed", request.method, request.path)
    return problem(
        request, status=500, title="Internal error", detail="Something failed on our side."
    )


def _caller(request: HttpRequest) -> Caller:
    caller = request.auth  # type: ignore[attr-defined]
    assert isinstance(caller, Caller)
    return caller


# --- realms ---------------------------------------------------------------------------------------
realms = Router(tags=["realms"])


@realms.get("", response={200: list[RealmOut], **ERRORS}, summary="Realms with counts")
def realms_list(request: HttpRequest) -> list[RealmOut]:
    caller = _caller(request)
    if not caller.rights.any_right():
        raise PermissionError("Your Keycloak roles grant no admin right on any realm.")
    rows = realms_overview_select(gateway=caller.gateway(), rights=caller.rights)
    return [
        RealmOut(
            name=row.realm.name,
            display_name=row.realm.display_name,
            enabled=row.realm.enabled,
            active_client_sessions=row.active_client_sessions,
            offline_client_sessions=row.offline_client_sessions,
            clients_with_sessions=row.clients_with_sessions,
            my_rights=list(row.my_rights),
            lifespans=Lifespans(**vars(row.realm.lifespans)) if row.realm.lifespans else None,
        )
        for row in rows
    ]


# --- sessions -------------------------------------------------------------------------------------
class SessionQuery(Schema):
    q: str = ""
    type: str = ""
    client: str = ""
    expiring_within: str = ""
    idle_over: str = ""
    older_than: str = ""
    sort: str = ""
    limit: int = 100
    cursor: str = ""
    format: Literal["json", "csv"] = "json"


def _session_out(s: IndexedSession | KcSession) -> SessionOut:
    """One session as the API shows it, from the index or read live (no predicted end then)."""
    if isinstance(s, IndexedSession):
        session_id, expires_at = s.session_id, s.expires_at
    else:
        session_id, expires_at = s.id, None
    return SessionOut(
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


def _cursor_offset(cursor: str, filter_key: str) -> int:
    """Cursors are signed (offset, filter) pairs: a cursor from another query is refused."""
    if not cursor:
        return 0
    try:
        data = signing.loads(cursor, salt=CURSOR_SALT)
        if data["f"] != filter_key:
            raise ValueError
        return int(data["o"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise HttpError(400, "This cursor is not one this query returned.") from None


@realms.get(
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
    sessions = indexed_sessions_select(realm=realm, filters=form.filters(), now=now)
    refreshed_at = index.refreshed_at if index else None
    if params.format == "csv":
        response = StreamingHttpResponse(
            sessions_csv_rows(sessions=sessions, refreshed_at=refreshed_at),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{realm}-sessions.csv"'
        response["Cache-Control"] = "no-store"
        return response
    filter_key = hashlib.sha256(repr(sorted(query.items())).encode()).hexdigest()[:16]
    offset = _cursor_offset(params.cursor, filter_key)
    rows = list(sessions[offset : offset + params.limit + 1])
    more = len(rows) > params.limit
    next_cursor = (
        signing.dumps({"o": offset + params.limit, "f": filter_key}, salt=CURSOR_SALT)
        if more
        else None
    )
    return SessionPage(
        realm=realm,
        refreshed_at=refreshed_at,
        items=[_session_out(s) for s in rows[: params.limit]],
        next_cursor=next_cursor,
    )


@realms.get(
    "/{realm}/users/{user_id}/sessions",
    auth=VIEW_USERS,
    response={200: list[SessionOut], **ERRORS},
    summary="One user's sessions, online and offline, live from Keycloak",
)
def user_sessions(request: HttpRequest, realm: str, user_id: str) -> list[SessionOut]:
    live = user_sessions_live_select(
        gateway=_caller(request).gateway(), realm=realm, user_id=user_id
    )
    offline = {s.id: s for group in live.offline_by_client for s in group.sessions}
    return [_session_out(s) for s in [*live.online, *offline.values()]]


@realms.get(
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
        gateway=_caller(request).gateway(),
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


# --- the ledger -----------------------------------------------------------------------------------
ledger = Router(tags=["ledger"])


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


@ledger.get("", response={200: LedgerPage, **ERRORS}, summary="The ledger, with the page's filters")
def ledger_list(request: HttpRequest, params: Query[LedgerQuery]) -> LedgerPage:
    caller = _caller(request)
    if not caller.rights.any_right():
        raise PermissionError("Your Keycloak roles grant no admin right on any realm.")
    query = {k: v for k, v in params.dict().items() if k not in ("limit", "cursor") and v}
    form = LedgerFilterForm(query)
    if not form.is_valid():
        texts = [f"{name}: {' '.join(str(e) for e in errs)}" for name, errs in form.errors.items()]
        raise HttpError(400, " ".join(texts))
    entries = ledger_entries_visible_select(filters=form.cleaned_data, rights=caller.rights)
    filter_key = hashlib.sha256(repr(sorted(query.items())).encode()).hexdigest()[:16]
    offset = _cursor_offset(params.cursor, filter_key)
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
        next_cursor=signing.dumps({"o": offset + params.limit, "f": filter_key}, salt=CURSOR_SALT)
        if more
        else None,
    )


# --- revocation: plan, then apply -----------------------------------------------------------------
revocation = Router(tags=["revocation"])


@revocation.post(
    "/realms/{realm}/plans",
    auth=MANAGE_USERS,
    response={200: PlanOut, 409: Problem, **ERRORS},
    summary="Plan a revocation: exact count, a sample, an expiry; nothing is revoked",
)
def plan_create(request: HttpRequest, realm: str, body: PlanIn) -> PlanOut:
    caller = _caller(request)

    form = RecipeForm(
        {
            "kind": body.kind,
            "client": body.client,
            "offline": body.offline,
            "older_than_days": body.older_than_days,
            "group": body.group,
            "view": body.view,
        }
    )
    if not form.is_valid():
        texts = [f"{name}: {' '.join(str(e) for e in errs)}" for name, errs in form.errors.items()]
        raise HttpError(400, " ".join(texts))
    recipe: Recipe = form.recipe(query=body.query, sessions=body.sessions)
    plan = revocation_plan_prepare(
        admin=caller.gateway(),
        realm=realm,
        recipe=recipe,
        user=caller.user,
        own_session_id=caller.own_session_id,
    )
    return PlanOut(
        plan_id=plan_sign(plan),
        realm=realm,
        label=plan.label,
        count=plan.count,
        offline_count=plan.offline_count,
        sample=[
            TargetOut(session_id=t.session_id, offline=t.offline, username=t.username)
            for t in plan.sample
        ],
        excluded=list(plan.excluded),
        residual_risk=list(plan.residual_risk),
        expires_at=datetime.fromtimestamp(plan.made_at + PLAN_MAX_AGE_S, tz=UTC),
    )


def _job_out(job: RevocationJob) -> JobOut:
    counts = job_counts(job)
    return JobOut(
        id=job.pk,
        realm=job.realm,
        label=job.label,
        state=job.state,
        total=counts.total,
        pending=counts.pending,
        done=counts.done,
        already_gone=counts.already_gone,
        failed=counts.failed,
        listed=counts.listed,
        stopped_reason=job.stopped_reason,
    )


@revocation.post(
    "/realms/{realm}/plans/apply",
    auth=MANAGE_USERS,
    response={202: JobOut, 409: Problem, **ERRORS},
    summary="Apply a plan: start its job (once; again says already applied)",
)
def plan_apply(request: HttpRequest, realm: str, body: ApplyIn) -> Status:
    caller = _caller(request)
    plan = plan_load(body.plan_id, realm=realm)
    digest = hashlib.sha256(body.plan_id.encode()).hexdigest()
    try:
        with transaction.atomic():
            marker = AppliedPlan.objects.create(digest=digest)
    except IntegrityError:
        earlier = AppliedPlan.objects.filter(digest=digest).first()
        job_text = f": job {earlier.job_id}" if earlier and earlier.job_id else ""
        raise HttpError(409, f"This plan was already applied{job_text}.") from None
    try:
        job = revocation_bulk_start(
            admin=caller.gateway(),
            plan=plan,
            own_session_id=caller.own_session_id,
            actor=caller.user,
            reason=body.reason,
            ticket=body.ticket,
            queue_unreachable=lambda: None,  # the sweeper queues it again (FAULTS.md)
        )
    except BaseException:
        marker.delete()  # nothing started: the plan may be applied again
        raise
    marker.job = job
    marker.save(update_fields=["job"])
    job.refresh_from_db()
    return Status(202, _job_out(job))


def _job_for(caller: Caller, job_id: int) -> RevocationJob:
    job = RevocationJob.objects.filter(pk=job_id).first()
    if job is None:
        raise Http404(f"No job {job_id}.")
    require_right(caller, job.realm, "view-users")
    return job


@revocation.get("/jobs/{job_id}", response={200: JobOut, **ERRORS})
def job_get(request: HttpRequest, job_id: int) -> JobOut:
    return _job_out(_job_for(_caller(request), job_id))


@revocation.get("/jobs/{job_id}/items", response={200: list[JobItemOut], **ERRORS})
def job_items(request: HttpRequest, job_id: int, limit: int = 500, after: int = 0) -> list:
    job = _job_for(_caller(request), job_id)
    if not 1 <= limit <= 5000:
        raise HttpError(400, "limit must be between 1 and 5000.")
    items = job.items.filter(pk__gt=after).order_by("pk")[:limit]
    return [
        JobItemOut(
            session_id=i.session_id,
            offline=i.offline,
            username=i.username,
            state=i.state,
            error=i.error,
        )
        for i in items
    ]


api.add_router("/realms", realms)
api.add_router("/revocation", revocation)
api.add_router("/lifespans", lifespans_router)
api.add_router("/ledger", ledger)
api.add_router("/reports", reports_router)
