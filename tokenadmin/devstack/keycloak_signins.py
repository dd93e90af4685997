"""Real sign-ins into Keycloak, the only way to make sessions there: a password grant (with
``scope=offline_access`` for an offline session) or the login form (the authorization code flow,
some with remember-me), each from an address of its own in ``X-Forwarded-For``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import random
import re
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from tokenadmin.devstack.keycloak_admin import TIMEOUT_S, SeedError
from tokenadmin.emulator.seed import SUBNETS

DEMO_REDIRECT_URI = "http://127.0.0.1/demo-seed"  # matches the clients' http://127.0.0.1/*
# Who may sign in where, for the sessions: (realm, clientId, secret or None for a public client).
SECRETS = {
    "tokenadmin": "tokenadmin-dev-secret",
    "api-client": "api-client-secret",
    "sdk-client": None,
    "mlflow": "mlflow-secret",
}


@dataclass(frozen=True)
class SignIn:
    """One real sign-in: a password grant, or the login form when `form` (remember-me there)."""

    realm: str
    client_id: str
    username: str
    password: str
    ip: str = "127.0.0.1"
    offline: bool = False
    form: bool = False
    remember_me: bool = False


@dataclass
class SignInsMade:
    online: int = 0
    offline: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def sessions(self) -> int:
        return self.online + self.offline


def token_endpoint(base_url: str, realm: str) -> str:
    return f"{base_url}/realms/{realm}/protocol/openid-connect/token"


def password_grant(http: requests.Session, base_url: str, sign_in: SignIn) -> dict[str, Any]:
    """A password grant (with scope offline_access for an offline session); the token answer."""
    secret = SECRETS.get(sign_in.client_id)
    form = {
        "grant_type": "password",
        "client_id": sign_in.client_id,
        "username": sign_in.username,
        "password": sign_in.password,
        "scope": "openid offline_access" if sign_in.offline else "openid",
    }
    if secret:
        form["client_secret"] = secret
    answer = http.post(
        token_endpoint(base_url, sign_in.realm),
        data=form,
        headers={"X-Forwarded-For": sign_in.ip},
        timeout=TIMEOUT_S,
    )
    if answer.status_code != 200:
        raise SeedError(
            f"password grant for {sign_in.username}: {answer.status_code} {answer.text}"
        )
    return answer.json()


FORM_ACTION = re.compile(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', re.S)


def form_sign_in(http: requests.Session, base_url: str, sign_in: SignIn) -> dict[str, Any]:
    """The authorization code flow through Keycloak's own login page, as a browser does it:
    open the page, post the form (remember-me ticked if asked), exchange the code."""
    headers = {"X-Forwarded-For": sign_in.ip}
    # PKCE always: client tokenadmin requires S256, as the dashboard's own sign-in does.
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    page = http.get(
        f"{base_url}/realms/{sign_in.realm}/protocol/openid-connect/auth",
        params={
            "client_id": sign_in.client_id,
            "response_type": "code",
            "redirect_uri": DEMO_REDIRECT_URI,
            "scope": "openid",
            "state": "seed",
            "code_challenge": challenge.decode().rstrip("="),
            "code_challenge_method": "S256",
        },
        headers=headers,
        timeout=TIMEOUT_S,
    )
    # Keycloak marks its login cookies Secure; browsers send those to a loopback http origin,
    # Python's cookie jar does not, so they are sent back as plain cookies.
    for cookie in http.cookies:
        cookie.secure = False
    action = FORM_ACTION.search(page.text)
    if page.status_code != 200 or action is None:
        raise SeedError(f"no login form for {sign_in.client_id}: {page.status_code}")
    fields = {"username": sign_in.username, "password": sign_in.password, "credentialId": ""}
    if sign_in.remember_me:
        fields["rememberMe"] = "on"
    posted = http.post(
        html.unescape(action.group(1)),
        data=fields,
        headers=headers,
        allow_redirects=False,
        timeout=TIMEOUT_S,
    )
    code = parse_qs(urlsplit(posted.headers.get("Location", "")).query).get("code")
    if posted.status_code != 302 or not code:
        raise SeedError(f"the login form refused {sign_in.username}: {posted.status_code}")
    exchanged = http.post(
        token_endpoint(base_url, sign_in.realm),
        data={
            "grant_type": "authorization_code",
            "code": code[0],
            "redirect_uri": DEMO_REDIRECT_URI,
            "client_id": sign_in.client_id,
            "client_secret": SECRETS[sign_in.client_id] or "",
            "code_verifier": verifier,
        },
        headers=headers,
        timeout=TIMEOUT_S,
    )
    if exchanged.status_code != 200:
        raise SeedError(f"code exchange for {sign_in.username}: {exchanged.status_code}")
    return exchanged.json()


def sign_ins_make(base_url: str, sign_ins: list[SignIn], *, concurrency: int = 4) -> SignInsMade:
    """Perform every sign-in from a thread pool (one HTTP session per password-grant thread, a
    fresh cookie jar per form sign-in so each makes its own session); counts and failures."""
    made = SignInsMade()
    local = threading.local()
    lock = threading.Lock()

    def one(sign_in: SignIn) -> None:
        try:
            if sign_in.form:
                with requests.Session() as browser:
                    form_sign_in(browser, base_url.rstrip("/"), sign_in)
            else:
                if not hasattr(local, "http"):
                    local.http = requests.Session()
                password_grant(local.http, base_url.rstrip("/"), sign_in)
        except (SeedError, requests.RequestException) as exc:
            with lock:
                made.failures.append(str(exc)[:200])
            return
        with lock:
            if sign_in.offline:
                made.offline += 1
            else:
                made.online += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, sign_ins))
    made.seconds = time.perf_counter() - started
    return made


def random_ip(rng: random.Random) -> str:
    return SUBNETS[rng.randrange(len(SUBNETS))].format(rng.randint(0, 40), rng.randint(1, 254))
