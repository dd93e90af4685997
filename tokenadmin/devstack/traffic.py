"""Background sign-in traffic that keeps the demo's realms looking like a working deployment.

Part of the demo, not the product. Seeded sessions only age: without new sign-ins, a realm
empties once the SSO idle timeout has passed. This generator, through the Keycloak protocol
only (password grants, refresh_token grants, offline_access grants, logouts at the token
endpoint's logout), signs demo users in, refreshes some of the sessions it holds, lets others
idle out, logs some out, and starts offline sessions over time, holding each realm near a
target count of sessions it made. It ramps up to the target over about one SSO idle timeout,
as the seeded online sessions idle out, so a realm's total stays near its seeded size.

``python -m tokenadmin.devstack.traffic --url http://127.0.0.1:8180 --sessions 3000``
(``manage.py demo`` starts it; ``--no-traffic`` turns it off). Loopback demo only; every round
makes at most ``budget`` requests and rounds are ``pace`` seconds apart.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import random
import signal
import sys
import time
from dataclasses import dataclass, field

import requests

from tokenadmin.devstack.keycloak_signins import SECRETS, random_ip, token_endpoint

TIMEOUT_S = 30
RAMP_S = 1800  # Keycloak's default SSO idle timeout: the seeded online sessions' horizon


@dataclass(frozen=True)
class RealmPlan:
    """What to hold in one realm: `online` and `offline` sessions made by these users/clients."""

    realm: str
    clients: tuple[str, ...]
    users: tuple[str, ...]  # password = username, as both demo seeds make them
    online: int
    offline: int
    offline_users: tuple[str, ...] = ()  # users known to hold offline_access; else `users`


@dataclass
class Held:
    """A session this generator made, and what it will do with it."""

    realm: str
    client_id: str
    refresh_token: str
    offline: bool
    fate: str  # "active" (refreshed), "idle" (left to idle out), "logout" (signed out later)
    expires_at: float  # predicted end of the refresh token; 0 = no end announced
    act_at: float  # next refresh (active) or the logout (logout)
    ip: str = "127.0.0.1"  # sent as X-Forwarded-For on every call for this session


@dataclass
class TrafficState:
    plans: list[RealmPlan]
    held: list[Held] = field(default_factory=list)
    bad_users: set[tuple[str, str]] = field(default_factory=set)  # (realm, user) refused


@dataclass
class RoundReport:
    signed_in: int = 0
    offline_started: int = 0
    refreshed: int = 0
    logged_out: int = 0
    ended: int = 0
    failures: int = 0


def _post(http: requests.Session, url: str, form: dict[str, str], ip: str) -> requests.Response:
    return http.post(url, data=form, headers={"X-Forwarded-For": ip}, timeout=TIMEOUT_S)


def _client_form(client_id: str) -> dict[str, str]:
    form = {"client_id": client_id}
    secret = SECRETS.get(client_id)
    if secret:
        form["client_secret"] = secret
    return form


def _expiry(answer: dict, now: float) -> float:
    seconds = int(answer.get("refresh_expires_in") or 0)
    return now + seconds if seconds > 0 else 0


def _fate(rng: random.Random, offline: bool) -> str:
    roll = rng.random()
    if offline:
        return "active" if roll < 0.85 else "logout"
    return "active" if roll < 0.55 else "idle" if roll < 0.9 else "logout"


def _act_at(rng: random.Random, fate: str, offline: bool, now: float) -> float:
    if fate == "logout":
        return now + rng.uniform(300, 3 * 3600 if offline else 1500)
    # Well inside the SSO idle timeout (30 min by default); offline ones now and then.
    return now + (rng.uniform(3600, 6 * 3600) if offline else rng.uniform(180, 900))


def _forget_ended(state: TrafficState, now: float, report: RoundReport) -> None:
    live = []
    for held in state.held:
        if held.expires_at and held.expires_at <= now:
            report.ended += 1
        else:
            live.append(held)
    state.held = live


def _act(
    state: TrafficState,
    held: Held,
    *,
    base_url: str,
    now: float,
    http: requests.Session,
    rng: random.Random,
    report: RoundReport,
) -> None:
    """Log a due session out, or refresh it and pick when to act on it next."""
    base = f"{base_url}/realms/{held.realm}/protocol/openid-connect"
    form = {**_client_form(held.client_id), "refresh_token": held.refresh_token}
    try:
        if held.fate == "logout":
            _post(http, f"{base}/logout", form, held.ip)
            state.held.remove(held)
            report.logged_out += 1
            return
        answer = _post(http, f"{base}/token", {**form, "grant_type": "refresh_token"}, held.ip)
    except requests.RequestException:
        report.failures += 1
        return
    if answer.status_code != 200:  # ended in Keycloak (idled out, revoked by an admin)
        state.held.remove(held)
        report.ended += 1
        return
    tokens = answer.json()
    held.refresh_token = tokens.get("refresh_token", held.refresh_token)
    held.expires_at = _expiry(tokens, now)
    held.act_at = _act_at(rng, held.fate, held.offline, now)
    report.refreshed += 1


def traffic_step(
    state: TrafficState,
    *,
    base_url: str,
    now: float,
    http: requests.Session,
    rng: random.Random,
    budget: int = 40,
    sign_ins_per_realm: int = 10,
    ramp: float = 1.0,
) -> RoundReport:
    """One round: forget sessions past their end, refresh and log out what is due, then sign in
    up to `sign_ins_per_realm` new sessions per realm toward `ramp` (0 to 1) of its targets.
    At most `budget` requests. `now` is Keycloak's clock (epoch seconds), the one the token
    lifespans count in."""
    report = RoundReport()
    _forget_ended(state, now, report)
    requests_left = budget
    due = sorted(
        (h for h in state.held if h.fate in ("active", "logout") and h.act_at <= now),
        key=lambda h: h.act_at,
    )
    acted = due[: max(requests_left, 0)]
    for held in acted:
        _act(state, held, base_url=base_url, now=now, http=http, rng=rng, report=report)
    requests_left -= len(acted)

    for plan in state.plans:
        for offline, full in ((False, plan.online), (True, plan.offline)):
            target = math.ceil(full * min(max(ramp, 0.0), 1.0))
            have = sum(1 for h in state.held if h.realm == plan.realm and h.offline == offline)
            for _ in range(min(target - have, sign_ins_per_realm)):
                if requests_left <= 0:
                    return report
                requests_left -= 1
                if _sign_in(state, plan, offline, base_url=base_url, now=now, http=http, rng=rng):
                    report.offline_started += offline
                    report.signed_in += not offline
                else:
                    report.failures += 1
    return report


def _sign_in(
    state: TrafficState,
    plan: RealmPlan,
    offline: bool,
    *,
    base_url: str,
    now: float,
    http: requests.Session,
    rng: random.Random,
) -> bool:
    pool = (plan.offline_users or plan.users) if offline else plan.users
    users = [u for u in pool if (plan.realm, u) not in state.bad_users]
    if not users:
        return False
    username = rng.choice(users)
    client_id = rng.choice(plan.clients)
    form = {
        **_client_form(client_id),
        "grant_type": "password",
        "username": username,
        "password": username,
        "scope": "openid offline_access" if offline else "openid",
    }
    ip = random_ip(rng)
    try:
        answer = _post(http, token_endpoint(base_url, plan.realm), form, ip)
    except requests.RequestException:
        return False
    if answer.status_code != 200:
        if answer.status_code in (400, 401):  # no such user here, or no offline_access
            state.bad_users.add((plan.realm, username))
        return False
    tokens = answer.json()
    fate = _fate(rng, offline)
    state.held.append(
        Held(
            plan.realm,
            client_id,
            tokens["refresh_token"],
            offline,
            fate,
            _expiry(tokens, now),
            _act_at(rng, fate, offline, now),
            ip,
        )
    )
    return True


def demo_plans(*, sessions: int, real: bool = False) -> list[RealmPlan]:
    """Targets for the demo seeded with `sessions` sessions (half per realm, a fifth offline):
    the seeded online count per realm, and a few offline sessions (seeded ones last weeks).
    Bulk users are named as the seeds name them, so no sign-in fails for want of a user (a
    failed one would show as a LOGIN_ERROR event): on real Keycloak user-000000 on, sessions/4
    per realm (keycloak_seed); in the emulator one per two sessions, numbered after the realm's
    named users (2 in mlflow, 8 in master; emulator.seed.seed_bulk)."""
    per_realm = max(sessions // 2, 1)
    online = max(int(per_realm * 0.8), 1)
    offline = max(per_realm // 20, 1)

    def bulk(first: int) -> tuple[str, ...]:
        if real:
            return tuple(f"user-{i:06d}" for i in range(max(sessions // 4, 1)))
        return tuple(f"user-{i:06d}" for i in range(first, first + max(per_realm // 2, 1)))

    return [
        RealmPlan(
            "mlflow", ("mlflow",), ("mlflow_user", "mlflow_admin", *bulk(2)), online, offline
        ),
        RealmPlan(
            "master",
            ("api-client", "sdk-client", "tokenadmin"),
            ("wallaroo_user", "data_scientist", *bulk(8)),
            online,
            offline,
        ),
    ]


def traffic_run(
    *,
    base_url: str,
    plans: list[RealmPlan],
    pace_s: float = 5,
    budget: int = 40,
    rounds: int | None = None,
    seed: int | None = None,
) -> None:
    """Rounds `pace_s` apart until stopped, ramping to the targets over RAMP_S: the share of
    each target held grows with the time elapsed, as the seeded sessions idle out (a fixed
    number per round, rounded up to 1, reached the target three times too soon)."""
    state = TrafficState(plans)
    rng = random.Random(seed)
    http = requests.Session()
    started = time.monotonic()
    done = 0
    while rounds is None or done < rounds:
        done += 1
        try:
            report = traffic_step(
                state,
                base_url=base_url,
                now=time.time(),
                http=http,
                rng=rng,
                budget=budget,
                ramp=(time.monotonic() - started) / RAMP_S if RAMP_S else 1.0,
            )
        except Exception as exc:  # a bad answer must not stop the whole demo
            print(f"round {done} failed: {type(exc).__name__}: {exc}", flush=True)
            time.sleep(pace_s)
            continue
        held = {p.realm: sum(1 for h in state.held if h.realm == p.realm) for p in plans}
        print(
            f"round {done}: +{report.signed_in} online +{report.offline_started} offline, "
            f"{report.refreshed} refreshed, {report.logged_out} logged out, {report.ended} "
            f"ended, {report.failures} failed; holding {held}",
            flush=True,
        )
        time.sleep(pace_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="Keycloak base URL")
    parser.add_argument("--sessions", type=int, default=3000, help="the demo's seeded count")
    parser.add_argument("--real", action="store_true", help="real Keycloak's demo seed")
    parser.add_argument("--pace", type=float, default=5, help="seconds between rounds")
    parser.add_argument("--budget", type=int, default=40, help="requests per round at most")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with contextlib.suppress(KeyboardInterrupt):
        traffic_run(
            base_url=args.url.rstrip("/"),
            plans=demo_plans(sessions=args.sessions, real=args.real),
            pace_s=args.pace,
            budget=args.budget,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
