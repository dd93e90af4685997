"""HTTP for the command line: urllib, JSON in and out, errors turned into CliErrors."""

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from .errors import BAD_INPUT, UNREACHABLE, CliError, exit_code_for_status

TIMEOUT_S = 30
USER_AGENT = "tokenadmin-cli/1"


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


def http_call(
    method: str,
    url: str,
    *,
    token: str = "",
    query: dict[str, Any] | None = None,
    body: Any = None,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request; any HTTP status comes back as an Answer, no answer at all is exit 5."""
    if query:
        url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v not in ("", None)})
    sent = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    if token:
        sent["Authorization"] = f"Bearer {token}"
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise CliError(f"Not an http(s) URL: {url}", BAD_INPUT)
    request = urllib.request.Request(url, data=data, method=method, headers=sent)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            return Answer(response.status, response.read(), dict(response.headers.items()))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read(), dict(exc.headers.items()))
    except (urllib.error.URLError, OSError) as exc:
        host = urllib.parse.urlsplit(url).netloc
        reason = getattr(exc, "reason", exc)
        raise CliError(f"Cannot reach {host}: {reason}.", UNREACHABLE) from None


def problem_error(answer: Answer) -> CliError:
    """A CliError from an API error answer (RFC 9457 problem details, or anything else)."""
    body = answer.json()
    if isinstance(body, dict) and "detail" in body:
        title = body.get("title") or "Error"
        message = f"{title}: {body['detail']}"
    else:
        message = f"The server answered HTTP {answer.status}."
    return CliError(message, exit_code_for_status(answer.status))
