"""/api/v1/: the pages' powers as JSON, described by OpenAPI (django-ninja).

Thin handlers: parse, authorize, call the same selectors and services the pages call, shape
the answer. Every error is an RFC 9457 problem (problems.py); nothing here talks to Keycloak
but through the caller's gateway.
"""

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, path, reverse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from tokenadmin.core.middleware import database_is_busy
from tokenadmin.keycloak import GatewayError
from tokenadmin.revocation.outcomes import RevocationRefused

from .auth import CallerAuth, NotAuthenticated
from .ledger import router as ledger_router
from .lifespans import router as lifespans_router
from .problems import PROBLEM_TYPE, problem
from .realms import router as realms_router
from .reports import router as reports_router
from .revocation import router as revocation_router
from .sessions import router as sessions_router

logger = logging.getLogger(__name__)
CSV_OPERATION = "_sessions_list"  # the one operation with a CSV answer (sessions.py)


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
                if operation.get("operationId", "").endswith(CSV_OPERATION):
                    # `format=csv` answers text/csv: documented beside the JSON.
                    ok = operation["responses"][200]  # ninja keys answers by int status
                    ok["content"]["text/csv"] = {"schema": {"type": "string"}}
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


api.add_router("/realms", realms_router)
api.add_router("/realms", sessions_router)
api.add_router("/revocation", revocation_router)
api.add_router("/lifespans", lifespans_router)
api.add_router("/ledger", ledger_router)
api.add_router("/reports", reports_router)
