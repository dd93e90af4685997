"""The report form: what to look for, whom to tell, and when."""

import re
from typing import Any, cast

from celery.schedules import ParseException, crontab_parser
from django import forms
from django.core.validators import validate_email
from django.db.models import QuerySet
from django_celery_beat.models import IntervalSchedule

from tokenadmin.sessionindex.models import SavedView

from .models import ExpiryReport
from .schedule import CRONTAB, INTERVAL, Schedule
from .services import ReportDefinition

# Error texts, imported by the tests.
RECIPIENT_INVALID = "Not an email address: {address}."
RECIPIENTS_REQUIRED = "Name at least one recipient."
SCOPE_REQUIRED = "Choose at least one realm, or a saved view."
SECTION_REQUIRED = "Choose at least one thing to report."
CRON_INVALID = "Not a crontab field: {value!r}."
NAME_TAKEN = "A report with this name already exists."
MAX_RECIPIENTS = 50

_SPLIT = re.compile(r"[\s,;]+")


def addresses_parse(text: str) -> list[str]:
    """ "a@x, b@y\nc@z" → ["a@x", "b@y", "c@z"], each validated, duplicates dropped."""
    found: list[str] = []
    for address in _SPLIT.split(text.strip()):
        if not address:
            continue
        try:
            validate_email(address)
        except forms.ValidationError:
            raise forms.ValidationError(
                RECIPIENT_INVALID.format(address=address), code="invalid"
            ) from None
        if address.lower() not in (a.lower() for a in found):
            found.append(address)
    return found


def _threshold(label: str, help_text: str, max_value: int) -> forms.IntegerField:
    return forms.IntegerField(
        required=False, min_value=1, max_value=max_value, label=label, help_text=help_text
    )


class SavedViewChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: SavedView) -> str:
        return f"{obj.realm}: {obj.name}"


class ReportForm(forms.Form):
    name = forms.CharField(max_length=120)
    realms = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Realms"
    )
    clients = forms.CharField(
        required=False,
        max_length=1000,
        label="Clients",
        help_text="clientIds separated by spaces; blank = every client.",
    )
    saved_view = SavedViewChoiceField(
        queryset=SavedView.objects.none(),
        required=False,
        label="Or a saved view",
        help_text="Its realm and filter replace the realms and clients above.",
    )
    offline_within_days = _threshold(
        "Offline tokens lapsing within (days)", "Blank leaves this section out.", 3650
    )
    sso_max_within_hours = _threshold(
        "Sessions reaching their SSO max within (hours)", "Blank leaves this section out.", 8760
    )
    idle_over_hours = _threshold(
        "Long-idle sessions still valid: idle over (hours)", "Blank leaves this section out.", 8760
    )
    sessions_per_user_over = _threshold(
        "Users with more sessions than", "Blank leaves this section out.", 100000
    )
    include_lifespan_changes = forms.BooleanField(
        required=False, label="Lifespan changes since the last report"
    )
    recipients = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
        help_text="Email addresses, separated by commas or new lines.",
    )
    schedule_kind = forms.ChoiceField(
        choices=((INTERVAL, "Every …"), (CRONTAB, "Crontab (UTC)")),
        widget=forms.RadioSelect,
        label="Schedule",
    )
    every = forms.IntegerField(
        required=False, min_value=1, max_value=10000, label="Every (how many)"
    )
    period = forms.ChoiceField(
        required=False,
        label="Period",
        choices=(
            (IntervalSchedule.MINUTES, "minutes"),
            (IntervalSchedule.HOURS, "hours"),
            (IntervalSchedule.DAYS, "days"),
        ),
    )
    cron_minute = forms.CharField(required=False, max_length=60, label="Cron minute")
    cron_hour = forms.CharField(required=False, max_length=60, label="Cron hour")
    cron_day_of_month = forms.CharField(required=False, max_length=60, label="Cron day of month")
    cron_month_of_year = forms.CharField(required=False, max_length=60, label="Cron month")
    cron_day_of_week = forms.CharField(required=False, max_length=60, label="Cron day of week")
    send_when_empty = forms.BooleanField(
        required=False, label="Send even when there is nothing to report"
    )
    enabled = forms.BooleanField(required=False, label="Enabled")

    def __init__(
        self,
        *args: Any,
        realm_choices: list[str],
        saved_views: QuerySet[SavedView],
        report: ExpiryReport | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.report = report
        known = sorted(set(realm_choices) | set(report.realms if report else []))
        realms_field = cast(forms.MultipleChoiceField, self.fields["realms"])
        realms_field.choices = [(r, r) for r in known]
        self.allowed_realms = set(realm_choices)
        saved_view_field = cast(forms.ModelChoiceField, self.fields["saved_view"])
        saved_view_field.queryset = saved_views
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
                widget.attrs["class"] = "form-check-input"
            elif isinstance(widget, forms.Select) and not isinstance(widget, forms.RadioSelect):
                widget.attrs["class"] = "form-select form-select-sm"
            elif not isinstance(widget, forms.RadioSelect):
                widget.attrs["class"] = "form-control form-control-sm"

    @staticmethod
    def initial_for(report: ExpiryReport | None) -> dict[str, Any]:
        schedule = Schedule.of(report.periodic_task if report else None)
        initial: dict[str, Any] = {
            "schedule_kind": schedule.kind,
            "every": schedule.every,
            "period": schedule.period,
            "cron_minute": schedule.minute,
            "cron_hour": schedule.hour,
            "cron_day_of_month": schedule.day_of_month,
            "cron_month_of_year": schedule.month_of_year,
            "cron_day_of_week": schedule.day_of_week,
        }
        if report is None:
            return {
                **initial,
                "offline_within_days": 7,
                "sso_max_within_hours": 8,
                "idle_over_hours": 24,
                "sessions_per_user_over": 5,
                "include_lifespan_changes": True,
                "enabled": True,
            }
        return {
            **initial,
            "name": report.name,
            "realms": report.realms,
            "clients": " ".join(report.client_ids),
            "saved_view": report.saved_view_id,
            "offline_within_days": report.offline_within_days,
            "sso_max_within_hours": report.sso_max_within_hours,
            "idle_over_hours": report.idle_over_hours,
            "sessions_per_user_over": report.sessions_per_user_over,
            "include_lifespan_changes": report.include_lifespan_changes,
            "recipients": "\n".join(report.recipients),
            "send_when_empty": report.send_when_empty,
            "enabled": report.enabled,
        }

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        taken = ExpiryReport.objects.filter(name__iexact=name)
        if self.report is not None:
            taken = taken.exclude(pk=self.report.pk)
        if taken.exists():
            raise forms.ValidationError(NAME_TAKEN, code="taken")
        return name

    def clean_realms(self) -> list[str]:
        realms = self.cleaned_data["realms"]
        refused = [r for r in realms if r not in self.allowed_realms]
        if refused:
            raise forms.ValidationError(
                f"You may not read the sessions of {', '.join(refused)}.", code="forbidden"
            )
        return realms

    def clean_recipients(self) -> list[str]:
        found = addresses_parse(self.cleaned_data["recipients"])
        if not found:
            raise forms.ValidationError(RECIPIENTS_REQUIRED, code="required")
        if len(found) > MAX_RECIPIENTS:
            raise forms.ValidationError(f"At most {MAX_RECIPIENTS} recipients.", code="too_many")
        return found

    def _cron(self, name: str, max_: int, min_: int = 0) -> str:
        value = (self.cleaned_data.get(name) or "*").strip()
        try:
            crontab_parser(max_, min_).parse(value)
        except (ParseException, ValueError):
            self.add_error(name, CRON_INVALID.format(value=value))
        return value

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if not data.get("realms") and not data.get("saved_view"):
            self.add_error("realms", SCOPE_REQUIRED)
        sections = (
            "offline_within_days",
            "sso_max_within_hours",
            "idle_over_hours",
            "sessions_per_user_over",
        )
        if not any(data.get(name) for name in sections) and not data.get(
            "include_lifespan_changes"
        ):
            self.add_error("offline_within_days", SECTION_REQUIRED)
        if data.get("schedule_kind") == INTERVAL:
            if not data.get("every"):
                self.add_error("every", "Say how often.")
            if not data.get("period"):
                self.add_error("period", "Choose minutes, hours or days.")
        elif data.get("schedule_kind") == CRONTAB:
            data["cron_minute"] = self._cron("cron_minute", 60)
            data["cron_hour"] = self._cron("cron_hour", 24)
            data["cron_day_of_month"] = self._cron("cron_day_of_month", 31, 1)
            data["cron_month_of_year"] = self._cron("cron_month_of_year", 12, 1)
            data["cron_day_of_week"] = self._cron("cron_day_of_week", 7)
        return data

    def definition(self) -> ReportDefinition:
        data = self.cleaned_data
        view = data.get("saved_view")
        if data["schedule_kind"] == INTERVAL:
            schedule = Schedule(kind=INTERVAL, every=data["every"], period=data["period"])
        else:
            schedule = Schedule(
                kind=CRONTAB,
                minute=data["cron_minute"],
                hour=data["cron_hour"],
                day_of_month=data["cron_day_of_month"],
                month_of_year=data["cron_month_of_year"],
                day_of_week=data["cron_day_of_week"],
            )
        return ReportDefinition(
            name=data["name"],
            realms=[] if view else list(data.get("realms") or []),
            client_ids=[] if view else [c for c in _SPLIT.split(data.get("clients") or "") if c],
            saved_view=view,
            offline_within_days=data.get("offline_within_days"),
            sso_max_within_hours=data.get("sso_max_within_hours"),
            idle_over_hours=data.get("idle_over_hours"),
            sessions_per_user_over=data.get("sessions_per_user_over"),
            include_lifespan_changes=bool(data.get("include_lifespan_changes")),
            recipients=data["recipients"],
            send_when_empty=bool(data.get("send_when_empty")),
            enabled=bool(data.get("enabled")),
            schedule=schedule,
        )
