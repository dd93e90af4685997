"""tokenadmin itself against real Keycloak 26: master set up by docker/keycloak/bootstrap-master.sh
(with the distribution's own kcadm.sh), a realm made from the compose realm export, and the
dashboard's settings pointed at that Keycloak for each test here.

The setup runs once per pytest session (`realkc`) and every test here shares it, so tests make
their own users or sessions and never count on what another test left behind.
"""

import json
import os
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.docker.stack import BOOTSTRAP_DIR, REALM_FILE, render_placeholders
from tests.fixtures.real_keycloak import RealKeycloak
from tests.fixtures.services import celery_worker_running
from tokenadmin.devstack.keycloak import distribution_prepare
from tokenadmin.settings import content_security_policy, keycloak_endpoints

BOOTSTRAP_SCRIPT = BOOTSTRAP_DIR / "bootstrap-master.sh"
BOOTSTRAP_TIMEOUT_S = 300  # a dozen kcadm.sh runs, each a JVM start: slow on a busy machine
# pytest-timeout counts session fixtures in the first test that needs them: Keycloak's boot
# (up to 4 min on a busy machine) and the bootstrap come on top of the test itself.
REALKC_TIMEOUT_S = 900
ADMIN_USERNAME = "tokenadmin-admin"
ADMIN_PASSWORD = "tokenadmin-admin-password"
REALM_USER = "mlflow_user"
REALM_USER_PASSWORD = "mlflow-user-password"
REALM_CLIENT = "mlflow"
REALM_CLIENT_SECRET = "mlflow-client-secret"
# A CI script's service account, made before the bootstrap, which lists it in
# TOKENADMIN_API_CLIENTS: its tokens then carry audience tokenadmin (tests/realkc/test_api.py).
CI_CLIENT = "ci-scripts"


def kcadm_path() -> Path:
    """The admin CLI of the prepared distribution the real_keycloak fixture runs."""
    return distribution_prepare().home / "bin" / "kcadm.sh"


@dataclass(frozen=True)
class Secrets:
    client: str
    worker: str
    ci: str = ""


@dataclass
class RealkcStack:
    """Real Keycloak with master bootstrapped for the tokenadmin at `dashboard_url`."""

    keycloak: RealKeycloak
    dashboard_url: str
    secrets: Secrets
    realm: str  # made from the realm export, before the bootstrap: the worker has rights on it
    kcadm_config: Path

    def bootstrap(self, **overrides: str) -> subprocess.CompletedProcess[str]:
        return bootstrap_run(
            self.keycloak,
            dashboard_url=self.dashboard_url,
            secrets=self.secrets,
            kcadm_config=self.kcadm_config,
            **overrides,
        )

    def user_id(self, realm: str, username: str) -> str:
        answer = self.keycloak.admin_api(
            "GET", f"/admin/realms/{realm}/users", params={"username": username, "exact": "true"}
        )
        answer.raise_for_status()
        (user,) = answer.json()
        return user["id"]

    def user_session_ids(self, realm: str, username: str) -> set[str]:
        answer = self.keycloak.admin_api(
            "GET", f"/admin/realms/{realm}/users/{self.user_id(realm, username)}/sessions"
        )
        answer.raise_for_status()
        return {s["id"] for s in answer.json()}

    def realm_get(self, realm: str) -> dict:
        answer = self.keycloak.admin_api("GET", f"/admin/realms/{realm}")
        answer.raise_for_status()
        return answer.json()

    def user_create(self, realm: str, username: str, password: str) -> str:
        answer = self.keycloak.admin_api(
            "POST",
            f"/admin/realms/{realm}/users",
            json={
                "username": username,
                "enabled": True,
                "email": f"{username}@example.com",
                "emailVerified": True,
                "firstName": username,
                "lastName": "Test",
                "credentials": [{"type": "password", "value": password, "temporary": False}],
            },
        )
        assert answer.status_code == 201, answer.text
        return answer.headers["Location"].rsplit("/", 1)[1]

    def sessions_make(
        self, realm: str, username: str, password: str, count: int, *, offline: bool = False
    ) -> list[str]:
        """`count` real sessions: one password grant each to the realm's client; offline ones
        if `offline` (Keycloak 26.7 then lists no online session for the grant)."""

        def login(_: int) -> str:
            answer = requests.post(
                f"{self.keycloak.base_url}/realms/{realm}/protocol/openid-connect/token",
                data={
                    "grant_type": "password",
                    "client_id": REALM_CLIENT,
                    "client_secret": REALM_CLIENT_SECRET,
                    "username": username,
                    "password": password,
                    "scope": "openid offline_access" if offline else "openid",
                },
                timeout=60,
            )
            assert answer.status_code == 200, answer.text
            return answer.json()["session_state"]

        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(login, range(count)))


def bootstrap_run(
    keycloak: RealKeycloak,
    *,
    dashboard_url: str,
    secrets: Secrets,
    kcadm_config: Path,
    **overrides: str,
) -> subprocess.CompletedProcess[str]:
    """bootstrap-master.sh as compose runs it, with this machine's kcadm.sh."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "KCADM": str(kcadm_path()),
        "KCADM_CONFIG": str(kcadm_config),
        "KEYCLOAK_URL": keycloak.base_url,
        "KC_BOOTSTRAP_ADMIN_USERNAME": "admin",
        "KC_BOOTSTRAP_ADMIN_PASSWORD": "admin",
        "TOKENADMIN_BASE_URL": dashboard_url,
        "TOKENADMIN_CLIENT_SECRET": secrets.client,
        "TOKENADMIN_WORKER_CLIENT_SECRET": secrets.worker,
        "TOKENADMIN_ADMIN_USERNAME": ADMIN_USERNAME,
        "TOKENADMIN_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "TOKENADMIN_ADMIN_EMAIL": "tokenadmin-admin@example.com",
        **overrides,
    }
    if "JAVA_HOME" in os.environ:
        env["JAVA_HOME"] = os.environ["JAVA_HOME"]
    return subprocess.run(
        ["bash", str(BOOTSTRAP_SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=BOOTSTRAP_TIMEOUT_S,
    )


def realm_import(keycloak: RealKeycloak, name: str) -> None:
    """The compose realm export (realm mlflow, its client and user) under another name."""
    text = render_placeholders(
        REALM_FILE.read_text(),
        {"MLFLOW_CLIENT_SECRET": REALM_CLIENT_SECRET, "MLFLOW_USER_PASSWORD": REALM_USER_PASSWORD},
    )
    realm = {**json.loads(text), "realm": name, "displayName": f"mlflow ({name})"}
    answer = keycloak.admin_api("POST", "/admin/realms", json=realm)
    assert answer.status_code == 201, answer.text


def ci_client_create(keycloak: RealKeycloak, client_id: str, secret: str, **attributes: str) -> str:
    """A confidential client in master with a service account (client credentials only), as an
    admin makes one for a script; its internal id."""
    answer = keycloak.admin_api(
        "POST",
        "/admin/realms/master/clients",
        json={
            "clientId": client_id,
            "publicClient": False,
            "secret": secret,
            "serviceAccountsEnabled": True,
            "standardFlowEnabled": False,
            "directAccessGrantsEnabled": False,
            "attributes": attributes,
        },
    )
    assert answer.status_code == 201, answer.text
    return answer.headers["Location"].rsplit("/", 1)[1]


@pytest.fixture(scope="session")
def realkc(real_keycloak, live_server, tmp_path_factory) -> RealkcStack:
    """Once per run: a realm from the export, then master bootstrapped for the live server."""
    realm = f"mlflow-{uuid.uuid4().hex[:8]}"
    realm_import(real_keycloak, realm)
    ci_secret = uuid.uuid4().hex
    ci_client_create(real_keycloak, CI_CLIENT, ci_secret)
    stack = RealkcStack(
        keycloak=real_keycloak,
        # The URL the browser uses: the redirect URIs Keycloak allows are built from it.
        dashboard_url=live_server.url,
        secrets=Secrets(client=uuid.uuid4().hex, worker=uuid.uuid4().hex, ci=ci_secret),
        realm=realm,
        kcadm_config=tmp_path_factory.mktemp("kcadm") / "kcadm.config",
    )
    result = stack.bootstrap(TOKENADMIN_API_CLIENTS=CI_CLIENT)
    assert result.returncode == 0, f"bootstrap-master.sh failed:\n{result.stdout}\n{result.stderr}"
    return stack


@pytest.fixture(autouse=True)
def dashboard_uses_real_keycloak(realkc, settings):
    """Every setting that names Keycloak follows the real one, for this test only."""
    base_url = realkc.keycloak.base_url
    settings.KEYCLOAK_URL = settings.KEYCLOAK_PUBLIC_URL = base_url
    for name, value in keycloak_endpoints(base_url, base_url, settings.KEYCLOAK_REALM).items():
        setattr(settings, name, value)
    settings.CONTENT_SECURITY_POLICY = content_security_policy(base_url)
    settings.KEYCLOAK_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET = realkc.secrets.client
    settings.KEYCLOAK_WORKER_CLIENT_SECRET = realkc.secrets.worker
    return realkc


@pytest.fixture
def realkc_worker(realkc, redis_server, transactional_db, settings, monkeypatch, tmp_path):
    """A real Celery worker on real Keycloak, signing in as the bootstrapped tokenadmin-worker."""
    # The worker process reads its secret from the environment (processes.start passes ours on).
    monkeypatch.setenv("KEYCLOAK_WORKER_CLIENT_SECRET", realkc.secrets.worker)
    with celery_worker_running(
        redis=redis_server,
        emulator_url=realkc.keycloak.base_url,
        mail_port=None,
        log_path=tmp_path / "worker.log",
        name="realkc",
        settings=settings,
    ) as worker:
        yield worker
