"""Celery tasks for history: thin wrappers around record.py."""

from celery import shared_task
from django.utils import timezone

from .record import history_points_downsample


@shared_task
def history_downsample_task() -> dict[str, int]:
    """The schedule (celery.py beat_schedule): keep the history bounded."""
    return history_points_downsample(now=timezone.now())
