"""What the index tells other apps, without importing them (no import circles)."""

from django.dispatch import Signal

# Sent once a refresh's end is committed: realm (str), started_at and finished_at (aware
# datetimes). The rows and the kept figures (RealmFigures) are the refresh's then.
index_refreshed = Signal()
