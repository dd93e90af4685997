"""An SMTP sink that really receives: every mail is kept as an .eml file in a folder
(read back by maildir.py, which needs no aiosmtpd).

python -m tokenadmin.devstack.mailsink --port 1025 --dir var/mail

Fault options, for the tests of what reports promise when mail misbehaves (docs/FAULTS.md):
--delay-rcpt-s N stalls before accepting a recipient (before any content: nothing delivered);
--drop-on-data hangs up when the client says DATA (before any content: nothing delivered);
--delay-data-s N keeps each mail on receipt, then answers only after N s (slower than the
client's timeout: the client cannot know); --exit-on-data keeps the mail, then dies without
answering (a server that committed on receipt and lost the reply).
"""

import argparse
import asyncio
import os
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class MaildirHandler:
    def __init__(
        self,
        directory: Path,
        *,
        delay_rcpt_s: float = 0,
        delay_data_s: float = 0,
        exit_on_data: bool = False,
    ) -> None:
        self.directory = directory
        self.delay_rcpt_s = delay_rcpt_s
        self.delay_data_s = delay_data_s
        self.exit_on_data = exit_on_data
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if self.delay_rcpt_s:
            await asyncio.sleep(self.delay_rcpt_s)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        name = f"{time.time():.6f}-{uuid.uuid4().hex[:8]}.eml"
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.rename(self.directory / name)  # atomic: readers never see half a mail
        if self.exit_on_data:
            os._exit(0)  # committed, and gone before answering
        if self.delay_data_s:
            await asyncio.sleep(self.delay_data_s)
        return "250 Message accepted for delivery"


class DroppingSMTP(SMTP):
    """Hangs up at DATA, before the client may send any content."""

    async def smtp_DATA(self, arg: str) -> None:
        if self.transport is not None:
            self.transport.close()


class DroppingController(Controller):
    def factory(self) -> SMTP:
        return DroppingSMTP(self.handler, **self.SMTP_kwargs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, default=Path("var/mail"))
    parser.add_argument("--delay-rcpt-s", type=float, default=0)
    parser.add_argument("--delay-data-s", type=float, default=0)
    parser.add_argument("--exit-on-data", action="store_true")
    parser.add_argument("--drop-on-data", action="store_true")
    args = parser.parse_args()
    handler = MaildirHandler(
        args.dir,
        delay_rcpt_s=args.delay_rcpt_s,
        delay_data_s=args.delay_data_s,
        exit_on_data=args.exit_on_data,
    )
    controller_class = DroppingController if args.drop_on_data else Controller
    controller = controller_class(handler, hostname=args.host, port=args.port)
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
