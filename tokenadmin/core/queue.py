"""Queuing Celery tasks from a request without letting a dead Redis hold the page.

The policy (docs/FAULTS.md, "Redis down"): work is recorded in the database first, then queued.
When the queue is unreachable the caller says so ("queued; it starts when the task queue is
back"), and the sweepers (beat, every QUEUE_SWEEP_EVERY_S) and every starting worker queue it
again from the database. Settings make an unreachable Redis fail within about a second.
"""

import logging
from collections.abc import Callable
from typing import Any

from celery import Task
from celery.signals import worker_ready

logger = logging.getLogger(__name__)


def task_enqueue(task: Task, *args: Any, **options: Any) -> bool:
    """Queue `task(*args)`; False (and a log line) when the task queue is unreachable."""
    try:
        task.apply_async(args=args, **options)
    except Exception as exc:
        logger.warning("could not queue %s%r: %s: %s", task.name, args, type(exc).__name__, exc)
        return False
    return True


def on_worker_start(what: str) -> Callable[[Callable[[], None]], Callable[..., None]]:
    """Run the decorated function when a Celery worker starts, to queue again the `what` the
    database holds as unfinished: Redis re-delivers a task whose worker was killed only after
    its visibility timeout (an hour by default). A failure is logged, never raised: the worker
    must start even if the database is not there yet."""

    def register(resume: Callable[[], None]) -> Callable[..., None]:
        def on_ready(**_signal: object) -> None:
            try:
                resume()
            except Exception:
                logger.exception("could not look for %s", what)

        on_ready.__name__ = on_ready.__qualname__ = resume.__name__
        on_ready.__module__ = resume.__module__
        on_ready.__doc__ = resume.__doc__
        worker_ready.connect(on_ready, weak=False)
        return on_ready

    return register
