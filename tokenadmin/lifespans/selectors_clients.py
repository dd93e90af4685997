"""Reads for the clients and job-survival tabs: the realm's settings and clients from Keycloak,
turned into what the pages show."""

from dataclasses import dataclass

from tokenadmin.keycloak import Gateway
from tokenadmin.keycloak.types import KcClient

from .catalog import lifespan_values_of
from .effective import ClientRow, client_lifespans_matrix
from .selectors import Drift, lifespans_drift_select
from .survival import SurvivalVerdict, job_survival_check


@dataclass(frozen=True)
class ClientMatrix:
    rows: list[ClientRow]
    drift: Drift | None


def client_matrix_select(*, gateway: Gateway, realm: str) -> ClientMatrix:
    """What each client of the realm really gets, and any drift of the realm's lifespans."""
    lifespans = gateway.realm_settings(realm).lifespans
    clients = gateway.clients_list(realm)
    return ClientMatrix(
        rows=client_lifespans_matrix(realm_lifespans=lifespans, clients=clients),
        drift=lifespans_drift_select(realm=realm, current=lifespan_values_of(lifespans)),
    )


def client_for_overrides_get(*, gateway: Gateway, realm: str, client_uuid: str) -> KcClient:
    """The client whose lifespan overrides the editor shows (its attributes)."""
    return gateway.client_get(realm, client_uuid)


@dataclass(frozen=True)
class JobQuestion:
    client_id: str
    job_s: int
    refresh: bool
    offline: bool


@dataclass(frozen=True)
class SurvivalAnswer:
    clients: list[KcClient]  # by clientId, for the picker
    drift: Drift | None
    client: KcClient | None = None  # the one asked about, when the realm has it
    verdict: SurvivalVerdict | None = None
    client_missing: bool = False  # asked about a clientId the realm does not have


def job_survival_select(
    *, gateway: Gateway, realm: str, question: JobQuestion | None
) -> SurvivalAnswer:
    """The realm's clients and, for a `question`, whether the job's credentials last."""
    lifespans = gateway.realm_settings(realm).lifespans
    clients = sorted(gateway.clients_list(realm), key=lambda c: c.client_id.lower())
    drift = lifespans_drift_select(realm=realm, current=lifespan_values_of(lifespans))
    client = None
    if question is not None:
        client = next((c for c in clients if c.client_id == question.client_id), None)
    if question is None or client is None:
        return SurvivalAnswer(clients=clients, drift=drift, client_missing=question is not None)
    verdict = job_survival_check(
        realm_lifespans=lifespans,
        client_attributes=client.attributes,
        client_id=client.client_id,
        job_s=question.job_s,
        refresh=question.refresh,
        offline=question.offline,
    )
    return SurvivalAnswer(clients=clients, drift=drift, client=client, verdict=verdict)
