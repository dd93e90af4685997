"""The policies after each findings run of their realm."""

import logging
from typing import Any

from .runs import policies_after_findings_run

logger = logging.getLogger(__name__)


def policies_after_findings(sender: Any = None, realm: str = "", **_: Any) -> None:
    """findings' `findings_ran` receiver: run the realm's policies, in the same worker, on
    findings that are fresh."""
    try:
        policies_after_findings_run(realm=realm)
    except Exception:
        # A failed policy must not fail the refresh; the next refresh runs it again.
        logger.exception("the revocation policies of %s failed", realm)
