"""The sessions pages' other input: saved views, and links that carry the filter along.
The filter itself (keys, parsing, `SessionFilters`) is in filters.py."""

from typing import Any
from urllib.parse import urlencode

from django import forms

from .models import SavedView

# Error texts, imported by the tests.
SAVED_VIEW_NAME_TAKEN = "A saved view with this name already exists in this realm."


class SavedViewForm(forms.ModelForm):
    class Meta:
        model = SavedView
        fields = ["name", "description", "shared"]
        labels = {"shared": "Share with other admins"}

    def __init__(self, *args: Any, realm: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.realm = realm
        self.fields["description"].widget = forms.TextInput()

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if SavedView.objects.filter(realm=self.realm, name__iexact=name).exists():
            raise forms.ValidationError(SAVED_VIEW_NAME_TAKEN, code="taken")
        return name


def query_with(params: dict[str, str], **changes: object) -> str:
    """`params` as a query string, with `changes` applied (None or "" drops a key)."""
    merged = {**params, **{key: str(value) for key, value in changes.items() if value}}
    for key, value in changes.items():
        if not value:
            merged.pop(key, None)
    return urlencode(merged)
