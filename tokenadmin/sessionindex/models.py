"""The local session index: every session of a realm that Keycloak held at the last refresh.

Keycloak cannot search, sort or count a realm's sessions cheaply; pages, reports, impact
previews and bulk revocation recipes query this table instead. Refreshes replace a realm's rows.
"""

from datetime import datetime
from typing import Any

from django.db import connection, models
from django.utils import timezone

# Between the searched fields in search_text: a search term holding it matches nothing (as
# when each field was searched on its own), so a match never spans two fields.
SEARCH_SEPARATOR = "\n"
# What SQLite's lower() and its LIKE fold: ASCII letters only (`text.translate(ASCII_LOWER)`).
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def search_text_of(username: str, ip_address: str, client_ids_text: str) -> str:
    """IndexedSession.search_text for these values, lowered as the database's lower() lowers
    (the search term goes through it): SQLite's folds ASCII letters only, as its LIKE did."""
    text = SEARCH_SEPARATOR.join((username, ip_address, client_ids_text))
    return text.translate(ASCII_LOWER) if connection.vendor == "sqlite" else text.lower()


class IndexedSession(models.Model):
    realm = models.CharField(max_length=255)
    # Keycloak's user session id (= the token's `sid`); an offline session may share it.
    session_id = models.CharField(max_length=64)
    offline = models.BooleanField(default=False)
    user_id = models.CharField(max_length=64)
    username = models.CharField(max_length=255)
    ip_address = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField()
    last_access_at = models.DateTimeField()
    remember_me = models.BooleanField(default=False)
    # {client uuid: clientId} as Keycloak lists them.
    clients = models.JSONField(default=dict)
    # clientIds joined by spaces, with a space at each end, for search and filters.
    client_ids_text = models.TextField(blank=True)
    # When Keycloak will drop the session, from the realm's and clients' lifespans.
    expires_at = models.DateTimeField(null=True)
    # The refresh that last wrote this row (new or changed). A completed refresh drops every
    # row it did not see and leaves unchanged rows alone, so a row still here was last seen by
    # the later of this and its realm's RealmIndex.refreshed_at (last_seen_at). Not indexed:
    # only the refresh's drop filters on it, within the realm's rows.
    seen_at = models.DateTimeField()
    # What the search box matches: username, IP and clientIds in one lower-cased text (see
    # search_text_of), so a search is one substring test per row inside one narrow index
    # instead of three case-insensitive LIKEs. Every writer fills it: save() here, the
    # refresh's upsert in SQL.
    search_text = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["realm", "session_id", "offline"], name="unique_session_per_realm"
            )
        ]
        # The sessions page sorts by every column, regular and offline together or apart:
        # one (realm, column, offline) index per sort walks in order, checks the type inside
        # the index, and stops after a page; the order is (column, offline, id), and every
        # index ends in the row id. "Type" sorts by (offline, username); idx_sess_search
        # serves the sort by user (user, IP, clients, type, id).
        # expires_at after the type in the last-access, client and user indexes (migration
        # 0011; their order is then (column, offline, expires_at, id)): whether a walked
        # entry ended (predicted expiry passed since the refresh) is read inside the index.
        # At 1,000,000 sessions hundreds of thousands end between two refreshes, and reading
        # a table row per entry made the default sort, deep pages, client and idle counts
        # 10x slower. Not in the others: every index holding expires_at is rewritten when a
        # refresh moves a session's expiry (last access already moves idx_sess_r_last).
        # A search reads only the narrow (realm, search_text, offline) index.
        indexes = [
            models.Index(fields=["realm", "offline", "username"], name="idx_sess_username"),
            models.Index(fields=["realm", "ip_address", "offline"], name="idx_sess_r_ip"),
            models.Index(fields=["realm", "started_at", "offline"], name="idx_sess_r_started"),
            models.Index(
                fields=["realm", "last_access_at", "offline", "expires_at"], name="idx_sess_r_last"
            ),
            # Client set and user too: what ended by a moment is counted by client set and by
            # user inside this index (figures.py), without a table row per ended session.
            models.Index(
                fields=["realm", "expires_at", "offline", "client_ids_text", "user_id"],
                name="idx_sess_r_expires_cover",
            ),
            models.Index(
                fields=["realm", "client_ids_text", "offline", "expires_at"],
                name="idx_sess_r_clients",
            ),
            models.Index(fields=["realm", "remember_me", "offline"], name="idx_sess_r_remember"),
            models.Index(
                fields=[
                    "realm",
                    "username",
                    "ip_address",
                    "client_ids_text",
                    "offline",
                    "expires_at",
                ],
                name="idx_sess_search",
            ),
            models.Index(fields=["realm", "search_text", "offline"], name="idx_sess_search_text"),
            # With the expiry: a user's last end is read inside the index.
            models.Index(fields=["realm", "user_id", "expires_at"], name="idx_sess_user_expires"),
        ]

    def __str__(self) -> str:
        kind = "offline" if self.offline else "online"
        return f"{self.realm}/{self.username}/{self.session_id} ({kind})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_text = search_text_of(self.username, self.ip_address, self.client_ids_text)
        super().save(*args, **kwargs)

    def last_seen_at(self, refreshed_at: datetime | None) -> datetime:
        """When a refresh last saw the session, given its realm's last completed refresh."""
        return max(self.seen_at, refreshed_at) if refreshed_at else self.seen_at


# A running refresh renews its lease (RealmIndex.heartbeat_at) this often, in seconds...
REFRESH_HEARTBEAT_S = 2.0
# ...and one whose lease is older than this (about three beats) was cut off: its worker died.
REFRESH_LEASE_S = 7.0


class RealmIndex(models.Model):
    """How fresh a realm's index is, and the refresh running now, if any."""

    class State(models.TextChoices):
        NEVER = "never", "Never refreshed"
        RUNNING = "running", "Refreshing"
        DONE = "done", "Up to date"
        FAILED = "failed", "Last refresh failed"

    realm = models.CharField(max_length=255, unique=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.NEVER)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # The running refresh's lease: it renews this every few seconds (refresh.HEARTBEAT_S); a
    # RUNNING refresh whose heartbeat is older than refresh.LEASE_S was cut off (its worker
    # died), and another may claim the realm. None: claimed, no worker has started it yet.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When everyone was signed out (logout-all, which in Keycloak 26.7 ends offline sessions
    # too): a refresh leaves out a session that started before this if the page listing it was
    # read before it.
    all_signed_out_at = models.DateTimeField(null=True, blank=True)
    # Progress of the running refresh: clients done out of clients to page.
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    sessions_seen = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # The effective lifespans (realm values and client overrides) the stored predicted expiries
    # were computed with; a refresh finding them unchanged skips the expiry of every session
    # whose own inputs are unchanged. Empty = unknown, everything is recomputed.
    lifespans_fingerprint = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.realm}: {self.state}"

    @property
    def lease_lapsed(self) -> bool:
        """RUNNING, but nobody renewed the claim for REFRESH_LEASE_S: the refresh was cut off
        (heartbeat_at set: its worker died) or no worker ever started it."""
        if self.state != self.State.RUNNING:
            return False
        last = self.heartbeat_at or self.started_at
        return last is not None and (timezone.now() - last).total_seconds() > REFRESH_LEASE_S

    @property
    def is_refreshing(self) -> bool:
        """A refresh runs now (claimed, lease fresh)."""
        return self.state == self.State.RUNNING and not self.lease_lapsed

    @property
    def is_partial(self) -> bool:
        """The index holds rows, but no refresh of the realm has completed: a first refresh
        failed or was cut off half-way (or still runs), so its counts are partial."""
        return self.refreshed_at is None and self.sessions_seen > 0


# Width of RealmFigures' bins, in seconds: a page counts the part of one bin up to a moment
# in the expires index, the rest from the bins. Online sessions end within their idle timeout
# (30 minutes by default): at 1,000,000 sessions a 30-second bin holds up to 15,000 ends.
FIGURES_BIN_S = 30
# Ends further than six hours past the refresh are binned by the hour (fewer bins to read on each
# page load; by the time they come near, a later refresh has binned them finely).
FIGURES_COARSE_BIN_S = 3600
FIGURES_FINE_FOR_S = 6 * 3600


class RealmFigures(models.Model):
    """Figures of a realm's stored index rows, written by the refresh that wrote the rows and
    adjusted by the revokes that drop rows (figures.py), so that a page load does not count
    the whole realm. Over every stored row, ended ones too: a page takes out the ended ones
    (few, a range of the expires index) at its own `now`. No row: unknown (a refresh is
    writing, or none finished since), and the pages count the rows themselves."""

    realm = models.CharField(max_length=255, unique=True)
    online = models.PositiveIntegerField(default=0)
    offline = models.PositiveIntegerField(default=0)
    users = models.PositiveIntegerField(default=0)  # distinct user ids
    unknown_expiry = models.PositiveIntegerField(default=0)  # rows with no predicted expiry
    # {"<bin start, epoch seconds>": rows whose predicted expiry is in that bin}
    expiry_bins = models.JSONField(default=dict)
    # {client_ids_text: [rows, {client uuid: clientId}]}: the realm's client sets.
    client_sets = models.JSONField(default=dict)
    # {client_ids_text: {"<bin>": [online rows, offline rows]}} of the known expiries: what
    # ended by a moment, per client set and type, is the bins before that moment's bin.
    set_bins = models.JSONField(default=dict)
    # {"<bin>": users whose last session ends in that bin, "none": users with one that has no
    # predicted end}: the users who have no live session left at a moment.
    user_bins = models.JSONField(default=dict)
    # Bins are keyed by their start (epoch seconds): FIGURES_BIN_S wide before this moment,
    # FIGURES_COARSE_BIN_S wide from it on.
    fine_until = models.BigIntegerField(default=0)
    written_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.realm}: {self.online} online, {self.offline} offline"


class SessionTombstone(models.Model):
    """A session tokenadmin revoked, and when: a refresh that read Keycloak's page listing it
    before the revoke must not add it back. Pruned by the first refresh claimed after it."""

    realm = models.CharField(max_length=255)
    session_id = models.CharField(max_length=64)
    offline = models.BooleanField(default=False)
    revoked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["realm", "session_id", "offline"], name="unique_tombstone_per_realm"
            )
        ]
        indexes = [models.Index(fields=["realm", "revoked_at"], name="idx_tomb_realm_revoked")]

    def __str__(self) -> str:
        return f"{self.realm}/{self.session_id} revoked {self.revoked_at:%Y-%m-%d %H:%M:%S}"


class SavedView(models.Model):
    """A named filter over a realm's sessions, shared with other admins.

    `query` holds the sessions page's query-string parameters (search, filters, sort), so the
    page, reports and bulk revocation recipes all read one definition.
    """

    name = models.CharField(max_length=120)
    realm = models.CharField(max_length=255, db_index=True)
    query = models.JSONField(default=dict)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shared = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["realm", "name"]
        constraints = [
            models.UniqueConstraint(fields=["realm", "name"], name="unique_view_name_per_realm")
        ]

    def __str__(self) -> str:
        return f"{self.realm}: {self.name}"
