import csv
import io

import pytest

from tokenadmin.ledger.models import Action, LedgerEntry, Outcome
from tokenadmin.ledger.services import REDACTED, ledger_entry_create


def test_secrets_never_reach_the_ledger(db):
    entry = ledger_entry_create(
        actor=None,
        action=Action.CLIENT_LIFESPANS_UPDATED,
        realm="master",
        before={"clientId": "api-client", "secret": "s3cr3t", "attributes": {"x": "1"}},
        after={"access_token": "eyJ...", "nested": [{"refreshToken": "abc", "ok": 1}]},
    )
    entry.refresh_from_db()
    assert entry.before == {"clientId": "api-client", "secret": REDACTED, "attributes": {"x": "1"}}
    assert entry.after == {
        "access_token": REDACTED,
        "nested": [{"refreshToken": REDACTED, "ok": 1}],
    }
    assert entry.actor_username == "tokenadmin"


def test_lifespan_settings_stay_readable_in_the_ledger(db):
    entry = ledger_entry_create(
        actor=None,
        action=Action.LIFESPANS_UPDATED,
        realm="mlflow",
        after={"accessTokenLifespan": 600, "revokeRefreshToken": True, "refreshTokenMaxReuse": 1},
    )
    entry.refresh_from_db()
    assert entry.after == {
        "accessTokenLifespan": 600,
        "revokeRefreshToken": True,
        "refreshTokenMaxReuse": 1,
    }


def test_an_unknown_action_is_refused(db):
    with pytest.raises(ValueError, match="made_up"):
        ledger_entry_create(actor=None, action="made_up", realm="master")
    assert not LedgerEntry.objects.exists()


def _entries():
    ledger_entry_create(
        actor=None,
        action=Action.SESSION_REVOKED,
        realm="mlflow",
        target_label="mlflow_user on 10.0.0.7",
        reason="laptop stolen",
        ticket="SEC-42",
    )
    ledger_entry_create(
        actor=None,
        action=Action.REALM_SIGNED_OUT,
        realm="master",
        reason="incident drill",
        outcome=Outcome.PARTIAL,
        detail="3 failed",
    )


def test_the_ledger_page_searches_and_filters(client_as, kc):
    _entries()
    client = client_as("admin")
    page = client.get("/ledger/", {"q": "laptop"}).content.decode()
    assert "mlflow_user on 10.0.0.7" in page
    assert "incident drill" not in page
    page = client.get("/ledger/", {"outcome": "partial"}).content.decode()
    assert "incident drill" in page
    assert "laptop stolen" not in page


def test_a_realm_admin_sees_only_their_realms_entries(client_as, kc):
    _entries()
    page = client_as("viewer").get("/ledger/").content.decode()
    assert "laptop stolen" in page
    assert "incident drill" not in page


def test_the_ledger_exports_the_filtered_entries_as_csv(client_as, kc):
    _entries()
    response = client_as("admin").get("/ledger/export.csv", {"realm": "mlflow"})
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["realm"], r["ticket"], r["action"]) for r in rows] == [
        ("mlflow", "SEC-42", "session_revoked")
    ]
