from django import forms

from .models import RealmThresholds

# The largest value each threshold takes.
RANGES = {
    "offline_idle_days": 3650,
    "max_sessions_per_user": 3650,
    "max_addresses_per_user": 3650,
    "count_jump_percent": 1000,
    "count_jump_min": 1_000_000,
}


class ThresholdsForm(forms.ModelForm):
    class Meta:
        model = RealmThresholds
        fields = [
            "offline_idle_days",
            "max_sessions_per_user",
            "max_addresses_per_user",
            "count_jump_percent",
            "count_jump_min",
        ]
        labels = {
            "offline_idle_days": "Offline sessions idle for more than (days)",
            "max_sessions_per_user": "Concurrent sessions per user, at most",
            "max_addresses_per_user": "Addresses per user, at most",
            "count_jump_percent": "Session count jump against recent refreshes (%)",
            "count_jump_min": "and by at least (sessions)",
        }
        widgets = {
            name: forms.NumberInput(attrs={"min": 1, "max": RANGES[name]}) for name in fields
        }

    def clean(self) -> dict:
        data = super().clean() or {}
        for name in self.Meta.fields:
            value = data.get(name)
            if value is not None and not 1 <= value <= RANGES[name]:
                self.add_error(name, f"Give a whole number from 1 to {RANGES[name]}.")
        return data


class MuteForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        error_messages={"required": "Say why this finding is muted."},
        widget=forms.TextInput(attrs={"placeholder": "e.g. shared kiosk account, known"}),
    )
