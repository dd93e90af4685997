"""The index tells history when a refresh has ended (sessionindex.signals)."""

import logging
from datetime import datetime

from django.dispatch import receiver

from tokenadmin.sessionindex.signals import index_refreshed

from .record import realm_history_record

logger = logging.getLogger(__name__)


@receiver(index_refreshed, dispatch_uid="history-record")
def _refresh_recorded(
    *, realm: str, started_at: datetime, finished_at: datetime, **_kwargs: object
) -> None:
    try:
        realm_history_record(
            realm=realm, at=finished_at, refresh_s=(finished_at - started_at).total_seconds()
        )
    except Exception:
        # History is a by-product: a failure here is logged, the refresh stands.
        logger.exception("history point of %s not recorded", realm)
