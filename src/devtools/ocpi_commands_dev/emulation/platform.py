"""A CPO platform's own OCPI Sender interface (Locations, Sessions) on 127.0.0.1: what the scheduled pull reads.

It pages as OCPI 2.2.1 says (section 4.1.3): ``date_from`` (inclusive) and ``date_to`` (exclusive) on
``last_updated``, ``offset`` and ``limit``; every page carries ``X-Total-Count`` (the objects matching the
filters), ``X-Limit`` (the page size it used: at most ``max_limit``) and, unless it is the last page, a
``Link: <url>; rel="next"``. Objects are served sorted by ``last_updated`` and must present the token
(``Authorization: Token <base64(token)>``), else 401. Every request is recorded (``requests``).

Tests and the bench start it; it listens on loopback only, and ``stop`` (or leaving the ``with``) closes it.
"""

import base64
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from ocpi_commands.ocpi.types import format_datetime, parse_datetime, utc_now

KINDS = ("locations", "sessions")


@dataclass
class PlatformRequest:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class OcpiPlatform:
    """The objects served (dicts in the OCPI shape, each with ``last_updated``), and how it pages them."""

    token: str = "platform-token-for-the-module"
    version: str = "2.2.1"
    max_limit: int = 50
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {k: [] for k in KINDS})
    requests: list[PlatformRequest] = field(default_factory=list)
    # Set to make every page of one kind fail (HTTP status), e.g. {"locations": 500}.
    failing: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- contents

    def put(self, kind: str, obj: dict[str, Any]) -> None:
        """Add or replace an object (by ``id``)."""
        with self._lock:
            objects = [o for o in self.objects[kind] if o["id"] != obj["id"]]
            objects.append(obj)
            self.objects[kind] = objects

    def requests_for(self, kind: str) -> list[PlatformRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith(f"/{kind}")]

    # ---------------------------------------------------------------- server

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    def url(self, kind: str) -> str:
        return f"http://127.0.0.1:{self.port}/ocpi/{self.version}/{kind}"

    def start(self, port: int = 0) -> "OcpiPlatform":
        platform = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                status, headers, body = platform._answer(self.path, {k.lower(): v for k, v in self.headers.items()})
                payload = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {**headers, "Content-Type": "application/json"}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server naming
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="ocpi-platform", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "OcpiPlatform":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- OCPI

    def _answer(self, raw_path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], dict[str, Any]]:
        split = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        with self._lock:
            self.requests.append(PlatformRequest(split.path, query, headers))
        kind = split.path.rsplit("/", 1)[-1]
        expected = "Token " + base64.b64encode(self.token.encode()).decode()
        if headers.get("authorization") != expected:
            return 401, {}, _envelope(2001, None, "unknown token")
        if kind not in KINDS or not split.path.startswith(f"/ocpi/{self.version}/"):
            return 404, {}, _envelope(2000, None, "no such endpoint")
        if kind in self.failing:
            return self.failing[kind], {}, _envelope(3000, None, "the platform is unwell")
        try:
            since = _moment(query.get("date_from"))
            until = _moment(query.get("date_to"))
            offset = max(0, int(query.get("offset", "0")))
            limit = min(self.max_limit, max(1, int(query.get("limit", str(self.max_limit)))))
        except ValueError:
            return 400, {}, _envelope(2001, None, "bad query")
        with self._lock:
            matching = sorted(
                (
                    o
                    for o in self.objects[kind]
                    if (since is None or parse_datetime(o["last_updated"]) >= since)
                    and (until is None or parse_datetime(o["last_updated"]) < until)
                ),
                key=lambda o: (parse_datetime(o["last_updated"]), o["id"]),
            )
        page = matching[offset : offset + limit]
        answer_headers = {"X-Total-Count": str(len(matching)), "X-Limit": str(limit)}
        if offset + limit < len(matching):
            following = {k: v for k, v in query.items() if k not in ("offset", "limit")}
            following.update(offset=str(offset + limit), limit=str(limit))
            answer_headers["Link"] = f'<{self.url(kind)}?{urlencode(following)}>; rel="next"'
        return 200, answer_headers, _envelope(1000, page)


def _moment(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def _envelope(status_code: int, data: Any, message: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status_code": status_code, "timestamp": format_datetime(utc_now())}
    if data is not None:
        body["data"] = data
    if message:
        body["status_message"] = message
    return body
