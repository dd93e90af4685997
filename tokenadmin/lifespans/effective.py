"""What each client really gets: realm values and the client's own overrides (facts §5, §6)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from tokenadmin.core.durations import duration_text
from tokenadmin.keycloak.types import KcClient
from tokenadmin.sessionindex.expiry import (
    ATTR_ACCESS_TOKEN,
    ATTR_OFFLINE_IDLE,
    ATTR_OFFLINE_MAX,
    ATTR_SESSION_IDLE,
    ATTR_SESSION_MAX,
    ClientOverrides,
    EffectiveLifespans,
    positive_or,
)

State = Literal["inherited", "overridden", "no-effect", "never"]

# The matrix's columns: (key, heading, client attribute).
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("access", "Access token", ATTR_ACCESS_TOKEN),
    ("session_idle", "Client session idle", ATTR_SESSION_IDLE),
    ("session_max", "Client session max", ATTR_SESSION_MAX),
    ("offline_idle", "Client offline idle", ATTR_OFFLINE_IDLE),
    ("offline_max", "Client offline max", ATTR_OFFLINE_MAX),
)
OVERRIDE_ATTRIBUTES = tuple(attribute for _key, _heading, attribute in COLUMNS)


@dataclass(frozen=True)
class Cell:
    value_s: int | None  # None: never (no maximum applies)
    state: State
    note: str  # where the value comes from, in words

    @property
    def text(self) -> str:
        return "never" if self.value_s is None else duration_text(self.value_s)

    @property
    def state_text(self) -> str:
        return {
            "inherited": "inherited",
            "overridden": "overridden",
            "no-effect": "no effect",
            "never": "never",
        }[self.state]


@dataclass(frozen=True)
class ClientRow:
    uuid: str
    client_id: str
    public: bool
    cells: dict[str, Cell]
    # The override attributes as Keycloak holds them ("" = not set).
    overrides: dict[str, str]

    def cells_in_order(self) -> list[tuple[str, Cell]]:
        return [(key, self.cells[key]) for key, _h, _a in COLUMNS]


def _override(attributes: Mapping[str, str], name: str) -> int:
    return positive_or(attributes.get(name), 0)


def access_token_cell(rules: EffectiveLifespans, attributes: Mapping[str, str]) -> Cell:
    value = ClientOverrides.from_attributes(attributes).access_token_s
    if value == -1:
        return Cell(rules.sso_max_s, "overridden", "-1: valid until SSO Session Max")
    if value > 0:
        if value > rules.sso_max_s:
            note = f"{duration_text(value)} is above SSO Session Max: cut off at the session's end"
            return Cell(rules.sso_max_s, "no-effect", note)
        return Cell(value, "overridden", "this client's access.token.lifespan")
    return Cell(rules.access_token_s, "inherited", "realm Access Token Lifespan")


def _online_cell(
    override: int, realm_client: int | None, session: int, what: str, sso_label: str
) -> Cell:
    if override > 0:
        if override > session:
            note = f"{duration_text(override)} is above {sso_label}: no effect"
            return Cell(session, "no-effect", note)
        return Cell(override, "overridden", f"this client's {what}")
    if realm_client:
        if realm_client > session:
            return Cell(session, "no-effect", f"realm value above {sso_label}: no effect")
        return Cell(realm_client, "inherited", f"realm {what}")
    return Cell(session, "inherited", sso_label)


def client_row(rules: EffectiveLifespans, client: KcClient) -> ClientRow:
    attrs = client.attributes
    offline = rules.session_bounds(offline=True)
    if (own_max := _override(attrs, ATTR_OFFLINE_MAX)) > 0:
        # A client's own offline max applies even when the realm has none (facts §5).
        if offline.max_s is not None and own_max > offline.max_s:
            note = f"{duration_text(own_max)} is above Offline Session Max: no effect"
            offline_max = Cell(offline.max_s, "no-effect", note)
        else:
            offline_max = Cell(own_max, "overridden", "this client's Client Offline Session Max")
    elif offline.max_s is None:
        offline_max = Cell(None, "never", "Offline Session Max Limited is off")
    else:
        offline_max = _online_cell(
            0,
            rules.client_offline_max_s,
            offline.max_s,
            "Client Offline Session Max",
            "Offline Session Max",
        )
    cells = {
        "access": access_token_cell(rules, attrs),
        "session_idle": _online_cell(
            _override(attrs, ATTR_SESSION_IDLE),
            rules.client_idle_s,
            rules.sso_idle_s,
            "Client Session Idle",
            "SSO Session Idle",
        ),
        "session_max": _online_cell(
            _override(attrs, ATTR_SESSION_MAX),
            rules.client_max_s,
            rules.sso_max_s,
            "Client Session Max",
            "SSO Session Max",
        ),
        "offline_idle": _online_cell(
            _override(attrs, ATTR_OFFLINE_IDLE),
            rules.client_offline_idle_s,
            rules.offline_idle_s,
            "Client Offline Session Idle",
            "Offline Session Idle",
        ),
        "offline_max": offline_max,
    }
    return ClientRow(
        uuid=client.uuid,
        client_id=client.client_id,
        public=client.public,
        cells=cells,
        overrides={name: str(attrs.get(name) or "") for name in OVERRIDE_ATTRIBUTES},
    )


def client_lifespans_matrix(
    *, realm_lifespans: Mapping[str, object], clients: Sequence[KcClient]
) -> list[ClientRow]:
    """One row per client (by clientId), each cell the effective value and where it comes from."""
    rules = EffectiveLifespans.from_representation(realm_lifespans)
    return [client_row(rules, c) for c in sorted(clients, key=lambda c: c.client_id.lower())]
