"""`manage.py demo`: the whole stack on one machine, supervised by this one process.

Starts the Keycloak emulator (seeded with both demo setups and a few thousand sessions), Redis,
a Celery worker and beat, an SMTP sink and the dev server; Ctrl-C stops all of them by pid.
With `--keycloak real`, real Keycloak (tokenadmin.devstack.keycloak, fresh data each run) takes
the emulator's place, seeded with the same realms, clients, users and roles and a few hundred
sessions made by real sign-ins (tokenadmin.devstack.keycloak_seed). A traffic generator
(tokenadmin.devstack.traffic) keeps signing users in and out for as long as the demo runs, so
the realms stay near their seeded size instead of idling out; `--no-traffic` turns it off.
"""

import os
import signal
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from tokenadmin.devstack import keycloak, keycloak_seed, processes
from tokenadmin.devstack.keycloak_admin import SeedError
from tokenadmin.devstack.redis import redis_start

DEMO_LOGINS = (
    ("admin", "admin", "master admin: every realm, every action"),
    ("operator", "operator", "views and manages realm mlflow"),
    ("viewer", "viewer", "views realm mlflow, changes nothing"),
    ("realmviewer", "realmviewer", "views realm mlflow's settings only, not its users"),
    ("outsider", "outsider", "no admin role: sees the 403 page"),
)


class Command(BaseCommand):
    help = "Run tokenadmin with the Keycloak emulator (or real Keycloak), Redis, Celery, mail."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="dashboard port")
        parser.add_argument("--keycloak-port", type=int, default=8180)
        parser.add_argument("--redis-port", type=int, default=6390)
        parser.add_argument("--smtp-port", type=int, default=1025)
        parser.add_argument(
            "--keycloak",
            choices=("emulator", "real"),
            default="emulator",
            help=f"the emulator (starts in a second) or real Keycloak {keycloak.KEYCLOAK_VERSION} "
            "(needs Java and Maven; its first run fetches and builds it)",
        )
        parser.add_argument(
            "--sessions",
            type=int,
            help="extra seeded sessions (default 3000 in the emulator, 300 real sign-ins)",
        )
        parser.add_argument(
            "--no-traffic",
            action="store_true",
            help="no background sign-ins: the seeded sessions idle out and nothing replaces them",
        )
        parser.add_argument(
            "--work-dir", type=Path, help="logs, mail, Redis and Keycloak data (default var/demo)"
        )

    def handle(self, *args, **options):
        ports = _free_ports(options)
        var = options["work_dir"] or Path(settings.BASE_DIR) / "var" / "demo"
        real = options["keycloak"] == "real"
        var.mkdir(parents=True, exist_ok=True)
        env = _demo_env(ports, var)
        started: list = []

        def run(name: str, argv: list[str], port: int | None = None, extra_env: dict | None = None):
            self.stdout.write(f"  starting {name} (log: {var / name}.log)")
            process = processes.start(
                argv, log_path=var / f"{name}.log", env={**env, **(extra_env or {})}
            )
            started.append(process)
            if port:
                processes.wait_for_port(port, process, timeout_s=60)
            return process

        # SIGTERM stops what was started so far, even while the stack is still starting.
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        try:
            self.stdout.write("Migrating the database…")
            call_command("migrate", interactive=False, verbosity=0)
            self.stdout.write("Starting the stack:")
            if real:
                self._real_keycloak_start(run, ports["keycloak"], var, options["sessions"])
            else:
                sessions = 3000 if options["sessions"] is None else options["sessions"]
                run(
                    "keycloak-emulator",
                    _emulator_argv(ports["keycloak"], sessions),
                    ports["keycloak"],
                )
            self.stdout.write("  starting redis")
            started.append(redis_start(port=ports["redis"], work_dir=var / "redis"))
            for name, argv, port in _services(ports, var, options, real=real):
                run(name, argv, port)
            self._index_now(env["REDIS_URL"])
            self._announce(ports, var, real)
            self._supervise(started)
        except KeyboardInterrupt:
            pass
        finally:
            self.stdout.write("\nStopping everything the demo started…")
            for process in reversed(started):
                processes.stop(process)
            self.stdout.write("Stopped.")

    def _real_keycloak_start(self, run, port: int, var: Path, sessions: int | None) -> None:
        """Real Keycloak on the demo's port with a fresh database, seeded like the emulator."""
        try:
            prepared = keycloak.distribution_prepare()
        except keycloak.KeycloakSetupError as exc:
            raise CommandError(str(exc)) from exc
        if prepared.fetch_s or prepared.build_s:
            self.stdout.write(
                f"  prepared Keycloak {keycloak.KEYCLOAK_VERSION} once: fetched in "
                f"{prepared.fetch_s:.0f} s, built in {prepared.build_s:.0f} s"
            )
        base_url = f"http://127.0.0.1:{port}"
        process = run(
            "keycloak",
            [
                sys.executable,
                "-m",
                "tokenadmin.devstack.keycloak",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                str(var / "keycloak"),
            ],
            # Each seeded sign-in says where it comes from in X-Forwarded-For; Keycloak takes
            # the session's address from it only when told to (loopback demo only).
            extra_env={"KC_PROXY_HEADERS": "xforwarded"},
        )
        self.stdout.write("  waiting for Keycloak to boot (30-70 s)…")
        try:
            boot_s = keycloak.wait_until_ready(
                process, base_url=base_url, log_path=var / "keycloak" / "keycloak.log"
            )
        except keycloak.KeycloakSetupError as exc:
            raise CommandError(f"{exc}; see {var / 'keycloak.log'}") from exc
        self.stdout.write(f"  Keycloak {keycloak.KEYCLOAK_VERSION} ready in {boot_s:.0f} s")
        count = 300 if sessions is None else sessions
        self.stdout.write(f"  seeding the demo realms and {count} sessions by real sign-ins…")
        try:
            report = keycloak_seed.keycloak_demo_seed(
                base_url=base_url,
                sessions=count,
                admin_username=os.environ.get("KC_BOOTSTRAP_ADMIN_USERNAME", "admin"),
                admin_password=os.environ.get("KC_BOOTSTRAP_ADMIN_PASSWORD", "admin"),
            )
        except SeedError as exc:
            raise CommandError(f"seeding real Keycloak failed: {exc}") from exc
        self.stdout.write(
            f"  seeded: realms and roles {report.realms_s:.0f} s, {report.users} users "
            f"{report.users_s:.0f} s, {report.made.online} online + {report.made.offline} "
            f"offline sessions {report.made.seconds:.0f} s"
        )

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

    def _announce(self, ports: dict, var: Path, real: bool) -> None:
        self.stdout.write(
            self.style.SUCCESS(f"\ntokenadmin is running on http://127.0.0.1:{ports['web']}/")
        )
        which = f"Keycloak {keycloak.KEYCLOAK_VERSION}" if real else "Keycloak emulator"
        self.stdout.write(
            f"{which}: http://127.0.0.1:{ports['keycloak']}/  "
            f"mail sink: 127.0.0.1:{ports['smtp']} (mails kept in {var / 'mail'})"
        )
        self.stdout.write("Sign in with (password = username):")
        for username, _password, what in DEMO_LOGINS:
            self.stdout.write(f"  {username:<10} {what}")
        self.stdout.write("Press Ctrl-C to stop everything.")

    def _supervise(self, started: list) -> None:
        while True:
            for process in started:
                if process.poll() is not None:
                    raise CommandError(
                        f"{process.args[:4]} exited with {process.returncode}; "
                        "see its log in var/demo/"
                    )
            time.sleep(1)


def _free_ports(options: dict) -> dict[str, int]:
    """The demo's ports by service; refused at once when something already listens there."""
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
    return ports


def _demo_env(ports: dict[str, int], var: Path) -> dict[str, str]:
    keycloak_url = f"http://127.0.0.1:{ports['keycloak']}"
    return {
        "KEYCLOAK_URL": keycloak_url,
        "KEYCLOAK_PUBLIC_URL": keycloak_url,
        "REDIS_URL": f"redis://127.0.0.1:{ports['redis']}/0",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(ports["smtp"]),
        "TOKENADMIN_BASE_URL": f"http://127.0.0.1:{ports['web']}",
        "TOKENADMIN_DEMO_MAILDIR": str(var / "mail"),
        "PYTHONUNBUFFERED": "1",
    }


def _emulator_argv(port: int, sessions: int) -> list[str]:
    return [
        *(sys.executable, "-m", "tokenadmin.emulator", "--host", "127.0.0.1"),
        *("--port", str(port), "--seed", "demo", "--sessions", str(sessions)),
    ]


def _services(
    ports: dict[str, int], var: Path, options: dict, *, real: bool
) -> list[tuple[str, list[str], int | None]]:
    """What runs beside Keycloak and Redis, in start order: (name, argv, port to wait for)."""
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "tokenadmin"]
    mail = ["--port", str(ports["smtp"]), "--dir", str(var / "mail")]
    schedule = ["--schedule", str(var / "celerybeat-schedule")]
    services: list[tuple[str, list[str], int | None]] = [
        ("mail-sink", [python, "-m", "tokenadmin.devstack.mailsink", *mail], ports["smtp"]),
        ("celery-worker", [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"], None),
        ("celery-beat", [*celery, "beat", "--loglevel", "INFO", *schedule], None),
    ]
    if not options["no_traffic"]:
        seeded = options["sessions"]
        sessions = (300 if real else 3000) if seeded is None else seeded
        keycloak_url = f"http://127.0.0.1:{ports['keycloak']}"
        traffic = [
            "--url",
            keycloak_url,
            "--sessions",
            str(sessions),
            *(["--real"] if real else []),
        ]
        services.append(("traffic", [python, "-m", "tokenadmin.devstack.traffic", *traffic], None))
    web = [python, "manage.py", "demo_web", f"127.0.0.1:{ports['web']}", "--noreload"]
    services.append(("web", web, ports["web"]))
    return services
