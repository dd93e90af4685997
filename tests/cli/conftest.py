"""The installed `tokenadmin` command, run as a subprocess against a live Django server
(live_server) and the emulator, as a person or a CI job would run it."""

import html
import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tokenadmin.sessionindex.refresh import realm_index_refresh

COMMAND = str(Path(sys.executable).with_name("tokenadmin"))
CODE_LINE = re.compile(r"Open (\S+) and enter the code (\S+)")
TIMEOUT_S = 60


@dataclass
class Run:
    code: int
    out: str
    err: str


def device_approve(
    verification_uri: str, user_code: str, username: str, *, accept: bool = True
) -> requests.Response:
    """What the person does in a browser: enter the code, sign in, grant (or not)."""
    browser = requests.Session()

    def action(page: requests.Response) -> str:
        match = re.search(r'<form[^>]*action="([^"]+)"', page.text)
        assert match, page.text[:500]
        return html.unescape(match.group(1))

    page = browser.get(verification_uri, timeout=10)
    page = browser.post(action(page), data={"device_user_code": user_code}, timeout=10)
    page = browser.post(action(page), data={"username": username, "password": username})
    choice = {"accept": "Yes"} if accept else {"cancel": "No"}
    return browser.post(action(page), data=choice, allow_redirects=True, timeout=10)


class Cli:
    """The command with its own config folder (the token cache) and environment."""

    def __init__(self, home: Path, server: str) -> None:
        self.home = home
        self.server = server
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
        }

    @property
    def credentials_file(self) -> Path:
        return self.home / "config" / "tokenadmin" / "credentials.json"

    def __call__(self, *args: str, env: dict[str, str] | None = None, stdin: str = "") -> Run:
        done = subprocess.run(
            [COMMAND, *args],
            env={**self.env, **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    def login(self, username: str, *, accept: bool = True) -> Run:
        process = subprocess.Popen(
            [COMMAND, "login", "--server", self.server],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        first = process.stdout.readline()
        match = CODE_LINE.search(first)
        assert match, first + (process.stderr.read() if process.stderr else "")
        device_approve(match.group(1), match.group(2), username, accept=accept)
        out, err = process.communicate(timeout=TIMEOUT_S)
        return Run(process.returncode, first + out, err)


@pytest.fixture
def cli(tmp_path, live_server, kc) -> Cli:
    """The command against live_server; the CLI client polls every second (Keycloak's
    default is 5 s) so sign-ins stay quick."""
    admin = kc.admin("master")
    uuid = admin.get_client_id("tokenadmin-cli")
    attributes = {"oauth2.device.polling.interval": "1"}
    admin.update_client(uuid, {"attributes": attributes})
    return Cli(tmp_path, live_server.url)


@pytest.fixture
def mlflow_indexed(kc, transactional_db) -> list[str]:
    """Two sessions of mlflow_user in Keycloak, the index refreshed."""
    ids = [
        kc.password_login("mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret")[
            "session_state"
        ]
        for _ in range(2)
    ]
    realm_index_refresh(realm="mlflow")
    return ids


@pytest.fixture
def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
