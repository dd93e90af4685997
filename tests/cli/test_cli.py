"""`tokenadmin` as installed (.venv/bin/tokenadmin), in a subprocess, against live_server and
the emulator: the device sign-in, each command, each exit code, and the token kept secret."""

import ast
import json
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

import tokenadmin.cli
from tests.cli.conftest import COMMAND

pytestmark = pytest.mark.django_db(transaction=True)


def assert_no_token(cli, *runs) -> None:
    """Neither the access nor the refresh token is ever printed."""
    saved = json.loads(cli.credentials_file.read_text())
    for run in runs:
        for secret in (saved["access_token"], saved["refresh_token"]):
            assert secret not in run.out
            assert secret not in run.err


def test_every_command_has_help_with_examples():
    commands = [
        ["login"],
        ["logout"],
        ["sessions", "list"],
        ["revoke", "plan"],
        ["revoke", "apply"],
        ["lifespans", "export"],
        ["lifespans", "plan"],
        ["lifespans", "apply"],
    ]
    for words in commands:
        done = subprocess.run([COMMAND, *words, "--help"], capture_output=True, text=True)
        assert done.returncode == 0
        assert "examples:" in done.stdout
        assert f"tokenadmin {' '.join(words)}" in done.stdout
    top = subprocess.run([COMMAND, "--help"], capture_output=True, text=True).stdout
    assert "4 conflict" in top and "TOKENADMIN_TOKEN" in top


def test_the_command_line_modules_use_no_django():
    """Only server.py (the /cli.json view) is server side; the command itself is plain HTTP."""
    folder = Path(tokenadmin.cli.__file__).parent
    for path in folder.glob("*.py"):
        if path.name == "server.py":
            continue
        tree = ast.parse(path.read_text())
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [n for n in names if n.startswith(("django", "tokenadmin.keycloak"))], path


def test_device_sign_in_caches_the_token_0600_and_never_prints_it(cli, mlflow_indexed):
    login = cli.login("operator")
    listed = cli(
        "sessions", "list", "--realm", "mlflow", "--user", "mlflow_user", "--output", "json"
    )

    assert login.code == 0, login.err
    assert "Signed in to" in login.out
    assert stat.S_IMODE(cli.credentials_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(cli.credentials_file.parent.stat().st_mode) == 0o700
    assert listed.code == 0, listed.err
    found = json.loads(listed.out)["sessions"]
    assert {s["session_id"] for s in found} >= set(mlflow_indexed)
    assert {s["username"] for s in found} == {"mlflow_user"}
    assert_no_token(cli, login, listed)


def test_sessions_list_as_table_and_csv(cli, mlflow_indexed):
    cli.login("viewer")
    table = cli("sessions", "list", "--realm", "mlflow", "--user", "mlflow_user")
    csv = cli("sessions", "list", "--realm", "mlflow", "--client", "mlflow", "--output", "csv")

    assert table.code == 0, table.err
    assert table.out.splitlines()[0].split()[:3] == ["session", "user", "type"]
    assert all(sid in table.out for sid in mlflow_indexed)
    assert f"{len(table.out.splitlines()) - 2} sessions in mlflow" in table.out
    lines = csv.out.splitlines()
    assert lines[0].startswith("session,user,type,ip")
    assert {line.split(",")[0] for line in lines[1:]} >= set(mlflow_indexed)


def test_a_denied_sign_in_exits_3(cli):
    denied = cli.login("operator", accept=False)

    assert denied.code == 3
    assert "denied" in denied.err
    assert not cli.credentials_file.exists()


def test_revoke_plan_then_apply_then_apply_again_exits_4(cli, kc, mlflow_indexed):
    cli.login("operator")
    plan = cli("revoke", "plan", "--realm", "mlflow", "--user", "mlflow_user", "--output", "json")
    plan_id = json.loads(plan.out)["plan_id"]
    applied = cli("revoke", "apply", plan_id, "--reason", "left the company")
    again = cli("revoke", "apply", plan_id, "--reason", "left the company")

    assert plan.code == 0, plan.err
    count = json.loads(plan.out)["count"]
    assert count >= len(mlflow_indexed)
    assert applied.code == 0, applied.err
    assert f"{count} revoked" in applied.out
    # Not a terminal: plain progress lines, no bar redrawn in place.
    assert "\r" not in applied.err and "sessions" in applied.err
    admin = kc.admin("mlflow")
    assert admin.get_sessions(admin.get_user_id("mlflow_user")) == []
    assert again.code == 4
    assert "already applied" in again.err


def test_revoke_plan_prints_count_sample_and_expiry(cli, mlflow_indexed):
    cli.login("operator")
    plan = cli("revoke", "plan", "--realm", "mlflow", "--client", "mlflow")

    assert plan.code == 0, plan.err
    assert "Targets: " in plan.out and "Expires: " in plan.out and "Plan id: " in plan.out
    assert any(sid in plan.out for sid in mlflow_indexed)


def test_a_viewer_may_not_plan_a_revocation_exit_3(cli, mlflow_indexed):
    cli.login("viewer")
    plan = cli("revoke", "plan", "--realm", "mlflow", "--all")

    assert plan.code == 3
    assert "manage-users on mlflow" in plan.err


def test_lifespans_export_plan_apply_and_a_stale_file_exits_4(cli, kc, tmp_path):
    cli.login("operator")
    exported = cli("lifespans", "export", "--realm", "mlflow")
    document = yaml.safe_load(exported.out)
    document["values"]["accessTokenLifespan"] = "10m"
    edited = tmp_path / "mlflow.yaml"
    edited.write_text(yaml.safe_dump(document))

    planned = cli("lifespans", "plan", str(edited))
    written_by_plan = kc.admin("mlflow").get_realm("mlflow")["accessTokenLifespan"]
    applied = cli("lifespans", "apply", str(edited))
    stale = cli("lifespans", "apply", str(edited))

    assert exported.code == 0, exported.err
    assert document["realm"] == "mlflow" and document["version"]
    assert planned.code == 0, planned.err
    assert "nothing written" in planned.out and "->" in planned.out
    assert written_by_plan == 300
    assert applied.code == 0, applied.err
    assert kc.admin("mlflow").get_realm("mlflow")["accessTokenLifespan"] == 600
    assert stale.code == 4
    assert "Export again" in stale.err


def test_bad_input_exits_2(cli, tmp_path):
    cli.login("operator")
    broken = tmp_path / "broken.yaml"
    broken.write_text("realm: mlflow\n")

    assert cli("sessions", "list").code == 2  # --realm missing
    assert cli("lifespans", "plan", str(tmp_path / "absent.yaml")).code == 2
    missing = cli("lifespans", "plan", str(broken))
    assert missing.code == 2 and "missing version" in missing.err
    bad_filter = cli("revoke", "apply", "not-a-plan", "--reason", "x")
    assert bad_filter.code == 2


def test_not_signed_in_exits_3(cli):
    listed = cli("sessions", "list", "--realm", "mlflow")

    assert listed.code == 3
    assert "tokenadmin login" in listed.err


def test_server_unreachable_exits_5(cli, free_port):
    env = {"TOKENADMIN_TOKEN": "x.y.z"}
    server = f"http://127.0.0.1:{free_port}"
    listed = cli("sessions", "list", "--realm", "mlflow", "--server", server, env=env)

    assert listed.code == 5
    assert "Cannot reach" in listed.err


def test_an_expired_access_token_is_refreshed_and_saved(cli, mlflow_indexed):
    cli.login("operator")
    saved = json.loads(cli.credentials_file.read_text())
    cli.credentials_file.write_text(json.dumps({**saved, "expires_at": 0}))

    listed = cli("sessions", "list", "--realm", "mlflow", "--output", "json")

    assert listed.code == 0, listed.err
    fresh = json.loads(cli.credentials_file.read_text())
    assert fresh["access_token"] != saved["access_token"]
    assert stat.S_IMODE(cli.credentials_file.stat().st_mode) == 0o600
    assert_no_token(cli, listed)


def test_logout_ends_the_keycloak_session_and_forgets_the_token(cli, kc):
    cli.login("operator")
    admin = kc.admin("master")
    operator = admin.get_user_id("operator")
    before = len(admin.get_sessions(operator))

    logged_out = cli("logout")

    assert logged_out.code == 0
    assert not cli.credentials_file.exists()
    assert len(admin.get_sessions(operator)) == before - 1
    assert cli("sessions", "list", "--realm", "mlflow").code == 3


def test_a_ci_token_from_client_credentials_in_the_environment(cli, kc, mlflow_indexed):
    """A service account whose client adds tokenadmin to its tokens' audience."""
    admin = kc.admin("master")
    admin.create_client(
        {
            "clientId": "ci-bot",
            "secret": "ci-bot-secret",
            "serviceAccountsEnabled": True,
            "standardFlowEnabled": False,
            "protocolMappers": [
                {
                    "name": "audience tokenadmin",
                    "protocol": "openid-connect",
                    "protocolMapper": "oidc-audience-mapper",
                    "config": {
                        "included.client.audience": "tokenadmin",
                        "access.token.claim": "true",
                    },
                }
            ],
        }
    )
    bot = admin.get_client_service_account_user(admin.get_client_id("ci-bot"))
    realm_client = admin.get_client_id("mlflow-realm")
    view_users = admin.get_client_role(realm_client, "view-users")
    admin.assign_client_role(bot["id"], realm_client, [view_users])
    token = kc.openid("master", "ci-bot", "ci-bot-secret").token(grant_type="client_credentials")
    env = {"TOKENADMIN_TOKEN": token["access_token"], "TOKENADMIN_SERVER": cli.server}

    listed = cli("sessions", "list", "--realm", "mlflow", "--output", "json", env=env)
    refused = cli("revoke", "plan", "--realm", "mlflow", "--all", env=env)

    assert listed.code == 0, listed.err
    assert {s["session_id"] for s in json.loads(listed.out)["sessions"]} >= set(mlflow_indexed)
    assert token["access_token"] not in listed.out + listed.err
    assert refused.code == 3
    assert not cli.credentials_file.exists()  # a token from the environment is never cached


def test_production_bootstraps_the_same_cli_client_the_emulator_seeds():
    """docker/keycloak/tokenadmin-cli-client.json (bootstrap-master.sh) and the demo seed."""
    from tokenadmin.emulator.seed import CLI_CLIENT

    path = Path(__file__).parents[2] / "docker" / "keycloak" / "tokenadmin-cli-client.json"
    production = json.loads(path.read_text())
    # Production's tokens get aud tokenadmin from the client scope tokenadmin-api (bootstrap
    # step 4); the emulator has no client scopes, so its seed puts the same mapper on the client.
    for key, value in CLI_CLIENT.items():
        if key != "protocolMappers":
            assert production[key] == value, key
    scope_mapper = json.loads((path.parent / "tokenadmin-api-audience-mapper.json").read_text())
    [client_mapper] = CLI_CLIENT["protocolMappers"]
    assert scope_mapper["protocolMapper"] == client_mapper["protocolMapper"]
    assert scope_mapper["config"]["included.client.audience"] == "tokenadmin"


def test_keycloak_down_behind_the_server_exits_5(cli, kc):
    cli.login("operator")
    kc.fault(path=r"/admin/realms/mlflow$", method="GET", status=503)

    exported = cli("lifespans", "export", "--realm", "mlflow")

    assert exported.code == 5, exported.err
    assert exported.out == ""
    assert "Keycloak" in exported.err
