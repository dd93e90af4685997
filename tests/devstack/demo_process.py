"""`manage.py demo` as the tests start it: free ports, its own folder and SQLite database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO

from ..fixtures.emulator import ROOT, _free_port


def demo_ports() -> dict[str, int]:
    return {name: _free_port() for name in ("web", "keycloak", "redis", "smtp")}


def demo_process_start(
    *, work: Path, ports: dict[str, int], output: IO[bytes], args: list[str]
) -> subprocess.Popen[bytes]:
    """Start the demo in `work` on `ports`, with `args` (e.g. --keycloak real) before the ports."""
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "demo",
            *args,
            "--port",
            str(ports["web"]),
            "--keycloak-port",
            str(ports["keycloak"]),
            "--redis-port",
            str(ports["redis"]),
            "--smtp-port",
            str(ports["smtp"]),
            "--work-dir",
            str(work),
        ],
        cwd=ROOT,
        stdout=output,
        stderr=subprocess.STDOUT,
        env={
            **os.environ,
            "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
            "PYTHONUNBUFFERED": "1",
        },
    )
