"""Known differences between the emulator and real Keycloak, each with its reason.

`DIFFERENCES[scenario][observation key]` = why the two may differ there. The parity test drops
exactly these keys before comparing and the parity table prints them, so nothing is ignored
silently. Keep this empty unless a difference is version-dependent or cannot be emulated.
"""

DIFFERENCES: dict[str, dict[str, str]] = {}

# Behaviour that depends on Keycloak's minor version (the table prints it under its notes).
VERSION_NOTES: tuple[str, ...] = (
    "Password grant with a wrong password: 400 invalid_grant `Invalid user credentials` on "
    "26.7.3 (older 26.x and 25 answered 401).",
    "Introspection before 26.6.3 took min() of realm and client not-before (fixed since).",
    "Client-credentials tokens carry `client_id`, `clientHost`, `clientAddress` since 26.1.",
    "The `session_state` claim left access tokens in 25 (still a token-response key).",
)
