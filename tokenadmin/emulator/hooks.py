"""Test hooks under /_emulator/ (a prefix Keycloak does not have); see the package docstring."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from tokenadmin.emulator.http import Ctx, HttpError, Router, json_response, not_found
from tokenadmin.emulator.store import new_id

if TYPE_CHECKING:
    from tokenadmin.emulator.app import Emulator

router = Router()


def _emulator(ctx: Ctx) -> Emulator:
    return ctx.request.scope["app"]


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise HttpError(400, {"error": f"{name} must be a number"})
    return float(value)


@router.route("/_emulator/clock", "GET")
def clock_get(ctx: Ctx) -> Response:
    return json_response({"now": ctx.store.clock.now()})


@router.route("/_emulator/clock", "POST")
def clock_set(ctx: Ctx) -> Response:
    body = ctx.json_object()
    if "set" in body:
        ctx.store.clock.set(_number(body["set"], "set"))
    elif "advance" in body:
        ctx.store.clock.advance(_number(body["advance"], "advance"))
    else:
        raise HttpError(400, {"error": 'expected {"set": epoch_s} or {"advance": seconds}'})
    for realm in ctx.store.realms.values():
        realm.sessions.purge()
    return json_response({"now": ctx.store.clock.now()})


@dataclass
class Fault:
    id: str
    path: re.Pattern[str]
    method: str | None
    latency_ms: float
    status: int | None
    error_rate: float
    reset_connection: bool
    times: int | None
    # Sessions of the path's realm to end (as if they expired) before the request is served.
    expire_sessions: int = 0
    # Fire on every n-th matching request only: a rate tests can count on, unlike error_rate.
    every: int = 1
    matched: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method != method:
            return False
        return self.path.search(path) is not None


class Faults:
    def __init__(self) -> None:
        self.items: list[Fault] = []
        self.rng = random.Random()

    def pick(self, method: str, path: str) -> Fault | None:
        for fault in self.items:
            if not fault.matches(method, path):
                continue
            if fault.error_rate < 1.0 and self.rng.random() >= fault.error_rate:
                continue
            fault.matched += 1
            if fault.matched % fault.every:
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.items.remove(fault)
            return fault
        return None


@router.route("/_emulator/faults", "POST")
def fault_add(ctx: Ctx) -> Response:
    body = ctx.json_object()
    try:
        pattern = re.compile(str(body.get("path", ".*")))
    except re.error as exc:
        raise HttpError(400, {"error": f"bad path regex: {exc}"}) from None
    status = body.get("status")
    if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
        raise HttpError(400, {"error": "status must be an HTTP status code"})
    rate = _number(body.get("error_rate", 1.0), "error_rate")
    if not 0.0 <= rate <= 1.0:
        raise HttpError(400, {"error": "error_rate must be within 0..1"})
    times = body.get("times")
    if times is not None and (not isinstance(times, int) or times < 1):
        raise HttpError(400, {"error": "times must be a positive integer"})
    every = body.get("every", 1)
    if not isinstance(every, int) or isinstance(every, bool) or every < 1:
        raise HttpError(400, {"error": "every must be a positive integer"})
    expire = body.get("expire_sessions", 0)
    if not isinstance(expire, int) or isinstance(expire, bool) or expire < 0:
        raise HttpError(400, {"error": "expire_sessions must be a non-negative integer"})
    fault = Fault(
        id=new_id(),
        path=pattern,
        method=(str(body["method"]).upper() if body.get("method") else None),
        latency_ms=_number(body.get("latency_ms", 0), "latency_ms"),
        status=status,
        error_rate=rate,
        reset_connection=bool(body.get("reset_connection", False)),
        times=times,
        expire_sessions=expire,
        every=every,
    )
    _emulator(ctx).faults.items.append(fault)
    return json_response({"id": fault.id, "faults": len(_emulator(ctx).faults.items)}, 201)


@router.route("/_emulator/faults", "DELETE")
def faults_clear(ctx: Ctx) -> Response:
    _emulator(ctx).faults.items.clear()
    return json_response({"faults": 0})


@router.route("/_emulator/faults", "GET")
def faults_list(ctx: Ctx) -> Response:
    items = _emulator(ctx).faults.items
    return json_response(
        [
            {
                "id": f.id,
                "path": f.path.pattern,
                "method": f.method,
                "latency_ms": f.latency_ms,
                "status": f.status,
                "error_rate": f.error_rate,
                "reset_connection": f.reset_connection,
                "times": f.times,
                "expire_sessions": f.expire_sessions,
                "every": f.every,
            }
            for f in items
        ]
    )


@router.route("/_emulator/expire", "POST")
def expire(ctx: Ctx) -> Response:
    body = ctx.json_object()
    realm, count = body.get("realm"), body.get("sessions")
    if not isinstance(realm, str) or _emulator(ctx).store.realm(realm) is None:
        raise HttpError(404, {"error": "Realm not found."})
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise HttpError(400, {"error": "sessions must be a non-negative integer"})
    return json_response({"ended": _emulator(ctx).sessions_expire(realm, count)})


@router.route("/_emulator/reset", "POST")
def reset(ctx: Ctx) -> Response:
    emulator = _emulator(ctx)
    emulator.reset()
    return json_response(
        {"now": emulator.store.clock.now(), "realms": sorted(emulator.store.realms)}
    )


@router.route("/_emulator/seed", "POST")
def seed(ctx: Ctx) -> Response:
    from tokenadmin.emulator.seed import seed_bulk

    body = ctx.json_object()
    realm = body.get("realm")
    if not isinstance(realm, str) or not realm:
        raise HttpError(400, {"error": "realm is required"})
    try:
        users = int(body.get("users", 0))
        sessions = int(body.get("sessions", 0))
        ratio = float(body.get("offline_ratio", 0.2))
    except (TypeError, ValueError):
        raise HttpError(
            400, {"error": "users, sessions and offline_ratio must be numbers"}
        ) from None
    clients = body.get("clients")
    if clients is not None and not (
        isinstance(clients, list) and all(isinstance(c, str) for c in clients)
    ):
        raise HttpError(400, {"error": "clients must be a list of clientIds"})
    result = seed_bulk(ctx.store, realm, users, sessions, ratio, clients)
    return json_response(result)


@router.route("/_emulator/sessions", "POST")
def session_create(ctx: Ctx) -> Response:
    """{"realm","username","client_id"(s),"offline","remember_me","ip","start","last_access","id"}
    -> session; "id" reuses a session id (an offline session and its online twin share one)."""
    body = ctx.json_object()
    realm = ctx.store.realm(str(body.get("realm")))
    if realm is None:
        raise not_found("Realm not found.")
    user = realm.user_by_name.get(str(body.get("username", "")).lower())
    if user is None:
        raise not_found("User not found")
    client_ids = body.get("clients") or [body.get("client_id")]
    clients = [realm.client_by_client_id.get(str(c)) for c in client_ids]
    if not clients or any(c is None for c in clients):
        raise not_found("Client not found")
    now = ctx.store.clock.now()
    start = int(body.get("start", now))
    last = int(body.get("last_access", start))
    us = realm.sessions.create(
        str(body.get("id") or new_id()),
        user.id,
        str(body.get("ip", "10.0.0.1")),
        start,
        last,
        bool(body.get("remember_me", False)),
        bool(body.get("offline", False)),
    )
    for client in clients:
        realm.sessions.attach(us, client, last, start=start)  # type: ignore[arg-type]
    return json_response(
        {
            "id": us.id,
            "offline": us.offline,
            "start": us.start * 1000,
            "lastAccess": us.last * 1000,
        },
        201,
    )
