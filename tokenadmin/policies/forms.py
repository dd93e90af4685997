from typing import Any

from django import forms

from tokenadmin.findings.models import Severity

from .models import POLICY_KINDS, Policy

MAX_SESSIONS_LIMIT = 1_000_000


class PolicyForm(forms.ModelForm):
    class Meta:
        model = Policy
        fields = ["name", "kind", "min_severity", "max_sessions", "max_share_percent"]
        labels = {
            "name": "Name",
            "kind": "Acts on the findings of kind",
            "min_severity": "Of severity at least",
            "max_sessions": "Revoke at most this many sessions per run",
            "max_share_percent": "…and at most this share of the realm's sessions (%)",
        }
        widgets = {
            "max_sessions": forms.NumberInput(attrs={"min": 1, "max": MAX_SESSIONS_LIMIT}),
            "max_share_percent": forms.NumberInput(attrs={"min": 1, "max": 100}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind = self.fields["kind"]
        severity = self.fields["min_severity"]
        assert isinstance(kind, forms.ChoiceField) and isinstance(severity, forms.ChoiceField)
        kind.choices = POLICY_KINDS
        severity.choices = [("", "Any severity"), *Severity.choices]
        for field in self.fields.values():
            select = isinstance(field, forms.ChoiceField)
            field.widget.attrs["class"] = "form-select" if select else "form-control"

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the policy a name.")
        return name

    def clean_max_sessions(self) -> int:
        value = self.cleaned_data["max_sessions"]
        if value is None or not 1 <= value <= MAX_SESSIONS_LIMIT:
            raise forms.ValidationError(f"Give a whole number from 1 to {MAX_SESSIONS_LIMIT:,}.")
        return value

    def clean_max_share_percent(self) -> int:
        value = self.cleaned_data["max_share_percent"]
        if value is None or not 1 <= value <= 100:
            raise forms.ValidationError("Give a whole number of percent from 1 to 100.")
        return value


class EnforceForm(forms.Form):
    confirm_realm = forms.CharField(max_length=255, label="Type the realm's name")
