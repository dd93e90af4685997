"""Our own exceptions for Keycloak failures; views render them as messages, never a 500."""

from collections.abc import Iterator
from contextlib import contextmanager

from keycloak.exceptions import KeycloakConnectionError, KeycloakError
from requests.exceptions import RequestException


class GatewayError(Exception):
    """Base of every failure talking to Keycloak. `what` says what we were trying to do;
    `keycloak_status` is the HTTP status Keycloak answered (None: no answer at all)."""

    status_code = 503
    title = "Keycloak did not answer"

    def __init__(self, what: str, detail: str = "", *, keycloak_status: int | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.detail = detail
        self.keycloak_status = keycloak_status

    @property
    def status_text(self) -> str:
        """ "HTTP 503", or "no answer" when Keycloak did not answer."""
        return f"HTTP {self.keycloak_status}" if self.keycloak_status else "no answer"

    @property
    def message(self) -> str:
        return f"{self.title} while trying to {self.what}."


class KeycloakUnavailable(GatewayError):
    status_code = 503
    title = "Keycloak is unreachable or failing"


class LoginExpired(GatewayError):
    status_code = 401
    title = "Your Keycloak login has ended"


class Forbidden(GatewayError):
    status_code = 403
    title = "Keycloak refused: your roles do not allow this"


class NotFound(GatewayError):
    status_code = 404
    title = "Keycloak does not know this"


class Conflict(GatewayError):
    status_code = 409
    title = "Keycloak reported a conflict"


class Rejected(GatewayError):
    """Keycloak answered 400: the request itself was refused."""

    status_code = 400
    title = "Keycloak rejected the request"


_BY_STATUS: dict[int, type[GatewayError]] = {
    400: Rejected,
    401: LoginExpired,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
}


def error_for_status(status: int, what: str, detail: str = "") -> GatewayError:
    """The exception for an HTTP status Keycloak answered; any other status means unavailable."""
    error_class = _BY_STATUS.get(status, KeycloakUnavailable)
    return error_class(what, detail, keycloak_status=status or None)


def _keycloak_text(exc: KeycloakError) -> str:
    """Keycloak's own error text (never a token: error bodies carry none)."""
    body = exc.response_body
    text = body.decode(errors="replace") if isinstance(body, bytes) else body
    return str(text or exc.error_message or "")[:300]


@contextmanager
def mapped_errors(what: str) -> Iterator[None]:
    """Turn python-keycloak and transport failures into GatewayError subclasses."""
    try:
        yield
    except KeycloakConnectionError as exc:
        raise KeycloakUnavailable(what) from exc
    except KeycloakError as exc:
        raise error_for_status(exc.response_code or 0, what, _keycloak_text(exc)) from exc
    except (RequestException, ValueError) as exc:
        # ValueError: a body that is not the JSON Keycloak should send (a proxy's HTML page).
        raise KeycloakUnavailable(what) from exc
