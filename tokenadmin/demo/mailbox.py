"""The demo's mailbox: what the local SMTP sink received, for `make demo` to show."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.http import Http404

from tokenadmin.accounts.rights import AdminRights
from tokenadmin.devstack.maildir import ReceivedMail, mails_read
from tokenadmin.reports.access import RIGHT
from tokenadmin.reports.emails import REALMS_HEADER

# The sink names files "<epoch with microseconds>-<8 hex>.eml"; nothing else is served.
MAIL_NAME = re.compile(r"^\d+\.\d{6}-[0-9a-f]{8}\.eml$")


@dataclass(frozen=True)
class MailSummary:
    name: str
    subject: str
    to: str
    received_at: datetime
    attachments: list[str]


def mailbox_dir() -> Path:
    """The sink's folder; 404 unless the demo configured one."""
    directory = getattr(settings, "TOKENADMIN_DEMO_MAILDIR", "")
    if not directory:
        raise Http404("no demo mailbox")
    return Path(directory)


def mail_visible(mail: ReceivedMail, rights: AdminRights) -> bool:
    """A report mail is for whom may read that report: view-users on every realm it read. A mail
    that names no realm (not a report's) is master's admin's only."""
    if rights.is_superadmin:
        return True
    realms = [r for r in str(mail.message.get(REALMS_HEADER, "")).split(",") if r.strip()]
    return bool(realms) and all(rights.can(realm.strip(), RIGHT) for realm in realms)


def _received_at(path: Path) -> datetime:
    return datetime.fromtimestamp(float(path.name.split("-", 1)[0]), tz=UTC)


def mailbox_select(*, rights: AdminRights, limit: int = 200) -> list[MailSummary]:
    """The mails the admin may read, newest first."""
    mails = [mail for mail in mails_read(mailbox_dir()) if mail_visible(mail, rights)][-limit:]
    return [
        MailSummary(
            name=mail.path.name,
            subject=mail.subject,
            to=mail.to,
            received_at=_received_at(mail.path),
            attachments=[name for name, _ in mail.attachments()],
        )
        for mail in reversed(mails)
    ]


def mail_get(*, name: str, rights: AdminRights) -> ReceivedMail:
    """The mail, if the admin may read it; else 404, as if there were none."""
    if not MAIL_NAME.match(name):
        raise Http404("no such mail")
    for mail in mails_read(mailbox_dir()):
        if mail.path.name == name and mail_visible(mail, rights):
            return mail
    raise Http404("no such mail")
