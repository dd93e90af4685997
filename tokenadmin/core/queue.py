"""Queuing Celery tasks from a request without letting a dead Redis hold the page.

The policy (docs/FAULTS.md, "Redis down"): work is recorded in the database first, then queued.
When the queue is unreachable the caller says so ("queued; it starts when the task queue is
back"), and the sweepers (beat, every QUEUE_SWEEP_EVERY_S) and every starting worker queue it
again from the database. Settings make an unreachable Redis fail within about a second.
"""

import logging
from typing import Any

from celery import Task

logger = logging.getLogger(__name__)


def task_enqueue(task: Task, *args: Any, **options: Any) -> bool:
    """Queue `task(*args)`; False (and a log line) when the task queue is unreachable."""
    try:
        task.apply_async(args=args, **options)
    except Exception as exc:
        logger.warning("could not queue %s%r: %s: %s", task.name, args, type(exc).__name__, exc)
        return False
    return True
