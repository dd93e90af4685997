"""Finding 5: no CSV tokenadmin writes can start a spreadsheet formula (OWASP's CSV injection).
Every CSV goes through tokenadmin/core/csv.py; a test below keeps it that way."""

import ast
import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.reports.conftest import report_create
from tokenadmin.core.csv import FORMULA_PREFIXES, csv_line, csv_text
from tokenadmin.ledger.models import Action
from tokenadmin.ledger.services import ledger_entry_create
from tokenadmin.reports.services import expiry_report_preview
from tokenadmin.sessionindex.models import IndexedSession, search_text_of

PACKAGE = Path(__file__).resolve().parents[2] / "tokenadmin"
EVIL = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES)
def test_the_writer_makes_every_formula_prefix_text(prefix):
    value = f"{prefix}cmd|' /C calc'!A0"
    [cells] = _cells(csv_line([value, "plain", 42, None]))
    assert cells == [f"'{value}", "plain", "42", ""]
    assert _cells(csv_text([[value]])) == [[f"'{value}"]]


def test_every_formula_prefix_is_covered():
    assert set(FORMULA_PREFIXES) == {"=", "+", "-", "@", "\t", "\r"}


def _evil_session(n: int, username: str) -> IndexedSession:
    now = timezone.now()
    return IndexedSession(
        realm="master",
        session_id=f"evil-{n}",
        user_id=f"id-{n}",
        username=username,
        ip_address="@10.0.0.1",
        started_at=now - timedelta(days=2),
        last_access_at=now - timedelta(days=1),
        clients={"uuid-evil": "=evil-client"},
        client_ids_text=" =evil-client ",
        expires_at=now + timedelta(hours=1),
        seen_at=now,
        search_text=search_text_of(username, "@10.0.0.1", " =evil-client "),
    )


def _assert_inert(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_PREFIXES), (cell, row)


def test_the_sessions_csv_neutralises_usernames_ips_and_clients(client_as, kc):
    IndexedSession.objects.bulk_create(_evil_session(n, name) for n, name in enumerate(EVIL))

    response = client_as("admin").get("/sessions/master/export.csv")

    rows = _cells(b"".join(response.streaming_content).decode())
    _assert_inert(rows)
    assert {row[2] for row in rows[1:]} == {f"'{name}" for name in EVIL}
    assert {row[4] for row in rows[1:]} == {"'@10.0.0.1"}
    assert {row[8] for row in rows[1:]} == {"'=evil-client"}


def test_the_ledger_csv_neutralises_labels_and_text(client_as, kc):
    for label in EVIL:
        ledger_entry_create(
            actor=None,
            action=Action.SESSION_REVOKED,
            realm="master",
            target_label=label,
            reason="=1+1",
            ticket="-SEC-1",
        )

    response = client_as("admin").get("/ledger/export.csv")

    rows = _cells(b"".join(response.streaming_content).decode())
    _assert_inert(rows)
    assert {row[6] for row in rows[1:]} == {f"'{label}" for label in EVIL}


def test_the_report_attachment_neutralises_usernames(kc, db):
    IndexedSession.objects.bulk_create(_evil_session(n, name) for n, name in enumerate(EVIL))
    report = report_create(realms=["master"], idle_over_hours=1, sessions_per_user_over=None)

    rows = _cells(expiry_report_preview(report=report).csv_text())

    _assert_inert(rows)
    assert {f"'{name}" for name in EVIL} <= {row[2] for row in rows[1:]}


def test_no_module_but_the_one_writer_imports_csv():
    """A new CSV elsewhere would skip the neutralising: write it through tokenadmin.core.csv."""
    importers = []
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "core" / "csv.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            if "csv" in names:
                importers.append(str(path.relative_to(PACKAGE)))
    assert importers == []
