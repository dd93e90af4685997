"""/metrics is off unless enabled, and then only for the token or an allowed address."""

import pytest

from .conftest import AUTH, TOKEN

pytestmark = pytest.mark.django_db


def test_off_by_default_answers_404(client, settings):
    settings.METRICS_ENABLED = False
    assert client.get("/metrics", headers=AUTH).status_code == 404


def test_no_or_wrong_token_is_401_and_the_token_is_200(client, metrics_on):
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-it"})
    assert wrong.status_code == 401
    assert TOKEN not in wrong.content.decode()
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    assert client.get("/metrics", headers=AUTH).status_code == 200


def test_an_allowed_address_needs_no_token_and_others_get_403(client, metrics_on):
    metrics_on.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 403  # nothing configured: nobody
    metrics_on.METRICS_ALLOW_IPS = ["10.0.0.0/8", "127.0.0.1"]
    ok = client.get("/metrics")
    assert ok.status_code == 200
    assert b"tokenadmin_index_age_seconds" in ok.content
    far = client.get("/metrics", REMOTE_ADDR="192.0.2.7")
    assert far.status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200


def test_a_post_is_refused(client, metrics_on):
    assert client.post("/metrics", headers=AUTH).status_code == 405
