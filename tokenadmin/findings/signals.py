"""Signals findings sends; other apps (alerts) listen without findings knowing them."""

from django.dispatch import Signal

# Sent with `realm` after a run of the checks over that realm's index completed.
findings_ran = Signal()
