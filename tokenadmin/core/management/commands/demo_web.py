"""`manage.py demo_web 127.0.0.1:8000 --noreload`: runserver with a fixed pool of threads (see
tokenadmin/devstack/webserver.py), which `manage.py demo` starts as its dashboard."""

from typing import Any

from django.core.management.commands.runserver import Command as RunserverCommand

from tokenadmin.devstack.webserver import PooledWSGIServer


class Command(RunserverCommand):
    help = "Development server for the demo: a fixed pool of threads, bounded memory."
    server_cls = PooledWSGIServer

    def inner_run(self, *args: Any, **options: Any) -> None:
        # The pool is the server's own threading: runserver's thread-per-request mix-in off.
        options["use_threading"] = False
        super().inner_run(*args, **options)
