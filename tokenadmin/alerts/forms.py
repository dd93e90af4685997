from django import forms

from tokenadmin.findings.models import Kind, Severity

from .models import Rule, Transport, TransportKind

DIGEST_EVERY = [
    (300, "every 5 minutes"),
    (900, "every 15 minutes"),
    (3600, "every hour"),
    (21600, "every 6 hours"),
    (86400, "every day"),
]


def _styled(form: forms.Form) -> None:
    for field in form.fields.values():
        select = isinstance(field.widget, forms.Select)
        field.widget.attrs["class"] = (
            "form-select form-select-sm" if select else "form-control form-control-sm"
        )


class TransportForm(forms.Form):
    """URL and secret are write-only: never rendered back (render_value=False), blank keeps."""

    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=TransportKind.choices, label="Type")
    recipients = forms.CharField(
        required=False,
        max_length=2000,
        label="Email addresses (comma-separated)",
        help_text="Email only.",
    )
    url = forms.CharField(
        required=False,
        max_length=2000,
        label="Webhook URL",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Slack, Teams and webhooks. Kept encrypted; never shown again.",
    )
    secret = forms.CharField(
        required=False,
        max_length=500,
        label="Signing secret",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Signed webhooks only, at least 16 characters. Never shown again.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _styled(self)

    def clean_recipients(self) -> str:
        value = self.cleaned_data.get("recipients", "")
        validator = forms.EmailField()
        addresses = [a.strip() for a in value.split(",") if a.strip()]
        for address in addresses:
            try:
                validator.clean(address)
            except forms.ValidationError as exc:
                raise forms.ValidationError(f"Not an email address: {address}") from exc
        return ", ".join(addresses)


class RuleForm(forms.Form):
    transport = forms.ModelChoiceField(queryset=Transport.objects.none(), empty_label=None)
    realm = forms.ChoiceField(required=False, label="Realm")
    kind = forms.ChoiceField(
        required=False, choices=[("", "Any kind"), *Kind.choices], label="Kind"
    )
    min_severity = forms.ChoiceField(
        choices=Severity.choices, initial=Severity.MEDIUM, label="Severity at least"
    )
    mode = forms.ChoiceField(choices=Rule.Mode.choices, label="Send")
    digest_every_s = forms.TypedChoiceField(
        choices=DIGEST_EVERY, coerce=int, initial=3600, label="Digest interval"
    )

    def __init__(self, *args, transports, realms: list[str], scope: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["transport"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = transports
        choices = [(scope, scope)] if scope else [("", "All realms"), *((r, r) for r in realms)]
        realm = self.fields["realm"]
        assert isinstance(realm, forms.ChoiceField)
        realm.choices = choices
        _styled(self)
