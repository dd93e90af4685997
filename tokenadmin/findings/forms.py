from django import forms

from .models import RealmThresholds


class ThresholdsForm(forms.ModelForm):
    class Meta:
        model = RealmThresholds
        fields = ["offline_idle_days", "max_sessions_per_user", "max_addresses_per_user"]
        labels = {
            "offline_idle_days": "Offline sessions idle for more than (days)",
            "max_sessions_per_user": "Concurrent sessions per user, at most",
            "max_addresses_per_user": "Addresses per user, at most",
        }
        widgets = {name: forms.NumberInput(attrs={"min": 1, "max": 3650}) for name in fields}

    def clean(self) -> dict:
        data = super().clean() or {}
        for name in self.Meta.fields:
            value = data.get(name)
            if value is not None and not 1 <= value <= 3650:
                self.add_error(name, "Give a whole number from 1 to 3650.")
        return data


class MuteForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        error_messages={"required": "Say why this finding is muted."},
        widget=forms.TextInput(attrs={"placeholder": "e.g. shared kiosk account, known"}),
    )
