"""How the processes of ``make run`` talk: a hub per process, child processes, AWS requests to moto.

* ``Hub``: a ``multiprocessing.connection`` listener on 127.0.0.1. Every connection first sends the
  hub's random key (checked as bytes, before anything is unpickled), then says what it is; the
  hub hands it to the handler registered for that kind, on a thread of its own.
* ``Child``: a Python child process configured through its standard input, which it keeps reading:
  when the parent closes it, or dies, the child ends. Ctrl-C reaches the whole process group, so
  children ignore SIGINT and let the parent stop them.
* ``serve_aws`` / ``dispatch_to_moto``: botocore's requests, as a ``before-send`` hook received them
  in another process, answered by moto in this one (its in-process dispatch).
* ``AwsSender``: that ``before-send`` hook, with a route per service (the DynamoDB process, or the
  service process for the rest).
"""

import hmac
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from io import BytesIO
from multiprocessing.connection import Client, Connection, Listener
from typing import Any

Address = tuple[str, int]
START_TIMEOUT = 60.0
STOP_TIMEOUT = 3.0
# A thread back from a round trip to another process waits for the GIL up to the switch interval
# (5 ms by default) while another thread computes: a command's chain of round trips paid it at every
# step. 1 ms keeps those waits short, at a small cost in switches.
SWITCH_INTERVAL = 0.001


def tune_threads() -> None:
    sys.setswitchinterval(SWITCH_INTERVAL)


def lighten_botocore() -> None:
    """For make run's processes, whose AWS requests only reach moto: botocore skips the SigV4
    signature (moto checks none) and builds a client's User-Agent header once, instead of for every
    request (twice). Together about a third of a process's botocore time; nothing else changes."""
    from botocore.signers import RequestSigner
    from botocore.useragent import UserAgentString

    def unsigned(*_: Any, **__: Any) -> None:
        return None

    original_to_string = UserAgentString.to_string

    def to_string(creator: Any) -> str:
        found: str | None = creator.__dict__.get("_emulation_user_agent")
        if found is None:
            found = creator.__dict__["_emulation_user_agent"] = original_to_string(creator)
        return found

    RequestSigner.sign = unsigned
    UserAgentString.rebuild_and_replace_user_agent_handler = unsigned
    UserAgentString.to_string = to_string


class Hub:
    """A listener whose connections prove the key, then name their kind (``on(kind, handler)``)."""

    def __init__(self, key: bytes | None = None):
        self.key = key or secrets.token_bytes(32)
        # No authkey: its challenge would run inside accept(), one connection at a time.
        self._listener = Listener(("127.0.0.1", 0), backlog=128)
        self.address: Address = self._listener.address
        self._handlers: dict[str, Callable[[Connection, Any], None]] = {}
        self._connections: list[Connection] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        threading.Thread(target=self._accept, name="hub-accept", daemon=True).start()

    def on(self, kind: str, handler: Callable[[Connection, Any], None]) -> None:
        """``handler(connection, payload)`` runs, on the connection's own thread, for each connection of ``kind``."""
        self._handlers[kind] = handler

    def serve(self, kind: str, respond: Callable[[Any], Any]) -> None:
        """Answer every request on the connections of ``kind`` with ``respond(request)``, one at a time,
        on one thread: no thread per connection contending for the GIL (and for moto's locks)."""
        import selectors

        selector = selectors.DefaultSelector()
        pending: list[tuple[Connection, int]] = []
        wake_read, wake_write = os.pipe()
        selector.register(wake_read, selectors.EVENT_READ, -1)

        def register(connection: Connection, payload: Any) -> None:
            priority = int((payload or {}).get("priority", 1)) if isinstance(payload, dict) else 1
            pending.append((connection, priority))
            os.write(wake_write, b"x")

        def loop() -> None:
            while not self._closed.is_set():
                # Requests of a higher priority (a lower number: the API's) are answered first.
                ready = sorted(selector.select(timeout=0.5), key=lambda event: event[0].data)
                for key, _ in ready:
                    if key.fileobj == wake_read:
                        os.read(wake_read, 512)
                        while pending:
                            waiting, priority = pending.pop()
                            selector.register(waiting, selectors.EVENT_READ, priority)
                        continue
                    connection = key.fileobj
                    assert isinstance(connection, Connection)
                    try:
                        request = connection.recv()
                        connection.send(respond(request))
                    except Exception:  # noqa: BLE001 - the peer sees its connection closed, the others go on
                        selector.unregister(connection)
                        connection.close()

        self.on(kind, register)
        threading.Thread(target=loop, name=f"hub-{kind}", daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                connection = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._greet, args=(connection,), name="hub-connection", daemon=True).start()

    def _greet(self, connection: Connection) -> None:
        try:
            if not connection.poll(5) or not hmac.compare_digest(connection.recv_bytes(64), self.key):
                connection.close()
                return
            kind, payload = connection.recv()
        except (OSError, EOFError, ValueError, TypeError):
            connection.close()
            return
        handler = self._handlers.get(kind)
        with self._lock:
            if handler is None or self._closed.is_set():
                connection.close()
                return
            self._connections.append(connection)
        handler(connection, payload)


def connect(address: Any, key: bytes, kind: str, payload: Any = None) -> Connection:
    """A connection to the hub at ``address`` (a pair, or a list from JSON), introduced as ``kind``."""
    connection = Client((str(address[0]), int(address[1])))
    connection.send_bytes(key)
    connection.send((kind, payload))
    return connection


class Child:
    """A child Python process running ``module``'s ``main``, configured by one JSON line on its stdin."""

    def __init__(self, module: str, config: dict[str, Any], label: str = ""):
        self.module = module
        self.config = config
        self.label = label  # on its command line, so ps and make load can tell the processes apart
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "Child":
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, one of our modules
            [sys.executable, "-m", self.module, *([self.label] if self.label else [])],
            stdin=subprocess.PIPE,
            env={k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"},
        )
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(self.config).encode() + b"\n")
        self.process.stdin.flush()
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def poll(self) -> int | None:
        return self.process.poll() if self.process else None

    def wait(self) -> int:
        assert self.process is not None
        return self.process.wait()

    def stop(self) -> None:
        """Close its stdin (its signal to stop); kill it if it is still there after STOP_TIMEOUT."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            assert process.stdin is not None
            process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


def child_config() -> dict[str, Any]:
    """In a child: ignore Ctrl-C (the parent stops us) and read the configuration line."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tune_threads()
    config: dict[str, Any] = json.loads(sys.stdin.readline())
    return config


def wait_for_parent() -> None:
    """In a child: block until the parent closes our stdin or goes away."""
    while sys.stdin.buffer.read(1):
        pass


# ---------------------------------------------------------------------- AWS requests, across processes


def answer_aws(request: tuple[str, str, list[tuple[str, str]], bytes]) -> tuple[int, dict, bytes]:
    """A botocore request from another process, answered by this process's moto."""
    try:
        return dispatch_to_moto(*request)
    except Exception as exc:  # noqa: BLE001 - an emulation failure is an AWS 500, not a dead thread
        return 500, {"Content-Type": "application/json"}, json.dumps({"message": repr(exc)}).encode()


_routes: dict[str, Callable[..., Any]] = {}


def dispatch_to_moto(method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, dict, bytes]:
    """A request as botocore sent it, answered by moto in-process (``mock_aws`` must be on).

    moto's own in-process dispatch (``BotocoreStubber.process_request``), with the backend's URL
    handler kept per URL: moto looks it up again for every request (scanning every service's URL
    patterns, then building the backend's URL map).
    """
    from botocore.awsrequest import AWSPreparedRequest, HTTPHeaders
    from moto.core.exceptions import HTTPException
    from moto.core.models import botocore_stubber
    from moto.core.request import normalize_request
    from moto.core.utils import get_equivalent_url_in_aws_domain
    from moto.moto_api import recorder

    prepared = HTTPHeaders()
    for name, value in headers:
        prepared[name] = value
    request = AWSPreparedRequest(method=method, url=url, headers=prepared, body=body, stream_output=False)
    parsed, _ = get_equivalent_url_in_aws_domain(url)
    clean_url = f"{parsed.scheme}://{parsed.netloc}{parsed.path}"
    handler = _routes.get(clean_url)
    if handler is None:
        handler = _url_handler(clean_url)
        if handler is None:  # what moto does with it (passthrough, not implemented...)
            response = botocore_stubber.process_request(request)
            if response is None:
                return 404, {}, b"no emulated service for " + url.encode()
            return _answer(*response)
        _routes[clean_url] = handler
    normalized = normalize_request(request)
    try:
        recorder._record_request(normalized)
        status, response_headers, response_body = handler(normalized, normalized.raw_url, normalized.headers)
    except HTTPException as error:
        status, response_headers, response_body = error.code, error.get_headers(), error.get_body()
    return _answer(status, response_headers, response_body)


def _url_handler(clean_url: str) -> Callable[..., Any] | None:
    """The backend method moto's ``process_request`` would call for this URL (its lookup, once)."""
    import re

    import moto.backend_index as backend_index
    import moto.backends as backends
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.core.base_backend import BackendDict
    from moto.core.config import passthrough_service, passthrough_url, service_whitelisted

    if passthrough_url(clean_url):
        return None
    for service, pattern in backend_index.backend_url_patterns:
        if pattern.match(clean_url):
            if passthrough_service(service) or not service_whitelisted(service):
                return None
            backend_dict = backends.get_backend(service)  # type: ignore[call-overload]
            if isinstance(backend_dict, BackendDict):
                regions = backend_dict[DEFAULT_ACCOUNT_ID]
                backend = regions["us-east-1"] if "us-east-1" in regions else regions["aws"]
            else:
                backend = backend_dict["global"]
            for url, method in backend.urls.items():
                if re.compile(url).match(clean_url):
                    return method
            return None
    return None


def _answer(status: Any, headers: Any, body: Any) -> tuple[int, dict, bytes]:
    data = body.encode() if isinstance(body, str) else bytes(body or b"")
    return int(status), {str(k): str(v) for k, v in dict(headers).items()}, data


def service_of(url: str) -> str:
    """``dynamodb`` for ``https://dynamodb.us-east-1.amazonaws.com/``: the host's first label."""
    host = url.split("://", 1)[-1].split("/", 1)[0]
    return host.split(".", 1)[0]


class _RawBody(BytesIO):
    """The response body botocore reads (``urllib3``'s ``stream`` and ``read``)."""

    def stream(self, **_: Any) -> Any:
        contents = self.read()
        while contents:
            yield contents
            contents = self.read()


class AwsSender:
    """``before-send``: a request goes to the process serving its service (else ``default``) over
    a connection of this thread's, and the answer comes back as botocore would have read it."""

    def __init__(self, default: Address, key: bytes, routes: dict[str, Address] | None = None, priority: int = 1):
        self.default = default
        self.key = key
        self.routes = routes or {}
        self.priority = priority
        self._local = threading.local()

    def _connection(self, address: Address) -> Connection:
        connections = getattr(self._local, "connections", None)
        if connections is None:
            connections = self._local.connections = {}
        connection = connections.get(address)
        if connection is None:
            connection = connections[address] = connect(address, self.key, "aws", {"priority": self.priority})
        return connection

    def send(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, dict, bytes]:
        found = self.routes.get(service_of(url), self.default)
        address = (str(found[0]), int(found[1]))
        try:
            connection = self._connection(address)
            connection.send((method, url, headers, body))
            answer: tuple[int, dict, bytes] = connection.recv()
            return answer
        except (OSError, EOFError):
            self._local.connections.pop(address, None)
            raise

    def __call__(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse, HTTPHeaders
        from botocore.exceptions import EndpointConnectionError

        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        try:
            status, headers, data = self.send(request.method, request.url, list(request.headers.items()), body or b"")
        except (OSError, EOFError):
            raise EndpointConnectionError(endpoint_url=request.url) from None
        response_headers = HTTPHeaders()
        for name, value in headers.items():
            response_headers[name] = value
        return AWSResponse(request.url, status, response_headers, _RawBody(data))
