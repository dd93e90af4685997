from django.conf import settings
from django.db import models


class LifespanSnapshot(models.Model):
    """A realm's lifespan settings at one moment: kept for rollback, drift watch and reports.

    Every save through tokenadmin stores the values before (BEFORE_SAVE) and after (APPROVED);
    the drift watch stores what it finds changed outside tokenadmin (DRIFT). The first time a
    realm is watched its values become the APPROVED baseline.
    """

    class Kind(models.TextChoices):
        BEFORE_SAVE = "before_save", "Before a save"
        APPROVED = "approved", "Approved"
        DRIFT = "drift", "Changed outside tokenadmin"

    realm = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # {RealmRepresentation field: value}, the fields of keycloak.types.LIFESPAN_FIELDS.
    values = models.JSONField()
    # The values this snapshot replaced (a save's before, or the approved values a drift left).
    previous_values = models.JSONField(null=True, blank=True)
    taken_at = models.DateTimeField(auto_now_add=True)
    # When the change happened in Keycloak, if its admin events say (drift only).
    changed_at = models.DateTimeField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who: the admin who saved, or for drift whom Keycloak's admin events name.
    actor_username = models.CharField(max_length=255, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-taken_at", "-id"]
        indexes = [models.Index(fields=["realm", "kind", "taken_at"], name="idx_snap_realm_kind")]

    def __str__(self) -> str:
        return f"{self.realm} {self.kind} {self.taken_at:%Y-%m-%d %H:%M}"
