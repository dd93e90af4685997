"""Will a job's credentials last? Pure arithmetic over the effective lifespans (facts §6).

A job gets tokens once, then either uses its access token until it expires (no refresh), or
refreshes each time the access token runs out (online or offline refresh token). The verdict
names the setting that ends it first and a change that would let the job finish.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass

from tokenadmin.core.durations import duration_format, duration_text
from tokenadmin.sessionindex.expiry import ATTR_ACCESS_TOKEN, EffectiveLifespans, positive_or


@dataclass(frozen=True)
class SurvivalVerdict:
    survives: bool
    job_s: int
    # How long the credentials last; None = as long as the job keeps refreshing.
    lasts_s: int | None
    # The setting that ends the credentials first ("" when nothing does).
    ends_by: str
    ends_by_field: str
    explanation: str
    fix: str


def _suggest(job_s: int) -> str:
    """A round value comfortably above the job: 11 h → "12h", 40 min → "45m"."""
    if job_s >= 3600:
        return f"{math.floor(job_s / 3600) + 1}h"
    return duration_format((math.floor(job_s / 300) + 1) * 300)


@dataclass(frozen=True)
class _Limit:
    seconds: int
    label: str  # "SSO Session Max"
    field: str  # realm field or client attribute
    client_level: bool  # the client's own attribute


def _access_limit(rules: EffectiveLifespans, attributes: Mapping[str, str], client: str) -> _Limit:
    raw = str(attributes.get(ATTR_ACCESS_TOKEN) or "").strip()
    try:
        own = int(float(raw)) if raw else 0
    except ValueError:
        own = 0
    if own > 0:
        return _Limit(own, f"access.token.lifespan of {client}", ATTR_ACCESS_TOKEN, True)
    if own == -1:
        return _Limit(
            rules.sso_max_s, f"access.token.lifespan of {client} (-1)", ATTR_ACCESS_TOKEN, True
        )
    return _Limit(rules.access_token_s, "Access Token Lifespan", "accessTokenLifespan", False)


def _tightest(own: _Limit, realm_client: _Limit, realm: _Limit) -> _Limit:
    """The client's own value when set below the realm's, else the realm's client-level value
    when set below it, else the realm's own: Keycloak takes the smallest set one."""
    if 0 < own.seconds < realm.seconds:
        return own
    if realm_client.seconds and realm_client.seconds < realm.seconds:
        return realm_client
    return realm


def _online_max(rules: EffectiveLifespans, attributes: Mapping[str, str], client: str) -> _Limit:
    field = "client.session.max.lifespan"
    return _tightest(
        _Limit(
            positive_or(attributes.get(field), 0), f"Client Session Max of {client}", field, True
        ),
        _Limit(rules.client_max_s or 0, "Client Session Max", "clientSessionMaxLifespan", False),
        _Limit(rules.sso_max_s, "SSO Session Max", "ssoSessionMaxLifespan", False),
    )


def _online_idle(rules: EffectiveLifespans, attributes: Mapping[str, str], client: str) -> _Limit:
    field = "client.session.idle.timeout"
    return _tightest(
        _Limit(
            positive_or(attributes.get(field), 0), f"Client Session Idle of {client}", field, True
        ),
        _Limit(rules.client_idle_s or 0, "Client Session Idle", "clientSessionIdleTimeout", False),
        _Limit(rules.sso_idle_s, "SSO Session Idle", "ssoSessionIdleTimeout", False),
    )


def _offline_idle(rules: EffectiveLifespans, attributes: Mapping[str, str], client: str) -> _Limit:
    field = "client.offline.session.idle.timeout"
    own = positive_or(attributes.get(field), 0)
    return _tightest(
        _Limit(own, f"Client Offline Session Idle of {client}", field, True),
        _Limit(
            rules.client_offline_idle_s or 0,
            "Client Offline Session Idle",
            "clientOfflineSessionIdleTimeout",
            False,
        ),
        _Limit(rules.offline_idle_s, "Offline Session Idle", "offlineSessionIdleTimeout", False),
    )


def _offline_max(
    rules: EffectiveLifespans, attributes: Mapping[str, str], client: str
) -> _Limit | None:
    own = positive_or(attributes.get("client.offline.session.max.lifespan"), 0)
    realm_max = rules.offline_max_s
    if own > 0 and (realm_max is None or own < realm_max):
        return _Limit(
            own,
            f"Client Offline Session Max of {client}",
            "client.offline.session.max.lifespan",
            True,
        )
    if realm_max is None:
        return None
    if rules.client_offline_max_s and rules.client_offline_max_s < realm_max:
        return _Limit(
            rules.client_offline_max_s,
            "Client Offline Session Max",
            "clientOfflineSessionMaxLifespan",
            False,
        )
    return _Limit(realm_max, "Offline Session Max", "offlineSessionMaxLifespan", False)


def _raise_fix(limit: _Limit, job_s: int, client: str, *, ceiling: _Limit | None = None) -> str:
    target = _suggest(job_s)
    if limit.client_level:
        fix = f"raise {limit.label} to {target}"
    elif limit.field == "ssoSessionMaxLifespan":
        fix = (
            f"raise SSO Session Max to {target} (realm-wide; Client Session Max for {client} "
            "cannot go above it)"
        )
    else:
        fix = f"raise {limit.label} to {target} (realm-wide)"
    if ceiling is not None and job_s > ceiling.seconds and limit.field != ceiling.field:
        fix += f", and {ceiling.label} too (a client value above it has no effect)"
    return fix


@dataclass(frozen=True)
class _Ending:
    """What ends the credentials first: the setting, after how long (None: never), why, and
    the change that would let the job finish."""

    limit: _Limit | None
    lasts_s: int | None
    explanation: str
    fix: str


def _offline_ending(
    rules: EffectiveLifespans,
    attributes: Mapping[str, str],
    client: str,
    access: _Limit,
    job_s: int,
) -> _Ending:
    idle = _offline_idle(rules, attributes, client)
    top = _offline_max(rules, attributes, client)
    if access.seconds >= idle.seconds:
        return _Ending(
            idle,
            access.seconds,
            f"{idle.label} ({duration_text(idle.seconds)}) is not longer than the access "
            f"token ({duration_text(access.seconds)}): the offline session goes idle before "
            "the job's first refresh.",
            f"lower {access.label} below {duration_text(idle.seconds)}, or make the job "
            "refresh earlier",
        )
    if top is None:
        return _Ending(
            None,
            None,
            "An offline token has no maximum in this realm (Offline Session Max Limited is "
            f"off): refreshing every {duration_text(access.seconds)}, the job can run "
            "indefinitely.",
            "",
        )
    return _Ending(
        top,
        top.seconds,
        f"{top.label} ({duration_text(top.seconds)}) ends the offline session after "
        f"{duration_text(top.seconds)}; the job needs {duration_text(job_s)}.",
        _raise_fix(top, job_s, client) + ", or switch Offline Session Max Limited off",
    )


def _online_ending(
    rules: EffectiveLifespans,
    attributes: Mapping[str, str],
    client: str,
    access: _Limit,
    job_s: int,
    *,
    refresh: bool,
) -> _Ending:
    job = duration_text(job_s)
    session_max = _online_max(rules, attributes, client)
    sso = _Limit(rules.sso_max_s, "SSO Session Max", "ssoSessionMaxLifespan", False)
    max_fix = _raise_fix(session_max, job_s, client, ceiling=sso) + ", or use an offline token"
    if not refresh:
        if access.seconds < session_max.seconds:
            return _Ending(
                access,
                access.seconds,
                f"The access token expires after {duration_text(access.seconds)} "
                f"({access.label}) and the job does not refresh; the job needs {job}.",
                f"let the job refresh its token (or use an offline token), or raise "
                f"{access.label} to {_suggest(job_s)}",
            )
        return _Ending(
            session_max,
            session_max.seconds,
            f"{session_max.label} ({duration_text(session_max.seconds)}) cuts the access token "
            f"off after {duration_text(session_max.seconds)}; the job needs {job}.",
            max_fix,
        )
    idle = _online_idle(rules, attributes, client)
    if access.seconds >= idle.seconds:
        return _Ending(
            idle,
            access.seconds,
            f"{idle.label} ({duration_text(idle.seconds)}) is not longer than the access token "
            f"({duration_text(access.seconds)}): the session goes idle before the job's first "
            "refresh.",
            f"lower {access.label} below {duration_text(idle.seconds)}, or make the job refresh "
            "earlier",
        )
    return _Ending(
        session_max,
        session_max.seconds,
        f"{session_max.label} ({duration_text(session_max.seconds)}) ends the session after "
        f"{duration_text(session_max.seconds)}; refreshing does not extend it. The job needs "
        f"{job}.",
        max_fix,
    )


def job_survival_check(
    *,
    realm_lifespans: Mapping[str, object],
    client_attributes: Mapping[str, str],
    client_id: str,
    job_s: int,
    refresh: bool,
    offline: bool,
) -> SurvivalVerdict:
    """Whether credentials obtained at the job's start last `job_s` seconds.

    `offline` means the job holds an offline token, which is a refresh token: it implies
    refreshing. Without refresh the job lives on its first access token.
    """
    rules = EffectiveLifespans.from_representation(realm_lifespans)
    access = _access_limit(rules, client_attributes, client_id)
    if offline:
        ending = _offline_ending(rules, client_attributes, client_id, access, job_s)
    else:
        ending = _online_ending(rules, client_attributes, client_id, access, job_s, refresh=refresh)
    survives = ending.lasts_s is None or job_s <= ending.lasts_s
    return SurvivalVerdict(
        survives=survives,
        job_s=job_s,
        lasts_s=ending.lasts_s,
        ends_by=ending.limit.label if ending.limit else "",
        ends_by_field=ending.limit.field if ending.limit else "",
        explanation=ending.explanation,
        fix="" if survives else ending.fix,
    )
