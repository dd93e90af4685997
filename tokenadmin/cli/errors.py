"""Exit codes scripts can rely on, and the one error the commands raise."""

OK = 0
BAD_INPUT = 2
DENIED = 3
CONFLICT = 4
UNREACHABLE = 5


class CliError(Exception):
    """A failure to report on stderr (one clear line) with its exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def exit_code_for_status(status: int) -> int:
    """The exit code for an HTTP error status from tokenadmin's API."""
    if status in (401, 403):
        return DENIED
    if status in (409, 412):
        return CONFLICT
    if status >= 500:
        return UNREACHABLE
    return BAD_INPUT
