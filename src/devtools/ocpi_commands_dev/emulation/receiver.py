"""A small eMSP endpoint on 127.0.0.1 that receives CommandResults (local runs, tests, demos).

It records every POST (path, headers, body) and answers with an OCPI envelope. Tests can script
its behaviour per request: an HTTP status, a delay, garbage, or a closed connection.
"""

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ocpi_commands.ocpi.types import format_datetime, utc_now


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Reply:
    """What to answer: ``status`` and ``body``; ``delay`` seconds first; ``close`` drops the connection."""

    status: int = 200
    body: bytes | None = None
    delay: float = 0.0
    close: bool = False


def ok_envelope() -> bytes:
    return json.dumps({"status_code": 1000, "timestamp": format_datetime(utc_now())}).encode()


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default (5) resets connections beyond a few parallel deliveries


class EmspReceiver:
    def __init__(
        self,
        port: int = 0,
        on_receive: Callable[[Received], None] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ):
        self.received: list[Received] = []
        self.script: list[Reply] = []
        self.default = Reply()
        self.on_receive = on_receive
        self._condition = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                record = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                reply = receiver._next_reply()
                if reply.delay:
                    time.sleep(reply.delay)
                with receiver._condition:
                    receiver.received.append(record)
                    receiver._condition.notify_all()
                if receiver.on_receive:
                    receiver.on_receive(record)
                if reply.close:
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                payload = reply.body if reply.body is not None else ok_envelope()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.scheme = "http"
        if ssl_context is not None:  # HTTPS, for the tests of the TLS checks of deliveries
            self.server.socket = ssl_context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="emsp-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> "EmspReceiver":
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "EmspReceiver":
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()

    def _next_reply(self) -> Reply:
        with self._condition:
            return self.script.pop(0) if self.script else self.default

    def for_path(self, path: str) -> list[Received]:
        with self._condition:
            return [r for r in self.received if r.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 30.0) -> list[Received]:
        """Wait (with a deadline) until ``count`` POSTs reached ``path``."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                found = [r for r in self.received if r.path == path]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return found
                self._condition.wait(remaining)
