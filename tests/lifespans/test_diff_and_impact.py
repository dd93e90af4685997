from datetime import UTC, datetime, timedelta

from tokenadmin.lifespans.catalog import lifespan_values_of
from tokenadmin.lifespans.diff import SessionRow, lifespans_diff, lifespans_impact
from tokenadmin.sessionindex.expiry import ClientOverrides

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
DEFAULTS = lifespan_values_of({})


def online(started_ago_s, idle_s=0, remember_me=False):
    return SessionRow(
        offline=False,
        remember_me=remember_me,
        started_at=NOW - timedelta(seconds=started_ago_s),
        last_access_at=NOW - timedelta(seconds=idle_s),
    )


def test_the_diff_lists_only_changed_fields_in_human_units():
    changes = lifespans_diff(
        DEFAULTS, {**DEFAULTS, "ssoSessionMaxLifespan": 43200, "revokeRefreshToken": True}
    )
    assert [(c.label, c.old_text, c.new_text) for c in changes] == [
        ("SSO Session Max", "10 h", "12 h"),
        ("Revoke Refresh Token", "off", "on"),
    ]


def test_a_zero_that_means_inherit_says_so():
    changes = lifespans_diff({**DEFAULTS, "clientSessionIdleTimeout": 600}, DEFAULTS)
    assert changes[0].new_text == "0 (same as SSO Session Idle)"


def test_no_change_no_diff():
    assert lifespans_diff(DEFAULTS, dict(DEFAULTS)) == []


def test_shortening_sso_max_ends_old_sessions_at_once_and_others_within_the_hour():
    sessions = [online(9 * 3600), online(5 * 3600 + 2700), online(600), online(8 * 3600, 3000)]
    impact = lifespans_impact(
        old=DEFAULTS,
        new={**DEFAULTS, "ssoSessionMaxLifespan": 6 * 3600},
        sessions=sessions,
        now=NOW,
    )
    # The last one is idle for 50 min of 30: already gone, so the change does nothing to it.
    assert impact.sessions == 3
    assert impact.after.at_once == 1  # started 9 h ago
    assert impact.now.at_once == 0
    assert impact.after.within_hour == 2  # 5 h 45 ago: 15 min left; 10 min ago: idle 30 min
    assert impact.shortened == 2
    assert impact.ended_by_change == 1


def test_lengthening_idle_pushes_sessions_past_the_hour():
    sessions = [online(600, 60), online(1200, 120)]
    impact = lifespans_impact(
        old=DEFAULTS,
        new={**DEFAULTS, "ssoSessionIdleTimeout": 4 * 3600},
        sessions=sessions,
        now=NOW,
    )
    assert impact.now.within_hour == 2
    assert impact.after.within_hour == 0
    assert impact.after.within_day == 2
    assert impact.lengthened == 2


def test_offline_sessions_follow_the_offline_values_and_client_overrides():
    row = SessionRow(
        offline=True,
        remember_me=False,
        started_at=NOW - timedelta(days=3),
        last_access_at=NOW - timedelta(hours=2),
        client_uuids=("uuid-api",),
    )
    impact = lifespans_impact(
        old=DEFAULTS,
        new={
            **DEFAULTS,
            "offlineSessionMaxLifespanEnabled": True,
            "offlineSessionMaxLifespan": 2 * 86400,
        },
        sessions=[row],
        now=NOW,
    )
    assert impact.after.at_once == 1
    overridden = lifespans_impact(
        old=DEFAULTS,
        new={**DEFAULTS, "offlineSessionIdleTimeout": 86400},
        sessions=[row],
        now=NOW,
        client_overrides={"uuid-api": ClientOverrides(offline_idle_s=3 * 3600)},
    )
    # Its client's own 3 h idle makes it end within the hour (2 h already idle).
    assert overridden.now.within_hour == 1
    assert overridden.after.within_hour == 1
