"""A Keycloak 26 emulator: a real HTTP server speaking Keycloak's wire protocol (see DESIGN.md).

Start: ``python -m tokenadmin.emulator --host 127.0.0.1 --port 8180 [--import-realm FILE ...]
[--seed demo] [--sessions N]``. Bootstrap admin from KC_BOOTSTRAP_ADMIN_USERNAME /
KC_BOOTSTRAP_ADMIN_PASSWORD (default admin/admin). Nothing in the dashboard imports this package,
and it does not import Django.

``--import-realm FILE`` works as Keycloak's: the file holds one realm object or a JSON array of
realms (the single-file export); ``${ENV_VAR}`` and ``${ENV_VAR:default}`` in its strings are
filled from the environment at import (unresolved ones stay as written); a realm that already
exists (``master``, a ``--seed demo`` realm, an earlier import) is skipped and logged, not merged.

Calls to clients (``backchannel.py``): DELETE session, user logout, end-session and token logout
POST a signed ``logout_token`` to each affected client's ``backchannel.logout.url`` attribute
(fire-and-forget, 3 s timeout); revoke and ``logout-all`` do not. Push-revocation (realm, client)
and ``logout-all`` POST a signed admin action to ``{adminUrl}/k_push_not_before`` /
``{adminUrl}/k_logout`` and answer a ``GlobalRequestResult`` listing those adminUrls.

Test hooks (prefix ``/_emulator/``, JSON in and out, no authentication, never faulted):

- ``GET /_emulator/clock`` -> ``{"now": epoch_s}``.
- ``POST /_emulator/clock`` ``{"set": epoch_s}`` or ``{"advance": seconds}``
  -> ``{"now": epoch_s}``.
  All time (token iat/exp, session start/lastAccess, expiry, events) follows this clock.
- ``POST /_emulator/faults`` ``{"path": regex (re.search on the URL path), "method": optional,
  "latency_ms": 0, "status": optional HTTP status, "error_rate": 0..1 (default 1),
  "reset_connection": false, "times": optional count, "every": 1, "expire_sessions": 0}`` -> 201
  ``{"id", "faults"}``. With ``every`` N only each N-th matching request is hit (a count tests
  can rely on; ``error_rate`` is random). A matching request first ends ``expire_sessions``
  random live sessions of the realm in its path (as expiry would: churn while a client pages),
  waits ``latency_ms``, then has its connection dropped (``reset_connection``) or gets
  ``status`` with Keycloak's error body, else is served normally. ``GET`` lists them;
  ``DELETE /_emulator/faults`` clears them.
- ``POST /_emulator/expire`` ``{"realm", "sessions": N}`` -> ``{"ended"}``: ends N random live
  sessions of the realm at once, as Keycloak's periodic expiry does (churn at a set rate).
- ``POST /_emulator/seed`` ``{"realm", "users": N, "sessions": M, "offline_ratio": 0.2,
  "clients": optional [clientId]}`` -> ``{"realm", "users", "sessions", "offline_sessions",
  "clients"}``. Creates the realm (with clients ``seed-app``/``seed-public``) if missing; users
  ``user-NNNNNN`` (password = username); sessions with private-subnet IPs, ages spread over the
  lifespans, ~10% remember-me (if the realm allows it), ``offline_ratio`` offline.
- ``POST /_emulator/reset`` -> back to the state right after start-up seeding (clock offset 0,
  faults cleared) -> ``{"now", "realms"}``.
- ``POST /_emulator/sessions`` ``{"realm", "username", "client_id" | "clients": [...],
  "offline": false, "remember_me": false, "ip", "start", "last_access"}`` (epoch s) -> 201
  ``{"id", "offline", "start", "lastAccess"}``: one session without a password round trip.
"""
