"""Handing one message to the mail server, knowing which side of the point of no return a
failure fell on.

SMTP cannot say whether a message was delivered when the connection fails after its content
went out (RFC 5321 §4.1.1.4 and RFC 1047: the server may have committed it and lost only the
reply). So the send is split where smtplib's `sendmail` hides it: everything up to the
server's "354 go ahead" is safe to retry; `before_content` runs just before the content goes
out (the caller records that on the run); a failure waiting for the final reply raises
DeliveryUncertain, never a retryable error.
"""

import contextlib
import re
import smtplib
from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address


class DeliveryUncertain(Exception):
    """The server received the whole message and never confirmed it: it may have it."""


def _dot_stuffed(content: bytes) -> bytes:
    """The content as DATA carries it (RFC 5321 §4.5.2), ending in CRLF . CRLF."""
    content = re.sub(rb"(?m)^\.", b"..", content)
    if not content.endswith(b"\r\n"):
        content += b"\r\n"
    return content + b".\r\n"


def message_deliver(*, message: EmailMessage, before_content: Callable[[], None]) -> None:
    """Send `message` through Django's configured mail backend.

    Raises smtplib/OS errors for failures before the content went out (nothing delivered),
    smtplib.SMTPDataError when the server refused the content (nothing delivered), and
    DeliveryUncertain when the content went out and no verdict came back.
    """
    backend = get_connection()
    if not isinstance(backend, SMTPBackend):
        # Another backend (the tests' in-memory outbox, the console) has no such phases.
        before_content()
        backend.send_messages([message])
        return
    backend.open()
    smtp = backend.connection
    if smtp is None:  # open() raises when it cannot connect; this only tells the type checker
        raise smtplib.SMTPServerDisconnected("the mail server connection did not open")
    uncertain = False
    try:
        encoding = message.encoding or settings.DEFAULT_CHARSET
        sender = sanitize_address(message.from_email, encoding)
        recipients = [sanitize_address(address, encoding) for address in message.recipients()]
        # Django's MIME classes take linesep (the stubs type message() as the stdlib's Message).
        content = message.message().as_bytes(linesep="\r\n")  # type: ignore[call-arg]
        smtp.ehlo_or_helo_if_needed()
        code, reply = smtp.mail(sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        refused = {}
        for recipient in recipients:
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, reply)
        if len(refused) == len(recipients):
            raise smtplib.SMTPRecipientsRefused(refused)
        code, reply = smtp.docmd("data")
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        before_content()
        smtp.send(_dot_stuffed(content))
        uncertain = True
        try:
            code, reply = smtp.getreply()
        except OSError as exc:  # a timeout, a reset, the server gone (SMTPServerDisconnected)
            raise DeliveryUncertain(
                f"The mail server received the message and did not confirm it "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        uncertain = False
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)
    finally:
        if uncertain:
            smtp.close()  # no QUIT: the server is not answering; the socket just goes
            backend.connection = None
        else:
            with contextlib.suppress(OSError):  # the verdict is in; a failed QUIT changes nothing
                backend.close()
