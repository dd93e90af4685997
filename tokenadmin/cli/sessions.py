"""`tokenadmin sessions list`: a realm's sessions from tokenadmin's index."""

import argparse
from typing import Any

from .api import Api, part
from .output import print_csv, print_json, print_table, short_time

PAGE_SIZE = 500
COLUMNS = (
    ("session_id", "session"),
    ("username", "user"),
    ("type", "type"),
    ("ip_address", "ip"),
    ("started_at", "started"),
    ("last_access_at", "last access"),
    ("expires_at", "expires"),
    ("clients", "clients"),
)


def sessions_fetch(
    api: Api, *, realm: str, user: str = "", client: str = "", search: str = "", limit: int = 0
) -> dict[str, Any]:
    """Every matching session (page after page), `user` matched exactly on the username."""
    query = {"q": search or user, "client": client, "limit": PAGE_SIZE}
    items: list[dict[str, Any]] = []
    cursor, refreshed_at = "", None
    while True:
        page = api.json("GET", f"/realms/{part(realm)}/sessions", query={**query, "cursor": cursor})
        refreshed_at = page.get("refreshed_at")
        items += [s for s in page["items"] if not user or s["username"] == user]
        cursor = page.get("next_cursor")
        if not cursor or (limit and len(items) >= limit):
            break
    return {"realm": realm, "refreshed_at": refreshed_at, "sessions": items[: limit or None]}


def _cells(session: dict[str, Any], *, for_people: bool) -> list[Any]:
    row = []
    for key, _ in COLUMNS:
        value = session.get(key)
        if key == "clients":
            value = " ".join(value or [])
        elif key.endswith("_at") and for_people:
            value = short_time(value)
        row.append("" if value is None else value)
    return row


def sessions_list(args: argparse.Namespace) -> int:
    api = Api.connect(args.server)
    found = sessions_fetch(
        api,
        realm=args.realm,
        user=args.user,
        client=args.client,
        search=args.search,
        limit=args.limit,
    )
    sessions = found["sessions"]
    header = [name for _, name in COLUMNS]
    if args.output == "json":
        print_json(found)
    elif args.output == "csv":
        print_csv(header, [_cells(s, for_people=False) for s in sessions])
    else:
        print_table(header, [_cells(s, for_people=True) for s in sessions])
        refreshed = short_time(found["refreshed_at"]) if found["refreshed_at"] else "never"
        print(f"{len(sessions)} sessions in {args.realm} (index refreshed {refreshed} UTC)")
    return 0
