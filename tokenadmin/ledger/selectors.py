"""Reading the ledger: search and filters shared by the page and the CSV export."""

from datetime import date, datetime, time, timedelta

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from tokenadmin.accounts.rights import AdminRights

from .models import Action, LedgerEntry, Outcome

FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(9998, 12, 31)
DATE_OUT_OF_RANGE = f"Choose a day between {FIRST_DAY} and {LAST_DAY}."


class LedgerFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    realm = forms.CharField(required=False, max_length=255)
    action = forms.ChoiceField(required=False, choices=[("", "Any action"), *Action.choices])
    outcome = forms.ChoiceField(required=False, choices=[("", "Any outcome"), *Outcome.choices])
    actor = forms.CharField(required=False, max_length=255, label="Who")
    # ISO dates (YYYY-MM-DD) as typed, like every date on the site: a browser's date picker
    # would show the reader's locale form (12/07/2026) instead.
    since = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    until = forms.DateField(required=False, input_formats=["%Y-%m-%d"])

    def _in_range(self, name: str) -> date | None:
        # "until" reads up to the next midnight: 9999-12-31 would overflow datetime.
        day = self.cleaned_data.get(name)
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise forms.ValidationError(DATE_OUT_OF_RANGE)
        return day

    def clean_since(self) -> date | None:
        return self._in_range("since")

    def clean_until(self) -> date | None:
        return self._in_range("until")


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# Changes to a realm's settings, which name no user, session or address: an admin who may view
# the realm but not its users sees these entries of it, and no others. A new action is hidden
# from them until it is added here.
REALM_SETTINGS_ACTIONS = (
    Action.LIFESPANS_UPDATED,
    Action.LIFESPANS_ROLLED_BACK,
    Action.CLIENT_LIFESPANS_UPDATED,
    Action.NOT_BEFORE_SET,
    Action.NOT_BEFORE_CLEARED,
    Action.PUSH_REVOCATION,
)


def ledger_entries_select(
    *,
    filters: dict,
    visible_realms: frozenset[str] | None,
    settings_only_realms: frozenset[str] = frozenset(),
) -> QuerySet[LedgerEntry]:
    """Entries matching cleaned LedgerFilterForm data, newest first.

    `visible_realms` None means every realm (master's admin); else only those realms' entries,
    plus the realm-settings entries of `settings_only_realms` (view-realm without view-users).
    """
    entries = LedgerEntry.objects.all()
    if visible_realms is not None:
        entries = entries.filter(
            Q(realm__in=visible_realms)
            | Q(realm__in=settings_only_realms, action__in=REALM_SETTINGS_ACTIONS)
        )
    if q := filters.get("q"):
        entries = entries.filter(
            Q(target_label__icontains=q)
            | Q(target_id__icontains=q)
            | Q(reason__icontains=q)
            | Q(ticket__icontains=q)
            | Q(actor_username__icontains=q)
            | Q(detail__icontains=q)
        )
    for field in ("realm", "action", "outcome"):
        if value := filters.get(field):
            entries = entries.filter(**{field: value})
    if actor := filters.get("actor"):
        entries = entries.filter(actor_username__icontains=actor)
    if since := filters.get("since"):
        entries = entries.filter(created_at__gte=_day_start(since))
    if until := filters.get("until"):
        entries = entries.filter(created_at__lt=_day_start(until) + timedelta(days=1))
    return entries


def ledger_entries_visible_select(*, filters: dict, rights: AdminRights) -> QuerySet[LedgerEntry]:
    """The entries an admin with `rights` may read: every entry of the realms whose users they
    may view; of the other realms they hold a right on, only the changes to settings."""
    if rights.is_superadmin:
        return ledger_entries_select(filters=filters, visible_realms=None)
    users = frozenset(realm for realm in rights.by_realm if rights.can(realm, "view-users"))
    return ledger_entries_select(
        filters=filters,
        visible_realms=users,
        settings_only_realms=frozenset(rights.by_realm) - users,
    )
