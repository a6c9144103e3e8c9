"""An SMTP server that keeps every message it accepts as files, for tests to read.

Each accepted message becomes ``<n>.eml`` (the raw message) plus ``<n>.json``
(the envelope). Recipients listed, one per line, in ``<dir>/refused_recipients``
are refused with ``550`` at RCPT time, so tests can make the server refuse one
address while it is running.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import json
import signal
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class FileSinkHandler:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._count = len(list(self.directory.glob("*.eml")))

    def _refused(self) -> set[str]:
        path = self.directory / "refused_recipients"
        if not path.exists():
            return set()
        return {line.strip().lower() for line in path.read_text().splitlines() if line.strip()}

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list) -> str:
        if address.lower() in self._refused():
            return f"550 5.1.1 <{address}>: recipient refused"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._count += 1
        stem = self.directory / f"{self._count:06d}"
        stem.with_suffix(".eml").write_bytes(envelope.original_content or envelope.content)
        stem.with_suffix(".json").write_text(
            json.dumps({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos})
        )
        return "250 Message accepted"


def read_messages(directory: Path) -> list[dict[str, Any]]:
    """Every captured message, oldest first: envelope plus the parsed message."""
    messages = []
    for eml in sorted(directory.glob("*.eml")):
        envelope = json.loads(eml.with_suffix(".json").read_text())
        parsed = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        body = parsed.get_body(preferencelist=("plain", "html"))
        messages.append(
            {
                **envelope,
                "subject": parsed["subject"],
                "to": parsed["to"],
                "from": parsed["from"],
                "body": body.get_content() if body else "",
                "message": parsed,
            }
        )
    return messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()

    controller = Controller(FileSinkHandler(args.dir), hostname=args.host, port=args.port)
    controller.start()
    print(f"SMTP sink ready on {args.host}:{args.port}, writing to {args.dir}", flush=True)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()


if __name__ == "__main__":
    main()
