"""A real HTTP receiver for the alerts tests: http.server on a free loopback port, in a thread.
It answers each POST as its script says (a status, or "slow" to outlast the client's timeout)
and records what came, verifying the signed webhook's signature as a receiver would."""

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def delivery_id(self) -> str:
        return self.headers.get("X-Tokenadmin-Delivery", "")


def signature_valid(*, secret: str, header: str, body: bytes, tolerance_s: int = 300) -> bool:
    """What a receiver does: parse t and v1, recompute, compare in constant time, check age."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts.get("v1", ""))


@dataclass
class Receiver:
    port: int
    script: list = field(default_factory=list)  # answers in order; then 200 for ever
    received: list[Received] = field(default_factory=list)
    slow_s: float = 3.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook/very-secret-path-T0KEN"

    def answer(self) -> int | str:
        return self.script.pop(0) if self.script else 200


def receiver_start() -> tuple[Receiver, ThreadingHTTPServer]:
    receiver = Receiver(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            receiver.received.append(Received(self.path, dict(self.headers.items()), body))
            answer = receiver.answer()
            if answer == "slow":
                time.sleep(receiver.slow_s)
                answer = 200
            self.send_response(int(answer))
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server
