"""The sessions page's filtered set as CSV rows, produced lazily for a streamed download."""

import csv
from collections.abc import Iterator
from datetime import datetime

from django.db.models import QuerySet

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


class _Echo:
    """A file-like object whose write returns the line, so csv.writer yields instead of storing."""

    def write(self, value: str) -> str:
        return value


def _when(value: object) -> str:
    return value.isoformat() if value else ""  # type: ignore[attr-defined]


def sessions_csv_rows(
    *, sessions: QuerySet[IndexedSession], refreshed_at: datetime | None = None
) -> Iterator[str]:
    """A header line, then one line per session, reading the database in chunks.

    `refreshed_at`: the realm's last completed refresh, for each row's seen_at (last seen)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for s in sessions.iterator(chunk_size=CHUNK_SIZE):
        yield writer.writerow(
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
