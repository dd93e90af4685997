"""The API's request and response shapes (pydantic, through django-ninja)."""

from datetime import datetime

from ninja import Schema
from pydantic import Field


class Problem(Schema):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str = ""


# What any operation may answer besides its own: bad input, not signed in, refused, not found
# (in tokenadmin or in Keycloak), Keycloak unreachable.
ERRORS: dict[int | str, type[Schema]] = {
    400: Problem,
    401: Problem,
    403: Problem,
    404: Problem,
    503: Problem,
}


class Lifespans(Schema):
    access_token_s: int
    sso_idle_s: int
    sso_max_s: int
    offline_idle_s: int
    offline_max_enabled: bool
    offline_max_s: int


class RealmOut(Schema):
    name: str
    display_name: str
    enabled: bool
    active_client_sessions: int | None
    offline_client_sessions: int | None
    clients_with_sessions: int | None
    my_rights: list[str]
    lifespans: Lifespans | None


class SessionOut(Schema):
    session_id: str
    type: str
    username: str
    user_id: str
    ip_address: str
    started_at: datetime
    last_access_at: datetime
    remember_me: bool
    clients: list[str]
    expires_at: datetime | None


class SessionPage(Schema):
    realm: str
    refreshed_at: datetime | None
    items: list[SessionOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end.")


class PlanIn(Schema):
    kind: str = Field(
        description="selection, client, offline_older_than, group, user, filter, realm"
    )
    client: str = ""
    offline: bool = False
    older_than_days: int | None = None
    group: str = ""
    user: str = Field(default="", description="A username or user id (kind=user), read live")
    view: int | None = None
    sessions: list[str] = Field(default_factory=list, description="`<id>` or `<id>:offline`")
    query: dict[str, str] = Field(
        default_factory=dict, description="The sessions page's filter (kind=filter)"
    )


class TargetOut(Schema):
    session_id: str
    offline: bool
    username: str


class PlanOut(Schema):
    plan_id: str = Field(description="Signed; pass it to apply. Valid until expires_at.")
    realm: str
    label: str
    count: int | None = Field(description="null when the index was never refreshed")
    offline_count: int
    sample: list[TargetOut]
    excluded: list[dict[str, str]]
    residual_risk: list[str]
    expires_at: datetime


class ApplyIn(Schema):
    plan_id: str
    reason: str = Field(min_length=1, max_length=2000)
    ticket: str = Field(default="", max_length=255)


class JobOut(Schema):
    id: int
    realm: str
    label: str
    state: str
    total: int
    pending: int
    done: int
    already_gone: int
    failed: int
    listed: bool
    stopped_reason: str


class JobItemOut(Schema):
    session_id: str
    offline: bool
    username: str
    state: str
    error: str


class ClientSessionsOut(Schema):
    client_id: str
    online_count: int
    offline_count: int
    items: list[SessionOut]


class LedgerEntryOut(Schema):
    id: int
    created_at: datetime
    actor: str
    realm: str
    action: str
    target_type: str
    target_id: str
    target_label: str
    reason: str
    ticket: str
    outcome: str
    detail: str


class LedgerPage(Schema):
    items: list[LedgerEntryOut]
    next_cursor: str | None
