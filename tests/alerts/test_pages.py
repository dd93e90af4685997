"""The alerts pages as admins use them: transports whose URL and secret are write-only (never in
the page, the ledger or the log), rules, "send a test", rights, bad input and the paused state."""

import html
import logging
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.alerts.helpers import SECRET
from tokenadmin.alerts.models import Delivery, Rule, Transport
from tokenadmin.alerts.secrets import secret_seal
from tokenadmin.ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db

REALM_PAGE = reverse("alerts:realm", args=["mlflow"])


def seen(content: bytes) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", content.decode())).split())


def add_webhook(client, receiver, *, name: str = "ops hook", secret: str = SECRET):
    return client.post(
        reverse("alerts:transport-create"),
        {"realm": "mlflow", "name": name, "kind": "webhook", "url": receiver.url, "secret": secret},
    )


def test_an_operator_adds_a_webhook_a_rule_and_sends_a_test(client_as, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    client = client_as("operator")
    empty = client.get(REALM_PAGE)
    assert empty.status_code == 200
    assert "No transports yet: add one below." in seen(empty.content)
    assert "No deliveries yet." in seen(empty.content)

    assert add_webhook(client, receiver).status_code == 302
    transport = Transport.objects.get(name="ops hook")
    assert transport.realm == "mlflow"
    assert receiver.url not in transport.url_sealed and SECRET not in transport.secret_sealed

    made = client.post(
        reverse("alerts:rule-create"),
        {
            "scope": "mlflow",
            "transport": transport.pk,
            "realm": "mlflow",
            "kind": "",
            "min_severity": "high",
            "mode": "digest",
            "digest_every_s": "900",
        },
    )
    assert made.status_code == 302
    assert Rule.objects.get().digest_every_s == 900

    tested = client.post(reverse("alerts:transport-test", args=[transport.pk]), follow=True)
    text = seen(tested.content)
    assert "Test delivered to “ops hook” (HTTP 200)." in text
    [got] = receiver.received
    assert got.headers["X-Tokenadmin-Event"] == "test"
    delivery = Delivery.objects.get()
    assert got.delivery_id == str(delivery.delivery_id)
    assert "URL set; signing secret set" in text
    assert "digest every 15 min" in text
    assert "Delivered" in text

    # Write-only: neither the URL nor the secret reaches the page, the ledger or the log.
    for secret in (receiver.url, "very-secret-path-T0KEN", SECRET):
        assert secret not in tested.content.decode()
        assert secret not in caplog.text
        for entry in LedgerEntry.objects.all():
            assert secret not in f"{entry.before} {entry.after} {entry.target_label}"
    actions = list(LedgerEntry.objects.order_by("id").values_list("action", "reason", "after"))
    assert [a[:2] for a in actions] == [
        ("alert_transport_changed", "created"),
        ("alert_rule_changed", "created"),
    ]
    assert actions[0][2]["url"] == "set"


def test_a_failed_test_says_why_and_a_paused_transport_shows_its_reason_and_resumes(
    client_as, receiver
):
    client = client_as("operator")
    add_webhook(client, receiver)
    transport = Transport.objects.get()
    receiver.script = [404]
    failed = client.post(reverse("alerts:transport-test", args=[transport.pk]), follow=True)
    assert "Test to “ops hook” not delivered: HTTP 404 Not Found." in seen(failed.content)

    Transport.objects.filter(pk=transport.pk).update(
        paused_at=timezone.now(), paused_reason="Paused after 3 failed deliveries in a row"
    )
    page = seen(client.get(REALM_PAGE).content)
    assert "Transport “ops hook” is paused" in page
    assert "Paused after 3 failed deliveries in a row" in page

    resumed = client.post(reverse("alerts:transport-resume", args=[transport.pk]), follow=True)
    assert "Transport “ops hook” resumed" in seen(resumed.content)
    assert Transport.objects.get().paused_at is None
    assert LedgerEntry.objects.filter(reason="resumed").count() == 1


def test_bad_input_gets_a_clear_message_and_nothing_is_saved(client_as, receiver):
    client = client_as("operator")
    short = add_webhook(client, receiver, secret="short")
    assert short.status_code == 400
    assert "Give a signing secret of at least 16 characters." in seen(short.content)
    no_mail = client.post(
        reverse("alerts:transport-create"),
        {"realm": "mlflow", "name": "mail", "kind": "email", "recipients": "not-an-address"},
    )
    assert no_mail.status_code == 400
    assert "Not an email address: not-an-address" in seen(no_mail.content)
    assert Transport.objects.count() == 0


def test_a_blank_url_on_a_change_keeps_the_stored_one_and_a_new_one_replaces_it(
    client_as, receiver
):
    client = client_as("operator")
    add_webhook(client, receiver)
    transport = Transport.objects.get()
    sealed = transport.url_sealed
    change = reverse("alerts:transport-change", args=[transport.pk])
    client.post(change, {"name": "renamed", "url": "", "secret": ""})
    transport.refresh_from_db()
    assert (transport.name, transport.url_sealed) == ("renamed", sealed)
    client.post(change, {"name": "renamed", "url": receiver.url + "2", "secret": ""})
    transport.refresh_from_db()
    assert transport.url_sealed != sealed and transport.secret_is_set


def test_rights_a_viewer_sees_but_cannot_change_and_global_alerts_are_for_admins(
    client_as, receiver
):
    viewer = client_as("viewer")
    assert viewer.get(REALM_PAGE).status_code == 200
    assert add_webhook(viewer, receiver).status_code == 403
    assert b'data-testid="new-transport"' not in viewer.get(REALM_PAGE).content

    operator = client_as("operator")
    assert operator.get(reverse("alerts:realm", args=["master"])).status_code == 403
    refused = operator.post(
        reverse("alerts:transport-create"),
        {"realm": "", "name": "global", "kind": "slack", "url": receiver.url},
    )
    assert refused.status_code == 403
    assert Transport.objects.count() == 0

    admin = client_as("admin")
    made = admin.post(
        reverse("alerts:transport-create"),
        {"realm": "", "name": "global", "kind": "slack", "url": receiver.url},
    )
    assert made.status_code == 302
    page = seen(admin.get(reverse("alerts:index")).content)
    assert "Alerts: global" in page and "Slack incoming webhook" in page


def test_the_findings_page_links_to_the_realm_alerts(client_as):
    page = client_as("operator").get(reverse("findings:realm", args=["mlflow"]))
    assert REALM_PAGE.encode() in page.content


def test_a_rule_changed_and_deleted_is_in_the_ledger_with_before_and_after(client_as, receiver):
    client = client_as("operator")
    add_webhook(client, receiver)
    transport = Transport.objects.get()
    fields = {"scope": "mlflow", "transport": transport.pk, "realm": "mlflow", "kind": ""}
    fields |= {"min_severity": "medium", "mode": "immediate", "digest_every_s": "3600"}
    client.post(reverse("alerts:rule-create"), fields)
    made = Rule.objects.get()

    changed = client.post(
        reverse("alerts:rule-change", args=[made.pk]),
        fields | {"kind": "many_sessions", "mode": "digest", "digest_every_s": "86400"},
        follow=True,
    )
    assert "Rule changed." in seen(changed.content)
    assert "digest every 1 d" in seen(changed.content)
    entry = LedgerEntry.objects.filter(reason="changed", target_type="alert_rule").get()
    assert entry.before["kind"] == "all" and entry.after["kind"] == "many_sessions"
    assert entry.after["digest_every_s"] == 86400

    client.post(reverse("alerts:rule-delete", args=[made.pk]))
    assert Rule.objects.count() == 0
    assert LedgerEntry.objects.filter(reason="deleted", target_type="alert_rule").count() == 1


def test_the_global_page_shows_a_realm_admin_only_the_way_to_their_realms(client_as, receiver):
    admin = client_as("admin")
    admin.post(
        reverse("alerts:transport-create"),
        {"realm": "", "name": "global pager", "kind": "email", "recipients": "pager@example.com"},
        follow=True,  # its "saved" message shown here, not on the next admin's page
    )
    page = seen(client_as("operator").get(reverse("alerts:index")).content)
    assert "Global transports and rules are kept by admins holding the admin role." in page
    assert "Per realm: mlflow" in page
    assert "pager@example.com" not in page and "global pager" not in page


def test_after_secret_key_rotation_the_page_asks_for_the_url_again(client_as, receiver, settings):
    client = client_as("operator")
    add_webhook(client, receiver)
    # Sealed under another SECRET_KEY (changing the key here would also end the login).
    key = settings.SECRET_KEY
    settings.SECRET_KEY = "another-key-" + "x" * 40
    sealed = secret_seal(receiver.url)
    settings.SECRET_KEY = key
    Transport.objects.update(url_sealed=sealed)
    page = seen(client.get(REALM_PAGE).content)
    assert "The stored URL or secret cannot be read (SECRET_KEY changed?): replace it." in page
    transport = Transport.objects.get()
    tested = client.post(reverse("alerts:transport-test", args=[transport.pk]), follow=True)
    assert "cannot be read" in seen(tested.content)
    assert receiver.received == []
    assert Delivery.objects.get().state == "failed"  # not retried: only a new URL helps


@pytest.mark.parametrize("realm", ["a/b", " mlflow", "x" * 300])
def test_a_realm_no_realm_could_be_called_is_refused_with_a_message(client_as, realm):
    admin = client_as("admin")
    for name, field in (("alerts:transport-create", "realm"), ("alerts:rule-create", "scope")):
        answer = admin.post(
            reverse(name), {field: realm, "name": "x", "kind": "slack"}, follow=True
        )
        assert answer.status_code == 200
        assert "No realm is called that." in seen(answer.content)
    assert Transport.objects.count() == 0
