"""docker/compose.yaml: valid Compose, every variable documented, no secret inside, sane order."""

import jsonschema
import pytest

from tests.docker.stack import (
    COMPOSE_SCHEMA,
    compose,
    compose_text,
    compose_variables,
    env_example,
    load_json,
)

TOKENADMIN_SERVICES = ("migrate", "web", "worker", "beat")
SECRET_WORDS = ("PASSWORD", "SECRET", "KEY", "AUTH", "TOKEN")


def test_the_compose_file_is_valid_against_the_compose_specification():
    schema = load_json(COMPOSE_SCHEMA)
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose()), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_schema_rejects_a_broken_compose_file():
    # Guards the test above against a schema that accepts anything.
    broken = compose()
    broken["services"]["web"]["depends_on"]["migrate"]["condition"] = "service_done"
    broken["services"]["web"]["healthcheck"] = {"tset": ["CMD", "true"]}
    errors = list(jsonschema.Draft7Validator(load_json(COMPOSE_SCHEMA)).iter_errors(broken))
    assert len(errors) >= 2


def test_every_variable_the_compose_file_reads_is_in_the_env_example():
    missing = compose_variables(compose_text()) - set(env_example())
    assert not missing, f"add to docker/.env.example: {sorted(missing)}"


def test_every_variable_in_the_env_example_is_read_by_the_compose_file():
    unused = set(env_example()) - compose_variables(compose_text())
    assert not unused, f"docker/.env.example lists variables compose never reads: {sorted(unused)}"


def test_the_variable_scanner_sees_every_form_and_skips_escaped_dollars():
    text = "a: ${ONE}\nb: ${TWO:-x}\nc: ${THREE:?set it}\nd: $FOUR\ne: $$NOT_ME ${FIVE-y}"
    assert compose_variables(text) == {"ONE", "TWO", "THREE", "FOUR", "FIVE"}


def _environments(document):
    for name, service in document["services"].items():
        environment = service.get("environment") or {}
        assert isinstance(environment, dict), f"{name}: use the mapping form for environment"
        yield name, environment


def test_no_secret_is_written_into_the_compose_file():
    for service, environment in _environments(compose()):
        for key, value in environment.items():
            if set(key.split("_")) & set(SECRET_WORDS) and value not in ("", None):
                assert "${" in str(value), f"{service}.{key} must come from docker/.env"


def test_the_env_example_holds_placeholders_not_real_secrets():
    for key, value in env_example().items():
        if any(word in key for word in ("PASSWORD", "SECRET")) and value:
            assert value.startswith("change-me"), f"{key}: the example must say change-me"


def test_services_start_in_order_of_health():
    services = compose()["services"]
    for name, service in services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert isinstance(rule, dict), f"{name}: depends_on {dependency} needs a condition"
            condition = rule["condition"]
            if services[dependency].get("profiles"):
                # A plain `up` leaves profiled services out; a required dependency would fail.
                assert rule.get("required") is False, (name, dependency)
            if services[dependency].get("restart") == "no":
                assert condition == "service_completed_successfully", (name, dependency)
            else:
                assert condition == "service_healthy", (name, dependency)
                healthcheck = services[dependency].get("healthcheck")
                assert healthcheck and not healthcheck.get("disable"), dependency
    assert set(services["web"]["depends_on"]) == {"migrate", "redis", "keycloak-bootstrap"}
    # It logs in as Keycloak's temporary admin, so it runs only when asked for.
    assert services["keycloak-bootstrap"]["profiles"] == ["bootstrap"]


def test_long_running_services_have_a_healthcheck_and_data_lives_in_named_volumes():
    document = compose()
    for name, service in document["services"].items():
        if name in ("migrate", "keycloak-bootstrap", "beat"):
            continue  # one-shots, and beat (no port, no ping); web's check is the image's
        if name == "web":
            continue
        assert "test" in service["healthcheck"], name
    for name in ("keycloak-db", "db", "redis"):
        volume = document["services"][name]["volumes"][0].split(":")[0]
        assert volume in document["volumes"], name


def test_the_tokenadmin_services_share_one_image_and_production_settings():
    services = compose()["services"]
    for name in TOKENADMIN_SERVICES:
        service = services[name]
        assert service["image"] == "tokenadmin:local"
        assert service["build"]["dockerfile"] == "docker/Dockerfile"
        assert service["environment"]["DJANGO_DEBUG"] == "false"
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "tokenadmin", "worker"]
    beat = services["beat"]["command"]
    assert beat[:4] == ["celery", "-A", "tokenadmin", "beat"]
    assert "django_celery_beat.schedulers:DatabaseScheduler" in beat


def test_keycloak_runs_version_26_in_production_mode_and_imports_the_realm_file():
    services = compose()["services"]
    keycloak = services["keycloak"]
    assert keycloak["image"].startswith("quay.io/keycloak/keycloak:26.")
    assert keycloak["command"] == ["start", "--import-realm"]
    assert keycloak["environment"]["KC_DB"] == "postgres"
    assert "./realm-export:/opt/keycloak/data/import:ro" in keycloak["volumes"]
    bootstrap = services["keycloak-bootstrap"]
    assert bootstrap["image"] == keycloak["image"]
    assert bootstrap["entrypoint"] == ["/bin/bash", "/opt/tokenadmin/bootstrap-master.sh"]


@pytest.mark.parametrize("service", ["keycloak-db", "keycloak", "db", "redis", "mailpit"])
def test_third_party_images_are_pinned_to_a_version(service):
    image = compose()["services"][service]["image"]
    name, _, tag = image.rpartition(":")
    assert name and tag and tag != "latest" and any(c.isdigit() for c in tag), image
