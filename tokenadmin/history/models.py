from django.db import models


class Grain(models.IntegerChoices):
    """How much time one point stands for: one refresh, or the mean of an hour's or a day's."""

    REFRESH = 0, "refresh"
    HOUR = 1, "hour"
    DAY = 2, "day"


class HistoryPoint(models.Model):
    """A realm's index summed up at one moment: a few numbers per client, none per session, so
    the table grows with clients x time only. Downsampled by history_points_downsample."""

    realm = models.CharField(max_length=255)
    # The refresh's end, or the start of the hour/day the point stands for.
    at = models.DateTimeField()
    grain = models.PositiveSmallIntegerField(choices=Grain.choices, default=Grain.REFRESH)
    # How many refresh points a downsampled point is the mean of (for merging later ones).
    samples = models.PositiveIntegerField(default=1)
    online = models.PositiveIntegerField(default=0)
    offline = models.PositiveIntegerField(default=0)
    users = models.PositiveIntegerField(default=0)
    # {clientId: [online, offline]}: sessions holding the client, by type.
    clients = models.JSONField(default=dict)
    # Sessions ending within 1 h, 9 h, 24 h, 7 d, later (no predicted end counts as later).
    expiring = models.JSONField(default=list)
    # Offline sessions idle for <= 1 d, <= 7 d, <= 30 d, <= 90 d, longer.
    offline_idle = models.JSONField(default=list)
    refresh_s = models.FloatField(default=0)

    class Meta:
        ordering = ["at"]
        indexes = [models.Index(fields=["realm", "at"], name="history_realm_at")]
        constraints = [
            models.UniqueConstraint(
                fields=["realm", "grain", "at"],
                condition=models.Q(grain__gt=0),
                name="history_one_point_per_bucket",
            )
        ]

    def __str__(self) -> str:
        return f"{self.realm} {self.at:%Y-%m-%d %H:%M} ({self.get_grain_display()})"
