"""The signed-in user's tokens, cached in the user's config folder, readable by them alone.

$XDG_CONFIG_HOME/tokenadmin/credentials.json (~/.config/tokenadmin/ by default), mode 0600 in a
0700 folder. Tokens are never printed; a token from TOKENADMIN_TOKEN is never written.
"""

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import DENIED, CliError

FILE_NAME = "credentials.json"


@dataclass
class Credentials:
    server: str  # tokenadmin's base URL
    keycloak_url: str
    realm: str
    client_id: str
    access_token: str
    refresh_token: str
    expires_at: float  # epoch seconds
    refresh_expires_at: float  # epoch seconds; 0 when the refresh token does not expire


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tokenadmin"


def credentials_path() -> Path:
    return config_dir() / FILE_NAME


def credentials_save(credentials: Credentials) -> Path:
    """Write the file 0600 from the start (never world-readable, not even for a moment)."""
    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / FILE_NAME
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an older file keeps its mode through O_CREAT
    with os.fdopen(descriptor, "w") as handle:
        json.dump(asdict(credentials), handle)
    return path


def credentials_load() -> Credentials:
    path = credentials_path()
    try:
        data = json.loads(path.read_text())
        return Credentials(**data)
    except FileNotFoundError:
        raise CliError("Not signed in: run `tokenadmin login --server URL`.", DENIED) from None
    except (ValueError, TypeError):
        raise CliError(f"{path} is damaged: run `tokenadmin login` again.", DENIED) from None


def credentials_delete() -> bool:
    try:
        credentials_path().unlink()
    except FileNotFoundError:
        return False
    return True
