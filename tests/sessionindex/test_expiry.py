"""Predicted expiry: each rule of the facts sheet (§5, §6), one case per line."""

from datetime import UTC, datetime, timedelta

import pytest

from tokenadmin.sessionindex.expiry import (
    Bounds,
    ClientActivity,
    ClientOverrides,
    EffectiveLifespans,
    SessionTimes,
    expires_in_text,
    session_expiry_predict,
)

START = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
MIN = 60
HOUR = 3600
DAY = 86400


def expiry_after_start_s(
    rep: dict,
    *,
    offline: bool = False,
    remember_me: bool = False,
    idle_for_s: int = 0,
    clients: tuple[tuple[dict, int | None], ...] = (),
) -> int:
    """Seconds from session start to predicted expiry, last used `idle_for_s` after start."""
    session = SessionTimes(
        offline=offline,
        remember_me=remember_me,
        started_at=START,
        last_access_at=START + timedelta(seconds=idle_for_s),
        clients=tuple(
            ClientActivity(
                overrides=ClientOverrides.from_attributes(attributes),
                last_access_at=None if used_s is None else START + timedelta(seconds=used_s),
            )
            for attributes, used_s in clients
        ),
    )
    expires = session_expiry_predict(
        lifespans=EffectiveLifespans.from_representation(rep), session=session
    )
    return int((expires - START).total_seconds())


@pytest.mark.parametrize(
    ("rule", "rep", "kwargs", "expected_s"),
    [
        ("defaults: idle 30 min from last access", {}, {}, 30 * MIN),
        (
            "defaults: a busy session stops at max 10 h",
            {},
            {"idle_for_s": 9 * HOUR + 50 * MIN},
            10 * HOUR,
        ),
        ("idle counts from last access", {}, {"idle_for_s": 2 * HOUR}, 2 * HOUR + 30 * MIN),
        ("realm idle", {"ssoSessionIdleTimeout": 600}, {}, 10 * MIN),
        ("realm max", {"ssoSessionMaxLifespan": 3600}, {"idle_for_s": 50 * MIN}, HOUR),
        ("zero idle means the default", {"ssoSessionIdleTimeout": 0}, {}, 30 * MIN),
        (
            "negative max means the default",
            {"ssoSessionMaxLifespan": -1},
            {"idle_for_s": 10 * HOUR},
            10 * HOUR,
        ),
        ("a float setting is truncated", {"ssoSessionIdleTimeout": 600.9}, {}, 10 * MIN),
    ],
)
def test_an_online_session_expires_at_idle_or_max_whichever_comes_first(
    rule, rep, kwargs, expected_s
):
    assert expiry_after_start_s(rep, **kwargs) == expected_s, rule


REMEMBER_ME_ON = {"rememberMe": True}


@pytest.mark.parametrize(
    ("rule", "rep", "kwargs", "expected_s"),
    [
        (
            "remember-me 0 falls back to the SSO values",
            {**REMEMBER_ME_ON, "ssoSessionIdleTimeoutRememberMe": 0},
            {},
            30 * MIN,
        ),
        (
            "a longer remember-me idle applies",
            {**REMEMBER_ME_ON, "ssoSessionIdleTimeoutRememberMe": 7 * DAY},
            {},
            10 * HOUR,  # idle 7 d, but the SSO max of 10 h still bounds it
        ),
        (
            "longer remember-me idle and max both apply",
            {
                **REMEMBER_ME_ON,
                "ssoSessionIdleTimeoutRememberMe": 7 * DAY,
                "ssoSessionMaxLifespanRememberMe": 30 * DAY,
            },
            {"idle_for_s": DAY},
            8 * DAY,
        ),
        (
            "a shorter remember-me value has no effect (effective = max of both)",
            {
                **REMEMBER_ME_ON,
                "ssoSessionIdleTimeoutRememberMe": 60,
                "ssoSessionMaxLifespanRememberMe": 120,
            },
            {},
            30 * MIN,
        ),
        (
            "realm remember-me switched off ends remember-me sessions",
            {"rememberMe": False, "ssoSessionIdleTimeoutRememberMe": 7 * DAY},
            {"idle_for_s": 5 * MIN},
            0,
        ),
    ],
)
def test_remember_me_sessions_use_the_longer_of_normal_and_remember_me_values(
    rule, rep, kwargs, expected_s
):
    assert expiry_after_start_s(rep, remember_me=True, **kwargs) == expected_s, rule


def test_remember_me_values_do_not_touch_sessions_without_remember_me():
    rep = {**REMEMBER_ME_ON, "ssoSessionIdleTimeoutRememberMe": 7 * DAY}
    assert expiry_after_start_s(rep, remember_me=False) == 30 * MIN


@pytest.mark.parametrize(
    ("rule", "rep", "kwargs", "expected_s"),
    [
        ("offline default: 30 days idle from last access", {}, {"idle_for_s": DAY}, 31 * DAY),
        ("offline has no max unless enabled", {}, {"idle_for_s": 100 * DAY}, 130 * DAY),
        (
            "a max that is not enabled is ignored",
            {"offlineSessionMaxLifespan": DAY},
            {"idle_for_s": 10 * DAY},
            40 * DAY,
        ),
        (
            "an enabled max bounds offline sessions",
            {"offlineSessionMaxLifespanEnabled": True, "offlineSessionMaxLifespan": 40 * DAY},
            {"idle_for_s": 20 * DAY},
            40 * DAY,
        ),
        (
            "an enabled max of 0 means the 60 day default",
            {"offlineSessionMaxLifespanEnabled": True, "offlineSessionMaxLifespan": 0},
            {"idle_for_s": 50 * DAY},
            60 * DAY,
        ),
        ("offline idle", {"offlineSessionIdleTimeout": HOUR}, {}, HOUR),
        ("zero offline idle means the default", {"offlineSessionIdleTimeout": 0}, {}, 30 * DAY),
        (
            "remember-me does not change offline sessions",
            {**REMEMBER_ME_ON, "ssoSessionIdleTimeoutRememberMe": 90 * DAY},
            {"remember_me": True},
            30 * DAY,
        ),
        (
            "remember-me offline sessions survive the realm switch being off",
            {"rememberMe": False},
            {"remember_me": True},
            30 * DAY,
        ),
    ],
)
def test_an_offline_session_expires_by_the_offline_values(rule, rep, kwargs, expected_s):
    assert expiry_after_start_s(rep, offline=True, **kwargs) == expected_s, rule


@pytest.mark.parametrize(
    ("rule", "rep", "clients", "expected_s"),
    [
        (
            "client offline idle ends the session with its only client",
            {},
            (({"client.offline.session.idle.timeout": str(DAY)}, None),),
            DAY,
        ),
        (
            "the session lasts as long as its longest-lived client",
            {},
            (
                ({"client.offline.session.idle.timeout": str(DAY)}, None),
                ({"client.offline.session.idle.timeout": str(2 * DAY)}, None),
            ),
            2 * DAY,
        ),
        (
            "a client without override keeps the session at the realm value",
            {},
            (({"client.offline.session.idle.timeout": str(DAY)}, None), ({}, None)),
            30 * DAY,
        ),
        (
            "a client value above the realm value has no effect",
            {"offlineSessionIdleTimeout": DAY},
            (({"client.offline.session.idle.timeout": str(90 * DAY)}, None),),
            DAY,
        ),
        (
            "blank and zero attributes inherit",
            {},
            (
                ({"client.offline.session.idle.timeout": ""}, None),
                ({"client.offline.session.idle.timeout": "0"}, None),
            ),
            30 * DAY,
        ),
        (
            "the realm's client offline idle applies to every client",
            {"clientOfflineSessionIdleTimeout": 3 * DAY},
            (({}, None),),
            3 * DAY,
        ),
        (
            "a client's own offline max applies even with the realm max off",
            {},
            (({"client.offline.session.max.lifespan": str(5 * DAY)}, 4 * DAY),),
            5 * DAY,
        ),
        (
            "the realm's client offline max needs the realm max enabled",
            {"clientOfflineSessionMaxLifespan": 5 * DAY},
            (({}, 4 * DAY),),
            34 * DAY,
        ),
        (
            "the realm's client offline max applies when enabled",
            {
                "offlineSessionMaxLifespanEnabled": True,
                "clientOfflineSessionMaxLifespan": 5 * DAY,
            },
            (({}, 4 * DAY),),
            5 * DAY,
        ),
        (
            "each client session idles from its own last use",
            {"clientOfflineSessionIdleTimeout": DAY},
            (({}, 2 * DAY), ({}, 3 * DAY)),
            4 * DAY,
        ),
    ],
)
def test_an_offline_session_ends_when_its_last_client_session_does(rule, rep, clients, expected_s):
    # The session itself was last used at its latest client use (or at start).
    last_use = max((used for _, used in clients if used is not None), default=0)
    assert (
        expiry_after_start_s(rep, offline=True, idle_for_s=last_use, clients=clients) == expected_s
    ), rule


def test_client_overrides_do_not_end_an_online_session():
    clients = (({"client.session.idle.timeout": "60", "client.session.max.lifespan": "120"}, None),)
    assert expiry_after_start_s({}, clients=clients) == 30 * MIN


@pytest.mark.parametrize(
    ("rule", "rep", "attributes", "remember_me", "expected"),
    [
        ("inherits the SSO values", {}, {}, False, Bounds(1800, 36000)),
        (
            "realm client values",
            {"clientSessionIdleTimeout": 600, "clientSessionMaxLifespan": 7200},
            {},
            False,
            Bounds(600, 7200),
        ),
        (
            "client attribute beats the realm client value",
            {"clientSessionIdleTimeout": 600},
            {"client.session.idle.timeout": "300"},
            False,
            Bounds(300, 36000),
        ),
        (
            "a client value above SSO has no effect",
            {},
            {"client.session.idle.timeout": "99999", "client.session.max.lifespan": "99999"},
            False,
            Bounds(1800, 36000),
        ),
        (
            "a realm client value above SSO has no effect",
            {"clientSessionMaxLifespan": 99999},
            {},
            False,
            Bounds(1800, 36000),
        ),
        (
            "remember-me lifts the cap",
            {"ssoSessionIdleTimeoutRememberMe": 7200, "rememberMe": True},
            {"client.session.idle.timeout": "5000"},
            True,
            Bounds(5000, 36000),
        ),
        (
            "negative attribute inherits",
            {},
            {"client.session.max.lifespan": "-1"},
            False,
            Bounds(1800, 36000),
        ),
    ],
)
def test_client_session_bounds_follow_client_then_realm_then_session(
    rule, rep, attributes, remember_me, expected
):
    lifespans = EffectiveLifespans.from_representation(rep)
    bounds = lifespans.client_bounds(
        ClientOverrides.from_attributes(attributes), offline=False, remember_me=remember_me
    )
    assert bounds == expected, rule


def test_effective_lifespans_read_the_realm_representation_with_defaults():
    lifespans = EffectiveLifespans.from_representation(
        {
            "accessTokenLifespan": 60,
            "ssoSessionIdleTimeout": 0,
            "ssoSessionMaxLifespan": 7200,
            "ssoSessionIdleTimeoutRememberMe": 86400,
            "ssoSessionMaxLifespanRememberMe": 0,
            "offlineSessionMaxLifespanEnabled": True,
            "offlineSessionMaxLifespan": 0,
        }
    )
    assert lifespans.access_token_s == 60
    assert lifespans.sso_idle_s == 1800
    assert lifespans.sso_max_s == 7200
    assert lifespans.remember_me_idle_s == 86400
    assert lifespans.remember_me_max_s == 7200
    assert lifespans.offline_max_s == 5184000
    assert lifespans.client_idle_s is None
    assert lifespans.as_dict()["sso_max_s"] == 7200


def test_client_overrides_read_keycloak_attribute_strings():
    overrides = ClientOverrides.from_attributes(
        {
            "access.token.lifespan": "3600",
            "client.session.idle.timeout": "",
            "use.refresh.tokens": "true",
        }
    )
    assert overrides == ClientOverrides(access_token_s=3600)
    assert ClientOverrides.from_attributes({"access.token.lifespan": "-1"}).access_token_s == -1


NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expires_at", "text"),
    [
        (NOW + timedelta(hours=2, minutes=10, seconds=5), "expires in 2 h 10 min"),
        (NOW + timedelta(minutes=5), "expires in 5 min"),
        (NOW + timedelta(seconds=45), "expires in 45 s"),
        (NOW + timedelta(days=29, hours=23), "expires in 29 d 23 h"),
        (NOW, "expired"),
        (NOW - timedelta(minutes=5), "expired 5 min ago"),
        (None, "—"),
    ],
)
def test_expiry_reads_as_expires_in_units_admins_think_in(expires_at, text):
    assert expires_in_text(expires_at, NOW) == text
