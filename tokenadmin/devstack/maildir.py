"""Read the mails the SMTP sink (mailsink.py) kept as .eml files in a folder."""

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path


@dataclass(frozen=True)
class ReceivedMail:
    path: Path
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    @property
    def to(self) -> str:
        return str(self.message["To"] or "")

    def body(self, subtype: str = "plain") -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        return part.get_content() if part else ""

    def attachments(self) -> list[tuple[str, bytes]]:
        return [
            (
                part.get_filename() or "",
                part.get_content()
                if isinstance(part.get_content(), bytes)
                else part.get_content().encode(),
            )
            for part in self.message.iter_attachments()
        ]


def mails_read(directory: Path) -> list[ReceivedMail]:
    """Every mail the sink received, oldest first."""
    if not directory.exists():
        return []
    mails = []
    for path in sorted(directory.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        mails.append(ReceivedMail(path, message))
    return mails
