"""Known differences between the emulator and real Keycloak, each with its reason.

`DIFFERENCES[scenario][observation key]` = why the two may differ there. The parity test drops
exactly these keys before comparing and the parity table prints them, so nothing is ignored
silently. Keep this empty unless a difference is version-dependent or cannot be emulated.
"""

DIFFERENCES: dict[str, dict[str, str]] = {}

# Behaviour that depends on Keycloak's version (printed under the table). Only 26.7.3 is run
# here: "seen on 26.7.3" is observed by this suite; the rest comes from the facts sheet
# (shared/keycloak-api.md, from Keycloak's source and issues) and is not re-checked.
VERSION_NOTES: tuple[str, ...] = (
    "Seen on 26.7.3: a wrong password in the password grant is 400 invalid_grant "
    "`Invalid user credentials` (the facts sheet, from older releases, says 401; python-keycloak "
    "then raises KeycloakPostError, not KeycloakAuthenticationError).",
    "Seen on 26.7.3: a direct grant with `offline_access` leaves only the offline session "
    "(no online twin is listed); `session_state` is the offline session's id.",
    "Seen on 26.7.3: `logout-all` also ends offline sessions (their refresh says `Offline user "
    "session not found`); online refresh tokens older than the new realm not-before say "
    "`Stale token` (not-before is checked before the session).",
    "Seen on 26.7.3: `users/{id}/logout` sets the user's not-before: offline sessions stay "
    "listed, their tokens issued before that second refresh as `Stale token`.",
    "Seen on 26.7.3: refresh tokens carry `aud_x` and `prov` claims; the login form's action "
    "carries `client_data`; discovery lists `dpop_signing_alg_values_supported` (26.7 additions).",
    "Seen on 26.7.3: a refresh with another client's token says `Invalid refresh token. Token "
    "client and authorized client don't match` (the facts sheet says `Unmatching clients`).",
    "Seen on 26.7.3: a full realm PUT writes the client-session lifespans and `scimApiEnabled` "
    "into `attributes` as strings; CIBA and PAR settings appear only in `attributes`.",
    "Facts sheet: introspection before 26.6.3 took min() of realm and client not-before.",
    "Facts sheet: client-credentials tokens carry `client_id`, `clientHost`, `clientAddress` "
    "since 26.1; the `session_state` claim left tokens in 25 (still a token-response key).",
)
