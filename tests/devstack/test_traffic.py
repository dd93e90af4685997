"""The demo's traffic generator holds the realms near their seeded size as the clock moves."""

import math
import random

import requests

from tests.fixtures.emulator import _free_port, running_emulator
from tokenadmin.devstack.keycloak_admin import AdminApi
from tokenadmin.devstack.traffic import (
    RoundReport,
    TrafficState,
    demo_plans,
    traffic_run,
    traffic_step,
)


def online_session_ids(kc, realm: str) -> set[str]:
    # A fresh admin token each time: the emulator's clock moves past any token's life.
    admin = AdminApi(kc.base_url, "admin", "admin")
    ids = set()
    for client in admin.get(f"/{realm}/clients"):
        for session in admin.get(f"/{realm}/clients/{client['id']}/user-sessions", max=10000):
            ids.add(session["id"])
    return ids


def offline_count(kc, realm: str) -> int:
    admin = AdminApi(kc.base_url, "admin", "admin")
    return sum(int(s.get("offline", 0)) for s in admin.get(f"/{realm}/client-session-stats"))


def test_an_hour_of_traffic_keeps_each_realm_near_its_target_with_sessions_coming_and_going():
    with running_emulator("--seed", "demo", "--sessions", "200") as kc:
        plans = demo_plans(sessions=200)
        seeded = {plan.realm: online_session_ids(kc, plan.realm) for plan in plans}
        assert all(seeded.values())
        state = TrafficState(plans)
        rng = random.Random(7)
        http = requests.Session()
        totals = RoundReport()

        def one_round() -> None:
            report = traffic_step(
                state,
                base_url=kc.base_url,
                now=kc.now(),
                http=http,
                rng=rng,
                budget=1000,
                sign_ins_per_realm=200,
            )
            for name in vars(totals):
                setattr(totals, name, getattr(totals, name) + getattr(report, name))

        one_round()
        first_made = {
            plan.realm: online_session_ids(kc, plan.realm) - seeded[plan.realm] for plan in plans
        }
        for _ in range(12):  # an hour in five-minute steps, a round after each
            kc.advance(300)
            one_round()

        for plan in plans:
            now_online = online_session_ids(kc, plan.realm)
            # The realm is as full as the seed made it, though every seeded online session
            # (idle for up to 27 minutes then) has idled out by now.
            assert not now_online & seeded[plan.realm]
            assert plan.online * 0.9 <= len(now_online) <= plan.online * 1.1
            # Some of the generator's own first sessions idled out or were signed out,
            # others are kept alive by refreshes.
            assert first_made[plan.realm] - now_online
            assert first_made[plan.realm] & now_online
            assert offline_count(kc, plan.realm) >= plan.offline
        assert totals.refreshed and totals.logged_out and totals.ended
        # Every sign-in names a user the seed made: no failed logins in the realms' events.
        assert not totals.failures and not state.bad_users
        assert totals.offline_started >= sum(plan.offline for plan in plans)


def test_the_loop_keeps_going_while_keycloak_is_down(capsys):
    down = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    traffic_run(base_url=down, plans=demo_plans(sessions=20), pace_s=0, rounds=3, seed=1)
    rounds = capsys.readouterr().out.splitlines()
    assert len(rounds) == 3
    assert all("+0 online +0 offline" in line and ", 0 failed" not in line for line in rounds)


def test_the_ramp_holds_each_realm_to_its_share_of_the_target_for_the_time_elapsed():
    """A quarter of the way through the ramp, a realm holds a quarter of its target, not the
    whole target (the demo on real Keycloak showed twice its size while the seed idled out)."""
    with running_emulator("--seed", "demo", "--sessions", "200") as kc:
        plans = demo_plans(sessions=200)
        state = TrafficState(plans)
        step = {
            "base_url": kc.base_url,
            "http": requests.Session(),
            "rng": random.Random(3),
            "budget": 1000,
            "sign_ins_per_realm": 200,
        }
        traffic_step(state, now=kc.now(), ramp=0.25, **step)
        quarter = {p.realm: sum(1 for h in state.held if h.realm == p.realm) for p in plans}
        traffic_step(state, now=kc.now(), ramp=1.0, **step)
        full = {p.realm: sum(1 for h in state.held if h.realm == p.realm) for p in plans}

        for plan in plans:
            expected = math.ceil(plan.online * 0.25) + math.ceil(plan.offline * 0.25)
            assert quarter[plan.realm] == expected
            assert full[plan.realm] == plan.online + plan.offline
