"""Writes of the sessions pages: saved views. Each change writes one ledger entry."""

from django.db.models import ProtectedError

from tokenadmin.accounts.models import User
from tokenadmin.ledger.models import Action
from tokenadmin.ledger.services import ledger_entry_create

from .models import SavedView

# A report built on a view reads its realm through it: deleting it would leave the report unbound.
VIEW_IN_USE = "Reports use this saved view ({names}); change or delete them first."


class SavedViewInUse(Exception):
    """The view is what some report reads; the message names them."""

    def __init__(self, names: list[str]) -> None:
        self.message = VIEW_IN_USE.format(names=", ".join(f"“{name}”" for name in names))
        super().__init__(self.message)


def _as_record(view: SavedView) -> dict:
    return {
        "name": view.name,
        "query": view.query,
        "description": view.description,
        "shared": view.shared,
        "owner": view.owner.username if view.owner else "",
    }


def saved_view_create(
    *,
    actor: User,
    realm: str,
    name: str,
    query: dict[str, str],
    description: str = "",
    shared: bool = True,
) -> SavedView:
    """Name a filter of a realm's sessions. `query` holds validated filter parameters only."""
    view = SavedView.objects.create(
        realm=realm, name=name, query=query, description=description, owner=actor, shared=shared
    )
    ledger_entry_create(
        actor=actor,
        action=Action.SAVED_VIEW_CHANGED,
        realm=realm,
        target_type="saved_view",
        target_id=str(view.pk),
        target_label=view.name,
        before=None,
        after=_as_record(view),
        detail="created",
    )
    return view


def saved_view_delete(*, actor: User, view: SavedView) -> None:
    """Remove a saved view (the caller has checked the actor owns it or may manage users).

    Refused (SavedViewInUse) while a report is built on it."""
    before = _as_record(view)
    view_id, realm, name = view.pk, view.realm, view.name
    try:
        view.delete()
    except ProtectedError as exc:
        # Reports hold their saved view with PROTECT; reading them here would import the
        # reports app, which depends on this one.
        names = sorted(str(getattr(obj, "name", obj)) for obj in exc.protected_objects)
        raise SavedViewInUse(names) from exc
    ledger_entry_create(
        actor=actor,
        action=Action.SAVED_VIEW_CHANGED,
        realm=realm,
        target_type="saved_view",
        target_id=str(view_id),
        target_label=name,
        before=before,
        after=None,
        detail="deleted",
    )
