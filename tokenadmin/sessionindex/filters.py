"""The session filter: the one owner of the sessions page's query-string keys, their parsing
(durations through core/durations.py) and the `SessionFilters` every app reads the index with
(the sessions page, CSV, saved views, reports, bulk revocation). A leaf: it imports no app."""

from dataclasses import asdict, dataclass
from typing import Any

from django import forms
from django.http import QueryDict

from tokenadmin.core.durations import DurationError, duration_parse

# Error texts, imported by the tests.
DURATION_INVALID = 'Enter a duration like "30m", "2h", "7d" or "1h30m".'
DURATION_TOO_LONG = "Durations go up to 3650 days."

MAX_DURATION_S = 3650 * 86400


class DurationTextField(forms.CharField):
    """A duration typed the way admins say it; cleans to whole seconds (or None)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, max_length=40, **kwargs)

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        try:
            seconds = duration_parse(text)
        except DurationError:
            raise forms.ValidationError(DURATION_INVALID, code="invalid") from None
        if seconds < 0:
            # A filter counts back (idle, age) or forward (expiry) from now: a sign means nothing.
            raise forms.ValidationError(DURATION_INVALID, code="invalid")
        if seconds > MAX_DURATION_S:
            raise forms.ValidationError(DURATION_TOO_LONG, code="too_long")
        return seconds

    def validate(self, value: Any) -> None:
        pass

    def run_validators(self, value: Any) -> None:
        pass


class SessionType:
    ALL = ""
    REGULAR = "regular"
    OFFLINE = "offline"
    CHOICES = ((ALL, "Regular and offline"), (REGULAR, "Regular only"), (OFFLINE, "Offline only"))


# Sort keys the page offers, each with the columns it orders by (the model's id breaks ties).
SORT_COLUMNS: dict[str, tuple[str, str]] = {
    # key: (label, model field)
    "user": ("User", "username"),
    "ip": ("IP", "ip_address"),
    "started": ("Started", "started_at"),
    "last_access": ("Last access", "last_access_at"),
    "clients": ("Clients", "client_ids_text"),
    "type": ("Type", "offline"),
    "remember_me": ("Remember me", "remember_me"),
    "expires": ("Expires in", "expires_at"),
}
DEFAULT_SORT = "-last_access"
SORT_CHOICES = [(key, key) for key in SORT_COLUMNS] + [(f"-{k}", f"-{k}") for k in SORT_COLUMNS]
PER_PAGE_CHOICES = (25, 50, 100, 200)
DEFAULT_PER_PAGE = 50

# The query-string keys that define a filter (what a saved view keeps); page and size do not.
FILTER_KEYS = ("q", "type", "client", "expiring_within", "idle_over", "older_than", "sort")
# The keys that choose rows (sort only orders them): what a "revoke all matching" link carries.
ROW_FILTER_KEYS = tuple(key for key in FILTER_KEYS if key != "sort")


@dataclass(frozen=True)
class SessionFilters:
    """One filter over a realm's indexed sessions. Durations in seconds; None means no limit."""

    q: str = ""
    type: str = SessionType.ALL
    client: str = ""  # a clientId, exactly
    expiring_within_s: int | None = None
    idle_over_s: int | None = None
    older_than_s: int | None = None
    sort: str = DEFAULT_SORT

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def is_narrowed(self) -> bool:
        """True when something other than the sort order limits the rows."""
        return self != SessionFilters(sort=self.sort)


class SessionFilterForm(forms.Form):
    """The sessions page's query string. Invalid fields are reported and left out; valid ones
    still apply, so one typo does not hide the whole table."""

    q = forms.CharField(required=False, max_length=200, label="Search", strip=True)
    type = forms.ChoiceField(required=False, choices=SessionType.CHOICES, label="Type")
    client = forms.CharField(required=False, max_length=255, label="Client")
    expiring_within = DurationTextField(label="Expiring within")
    idle_over = DurationTextField(label="Idle for more than")
    older_than = DurationTextField(label="Older than")
    sort = forms.ChoiceField(required=False, choices=SORT_CHOICES, label="Sort")
    page = forms.IntegerField(required=False, min_value=1, max_value=10**7, label="Page")
    per_page = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,  # page_size() falls back to DEFAULT_PER_PAGE
        choices=[(n, str(n)) for n in PER_PAGE_CHOICES],
        label="Rows per page",
    )

    def __init__(self, data: QueryDict | dict | None = None, **kwargs: Any) -> None:
        super().__init__(data if data is not None else {}, **kwargs)
        self.is_valid()  # fills cleaned_data with every field that validated

    def filters(self) -> SessionFilters:
        """The filter the valid fields describe; invalid fields count as absent."""
        data = self.cleaned_data
        return SessionFilters(
            q=data.get("q") or "",
            type=data.get("type") or SessionType.ALL,
            client=data.get("client") or "",
            expiring_within_s=data.get("expiring_within"),
            idle_over_s=data.get("idle_over"),
            older_than_s=data.get("older_than"),
            sort=data.get("sort") or DEFAULT_SORT,
        )

    def page_number(self) -> int:
        return self.cleaned_data.get("page") or 1

    def page_size(self) -> int:
        return self.cleaned_data.get("per_page") or DEFAULT_PER_PAGE

    def filter_query(self) -> dict[str, str]:
        """The valid, non-empty filter parameters as typed (what a saved view stores)."""
        return {
            key: str(self.data.get(key, "")).strip()
            for key in FILTER_KEYS
            if key in self.cleaned_data and self.cleaned_data[key] not in (None, "")
        }

    def error_texts(self) -> list[str]:
        """ "Expiring within: Enter a duration like …" lines for the page's message."""
        return [
            f"{self.fields[name].label}: {' '.join(str(e) for e in errors)}"
            for name, errors in self.errors.items()
        ]


def filters_from_query(query: QueryDict | dict) -> SessionFilters:
    """Parse a stored or received query dict into filters (invalid parts ignored)."""
    return SessionFilterForm(query).filters()
