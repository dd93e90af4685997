"""What every single revoke shares: the admin's own realm, and how a change Keycloak refused,
did not answer or found already gone is written to the ledger."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings

from tokenadmin.keycloak import GatewayError, KeycloakUnavailable, NotFound
from tokenadmin.ledger.models import LedgerEntry, Outcome
from tokenadmin.ledger.services import LedgerDraft, ledger_entry_record

ALREADY_GONE_NOTE = "Keycloak no longer held it: nothing needed revoking."


def is_login_realm(realm: str) -> bool:
    """The realm tokenadmin's admins sign in to: realm-wide revokes there hit the admin too."""
    return realm == settings.KEYCLOAK_REALM


@contextmanager
def failure_recorded(entry: LedgerDraft) -> Iterator[None]:
    """Record a change Keycloak refused or did not answer, then let the view show why."""
    try:
        yield
    except GatewayError as exc:
        detail = exc.message + (f" Keycloak said: {exc.detail}" if exc.detail else "")
        if isinstance(exc, KeycloakUnavailable):
            detail += " Whether Keycloak made the change is unknown."
        ledger_entry_record(entry, outcome=Outcome.FAILED, detail=detail)
        raise


def delete_unless_gone(
    entry: LedgerDraft, delete: Callable[[], object] | None, *, after_key: str
) -> tuple[bool, LedgerEntry]:
    """Delete a target read a moment ago (`delete` None: the read found none) and record it.

    A target that is gone by the time of the delete needed no revoking: recorded, not failed.
    """
    gone = delete is None
    if delete is not None:
        with failure_recorded(entry):
            try:
                delete()
            except NotFound:
                gone = True  # ended between our read and the delete
    ledger = ledger_entry_record(
        entry, after={after_key: not gone}, detail=ALREADY_GONE_NOTE if gone else ""
    )
    return gone, ledger
