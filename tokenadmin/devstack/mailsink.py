"""An SMTP sink that really receives: every mail is kept as an .eml file in a folder.

python -m tokenadmin.devstack.mailsink --port 1025 --dir var/mail
"""

import argparse
import asyncio
import email
import email.policy
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller


class MaildirHandler:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope) -> str:
        name = f"{time.time():.6f}-{uuid.uuid4().hex[:8]}.eml"
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.rename(self.directory / name)  # atomic: readers never see half a mail
        return "250 Message accepted for delivery"


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
        mails.append(ReceivedMail(path, message))  # type: ignore[arg-type]
    return mails


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, default=Path("var/mail"))
    args = parser.parse_args()
    controller = Controller(MaildirHandler(args.dir), hostname=args.host, port=args.port)
    controller.start()
    print(f"mail sink on {args.host}:{args.port}, keeping mail in {args.dir}", flush=True)
    try:
        asyncio.run(asyncio.Event().wait())
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
