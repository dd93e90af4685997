"""Reads for the alerts pages."""

from dataclasses import dataclass

from django.db.models import QuerySet

from tokenadmin.sessionindex.models import RealmIndex

from .models import Delivery, Rule, Transport
from .secrets import SecretUnreadable, secret_open

DELIVERIES_SHOWN = 30


@dataclass(frozen=True)
class TransportView:
    transport: Transport
    unreadable: bool  # its sealed URL or secret no longer opens (SECRET_KEY changed)


def _unreadable(transport: Transport) -> bool:
    try:
        secret_open(transport.url_sealed)
        secret_open(transport.secret_sealed)
    except SecretUnreadable:
        return True
    return False


def scope_transports_select(*, realm: str) -> QuerySet[Transport]:
    return Transport.objects.filter(realm=realm)


def scope_page_select(*, realm: str) -> dict:
    """Transports, rules and the latest deliveries of a scope (a realm, or "" global)."""
    transports = list(scope_transports_select(realm=realm))
    return {
        "transports": [TransportView(t, _unreadable(t)) for t in transports],
        "rules": list(Rule.objects.filter(transport__realm=realm).select_related("transport")),
        "deliveries": list(
            Delivery.objects.filter(transport__realm=realm).select_related("transport")[
                :DELIVERIES_SHOWN
            ]
        ),
        "paused": [t for t in transports if t.paused_at is not None],
    }


def known_realms_select() -> list[str]:
    """Realms tokenadmin has indexed (the choices of a global rule's realm)."""
    return sorted(set(RealmIndex.objects.values_list("realm", flat=True)))
