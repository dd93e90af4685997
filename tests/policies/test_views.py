"""The policies pages as admins use them: empty states, bad input, a dry run's report, the
switch to enforce with the realm's name typed, and what a viewer may not do."""

import html
import re

import pytest
from django.urls import reverse

from tokenadmin.ledger.models import Action, LedgerEntry
from tokenadmin.policies.models import Mode, Policy

from .conftest import policy_make

pytestmark = pytest.mark.django_db


def seen(content: bytes) -> str:
    """The page's text as read: tags out, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", content.decode())).split())


def test_empty_states_then_an_operator_creates_a_policy_in_dry_run(client_as):
    client = client_as("operator")
    empty = seen(client.get(reverse("policies:realm", args=["mlflow"])).content)
    assert "No policy in mlflow yet. Create one : it starts as a dry run." in empty

    bad = client.post(
        reverse("policies:create", args=["mlflow"]),
        {"name": " ", "kind": "nope", "max_sessions": "0", "max_share_percent": "101"},
    )
    assert bad.status_code == 400
    text = seen(bad.content)
    assert "Select a valid choice. nope is not one of the available choices." in text
    assert "Give a whole number from 1 to 1,000,000." in text
    assert "Give a whole number of percent from 1 to 100." in text
    assert not Policy.objects.exists()

    data = {"name": "stale offline", "kind": "offline_idle", "min_severity": "medium"}
    made = client.post(
        reverse("policies:create", args=["mlflow"]),
        {**data, "max_sessions": "500", "max_share_percent": "5"},
    )
    policy = Policy.objects.get()
    assert made.status_code == 302
    assert made["Location"] == reverse("policies:detail", args=["mlflow", policy.pk])
    assert policy.mode == Mode.DRY_RUN and policy.created_by == "operator"
    entry = LedgerEntry.objects.get(action=Action.POLICY_CHANGED)
    assert entry.reason == "created" and entry.after["name"] == "stale offline"

    page = seen(client.get(made["Location"]).content)
    assert "stale offline dry run" in page
    assert "of medium severity or higher" in page
    assert "No run yet." in page

    again = client.post(
        reverse("policies:create", args=["mlflow"]),
        {**data, "max_sessions": "500", "max_share_percent": "5"},
    )
    assert again.status_code == 400
    assert "Another policy of this realm has that name." in seen(again.content)


def test_run_now_shows_what_a_dry_run_would_revoke(kc, idle_offline, client_as):
    _, idle, _, _ = idle_offline
    policy = policy_make()
    client = client_as("operator")

    ran = client.post(reverse("policies:run-now", args=["mlflow", policy.pk]), follow=True)

    text = seen(ran.content)
    assert "Policy ran: Dry run: reported, nothing revoked (3 sessions)." in text
    for key in idle:
        assert key in text  # the run's page lists every session
    detail = seen(client.get(reverse("policies:detail", args=["mlflow", policy.pk])).content)
    assert "It would revoke 3 sessions (3 offline) from 1 finding; nothing was revoked." in detail
    assert "idler" in detail


def test_switching_to_enforce_needs_the_typed_realm_name(client_as):
    policy = policy_make()
    client = client_as("operator")
    url = reverse("policies:enforce", args=["mlflow", policy.pk])

    wrong = client.post(url, {"confirm_realm": "MLFLOW"})
    assert wrong.status_code == 400
    assert "Type the realm's name exactly to switch this policy to enforce." in seen(wrong.content)
    policy.refresh_from_db()
    assert policy.mode == Mode.DRY_RUN

    done = client.post(url, {"confirm_realm": "mlflow"}, follow=True)
    text = seen(done.content)
    assert "now enforces: its next run revokes what it finds." in text
    assert "This policy enforces since" in text and "switched on by operator" in text
    policy.refresh_from_db()
    assert policy.mode == Mode.ENFORCE and policy.enforced_by_username == "operator"
    assert LedgerEntry.objects.filter(action=Action.POLICY_ENFORCED).count() == 1

    back = client.post(reverse("policies:dry-run", args=["mlflow", policy.pk]), follow=True)
    assert "is a dry run again: it revokes nothing." in seen(back.content)
    assert LedgerEntry.objects.filter(action=Action.POLICY_DRY_RUN).count() == 1


def test_a_viewer_sees_policies_and_runs_but_cannot_change_or_switch_them(client_as):
    policy = policy_make()
    client = client_as("viewer")
    page = client.get(reverse("policies:detail", args=["mlflow", policy.pk]))
    assert page.status_code == 200
    for button in (b"switch-enforce", b"run-now", b"edit-policy"):
        assert button not in page.content
    refused = client.post(
        reverse("policies:enforce", args=["mlflow", policy.pk]), {"confirm_realm": "mlflow"}
    )
    assert refused.status_code == 403
    policy.refresh_from_db()
    assert policy.mode == Mode.DRY_RUN
    missing = client.get(reverse("policies:detail", args=["mlflow", policy.pk + 99]))
    assert missing.status_code == 404
