"""RFC 9457 problem details: the one error shape of the API."""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

PROBLEM_TYPE = "application/problem+json"


def problem(
    request: HttpRequest, *, status: int, title: str, detail: str, **extra: Any
) -> HttpResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body["instance"] = request.path
    body.update(extra)
    response = JsonResponse(body, status=status, content_type=PROBLEM_TYPE)
    response["Cache-Control"] = "no-store"
    return response
