"""The `tokenadmin` command line: the API's powers for scripts (sessions, plan → apply,
lifespans from a file), signed in through Keycloak's device grant.

The command only talks HTTP (urllib) to tokenadmin's /api/v1/ and to Keycloak's OIDC
endpoints and uses no Django. `server.py` is the one server-side piece: /cli.json, which
tells the command where Keycloak is and which client to sign in with.
"""
