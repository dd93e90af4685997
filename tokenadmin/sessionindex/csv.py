"""The sessions page's filtered set as CSV rows, produced lazily for a streamed download."""

from collections.abc import Iterator
from datetime import datetime

from django.db.models import QuerySet

from tokenadmin.core.csv import csv_line

from .models import IndexedSession

CSV_COLUMNS = (
    "session_id",
    "type",
    "username",
    "user_id",
    "ip_address",
    "started_at",
    "last_access_at",
    "remember_me",
    "clients",
    "expires_at",
    "seen_at",
)
CHUNK_SIZE = 2000


def _when(value: object) -> str:
    return value.isoformat() if value else ""  # type: ignore[attr-defined]


def sessions_csv_rows(
    *, sessions: QuerySet[IndexedSession], refreshed_at: datetime | None = None
) -> Iterator[str]:
    """A header line, then one line per session, reading the database in chunks.

    `refreshed_at`: the realm's last completed refresh, for each row's seen_at (last seen)."""
    yield csv_line(CSV_COLUMNS)
    for s in sessions.iterator(chunk_size=CHUNK_SIZE):
        yield csv_line(
            (
                s.session_id,
                "offline" if s.offline else "regular",
                s.username,
                s.user_id,
                s.ip_address,
                _when(s.started_at),
                _when(s.last_access_at),
                "yes" if s.remember_me else "no",
                " ".join(sorted(s.clients.values())),
                _when(s.expires_at),
                _when(s.last_seen_at(refreshed_at)),
            )
        )
