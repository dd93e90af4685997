"""`manage.py demo`: the whole stack on one machine, supervised by this one process.

Starts the Keycloak emulator (seeded with both demo setups and a few thousand sessions), Redis,
a Celery worker and beat, an SMTP sink and the dev server; Ctrl-C stops all of them by pid.
"""

import signal
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from tokenadmin.devstack import processes
from tokenadmin.devstack.redis import redis_start

DEMO_LOGINS = (
    ("admin", "admin", "master admin: every realm, every action"),
    ("operator", "operator", "views and manages realm mlflow"),
    ("viewer", "viewer", "views realm mlflow, changes nothing"),
    ("realmviewer", "realmviewer", "views realm mlflow's settings only, not its users"),
    ("outsider", "outsider", "no admin role: sees the 403 page"),
)


class Command(BaseCommand):
    help = "Run tokenadmin with the Keycloak emulator, Redis, Celery and a mail sink."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="dashboard port")
        parser.add_argument("--keycloak-port", type=int, default=8180)
        parser.add_argument("--redis-port", type=int, default=6390)
        parser.add_argument("--smtp-port", type=int, default=1025)
        parser.add_argument("--sessions", type=int, default=3000, help="extra seeded sessions")

    def handle(self, *args, **options):
        ports = {
            name: options[f"{name}_port" if name != "web" else "port"]
            for name in ("web", "keycloak", "redis", "smtp")
        }
        busy = [f"{name} ({port})" for name, port in ports.items() if processes.port_is_open(port)]
        if busy:
            raise CommandError(
                f"ports already in use: {', '.join(busy)}; stop what holds them "
                "or pick others (see --help)"
            )
        var = Path(settings.BASE_DIR) / "var" / "demo"
        var.mkdir(parents=True, exist_ok=True)
        keycloak_url = f"http://127.0.0.1:{ports['keycloak']}"
        env = {
            "KEYCLOAK_URL": keycloak_url,
            "KEYCLOAK_PUBLIC_URL": keycloak_url,
            "REDIS_URL": f"redis://127.0.0.1:{ports['redis']}/0",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(ports["smtp"]),
            "TOKENADMIN_BASE_URL": f"http://127.0.0.1:{ports['web']}",
            "TOKENADMIN_DEMO_MAILDIR": str(var / "mail"),
            "PYTHONUNBUFFERED": "1",
        }
        python = sys.executable
        started: list = []

        def run(name: str, argv: list[str], port: int | None = None) -> None:
            self.stdout.write(f"  starting {name} (log: var/demo/{name}.log)")
            process = processes.start(argv, log_path=var / f"{name}.log", env=env)
            started.append(process)
            if port:
                processes.wait_for_port(port, process, timeout_s=60)

        try:
            self.stdout.write("Migrating the database…")
            call_command("migrate", interactive=False, verbosity=0)
            self.stdout.write("Starting the stack:")
            run(
                "keycloak-emulator",
                [
                    python,
                    "-m",
                    "tokenadmin.emulator",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(ports["keycloak"]),
                    "--seed",
                    "demo",
                    "--sessions",
                    str(options["sessions"]),
                ],
                ports["keycloak"],
            )
            self.stdout.write("  starting redis")
            started.append(redis_start(port=ports["redis"], work_dir=var / "redis"))
            run(
                "mail-sink",
                [
                    python,
                    "-m",
                    "tokenadmin.devstack.mailsink",
                    "--port",
                    str(ports["smtp"]),
                    "--dir",
                    str(var / "mail"),
                ],
                ports["smtp"],
            )
            run(
                "celery-worker",
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "tokenadmin",
                    "worker",
                    "--loglevel",
                    "INFO",
                    "--concurrency",
                    "2",
                ],
            )
            run(
                "celery-beat",
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "tokenadmin",
                    "beat",
                    "--loglevel",
                    "INFO",
                    "--schedule",
                    str(var / "celerybeat-schedule"),
                ],
            )
            run(
                "web",
                [python, "manage.py", "runserver", f"127.0.0.1:{ports['web']}", "--noreload"],
                ports["web"],
            )
            self._index_now(env["REDIS_URL"])
            self._announce(ports, var)
            self._supervise(started)
        except KeyboardInterrupt:
            pass
        finally:
            self.stdout.write("\nStopping everything the demo started…")
            for process in reversed(started):
                processes.stop(process)
            self.stdout.write("Stopped.")

    def _index_now(self, redis_url: str) -> None:
        """Fill the session index at once instead of at the first 5-minute beat tick."""
        from tokenadmin.celery import app

        # This process was configured for the default Redis; use the demo's, and don't wait
        # for a result.
        app.conf.update(broker_url=redis_url, result_backend=redis_url)
        app.send_task(
            "tokenadmin.sessionindex.tasks.realm_index_refresh_all_task", ignore_result=True
        )
        self.stdout.write("  indexing every realm's sessions in the background")

    def _announce(self, ports: dict, var: Path) -> None:
        self.stdout.write(
            self.style.SUCCESS(f"\ntokenadmin is running on http://127.0.0.1:{ports['web']}/")
        )
        self.stdout.write(
            f"Keycloak emulator: http://127.0.0.1:{ports['keycloak']}/  "
            f"mail sink: 127.0.0.1:{ports['smtp']} (mails kept in {var / 'mail'})"
        )
        self.stdout.write("Sign in with (password = username):")
        for username, _password, what in DEMO_LOGINS:
            self.stdout.write(f"  {username:<10} {what}")
        self.stdout.write("Press Ctrl-C to stop everything.")

    def _supervise(self, started: list) -> None:
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while True:
            for process in started:
                if process.poll() is not None:
                    raise CommandError(
                        f"{process.args[:4]} exited with {process.returncode}; "
                        "see its log in var/demo/"
                    )
            time.sleep(1)
