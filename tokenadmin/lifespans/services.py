"""Changing lifespans in Keycloak: read-modify-write, a snapshot and a ledger entry per save."""

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction

from tokenadmin.accounts.models import User
from tokenadmin.keycloak import Gateway
from tokenadmin.ledger.models import Action
from tokenadmin.ledger.services import ledger_entry_create

from .catalog import LifespanValues, lifespan_values_of
from .diff import FieldChange, lifespans_diff
from .effective import OVERRIDE_ATTRIBUTES
from .models import LifespanSnapshot


class ConcurrentChange(Exception):
    """The realm's lifespans changed in Keycloak since the admin loaded them."""

    def __init__(self, changes: list[FieldChange], current: LifespanValues) -> None:
        super().__init__("lifespans changed in Keycloak since they were loaded")
        self.changes = changes
        self.current = current


@dataclass(frozen=True)
class SaveOutcome:
    changes: list[FieldChange]
    approved: LifespanSnapshot | None  # None when nothing changed


def ledger_values(values: Mapping[str, object]) -> list[dict[str, object]]:
    """Values as the ledger keeps them: a list of {"field", "value"} pairs.

    The ledger redacts every key that looks like a secret ("token" included), which would
    blank out accessTokenLifespan and friends if they were keys.
    """
    return [{"field": name, "value": value} for name, value in values.items()]


def _changes_text(changes: list[FieldChange]) -> str:
    return "; ".join(f"{c.label}: {c.old_text} → {c.new_text}" for c in changes)


def realm_lifespans_update(
    *,
    gateway: Gateway,
    realm: str,
    values: Mapping[str, int | bool],
    loaded: Mapping[str, int | bool],
    actor: User | None,
    rollback_of: LifespanSnapshot | None = None,
) -> SaveOutcome:
    """Put `values` into the realm, only if Keycloak still holds `loaded`.

    GETs the whole RealmRepresentation, changes only the lifespan fields, PUTs it all back, so
    no other realm setting is reset (facts §4.3). Raises ConcurrentChange when the lifespans
    differ from `loaded`: nothing is written then.
    """
    settings = gateway.realm_settings(realm)
    current = lifespan_values_of(settings.lifespans)
    if current != dict(loaded):
        raise ConcurrentChange(lifespans_diff(loaded, current), current)
    new_values = {**current, **values}
    changes = lifespans_diff(current, new_values)
    if not changes:
        return SaveOutcome(changes=[], approved=None)
    gateway.realm_lifespans_put(realm, settings, new_values)
    username = actor.username if actor else "tokenadmin"
    with transaction.atomic():
        LifespanSnapshot.objects.create(
            realm=realm,
            kind=LifespanSnapshot.Kind.BEFORE_SAVE,
            values=current,
            actor=actor,
            actor_username=username,
        )
        note = (
            f"rollback to the values of {rollback_of.taken_at:%Y-%m-%d %H:%M} UTC"
            if (rollback_of)
            else ""
        )
        approved = LifespanSnapshot.objects.create(
            realm=realm,
            kind=LifespanSnapshot.Kind.APPROVED,
            values=new_values,
            previous_values=current,
            actor=actor,
            actor_username=username,
            note=note,
        )
        ledger_entry_create(
            actor=actor,
            action=Action.LIFESPANS_ROLLED_BACK if rollback_of else Action.LIFESPANS_UPDATED,
            realm=realm,
            target_type="realm",
            target_id=realm,
            target_label=f"Lifespans of realm {realm}",
            before=ledger_values({c.name: c.old for c in changes}),
            after=ledger_values({c.name: c.new for c in changes}),
            detail=_changes_text(changes) + (f" ({note})" if note else ""),
        )
    return SaveOutcome(changes=changes, approved=approved)


@dataclass(frozen=True)
class ClientSaveOutcome:
    client_id: str
    before: dict[str, str]
    after: dict[str, str]

    @property
    def changed(self) -> bool:
        return self.before != self.after


def client_lifespans_update(
    *,
    gateway: Gateway,
    realm: str,
    client_uuid: str,
    overrides: Mapping[str, str],
    actor: User | None,
) -> ClientSaveOutcome:
    """Set a client's lifespan attributes ("" = inherit the realm's value).

    GETs the full ClientRepresentation and PUTs it back with only these attributes changed.
    An empty string is how Keycloak's console clears an attribute.
    """
    client = gateway.client_get(realm, client_uuid)
    before = {name: str(client.attributes.get(name) or "") for name in OVERRIDE_ATTRIBUTES}
    after = {name: str(overrides.get(name, before[name]) or "") for name in OVERRIDE_ATTRIBUTES}
    outcome = ClientSaveOutcome(client_id=client.client_id, before=before, after=after)
    if not outcome.changed:
        return outcome
    gateway.client_attributes_put(realm, client, after)
    changed = {k: (before[k], after[k]) for k in OVERRIDE_ATTRIBUTES if before[k] != after[k]}
    ledger_entry_create(
        actor=actor,
        action=Action.CLIENT_LIFESPANS_UPDATED,
        realm=realm,
        target_type="client",
        target_id=client_uuid,
        target_label=outcome.client_id,
        before=ledger_values({k: old for k, (old, _new) in changed.items()}),
        after=ledger_values({k: new for k, (_old, new) in changed.items()}),
        detail="; ".join(
            f"{k}: {old or 'inherit'} → {new or 'inherit'}" for k, (old, new) in changed.items()
        ),
    )
    return outcome
