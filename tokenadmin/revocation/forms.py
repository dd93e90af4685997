"""Input of the revocation pages: recipes from the query string, reasons, confirmations."""

from typing import Any

from django import forms

from tokenadmin.sessionindex.filters import ROW_FILTER_KEYS

from .bulk import Plan
from .outcomes import REALM_NAME_MISMATCH, REASON_REQUIRED
from .recipes import Kind, Recipe


class RecipeForm(forms.Form):
    """`?kind=client&client=mlflow&offline=1`, `?kind=group&group=ml-engineers`, … (GET)."""

    kind = forms.ChoiceField(choices=[(k, k) for k in Kind.ALL])
    client = forms.CharField(required=False, max_length=255)
    offline = forms.BooleanField(required=False)
    older_than_days = forms.IntegerField(required=False, min_value=1, max_value=3650)
    group = forms.CharField(required=False, max_length=255)
    user = forms.CharField(required=False, max_length=255)
    view = forms.IntegerField(required=False, min_value=1)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        kind = data.get("kind")
        if kind in (Kind.CLIENT, Kind.OFFLINE_OLDER_THAN) and not data.get("client"):
            self.add_error("client", "Name the client (its clientId).")
        if kind == Kind.OFFLINE_OLDER_THAN and not data.get("older_than_days"):
            self.add_error("older_than_days", "Say how many days old.")
        if kind == Kind.GROUP and not data.get("group"):
            self.add_error("group", "Name the group.")
        if kind == Kind.USER and not data.get("user"):
            self.add_error("user", "Name the user (username or id).")
        return data

    def recipe(self, *, query: dict[str, str], sessions: list[str]) -> Recipe:
        data = self.cleaned_data
        return Recipe(
            kind=data["kind"],
            client_id=data.get("client") or "",
            include_offline=bool(data.get("offline")),
            older_than_days=data.get("older_than_days") or 0,
            group_id=data.get("group") or "",
            user_id=data.get("user") or "",
            sessions=tuple(sessions),
            query={k: v for k, v in query.items() if k in ROW_FILTER_KEYS and v},
            saved_view_id=data.get("view"),
        )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        error_messages={"required": REASON_REQUIRED},
        widget=forms.TextInput(attrs={"placeholder": "e.g. laptop stolen, employee left"}),
    )
    ticket = forms.CharField(required=False, max_length=255, label="Ticket (optional)")


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(required=False, max_length=2000)
    ticket = forms.CharField(required=False, max_length=255)


class BulkStartForm(ReasonForm):
    """The preview's confirmation: the plan (signed by the preview: bulk.plan_load reads it), a
    reason, and for realm-wide work the realm's name typed."""

    plan = forms.CharField(widget=forms.HiddenInput)
    confirm_realm = forms.CharField(required=False, max_length=255, label="Type the realm's name")

    def __init__(self, *args: Any, realm: str, plan: Plan | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.realm = realm
        self.previewed = plan

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        plan = self.previewed
        if plan and plan.recipe.kind == Kind.REALM and data.get("confirm_realm") != self.realm:
            self.add_error("confirm_realm", REALM_NAME_MISMATCH)
        return data


class RealmSignOutForm(ReasonForm):
    confirm_realm = forms.CharField(max_length=255, label="Type the realm's name")

    def __init__(self, *args: Any, realm: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.realm = realm

    def clean_confirm_realm(self) -> str:
        value = self.cleaned_data["confirm_realm"]
        if value != self.realm:
            raise forms.ValidationError(REALM_NAME_MISMATCH)
        return value
