import ast
import csv
import io
from dataclasses import replace
from pathlib import Path

import pytest

import tokenadmin
from tokenadmin.ledger.models import Action, LedgerEntry, Outcome
from tokenadmin.ledger.services import (
    REDACTED,
    LedgerDraft,
    ledger_entry_create,
    ledger_entry_record,
)


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


def test_a_draft_holds_no_secret_from_the_moment_it_is_made(db):
    draft = LedgerDraft(
        actor=None,
        action=Action.CONSENT_REVOKED,
        realm="mlflow",
        before={"client": {"secret": "s3cr3t", "credentials": ["pw"]}, "scopes": ["openid"]},
    )
    assert draft.before == {
        "client": {"secret": REDACTED, "credentials": REDACTED},
        "scopes": ["openid"],
    }
    # A copy with another state before is redacted too: there is no way around the draft.
    assert replace(draft, before={"password": "x"}).before == {"password": REDACTED}

    entry = ledger_entry_record(draft, after={"id_token": "eyJ..."}, outcome=Outcome.FAILED)
    entry.refresh_from_db()
    assert "s3cr3t" not in str(entry.before) and entry.after == {"id_token": REDACTED}
    assert (entry.action, entry.outcome) == (Action.CONSENT_REVOKED, Outcome.FAILED)


def test_no_module_but_the_ledgers_writer_writes_ledger_entries():
    """Every entry goes through a LedgerDraft, so through its redaction."""
    package = Path(tokenadmin.__file__).parent
    writers = []
    for path in package.rglob("*.py"):
        if path == package / "ledger" / "services.py" or "migrations" in path.parts:
            continue
        source = path.read_text()
        if "LedgerEntry" not in source:
            continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                chain = ast.unparse(node.func)
                if chain.startswith("LedgerEntry") and node.func.attr in {
                    "create",
                    "bulk_create",
                    "update",
                    "get_or_create",
                    "update_or_create",
                }:
                    writers.append(f"{path.relative_to(package)}:{node.lineno}")
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "LedgerEntry":
                writers.append(f"{path.relative_to(package)}:{node.lineno}")
    assert writers == []


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
