"""Sending one delivery through its transport: the message each kind expects, and one attempt's
outcome (delivered, retry later, give up, or possibly delivered).

Every request carries `X-Tokenadmin-Delivery: <uuid>` (the same on every retry and on a resend
after a worker died: receivers deduplicate by it) and `X-Tokenadmin-Event`. The signed webhook
also carries `X-Tokenadmin-Signature: t=<unix seconds>,v1=<hex>`, where v1 is
HMAC-SHA256(secret, "<t>.<raw body>"); receivers recompute it, compare in constant time and
refuse a t too far from their clock (replays).
"""

import hashlib
import hmac
import json
import smtplib
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage

from tokenadmin.reports.delivery import DeliveryUncertain, message_deliver

from .models import Delivery, Transport, TransportKind
from .secrets import SecretUnreadable, secret_open

DELIVERY_HEADER = "X-Tokenadmin-Delivery"
EVENT_HEADER = "X-Tokenadmin-Event"
SIGNATURE_HEADER = "X-Tokenadmin-Signature"
# Rate limited or the request timed out on their side: worth another try, though 4xx.
RETRY_4XX = {408, 429}
ERROR_MAX = 500


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    retry: bool = False
    uncertain: bool = False
    http_status: int | None = None
    error: str = ""


def signature_header(*, secret: str, body: bytes, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def delivery_body(delivery: Delivery) -> dict[str, Any]:
    """The JSON document of a delivery: the same bytes on every attempt."""
    return {
        "delivery_id": str(delivery.delivery_id),
        "event": delivery.event,
        "summary": delivery.summary,
        **delivery.payload,
    }


def delivery_text(delivery: Delivery) -> str:
    """Plain text for chat and mail: the summary and one line per finding."""
    lines = [delivery.summary]
    for f in delivery.payload.get("findings", []):
        lines.append(
            f"[{f['severity'].upper()}] {f['realm']}: {f['kind_label']}: {f['subject']}: "
            f"{f['explanation']} ({f['sessions']} session(s)) {f['url']}"
        )
    return "\n".join(lines)


def _slack_body(delivery: Delivery) -> dict[str, Any]:
    return {"text": delivery_text(delivery)}


def _teams_body(delivery: Delivery) -> dict[str, Any]:
    """An Adaptive Card as Teams' Workflows webhooks ("When a Teams webhook request is
    received") take it; Teams shows the card in the channel."""
    blocks: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": delivery.summary, "weight": "Bolder", "wrap": True}
    ]
    for line in delivery_text(delivery).splitlines()[1:]:
        blocks.append({"type": "TextBlock", "text": line, "wrap": True})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": blocks,
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET without its body: refuse it as an answer."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _clean(text: str, *secrets: str) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text[:ERROR_MAX]


def _post(*, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    if not url.startswith(("https://", "http://")):
        return Outcome(False, error="The URL must start with https:// or http://.")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    opener = urllib.request.build_opener(_NoRedirect)
    timeout = settings.ALERTS_HTTP_TIMEOUT_S
    try:
        with opener.open(request, timeout=timeout) as answer:
            return Outcome(True, http_status=answer.status)
    except urllib.error.HTTPError as exc:
        code = exc.code
        retry = code >= 500 or code in RETRY_4XX
        return Outcome(
            False, retry=retry, http_status=code, error=_clean(f"HTTP {code} {exc.reason}", url)
        )
    except TimeoutError:
        return Outcome(False, retry=True, error=f"No answer within {timeout} s (timed out).")
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return Outcome(False, retry=True, error=f"No answer within {timeout} s (timed out).")
        return Outcome(False, retry=True, error=_clean(f"Could not connect: {reason}", url))
    except OSError as exc:  # a reset mid-answer, a closed connection
        return Outcome(False, retry=True, error=_clean(f"Connection failed: {exc}", url))


def _email_send(transport: Transport, delivery: Delivery) -> Outcome:
    recipients = [a.strip() for a in transport.recipients.split(",") if a.strip()]
    message = EmailMessage(
        subject=" ".join(f"[tokenadmin] {delivery.summary}".split()),
        body=delivery_text(delivery),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        headers={DELIVERY_HEADER: str(delivery.delivery_id), EVENT_HEADER: delivery.event},
    )
    try:
        message_deliver(message=message, before_content=lambda: None)
    except DeliveryUncertain as exc:
        return Outcome(False, uncertain=True, error=_clean(str(exc)))
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
        return Outcome(False, error=_clean(f"The mail server refused: {exc}"))
    except smtplib.SMTPResponseException as exc:
        retry = exc.smtp_code < 500  # 4xx: try later; 5xx: refused for good
        return Outcome(False, retry=retry, error=_clean(f"The mail server answered {exc}"))
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(False, retry=True, error=_clean(f"{type(exc).__name__}: {exc}"))
    return Outcome(True)


def transport_send(*, transport: Transport, delivery: Delivery) -> Outcome:
    """One attempt at `delivery`. Never raises for a transport's failure."""
    if transport.kind == TransportKind.EMAIL:
        return _email_send(transport, delivery)
    try:
        url = secret_open(transport.url_sealed)
        secret = secret_open(transport.secret_sealed)
    except SecretUnreadable as exc:
        return Outcome(False, error=str(exc))
    if not url:
        return Outcome(False, error="No URL is set for this transport.")
    headers = {
        DELIVERY_HEADER: str(delivery.delivery_id),
        EVENT_HEADER: delivery.event,
        "User-Agent": "tokenadmin-alerts",
    }
    if transport.kind == TransportKind.SLACK:
        document = _slack_body(delivery)
    elif transport.kind == TransportKind.TEAMS:
        document = _teams_body(delivery)
    else:
        document = delivery_body(delivery)
    body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    if transport.kind == TransportKind.WEBHOOK:
        if not secret:
            return Outcome(False, error="No signing secret is set for this transport.")
        headers[SIGNATURE_HEADER] = signature_header(
            secret=secret, body=body, timestamp=int(time.time())
        )
    return _post(url=url, body=body, headers=headers)
