"""The Keycloak side of the stack, run against the emulator: the realm file imports and its user
logs in; the master bootstrap's clients and role grants work; bootstrap-master.sh calls kcadm
with fully rendered input.

Keycloak resolves ${NAME} placeholders in a realm file at startup import from its environment;
so does the emulator, so these tests hand it the file as it is and the values as environment.
"""

import base64
import hashlib
import html
import json
import os
import re
import secrets
import stat
import subprocess
import sys
import textwrap
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.docker.stack import (
    BOOTSTRAP_DIR,
    PLACEHOLDER,
    REALM_FILE,
    compose,
    env_example,
    render_placeholders,
)
from tokenadmin.accounts.rights import AdminRights
from tokenadmin.devstack import processes

VALUES = {
    "MLFLOW_CLIENT_SECRET": "mlflow-secret-from-env",
    "MLFLOW_USER_PASSWORD": "mlflow-user-password-from-env",
    "TOKENADMIN_BASE_URL": "https://tokenadmin.example.com",
    "TOKENADMIN_CLIENT_SECRET": "tokenadmin-secret-from-env",
    "TOKENADMIN_WORKER_CLIENT_SECRET": "worker-secret-from-env",
}
BOOTSTRAP_ADMIN = ("bootstrap-admin", "bootstrap-password")
CLIENT_FILES = {
    "tokenadmin": BOOTSTRAP_DIR / "tokenadmin-client.json",
    "tokenadmin-worker": BOOTSTRAP_DIR / "tokenadmin-worker-client.json",
    "tokenadmin-cli": BOOTSTRAP_DIR / "tokenadmin-cli-client.json",
}


def _worker_roles() -> list[str]:
    text = (BOOTSTRAP_DIR / "tokenadmin-worker-roles.txt").read_text()
    return [line.strip() for line in text.splitlines() if line.strip()]


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture(scope="module")
def keycloak(tmp_path_factory):
    """The emulator with nothing but the bootstrap admin and the realm file, values in its env."""
    directory = tmp_path_factory.mktemp("realm-import")
    port = processes.free_port()
    process = processes.start(
        [
            sys.executable,
            "-m",
            "tokenadmin.emulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--seed",
            "none",
            "--import-realm",
            str(REALM_FILE),
        ],
        log_path=directory / "emulator.log",
        env={
            **VALUES,
            "KC_BOOTSTRAP_ADMIN_USERNAME": BOOTSTRAP_ADMIN[0],
            "KC_BOOTSTRAP_ADMIN_PASSWORD": BOOTSTRAP_ADMIN[1],
        },
    )
    try:
        processes.wait_for_port(port, process, timeout_s=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        processes.stop(process)


def _token(base_url: str, realm: str, **form) -> requests.Response:
    return requests.post(
        f"{base_url}/realms/{realm}/protocol/openid-connect/token", data=form, timeout=10
    )


def test_every_placeholder_has_a_value_where_it_is_resolved():
    services = compose()["services"]
    realm_placeholders = set(PLACEHOLDER.findall(REALM_FILE.read_text()))
    assert realm_placeholders <= set(services["keycloak"]["environment"])
    client_placeholders = set()
    for path in CLIENT_FILES.values():
        client_placeholders |= set(PLACEHOLDER.findall(path.read_text()))
    assert client_placeholders <= set(services["keycloak-bootstrap"]["environment"])
    script = (BOOTSTRAP_DIR / "bootstrap-master.sh").read_text()
    listed = script.split("PLACEHOLDERS=(", 1)[1].split(")", 1)[0].split()
    assert set(listed) == client_placeholders
    assert realm_placeholders | client_placeholders <= set(VALUES)
    assert realm_placeholders <= set(env_example())


def test_the_realm_file_holds_one_realm_that_keycloak_may_import_at_startup():
    realm = json.loads(REALM_FILE.read_text())
    # --import-realm skips realms that exist, and master always does: master is bootstrapped.
    assert isinstance(realm, dict) and realm["realm"] != "master"
    # Keycloak reads *-realm.json and *-users-*.json as a directory export, not as one file.
    assert "-realm.json" not in REALM_FILE.name and "-users-" not in REALM_FILE.name


def test_a_user_of_the_imported_realm_logs_in_with_a_password_grant(keycloak):
    response = _token(
        keycloak,
        "mlflow",
        grant_type="password",
        client_id="mlflow",
        client_secret=VALUES["MLFLOW_CLIENT_SECRET"],
        username="mlflow_user",
        password=VALUES["MLFLOW_USER_PASSWORD"],
        scope="openid",
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["expires_in"] == 300
    claims = _claims(body["access_token"])
    assert claims["preferred_username"] == "mlflow_user"
    assert claims["azp"] == "mlflow"
    assert "mlflow-user" in claims["realm_access"]["roles"]


def test_the_imported_client_refuses_a_wrong_secret(keycloak):
    response = _token(
        keycloak,
        "mlflow",
        grant_type="password",
        client_id="mlflow",
        client_secret="not-the-secret",
        username="mlflow_user",
        password=VALUES["MLFLOW_USER_PASSWORD"],
    )
    assert response.status_code == 401
    # Keycloak answers a bad client secret with 401 unauthorized_client.
    assert response.json()["error"] == "unauthorized_client"


def test_the_master_bootstrap_lets_the_worker_read_every_realm(keycloak):
    """The REST calls bootstrap-master.sh makes through kcadm, with the same JSON files."""
    admin = _token(
        keycloak,
        "master",
        grant_type="password",
        client_id="admin-cli",
        username=BOOTSTRAP_ADMIN[0],
        password=BOOTSTRAP_ADMIN[1],
    )
    assert admin.status_code == 200, admin.text
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {admin.json()['access_token']}"
    master = f"{keycloak}/admin/realms/master"

    for path in CLIENT_FILES.values():
        body = json.loads(render_placeholders(path.read_text(), VALUES))
        created = api.post(f"{master}/clients", json=body, timeout=10)
        assert created.status_code == 201, created.text
    dashboard = api.get(f"{master}/clients", params={"clientId": "tokenadmin"}, timeout=10).json()
    assert dashboard[0]["redirectUris"] == ["https://tokenadmin.example.com/oidc/callback/"]

    worker_uuid = api.get(
        f"{master}/clients", params={"clientId": "tokenadmin-worker"}, timeout=10
    ).json()[0]["id"]
    account = api.get(f"{master}/clients/{worker_uuid}/service-account-user", timeout=10).json()
    assert account["username"] == "service-account-tokenadmin-worker"
    realms = [r["realm"] for r in api.get(f"{keycloak}/admin/realms", timeout=10).json()]
    assert sorted(realms) == ["master", "mlflow"]
    for realm in realms:
        management = api.get(
            f"{master}/clients", params={"clientId": f"{realm}-realm"}, timeout=10
        ).json()[0]["id"]
        roles = [
            api.get(f"{master}/clients/{management}/roles/{name}", timeout=10).json()
            for name in _worker_roles()
        ]
        granted = api.post(
            f"{master}/users/{account['id']}/role-mappings/clients/{management}",
            json=roles,
            timeout=10,
        )
        assert granted.status_code == 204, granted.text

    worker = _token(
        keycloak,
        "master",
        grant_type="client_credentials",
        client_id="tokenadmin-worker",
        client_secret=VALUES["TOKENADMIN_WORKER_CLIENT_SECRET"],
    )
    assert worker.status_code == 200, worker.text
    token = worker.json()["access_token"]
    access = _claims(token)["resource_access"]
    for realm in realms:
        assert set(_worker_roles()) <= set(access[f"{realm}-realm"]["roles"])
    users = requests.get(
        f"{keycloak}/admin/realms/mlflow/users",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert users.status_code == 200, users.text
    assert [u["username"] for u in users.json()] == ["mlflow_user"]


FAKE_KCADM = """\
#!{python}
# Stands in for kcadm.sh: records each call and answers the queries bootstrap-master.sh makes.
import json, sys
args = sys.argv[1:]
stdin = sys.stdin.read() if "-" in args and "-f" in args else None
with open({log!r}, "a") as log:
    log.write(json.dumps({{"args": args, "stdin": stdin}}) + "\\n")
if args[:2] == ["get", "realms"]:
    print("master")
    print("mlflow")
if "-i" in args:  # create ... -i prints the new resource's id
    print("id-" + args[1].split("/")[0])
"""


def _run_bootstrap(tmp_path, **overrides):
    log = tmp_path / "kcadm.jsonl"
    fake = tmp_path / "kcadm.sh"
    fake.write_text(textwrap.dedent(FAKE_KCADM).format(python=sys.executable, log=str(log)))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {
        "PATH": os.environ["PATH"],
        "KCADM": str(fake),
        "KEYCLOAK_URL": "http://keycloak:8080",
        "KC_BOOTSTRAP_ADMIN_USERNAME": BOOTSTRAP_ADMIN[0],
        "KC_BOOTSTRAP_ADMIN_PASSWORD": BOOTSTRAP_ADMIN[1],
        "TOKENADMIN_ADMIN_USERNAME": "tokenadmin-admin",
        "TOKENADMIN_ADMIN_PASSWORD": "admin-password",
        "TOKENADMIN_ADMIN_EMAIL": "admin@example.com",
        **{k: v for k, v in VALUES.items() if k.startswith("TOKENADMIN_")},
        **overrides,
    }
    result = subprocess.run(
        ["bash", str(BOOTSTRAP_DIR / "bootstrap-master.sh")],
        env={k: v for k, v in env.items() if v is not None},
        capture_output=True,
        text=True,
        timeout=30,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, calls


def test_bootstrap_script_sends_kcadm_rendered_clients_and_every_grant(tmp_path):
    result, calls = _run_bootstrap(tmp_path)
    assert result.returncode == 0, result.stderr
    commands = [" ".join(call["args"]) for call in calls]
    assert commands[0].startswith("config credentials --server http://keycloak:8080 --realm master")

    created = [json.loads(c["stdin"]) for c in calls if c["args"][:2] == ["create", "clients"]]
    assert [c["clientId"] for c in created] == ["tokenadmin", "tokenadmin-worker", "tokenadmin-cli"]
    expected = {
        c: json.loads(render_placeholders(p.read_text(), VALUES)) for c, p in CLIENT_FILES.items()
    }
    assert created == [expected[c] for c in ("tokenadmin", "tokenadmin-worker", "tokenadmin-cli")]
    assert created[0]["attributes"]["post.logout.redirect.uris"] == (
        "https://tokenadmin.example.com/accounts/signed-out/"
    )

    grants = [
        c["args"] for c in calls if c["args"][0] == "add-roles" and "--cclientid" in c["args"]
    ]
    assert [g[g.index("--cclientid") + 1] for g in grants] == ["master-realm", "mlflow-realm"]
    for grant in grants:
        assert [grant[i + 1] for i, a in enumerate(grant) if a == "--rolename"] == _worker_roles()
    assert any(
        c.startswith("create users -r master -s username=tokenadmin-admin") for c in commands
    )
    assert any(c.startswith("set-password -r master --username tokenadmin-admin") for c in commands)
    assert any("--uusername tokenadmin-admin --rolename admin" in c for c in commands)
    # The API's audience: the scope, its mapper, a default scope of the command line's client.
    assert any(c.startswith("create client-scopes -r master -f ") for c in commands)
    assert any(
        c.startswith("create client-scopes/id-client-scopes/protocol-mappers/models")
        for c in commands
    )
    assert any(
        c.startswith("update clients/id-clients/default-client-scopes/id-client-scopes -r master")
        for c in commands
    )


def test_bootstrap_script_stops_before_calling_keycloak_when_a_variable_is_missing(tmp_path):
    result, calls = _run_bootstrap(tmp_path, TOKENADMIN_CLIENT_SECRET=None)
    assert result.returncode == 1
    assert "TOKENADMIN_CLIENT_SECRET must be set" in result.stderr
    assert calls == []


def test_an_admin_signs_in_through_the_bootstrapped_dashboard_client(keycloak):
    """The code flow the dashboard runs (PKCE S256, the client's secret), through the login form,
    with the `tokenadmin` client exactly as bootstrap-master.sh creates it."""
    admin = _token(
        keycloak,
        "master",
        grant_type="password",
        client_id="admin-cli",
        username=BOOTSTRAP_ADMIN[0],
        password=BOOTSTRAP_ADMIN[1],
    ).json()["access_token"]
    body = json.loads(render_placeholders(CLIENT_FILES["tokenadmin"].read_text(), VALUES))
    created = requests.post(
        f"{keycloak}/admin/realms/master/clients",
        json=body,
        headers={"Authorization": f"Bearer {admin}"},
        timeout=10,
    )
    assert created.status_code in (201, 409), created.text  # 409: another test made it

    callback = f"{VALUES['TOKENADMIN_BASE_URL']}/oidc/callback/"
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = {
        "client_id": "tokenadmin",
        "response_type": "code",
        "redirect_uri": callback,
        "scope": "openid email profile",
        "state": "s1",
        "nonce": "n1",
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
    }
    browser = requests.Session()
    form = browser.get(
        f"{keycloak}/realms/master/protocol/openid-connect/auth", params=query, timeout=10
    )
    action = html.unescape(re.search(r'<form[^>]*action="([^"]+)"', form.text).group(1))
    answer = browser.post(
        action,
        data={"username": BOOTSTRAP_ADMIN[0], "password": BOOTSTRAP_ADMIN[1]},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(callback)
    code = parse_qs(urlsplit(location).query)["code"][0]

    tokens = _token(
        keycloak,
        "master",
        grant_type="authorization_code",
        code=code,
        redirect_uri=callback,
        client_id="tokenadmin",
        client_secret=VALUES["TOKENADMIN_CLIENT_SECRET"],
        code_verifier=verifier,
    )
    assert tokens.status_code == 200, tokens.text
    assert "id_token" in tokens.json()
    rights = AdminRights.from_claims(_claims(tokens.json()["access_token"]))
    assert rights.is_superadmin
