"""The alerts page in the browser: a signed webhook transport to a real receiver, a rule, "send a
test" and the delivery in the log, the write-only URL nowhere on the page; axe clean, screenshots
kept."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.alerts.receiver import receiver_start, signature_valid
from tests.fixtures.axe import describe, page_axe_violations
from tests.fixtures.browser import screenshot
from tokenadmin.alerts.models import Transport

pytestmark = pytest.mark.e2e

WIDE = {"width": 1440, "height": 900}
ALL_IMPACTS = ("minor", "moderate", "serious", "critical")


def assert_axe_clean(page) -> None:
    found = page_axe_violations(page, impacts=ALL_IMPACTS)
    assert found == [], describe(found)


SECRET = "browser-signing-secret-0123"


@pytest.fixture
def receiver():
    receiver, server = receiver_start()
    yield receiver
    server.shutdown()
    server.server_close()


def test_an_operator_adds_a_transport_and_a_rule_and_sends_a_test(kc, login_as, receiver):
    page = login_as("operator", "/findings/mlflow/")
    page.set_viewport_size(WIDE)
    page.get_by_test_id("alerts-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Alerts of mlflow")
    expect(page.get_by_test_id("no-transports")).to_be_visible()
    expect(page.get_by_test_id("no-rules")).to_be_visible()
    expect(page.get_by_test_id("no-deliveries")).to_be_visible()
    assert_axe_clean(page)
    screenshot(page, "alerts-empty")

    new = page.get_by_test_id("new-transport")
    new.locator("summary").click()
    new.get_by_label("Name").fill("ops webhook")
    new.get_by_label("Type").select_option("webhook")
    new.get_by_label("Webhook URL").fill(receiver.url)
    new.get_by_label("Signing secret").fill(SECRET)
    new.get_by_test_id("save-transport").click()
    expect(page.locator("#messages")).to_contain_text("Transport “ops webhook” saved.")
    transport = page.locator("[data-testid=transport][data-name='ops webhook']")
    expect(transport).to_contain_text("URL set; signing secret set")

    rule = page.get_by_test_id("new-rule")
    rule.locator("summary").click()
    rule.get_by_label("Severity at least").select_option("high")
    rule.get_by_test_id("save-rule").click()
    expect(page.locator("#messages")).to_contain_text("Rule saved.")
    expect(page.get_by_test_id("rule")).to_contain_text("ops webhook")

    page.locator("[data-testid=transport][data-name='ops webhook']").get_by_test_id(
        "send-test"
    ).click()
    expect(page.locator("#messages")).to_contain_text("Test delivered to “ops webhook” (HTTP 200).")
    delivery = page.get_by_test_id("delivery").first
    expect(delivery).to_have_attribute("data-state", "delivered")
    expect(delivery).to_contain_text("Test")
    [got] = receiver.received
    assert signature_valid(
        secret=SECRET, header=got.headers["X-Tokenadmin-Signature"], body=got.body
    )
    assert got.delivery_id[:12] in delivery.inner_text()
    content = page.content()
    assert receiver.url not in content and "T0KEN" not in content and SECRET not in content
    assert_axe_clean(page)
    screenshot(page, "alerts-delivered")

    # A transport that kept failing: paused with its reason, resumed from the page.
    Transport.objects.update(
        paused_at=timezone.now(),
        paused_reason="Paused after 3 failed deliveries in a row; the last: HTTP 503",
    )
    page.reload()
    paused = page.get_by_test_id("paused")
    expect(paused).to_contain_text("Transport “ops webhook” is paused")
    expect(paused).to_contain_text("the last: HTTP 503")
    assert_axe_clean(page)
    screenshot(page, "alerts-paused")
    paused.get_by_test_id("resume").click()
    expect(page.locator("#messages")).to_contain_text("Transport “ops webhook” resumed")
    expect(page.get_by_test_id("paused")).to_have_count(0)
