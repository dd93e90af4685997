"""The ASGI application: routing, admin authentication, faults, errors and the access log."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from tokenadmin.emulator import (
    admin_api,
    admin_roles,
    admin_sessions,
    device,
    discovery,
    hooks,
    login,
    mappers,
    oidc,
    required_actions,
)
from tokenadmin.emulator.authz import authenticate
from tokenadmin.emulator.http import (
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    UNKNOWN_ERROR,
    Ctx,
    HttpError,
    Router,
    json_response,
)
from tokenadmin.emulator.seed import SeedConfig, build_store

log = logging.getLogger("tokenadmin.emulator")

ROUTERS: list[Router] = [
    oidc.router,
    discovery.router,
    admin_api.router,
    admin_roles.router,
    admin_sessions.router,
    login.router,
    required_actions.router,
    device.router,
    mappers.router,
    hooks.router,
]


class Emulator:
    """The ASGI app. Holds the store (replaced wholesale by reset) and the fault list."""

    def __init__(self, config: SeedConfig) -> None:
        self.config = config
        self.store = build_store(config)
        self.faults = hooks.Faults()

    def reset(self) -> None:
        self.store = build_store(self.config)
        self.faults.items.clear()

    def sessions_expire(self, realm_name: str, count: int) -> int:
        """End `count` random live sessions of the realm, as expiry would (sessions leaving
        the lists while a client pages through them); returns how many ended."""
        realm = self.store.realm(realm_name)
        if realm is None:
            return 0
        sessions = realm.sessions
        live = [*sessions.online.by_id.values(), *sessions.offline.by_id.values()]
        ended = self.faults.rng.sample(live, min(count, len(live)))
        for us in ended:
            sessions.remove(us)
        return len(ended)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        scope["app"] = self
        request = Request(scope, receive)
        started = time.perf_counter()
        path = request.url.path
        method = request.method
        if not path.startswith("/_emulator/"):
            fault = self.faults.pick(method, path)
            if fault is not None:
                match = re.match(r"/admin/realms/([^/]+)/", path)
                if fault.expire_sessions and match:
                    self.sessions_expire(match.group(1), fault.expire_sessions)
                if fault.latency_ms:
                    await asyncio.sleep(fault.latency_ms / 1000)
                if fault.reset_connection:
                    log.info("%s %s reset (fault)", method, path)
                    _abort(send)
                    return
                if fault.status:
                    error = (
                        UNKNOWN_ERROR if fault.status >= 500 else {"error": f"HTTP {fault.status}"}
                    )
                    await json_response(error, fault.status)(scope, receive, send)
                    log.info("%s %s %s (fault)", method, path, fault.status)
                    return
        body = await request.body()
        response = self.dispatch(request, body)
        await response(scope, receive, send)
        log.info(
            "%s %s %s %.1fms",
            method,
            path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )

    def dispatch(self, request: Request, body: bytes) -> Response:
        ctx = Ctx(request=request, store=self.store, body=body)
        path = request.url.path
        # As JAX-RS does: match the path as sent, then decode each parameter, so a clientId
        # with an encoded "/" (team%2Ftool) stays one segment.
        raw = request.scope.get("raw_path")
        routed = raw.decode("latin-1").split("?", 1)[0] if raw else path
        try:
            if path.startswith("/admin/realms") and request.method != "OPTIONS":
                ctx.auth = authenticate(ctx)
            for router in ROUTERS:
                handler, params, known = router.match(request.method, routed)
                if handler is not None:
                    ctx.params = {name: unquote(value) for name, value in params.items()}
                    return handler(ctx)
            known = any(router.match(request.method, routed)[2] for router in ROUTERS)
            if known:
                return json_response(METHOD_NOT_ALLOWED, 405)
            return json_response(NOT_FOUND, 404)
        except HttpError as exc:
            return json_response(exc.body, exc.status, exc.headers)
        except Exception:
            log.exception("unhandled error on %s %s", request.method, path)
            return json_response(UNKNOWN_ERROR, 500)


def _abort(send: Any) -> None:
    """Drop the TCP connection without a response (uvicorn's protocol holds the transport)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is not None:
        transport.abort()
        if cycle is not None and hasattr(cycle, "response_complete"):
            cycle.response_complete = True
        return
    raise ConnectionResetError("fault: reset_connection")
