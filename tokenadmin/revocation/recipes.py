"""What a bulk revocation names (a recipe) and what it finds (targets): plain values that the
preview, the signed plan and the job's worker share."""

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from tokenadmin.ledger.models import Action

OWN_SESSION_WHY = "your own session (kept so you stay signed in)"


class Kind:
    SELECTION = "selection"
    CLIENT = "client"
    OFFLINE_OLDER_THAN = "offline_older_than"
    GROUP = "group"
    USER = "user"
    FILTER = "filter"
    REALM = "realm"
    ALL = (SELECTION, CLIENT, OFFLINE_OLDER_THAN, GROUP, USER, FILTER, REALM)


@dataclass(frozen=True)
class Recipe:
    """What to revoke, as the preview form and the job keep it."""

    kind: str
    client_id: str = ""
    include_offline: bool = False
    older_than_days: int = 0
    group_id: str = ""
    group_name: str = ""
    user_id: str = ""
    user_name: str = ""
    sessions: tuple[str, ...] = ()
    query: dict[str, str] = field(default_factory=dict)
    saved_view_id: int | None = None
    saved_view_name: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sessions"] = list(self.sessions)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Recipe":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["sessions"] = tuple(known.get("sessions") or ())
        return cls(**known)

    def label(self) -> str:
        also_offline = " (online and offline)" if self.include_offline else ""
        if self.kind == Kind.SELECTION:
            return f"{len(self.sessions)} selected session{'s' if len(self.sessions) != 1 else ''}"
        if self.kind == Kind.CLIENT:
            return f"Everyone on client {self.client_id}{also_offline}"
        if self.kind == Kind.OFFLINE_OLDER_THAN:
            return f"Offline tokens of {self.client_id} older than {self.older_than_days} days"
        if self.kind == Kind.GROUP:
            return (
                f"All sessions of users in group {self.group_name or self.group_id}{also_offline}"
            )
        if self.kind == Kind.USER:
            return f"Every session of user {self.user_name or self.user_id}{also_offline}"
        if self.kind == Kind.FILTER:
            if self.saved_view_name:
                return f"Sessions in saved view “{self.saved_view_name}”"
            shown = ", ".join(f"{k}={v}" for k, v in sorted(self.query.items()) if k != "sort")
            return f"Sessions matching {shown or 'no filter'}"
        if self.kind == Kind.REALM:
            return "Every online session of the realm"
        return self.kind

    def ledger_action(self) -> Action:
        if self.kind == Kind.CLIENT:
            return Action.CLIENT_SESSIONS_REVOKED
        if self.kind == Kind.REALM:
            return Action.REALM_SIGNED_OUT
        return Action.BULK_REVOCATION


@dataclass(frozen=True)
class Target:
    session_id: str
    offline: bool
    user_id: str = ""
    username: str = ""
    ip_address: str = ""
    client_ids: tuple[str, ...] = ()
    started_at: datetime | None = None
    last_access_at: datetime | None = None

    @property
    def key(self) -> tuple[str, bool]:
        return (self.session_id, self.offline)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["client_ids"] = list(self.client_ids)
        for name in ("started_at", "last_access_at"):
            moment = data[name]
            data[name] = moment.isoformat() if moment else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Target":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["client_ids"] = tuple(known.get("client_ids") or ())
        for name in ("started_at", "last_access_at"):
            if known.get(name):
                known[name] = datetime.fromisoformat(known[name])
        return cls(**known)
