"""What a revoke cannot undo: access tokens already issued stay valid until they expire.

Keycloak signs access tokens that resource servers verify locally; no revoke reaches them
(facts sheet §4.2). After every revoke the admin is told for how long, per client: the client's
`access.token.lifespan` attribute if set, else the realm's `accessTokenLifespan`.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from tokenadmin.core.durations import duration_text
from tokenadmin.keycloak import Forbidden, Gateway, GatewayError
from tokenadmin.keycloak.revocation import PushResult
from tokenadmin.sessionindex.expiry import ClientOverrides

UNKNOWN_LIFESPAN = (
    "Access tokens already issued stay valid until they expire; your roles do not let "
    "tokenadmin read how long that is (needs view-realm and view-clients)."
)


@dataclass(frozen=True)
class ClientLifespan:
    client_id: str
    # None: -1 in Keycloak, "valid until the SSO session's maximum".
    access_token_s: int | None
    from_client: bool


def access_lifespan_of(attributes: dict, realm_access_s: int) -> tuple[int | None, bool]:
    """(seconds, set on the client?) for one client's access tokens."""
    value = ClientOverrides.from_attributes(attributes).access_token_s
    if value == -1:
        return None, True
    if value > 0:
        return value, True
    return realm_access_s, False


def residual_lines(
    lifespans: Iterable[ClientLifespan], *, realm: str, realm_access_s: int | None
) -> list[str]:
    """Sentences for the admin: one per client, longest first, or the realm's value."""
    lines = []
    for item in sorted(lifespans, key=lambda c: -(c.access_token_s or 10**9)):
        if item.access_token_s is None:
            how_long = "until their session's maximum lifespan (the client sets -1)"
        else:
            how_long = f"for up to {duration_text(item.access_token_s)}"
        lines.append(f"Access tokens already issued to {item.client_id} stay valid {how_long}.")
    if not lines and realm_access_s is not None:
        lines.append(
            f"Access tokens already issued in {realm} stay valid for up to "
            f"{duration_text(realm_access_s)} (the realm's access token lifespan)."
        )
    return lines


def residual_risk_for(*, admin: Gateway, realm: str, client_ids: Iterable[str] | None) -> list[str]:
    """Residual-risk sentences for revokes touching `client_ids` (None: every client).

    Reads the realm's and the clients' settings with the admin's own rights; if those do not
    allow it, says so instead of guessing.
    """
    try:
        realm_info = admin.realm_get(realm)
        clients = admin.clients_list(realm)
    except (Forbidden, GatewayError):
        return [UNKNOWN_LIFESPAN]
    if realm_info.lifespans is None:
        return [UNKNOWN_LIFESPAN]
    realm_access_s = realm_info.lifespans.access_token_s
    wanted = set(client_ids) if client_ids is not None else None
    lifespans = []
    for client in clients:
        if wanted is not None and client.client_id not in wanted:
            continue
        if wanted is None and (client.bearer_only or not client.enabled):
            continue
        seconds, from_client = access_lifespan_of(client.attributes, realm_access_s)
        if wanted is None and not from_client:
            continue  # covered by the realm-wide sentence below
        lifespans.append(ClientLifespan(client.client_id, seconds, from_client))
    lines = residual_lines(lifespans, realm=realm, realm_access_s=realm_access_s)
    if wanted is None and lifespans:
        lines.append(
            f"Other clients' access tokens stay valid for up to {duration_text(realm_access_s)} "
            "(the realm's access token lifespan)."
        )
    return lines


def push_reach_lines(result: PushResult, *, admin_urls: dict[str, str]) -> list[str]:
    """Which clients a push (or logout-all) reached, by clientId where the URL is known."""

    def names(urls: tuple[str, ...]) -> str:
        return ", ".join(admin_urls.get(url.rstrip("/"), url) for url in urls)

    lines = []
    if result.succeeded_urls:
        lines.append(f"Reached: {names(result.succeeded_urls)}.")
    if result.failed_urls:
        lines.append(f"Could not reach: {names(result.failed_urls)}.")
    if not lines:
        lines.append(
            "No client was notified: only clients with an admin URL receive a push, and none "
            "in this realm has one. Their sessions are still revoked in Keycloak."
        )
    return lines


def admin_urls_of(admin: Gateway, realm: str) -> dict[str, str]:
    """{admin URL: clientId} for matching push results to clients (empty if not allowed)."""
    try:
        clients = admin.clients_list(realm)
    except GatewayError:
        return {}
    urls = {}
    for client in clients:
        url = client.admin_url.rstrip("/")
        if url:
            urls[url] = client.client_id
    return urls
