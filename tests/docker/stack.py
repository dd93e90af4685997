"""Paths and parsers the docker tests share: the compose file, its .env example, the Dockerfile."""

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE_FILE = DOCKER / "compose.yaml"
ENV_EXAMPLE = DOCKER / ".env.example"
DOCKERFILE = DOCKER / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
REALM_FILE = DOCKER / "realm-export" / "tokenadmin-realms.json"
BOOTSTRAP_DIR = DOCKER / "keycloak"
# The Compose Specification's JSON schema, vendored byte for byte: see docker/README.md.
COMPOSE_SCHEMA = Path(__file__).with_name("compose-spec.json")

# Compose interpolation: $$ is a literal dollar; ${NAME}, ${NAME:-x}, ${NAME-x}, ${NAME:?x},
# ${NAME?x}, ${NAME:+x} and bare $NAME read the environment.
_INTERPOLATION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|\$([A-Za-z_][A-Za-z0-9_]*)")
# Keycloak's realm-import placeholders (and ours in the bootstrap client files): ${NAME}.
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def compose_text() -> str:
    return COMPOSE_FILE.read_text()


def compose() -> dict[str, Any]:
    return yaml.safe_load(compose_text())


def compose_variables(text: str) -> set[str]:
    """Every environment variable compose would interpolate into the file."""
    names = set()
    for match in _INTERPOLATION.finditer(text):
        name = match.group(1) or match.group(2)
        if name:
            names.add(name)
    return names


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f".env.example: not NAME=value: {line!r}"
        values[name.strip()] = value
    return values


def render_placeholders(text: str, values: dict[str, str]) -> str:
    """Fill ${NAME} placeholders the way Keycloak's startup import and bootstrap-master.sh do."""
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())
