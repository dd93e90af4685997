"""The realm editor's flow: parse → validate → check for concurrent change → review → save.

Plain functions over typed values; the view only moves request data in and the state out.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from django.core import signing
from django.utils import timezone

from tokenadmin.accounts.models import User
from tokenadmin.core.durations import duration_format
from tokenadmin.keycloak import Forbidden, Gateway
from tokenadmin.keycloak.types import RealmSettings
from tokenadmin.sessionindex.expiry import ClientOverrides

from .catalog import (
    BY_NAME,
    FIELDS,
    LifespanField,
    LifespanValues,
    default_of,
    grouped,
    lifespan_values_of,
    value_text,
)
from .diff import FieldChange, Impact, lifespans_diff, lifespans_impact
from .drift import Culprit, realm_change_culprit
from .models import LifespanSnapshot
from .selectors import Drift, index_refreshed_at, lifespans_drift_select, session_rows_select
from .services import ConcurrentChange, SaveOutcome, realm_lifespans_update
from .validation import (
    Finding,
    ParsedForm,
    errors_of,
    lifespans_check,
    lifespans_form_parse,
    warnings_of,
)

Stage = Literal["edit", "invalid", "warnings", "conflict", "nothing", "review", "saved"]
_SALT = "tokenadmin.lifespans.editor"


def values_token(values: Mapping[str, int | bool]) -> str:
    """A tamper-proof hidden field holding lifespan values (as loaded, or as reviewed)."""
    return signing.dumps(dict(values), salt=_SALT, compress=True)


def values_from_token(token: str) -> LifespanValues | None:
    try:
        data = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        return None
    return data if isinstance(data, dict) and set(data) == set(BY_NAME) else None


def input_texts(values: Mapping[str, int | bool]) -> dict[str, str | bool]:
    """Values as the editor's inputs show them: "10h", "5m", True."""
    texts: dict[str, str | bool] = {}
    for f in FIELDS:
        value = values[f.name]
        if f.kind == "switch":
            texts[f.name] = bool(value)
        elif f.kind == "count":
            texts[f.name] = str(int(value))
        else:
            texts[f.name] = duration_format(int(value))
    return texts


@dataclass(frozen=True)
class EditorRow:
    field: LifespanField
    text: str
    checked: bool
    error: str
    warned: bool
    current_text: str
    default_text: str
    changed: bool
    # What 0 means, shown only when the current value does not already say it.
    zero_hint: str = ""


@dataclass
class EditorState:
    realm: str
    current: LifespanValues  # what Keycloak holds now
    loaded: LifespanValues  # what the form was loaded from
    shown: dict[str, str | bool]  # the inputs' contents
    stage: Stage = "edit"
    errors: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    changes: list[FieldChange] = field(default_factory=list)
    impact: Impact | None = None
    new_values: LifespanValues | None = None
    rollback_of: LifespanSnapshot | None = None
    saved: SaveOutcome | None = None
    merged_fields: list[str] = field(default_factory=list)
    drift: Drift | None = None
    culprit: Culprit | None = None
    index_refreshed_at: datetime | None = None

    @property
    def loaded_token(self) -> str:
        return values_token(self.loaded)

    @property
    def review_token(self) -> str:
        return values_token(self.new_values) if self.new_values else ""

    @property
    def errors_list(self) -> list[str]:
        return list(self.errors.values()) + [f.message for f in errors_of(self.findings)]

    @property
    def warnings(self) -> list[Finding]:
        return warnings_of(self.findings)

    def groups(self) -> list[tuple[str, list[EditorRow]]]:
        warned = {name for f in self.warnings for name in f.fields}
        error_fields = {name: msg for name, msg in self.errors.items()}
        for finding in errors_of(self.findings):
            for name in finding.fields:
                error_fields.setdefault(name, finding.message)
        out = []
        for group, fields in grouped():
            rows = []
            for f in fields:
                shown = self.shown.get(f.name, "")
                rows.append(
                    EditorRow(
                        field=f,
                        text=shown if isinstance(shown, str) else "",
                        checked=bool(shown) if f.kind == "switch" else False,
                        error=error_fields.get(f.name, ""),
                        warned=f.name in warned,
                        current_text=value_text(f, self.current[f.name]),
                        default_text=_default_text(f, self.realm),
                        changed=any(c.name == f.name for c in self.changes)
                        and self.stage == "review",
                        zero_hint=f.zero_means if self.current[f.name] != 0 else "",
                    )
                )
            out.append((group, rows))
        return out


def _default_text(f: LifespanField, realm: str) -> str:
    default = default_of(f, realm)
    return "0" if f.kind == "duration" and default == 0 else value_text(f, default)


def editor_open(
    *,
    gateway: Gateway,
    realm: str,
    rollback_of: LifespanSnapshot | None = None,
    actor: User | None = None,
) -> EditorState:
    """The editor as first loaded; for a rollback, already reviewing the snapshot's values."""
    settings = gateway.realm_settings(realm)
    current = lifespan_values_of(settings.lifespans)
    if rollback_of is not None:
        data = _form_data(input_texts({**current, **rollback_of.values}))
        return editor_submit(
            gateway=gateway,
            realm=realm,
            data=data,
            loaded=current,
            step="review",
            accept_warnings=False,
            reviewed=None,
            rollback_of=rollback_of,
            actor=actor,
            settings=settings,
        )
    state = EditorState(realm=realm, current=current, loaded=current, shown=input_texts(current))
    return _with_drift(state, gateway, settings)


def _form_data(texts: Mapping[str, str | bool]) -> dict[str, str]:
    data = {}
    for name, text in texts.items():
        if isinstance(text, bool):
            if text:
                data[name] = "on"
        else:
            data[name] = text
    return data


def _with_drift(state: EditorState, gateway: Gateway, settings: RealmSettings) -> EditorState:
    state.drift = lifespans_drift_select(realm=state.realm, current=state.current)
    if state.drift is not None and state.drift.recorded is None:
        state.culprit = realm_change_culprit(
            gateway=gateway,
            realm=state.realm,
            settings=settings,
            since=state.drift.approved.taken_at,
        )
    return state


def _client_overrides(gateway: Gateway, realm: str) -> dict[str, ClientOverrides]:
    try:
        clients = gateway.clients_list(realm)
    except Forbidden:
        return {}
    return {c.uuid: ClientOverrides.from_attributes(c.attributes) for c in clients}


def _editor_state(
    *,
    gateway: Gateway,
    realm: str,
    parsed: ParsedForm,
    loaded: LifespanValues,
    rollback_of: LifespanSnapshot | None,
    settings: RealmSettings,
) -> EditorState:
    """The editor as submitted: Keycloak's current values, the admin's inputs, any drift."""
    shown: dict[str, str | bool] = {**parsed.typed}
    for f in FIELDS:
        if f.kind == "switch":
            shown[f.name] = bool(parsed.values[f.name])
    current = lifespan_values_of(settings.lifespans)
    state = EditorState(
        realm=realm, current=current, loaded=loaded, shown=shown, rollback_of=rollback_of
    )
    _with_drift(state, gateway, settings)
    state.errors = parsed.errors
    return state


def _merged(state: EditorState, values: LifespanValues) -> EditorState:
    """The admin's edits laid over Keycloak's current values, back in the form."""
    current, loaded = state.current, state.loaded
    edits = {k: v for k, v in values.items() if v != loaded.get(k)}
    state.merged_fields = [BY_NAME[k].label for k in current if current[k] != loaded.get(k)]
    state.loaded = current
    state.shown = {**input_texts({**current, **edits})}
    state.stage = "edit"
    return state


def _saved(
    state: EditorState,
    *,
    gateway: Gateway,
    values: LifespanValues,
    actor: User | None,
) -> EditorState:
    """Save the reviewed values; a realm changed meanwhile in Keycloak is a conflict."""
    try:
        saved = realm_lifespans_update(
            gateway=gateway,
            realm=state.realm,
            values=values,
            loaded=state.loaded,
            actor=actor,
            rollback_of=state.rollback_of,
        )
    except ConcurrentChange as exc:
        state.stage = "conflict"
        state.current = exc.current
        state.changes = exc.changes
        return state
    return EditorState(
        realm=state.realm,
        current=values,
        loaded=values,
        shown=input_texts(values),
        stage="saved",
        changes=saved.changes,
        saved=saved,
    )


def _reviewed(state: EditorState, *, gateway: Gateway, values: LifespanValues) -> EditorState:
    """The diff is set already; add what the change would do to the indexed sessions."""
    state.stage = "review"
    state.index_refreshed_at = index_refreshed_at(realm=state.realm)
    state.impact = lifespans_impact(
        old=state.current,
        new=values,
        sessions=session_rows_select(realm=state.realm),
        now=timezone.now(),
        client_overrides=_client_overrides(gateway, state.realm),
    )
    return state


def editor_submit(
    *,
    gateway: Gateway,
    realm: str,
    data: Mapping[str, str],
    loaded: LifespanValues,
    step: str,
    accept_warnings: bool,
    reviewed: LifespanValues | None,
    rollback_of: LifespanSnapshot | None,
    actor: User | None,
    settings: RealmSettings | None = None,
) -> EditorState:
    """One submit of the editor. `step` is "review", "confirm" or "merge".

    Errors stop at "invalid", unticked warnings at "warnings", a realm changed in Keycloak
    since `loaded` at "conflict" (or, for "merge", the edits laid over Keycloak's values).
    "review" shows the diff and impact; "confirm" saves if the values are those reviewed.
    """
    parsed = lifespans_form_parse(data)
    state = _editor_state(
        gateway=gateway,
        realm=realm,
        parsed=parsed,
        loaded=loaded,
        rollback_of=rollback_of,
        settings=settings if settings is not None else gateway.realm_settings(realm),
    )
    if parsed.errors:
        # Range errors of the fields that did parse too, so the admin sees all at once.
        state.findings = errors_of(lifespans_check(parsed.values))
        state.stage = "invalid"
        return state
    values = parsed.values
    if step == "merge":
        return _merged(state, values)
    state.findings = lifespans_check(values)
    if errors_of(state.findings):
        state.stage = "invalid"
        return state
    if state.current != loaded:
        state.stage = "conflict"
        state.changes = lifespans_diff(loaded, state.current)
        return state
    if state.warnings and not accept_warnings:
        state.stage = "warnings"
        return state
    state.new_values = values
    state.changes = lifespans_diff(state.current, values)
    if not state.changes:
        state.stage = "nothing"
        return state
    if step == "confirm" and reviewed == values:
        return _saved(state, gateway=gateway, values=values, actor=actor)
    return _reviewed(state, gateway=gateway, values=values)
