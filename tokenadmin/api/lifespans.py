"""Realm lifespans over the API: read with a version, write with If-Match, or dry-run.

The write goes through the editor's own `editor_submit` (same parsing, checks, diff, impact,
save, snapshots and ledger) with the realm's values as loaded being those the version names.
"""

import hashlib
import json

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from tokenadmin.lifespans.catalog import BY_NAME, LifespanValues, lifespan_values_of
from tokenadmin.lifespans.editing import EditorState, editor_submit, input_texts

from .auth import MANAGE_REALM, VIEW_REALM, caller_of
from .schemas import ERRORS, Problem

router = Router(tags=["lifespans"])


class LifespansOut(Schema):
    realm: str
    version: str = Field(description="Send it back as If-Match to write.")
    values: dict[str, int | bool] = Field(description="Keycloak's field names; seconds.")


class LifespansIn(Schema):
    values: dict[str, int | bool | str] = Field(
        description="Fields to change: seconds, a duration such as '10h', or a boolean."
    )
    dry_run: bool = False
    accept_warnings: bool = False


class ChangeOut(Schema):
    name: str
    label: str
    old_text: str
    new_text: str


class ImpactOut(Schema):
    sessions: int
    shortened: int
    lengthened: int
    ended_at_once: int
    expire_within_hour: int
    expire_within_day: int


class LifespansResult(Schema):
    realm: str
    applied: bool
    version: str = Field(description="The version after the write (unchanged on a dry run).")
    changes: list[ChangeOut]
    warnings: list[str]
    impact: ImpactOut | None


def lifespans_version(values: LifespanValues) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:20]


@router.get("/realms/{realm}", auth=VIEW_REALM, response={200: LifespansOut, **ERRORS})
def lifespans_get(request: HttpRequest, realm: str, response: HttpResponse) -> LifespansOut:
    settings = caller_of(request).gateway().realm_settings(realm)
    values = lifespan_values_of(settings.lifespans)
    version = lifespans_version(values)
    response["ETag"] = f'"{version}"'
    return LifespansOut(realm=realm, version=version, values=values)


def _form_data(current: LifespanValues, edits: dict[str, int | bool | str]) -> dict[str, str]:
    unknown = sorted(set(edits) - set(BY_NAME))
    if unknown:
        raise HttpError(400, f"Unknown lifespan fields: {', '.join(unknown)}.")
    texts = input_texts(current)
    for name, value in edits.items():
        if BY_NAME[name].kind == "switch":
            if not isinstance(value, bool):
                raise HttpError(400, f"{BY_NAME[name].label}: true or false.")
            texts[name] = value
        elif isinstance(value, bool):
            raise HttpError(400, f"{BY_NAME[name].label}: a number or a duration, not a boolean.")
        elif isinstance(value, int):
            texts[name] = input_texts({**current, name: value})[name]
        else:
            texts[name] = value
    return {k: ("on" if v else "") if isinstance(v, bool) else v for k, v in texts.items() if v}


@router.put(
    "/realms/{realm}",
    auth=MANAGE_REALM,
    response={200: LifespansResult, 412: Problem, 428: Problem, **ERRORS},
    summary="Write lifespans (If-Match: the version read), or dry-run: diff and impact",
)
def lifespans_put(request: HttpRequest, realm: str, body: LifespansIn) -> LifespansResult:
    caller = caller_of(request)
    if_match = request.headers.get("If-Match", "").strip().strip('"')
    if not if_match:
        raise HttpError(428, "Send If-Match with the version you read, so no change is lost.")
    gateway = caller.gateway()
    settings = gateway.realm_settings(realm)
    current = lifespan_values_of(settings.lifespans)
    if if_match != lifespans_version(current):
        raise HttpError(412, "The lifespans changed in Keycloak since you read them: read again.")
    data = _form_data(current, body.values)
    review = editor_submit(
        gateway=gateway,
        realm=realm,
        data=data,
        loaded=current,
        step="review",
        accept_warnings=body.accept_warnings or body.dry_run,
        reviewed=None,
        rollback_of=None,
        actor=caller.user,
        settings=settings,
    )
    state = review
    if review.stage == "review" and not body.dry_run:
        state = editor_submit(
            gateway=gateway,
            realm=realm,
            data=data,
            loaded=current,
            step="confirm",
            accept_warnings=True,
            reviewed=review.new_values,
            rollback_of=None,
            actor=caller.user,
            settings=settings,
        )
    if state.stage == "invalid":
        raise HttpError(400, " ".join(state.errors_list))
    if state.stage == "warnings":
        warned = " ".join(f.message for f in state.warnings)
        raise HttpError(400, f"{warned} Send accept_warnings: true to write anyway.")
    if state.stage == "conflict":
        raise HttpError(412, "The lifespans changed in Keycloak since you read them: read again.")
    return _lifespans_result(realm=realm, review=review, state=state)


def _lifespans_result(*, realm: str, review: EditorState, state: EditorState) -> LifespansResult:
    """What a write or its dry run answers: the diff, the warnings and the impact reviewed."""
    impact = review.impact
    return LifespansResult(
        realm=realm,
        applied=state.stage == "saved",
        version=lifespans_version(state.current),
        changes=[
            ChangeOut(name=c.name, label=c.label, old_text=c.old_text, new_text=c.new_text)
            for c in (review.changes if state.stage != "saved" else state.changes)
        ],
        warnings=[f.message for f in review.warnings],
        impact=ImpactOut(
            sessions=impact.sessions,
            shortened=impact.shortened,
            lengthened=impact.lengthened,
            ended_at_once=impact.ended_by_change,
            expire_within_hour=impact.after.within_hour,
            expire_within_day=impact.after.within_day,
        )
        if impact
        else None,
    )
