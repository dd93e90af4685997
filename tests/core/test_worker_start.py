"""The one worker-start handler: every app's resume runs when a worker is ready, and a failing
one is logged, not raised, so the worker still starts."""

import logging
import weakref

from celery.signals import worker_ready

from tokenadmin.core.queue import on_worker_start


def test_a_resume_runs_when_a_worker_is_ready_and_its_failure_is_only_logged(caplog):
    ran = []

    @on_worker_start("things a test left")
    def things_resume() -> None:
        ran.append("resumed")
        raise ConnectionError("database not there yet")

    try:
        with caplog.at_level(logging.ERROR, logger="tokenadmin.core.queue"):
            things_resume(signal=worker_ready, sender=None)
        assert ran == ["resumed"]
        assert "could not look for things a test left" in caplog.text
        assert "database not there yet" in caplog.text
        assert things_resume.__name__ == "things_resume"
    finally:
        worker_ready.disconnect(things_resume)


def test_every_app_resumes_through_it():
    from tokenadmin.reports.tasks import report_runs_resume
    from tokenadmin.revocation.tasks import revocation_jobs_resume
    from tokenadmin.sessionindex.tasks import realm_index_refreshes_resume

    # Celery keeps a weak reference, or the function itself for weak=False.
    connected = {
        ref() if isinstance(ref, weakref.ReferenceType) else ref
        for _key, ref in worker_ready.receivers
    }
    for resume in (report_runs_resume, revocation_jobs_resume, realm_index_refreshes_resume):
        assert resume in connected
