"""A small HTTP/1.1 server for the local API Gateway (``make run``), on 127.0.0.1.

* listen backlog 128; a bounded pool of worker threads; keep-alive connections wait for their next
  request in a selector, not in a worker, so idle clients do not hold workers;
* limits: request line 8 KiB, 100 header lines of 8 KiB, a body limit, time limits for a request's
  head and body (a slow or silent client is cut off, not waited for);
* whatever it cannot hand on (a malformed request line, header or Content-Length, a method it does
  not implement, a body too large, a request that does not arrive in time) is answered here with
  an OCPI envelope and the X-Request-ID / X-Correlation-ID headers, and the connection is closed
  when what follows on it cannot be trusted;
* ``Transfer-Encoding: chunked`` and ``Expect: 100-continue`` (curl sends it for bodies over 1 KiB)
  are handled; HEAD answers carry no body.
"""

import queue
import re
import selectors
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus

LISTEN_BACKLOG = 128
MAX_LINE = 8192
MAX_HEADERS = 100
HEAD_TIMEOUT = 10.0  # seconds for a request's line and headers, once it has begun
BODY_TIMEOUT = 30.0
IDLE_TIMEOUT = 30.0  # a keep-alive connection without a request
MAX_IDLE_CONNECTIONS = 1024
SERVED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
KNOWN_METHODS = (*SERVED_METHODS, "TRACE", "CONNECT")
_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_VERSION = re.compile(rb"^HTTP/(\d)\.(\d)$")


@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes
    client: tuple[str, int]

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in reversed(self.headers):
            if key.lower() == name:
                return value
        return None


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class HttpError(Exception):
    """A request this server answers itself; ``close``: what follows on the connection is unusable."""

    def __init__(self, status: int, message: str, close: bool = True, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close
        self.headers = headers or {}
        self.request_headers: list[tuple[str, str]] = []  # of the refused request, for its ids


class _Timeout(Exception):
    pass


class _Closed(Exception):
    pass


class _Connection:
    def __init__(self, sock: socket.socket, client: tuple[str, int]):
        self.sock = sock
        self.client = client
        self.buffer = bytearray()
        self.idle_since = time.monotonic()
        self.started = False  # bytes of the current request have arrived

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Timeout()
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise _Timeout() from None
        except OSError:
            raise _Closed() from None
        if not chunk:
            raise _Closed()
        self.started = True
        self.buffer += chunk

    def line(self, deadline: float, limit: int = MAX_LINE) -> bytes:
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                if end > limit:
                    raise HttpError(431, "Request header line too long")
                line = bytes(self.buffer[:end])
                del self.buffer[: end + 1]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self.buffer) > limit:
                raise HttpError(431, "Request header line too long")
            self._fill(deadline)

    def exactly(self, size: int, deadline: float) -> bytes:
        while len(self.buffer) < size:
            self._fill(deadline)
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def send(self, data: bytes) -> None:
        self.sock.settimeout(BODY_TIMEOUT)
        self.sock.sendall(data)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def _ids(headers: list[tuple[str, str]]) -> dict[str, str]:
    found = {name.lower(): value for name, value in headers}
    return {
        "X-Request-ID": (found.get("x-request-id") or "").strip()[:100] or str(uuid.uuid4()),
        "X-Correlation-ID": (found.get("x-correlation-id") or "").strip()[:100] or str(uuid.uuid4()),
    }


def ocpi_error(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    """The server's own answer: the OCPI envelope (2000, or 3000 when the server failed) with the ids."""
    import json

    from ocpi_commands.ocpi.envelope import StatusCode, envelope

    code = StatusCode.SERVER_ERROR if status in (500, 502, 503, 504) else StatusCode.CLIENT_ERROR
    body = json.dumps(envelope(code, None, message), separators=(",", ":")).encode()
    return Response(status, {"Content-Type": "application/json", **_ids(headers or [])}, body)


class HttpServer:
    """Serve ``handle(request) -> response`` on ``host:port`` until ``stop()``."""

    def __init__(
        self,
        host: str,
        port: int,
        handle: Callable[[Request], Response],
        workers: int = 32,
        max_body: int = 10 * 1024 * 1024,
        name: str = "http",
        refused: Callable[[int, list[tuple[str, str]]], Response | None] | None = None,
    ):
        """``refused(status, request headers)``: this server's own answer for a status it refuses a
        request with (the local API Gateway's gateway responses); ``None`` keeps ``ocpi_error``'s."""
        self.handle = handle
        self.refused = refused
        self.max_body = max_body
        self.name = name
        self._listener = socket.create_server((host, port), backlog=LISTEN_BACKLOG, reuse_port=False)
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"{name}-worker")
        self._selector = selectors.DefaultSelector()
        self._returned: queue.SimpleQueue[_Connection] = queue.SimpleQueue()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._idle: dict[int, _Connection] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"{name}-accept", daemon=True)

    def start(self) -> "HttpServer":
        self._selector.register(self._listener, selectors.EVENT_READ, "listen")
        self._selector.register(self._wake_read, selectors.EVENT_READ, "wake")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening at once; idle connections are closed, requests in progress finish."""
        self._stopping.set()
        self._wake()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for connection in list(self._idle.values()):
            connection.close()
        self._idle.clear()
        try:
            self._listener.close()
        except OSError:
            pass
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._wake_read.close()
        self._wake_write.close()

    # ------------------------------------------------------------------ the selector thread

    def _wake(self) -> None:
        try:
            self._wake_write.send(b"x")
        except OSError:
            pass

    def _loop(self) -> None:
        try:
            while not self._stopping.is_set():
                for key, _ in self._selector.select(timeout=1.0):
                    if key.data == "listen":
                        self._accept()
                    elif key.data == "wake":
                        self._drain_wake()
                    else:
                        connection: _Connection = key.data
                        self._selector.unregister(connection.sock)
                        self._idle.pop(id(connection), None)
                        self._submit(connection)
                self._sweep()
        finally:
            self._selector.close()
            self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                sock, client = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._returned.put(_Connection(sock, client))  # it waits in the selector for its first request
            self._drain_wake()

    def _drain_wake(self) -> None:
        try:
            while self._wake_read.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass
        while True:
            try:
                connection = self._returned.get_nowait()
            except queue.Empty:
                return
            if self._stopping.is_set() or len(self._idle) >= MAX_IDLE_CONNECTIONS:
                connection.close()
                continue
            connection.idle_since = time.monotonic()
            self._idle[id(connection)] = connection
            try:
                self._selector.register(connection.sock, selectors.EVENT_READ, connection)
            except (ValueError, OSError):
                self._idle.pop(id(connection), None)
                connection.close()

    def _sweep(self) -> None:
        now = time.monotonic()
        for key, connection in list(self._idle.items()):
            if now - connection.idle_since > IDLE_TIMEOUT:
                self._idle.pop(key, None)
                try:
                    self._selector.unregister(connection.sock)
                except (KeyError, ValueError):
                    pass
                connection.close()

    def _submit(self, connection: _Connection) -> None:
        try:
            self._pool.submit(self._serve, connection)
        except RuntimeError:  # stopping
            connection.close()

    # ------------------------------------------------------------------ a worker

    def _serve(self, connection: _Connection) -> None:
        """Serve the connection's requests while they are already there; then hand it back to wait."""
        while not self._stopping.is_set():
            keep = self._serve_one(connection)
            if not keep:
                connection.close()
                return
            if not connection.buffer:
                self._returned.put(connection)
                self._wake()
                return
        connection.close()

    def _serve_one(self, connection: _Connection) -> bool:
        headers: list[tuple[str, str]] = []
        version = "HTTP/1.1"
        method = ""
        connection.started = bool(connection.buffer)
        try:
            method, target, version, headers = self._read_head(connection)
            keep_alive = _keep_alive(version, headers)
            body = self._read_body(connection, version, headers)
            request = Request(method, target, version, headers, body, connection.client)
            try:
                response = self.handle(request)
            except Exception:  # noqa: BLE001 - what API Gateway answers when the integration fails
                response = self._refusal(502, "Internal server error", headers)
        except _Closed:
            return False
        except _Timeout:
            if not connection.started:
                return False  # an idle connection the client left open
            self._write(connection, self._refusal(408, "Request timeout", headers), method, version, close=True)
            return False
        except HttpError as error:
            response = self._refusal(error.status, error.message, error.request_headers or headers)
            response.headers.update(error.headers)
            return self._write(connection, response, method, version, close=error.close) and not error.close
        return self._write(connection, response, method, version, close=not keep_alive) and keep_alive

    def _refusal(self, status: int, message: str, headers: list[tuple[str, str]]) -> Response:
        found = self.refused(status, headers) if self.refused is not None else None
        return found if found is not None else ocpi_error(status, message, headers)

    def _read_head(self, connection: _Connection) -> tuple[str, str, str, list[tuple[str, str]]]:
        deadline = time.monotonic() + HEAD_TIMEOUT  # the connection is readable: its request has begun
        line = connection.line(deadline)
        blank = 0
        while line == b"":  # empty lines before a request line are ignored (RFC 9112 2.2)
            blank += 1
            if blank > 8:
                raise HttpError(400, "Bad request line")
            line = connection.line(deadline)
        try:
            raw_method, target = self._request_line(line)
        except HttpError as error:  # its headers may still carry the ids to echo
            error.request_headers = self._headers_if_any(connection, deadline)
            raise
        raw_version = line.rsplit(b" ", 1)[1]
        headers: list[tuple[str, str]] = []
        size = 0
        while True:
            raw = connection.line(deadline)
            if raw == b"":
                break
            size += len(raw)
            if len(headers) >= MAX_HEADERS or size > 64 * 1024:
                raise HttpError(431, "Too many request headers")
            if raw[:1] in (b" ", b"\t"):
                raise HttpError(400, "Bad header: obsolete line folding")
            name, colon, value = raw.partition(b":")
            if not colon or not _TOKEN.match(name):
                raise HttpError(400, "Bad header line")
            try:
                headers.append((name.decode("ascii"), value.strip(b" \t").decode("latin-1")))
            except UnicodeDecodeError:
                raise HttpError(400, "Bad header name") from None
        method = raw_method.decode("ascii")
        version = raw_version.decode("ascii")
        refused = None
        allow = {"Allow": ", ".join(SERVED_METHODS)}
        # Refused before its body is read: the connection stays usable only if there is no body.
        has_body = any(
            name.lower() == "transfer-encoding" or (name.lower() == "content-length" and value.strip() != "0")
            for name, value in headers
        )
        if method not in KNOWN_METHODS:
            refused = HttpError(501, f"Method {method[:32]} is not implemented", close=has_body, headers=allow)
        elif method not in SERVED_METHODS:
            refused = HttpError(405, f"Method {method} is not allowed", close=has_body, headers=allow)
        if refused is not None:
            refused.request_headers = headers
            raise refused
        return method, target, version, headers

    @staticmethod
    def _request_line(line: bytes) -> tuple[bytes, str]:
        parts = line.split(b" ")
        if len(parts) != 3 or not all(parts):
            raise HttpError(400, "Bad request line: expected METHOD SP request-target SP HTTP-version")
        raw_method, raw_target, raw_version = parts
        version_match = _VERSION.match(raw_version)
        if version_match is None:
            raise HttpError(400, "Bad request line: not an HTTP version")
        if version_match.group(1) != b"1":
            raise HttpError(505, "HTTP version not supported: use HTTP/1.1")
        if not _TOKEN.match(raw_method):
            raise HttpError(400, "Bad request line: the method is not a token")
        try:
            target = raw_target.decode("ascii")
        except UnicodeDecodeError:
            raise HttpError(400, "Bad request target: not ASCII") from None
        if any(ord(c) < 0x21 or ord(c) == 0x7F for c in target):
            raise HttpError(400, "Bad request target")
        if target.startswith(("http://", "https://")):  # absolute-form: keep the path
            target = "/" + target.split("://", 1)[1].partition("/")[2]
        elif not target.startswith("/") and not (target == "*" and raw_method == b"OPTIONS"):
            raise HttpError(400, "Bad request target: expected a path")
        return raw_method, target

    def _headers_if_any(self, connection: _Connection, deadline: float) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        try:
            for _ in range(MAX_HEADERS):
                raw = connection.line(min(deadline, time.monotonic() + 1.0))
                if raw == b"":
                    break
                name, colon, value = raw.partition(b":")
                if colon:
                    found.append((name.decode("latin-1"), value.strip().decode("latin-1")))
        except (HttpError, _Timeout, _Closed):
            pass
        return found

    def _read_body(self, connection: _Connection, version: str, headers: list[tuple[str, str]]) -> bytes:
        lengths = [value for name, value in headers if name.lower() == "content-length"]
        encodings = [value for name, value in headers if name.lower() == "transfer-encoding"]
        expect = [value for name, value in headers if name.lower() == "expect"]
        if lengths and encodings:
            raise HttpError(400, "Bad request: both Content-Length and Transfer-Encoding")
        chunked = False
        length = 0
        if encodings:
            codings = [c.strip().lower() for value in encodings for c in value.split(",") if c.strip()]
            if codings != ["chunked"]:
                raise HttpError(501, "Transfer-Encoding not supported: only chunked")
            chunked = True
        elif lengths:
            values = {v.strip() for value in lengths for v in value.split(",")}
            if len(values) != 1 or not next(iter(values)).isdigit() or not next(iter(values)).isascii():
                raise HttpError(400, "Bad Content-Length: expected one non-negative integer")
            length = int(next(iter(values)))
            if length > self.max_body:
                raise HttpError(413, "Request Too Long")
        if expect:
            if [e.strip().lower() for e in expect] != ["100-continue"]:
                raise HttpError(417, "Expectation not supported")
            if version == "HTTP/1.1" and (chunked or length):
                connection.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        deadline = time.monotonic() + BODY_TIMEOUT
        if not chunked:
            return connection.exactly(length, deadline) if length else b""
        body = bytearray()
        while True:
            size_line = connection.line(deadline).split(b";", 1)[0].strip()
            if not size_line or not re.fullmatch(rb"[0-9A-Fa-f]{1,8}", size_line):
                raise HttpError(400, "Bad chunk size")
            size = int(size_line, 16)
            if size == 0:
                while connection.line(deadline) != b"":  # trailers, ignored
                    pass
                return bytes(body)
            if len(body) + size > self.max_body:
                raise HttpError(413, "Request Too Long")
            body += connection.exactly(size, deadline)
            if connection.exactly(2, deadline) != b"\r\n":
                raise HttpError(400, "Bad chunk")

    def _write(self, connection: _Connection, response: Response, method: str, version: str, close: bool) -> bool:
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        lines = [f"{'HTTP/1.0' if version == 'HTTP/1.0' else 'HTTP/1.1'} {response.status} {reason}"]
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                lines.append(f"{name}: {_header_value(value)}")
        lines.append(f"Content-Length: {len(response.body)}")
        if close:
            lines.append("Connection: close")
        elif version == "HTTP/1.0":
            lines.append("Connection: keep-alive")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        try:
            connection.send(head if method == "HEAD" else head + response.body)
        except OSError:
            return False
        return True


def _header_value(value: str) -> str:
    return str(value).replace("\r", " ").replace("\n", " ")


def _keep_alive(version: str, headers: list[tuple[str, str]]) -> bool:
    tokens = {t.strip().lower() for name, value in headers if name.lower() == "connection" for t in value.split(",")}
    if version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens
