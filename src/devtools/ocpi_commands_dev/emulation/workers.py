"""The functions in a process of their own, beside the emulated AWS services (``make run``).

One Python process runs one thing at a time, and ``make run`` has more work than one core does
under load. So it runs two processes, as AWS runs Lambda apart from the services it calls:

* the **service process** (``LocalAws``): moto (DynamoDB, EventBridge, Step Functions executing the
  real ASL), the Lambda service (asynchronous invocations and their retries, the DynamoDB stream
  mapping), moto's server for the operator CLI;
* the **function worker** (this module's ``main``): the functions' real handlers and the local API
  Gateway. Its AWS calls are handed over to the service process as botocore prepared them (signed,
  serialised: a ``before-send`` hook, the way moto intercepts them in-process) and moto answers them
  there in-process; the service process invokes the handlers here, as Lambda invokes an execution
  environment.

Both talk over ``multiprocessing.connection`` on 127.0.0.1 with a random key; the worker watches its
standard input and ends when the service process closes it or goes away.
"""

import hmac
import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from multiprocessing.connection import Client, Connection, Listener
from typing import Any

START_TIMEOUT = 60.0
STOP_TIMEOUT = 3.0
# Lambda's default concurrency is far larger; this bounds the worker's threads.
WORKER_CONCURRENCY = 96
# How long an invocation waits for a free execution environment before failing as Lambda's throttling.
THROTTLE_AFTER = 30.0


class FunctionError(Exception):
    """A function's handler raised (in the worker): Lambda reports its error type and message."""

    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type = error_type


@dataclass
class WorkerApi:
    """The local API Gateway the worker serves (``server.ApiServer``)."""

    host: str
    port: int
    stage: str
    routes: list[tuple[str, str, str]]


class FunctionWorker:
    """The service process's side: starts the worker, answers its AWS calls, invokes its functions."""

    def __init__(
        self,
        functions: dict[str, dict[str, Any]],
        api: WorkerApi | None = None,
        log_level: str | None = None,
    ):
        self.functions = functions
        self.api = api
        self.log_level = log_level
        self.api_port: int | None = None
        self._key = secrets.token_bytes(32)
        # No authkey here: its challenge would run inside accept(), one connection at a time. Each
        # connection's first message is the key instead, checked (as bytes, unpickled) before anything else.
        self._listener = Listener(("127.0.0.1", 0), backlog=128)
        self._idle: queue.Queue[Connection] = queue.Queue()
        self._connections: list[Connection] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self.on_exit: Callable[[int], None] | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "FunctionWorker":
        config = {
            "address": list(self._listener.address),
            "key": self._key.hex(),
            "functions": self.functions,
            "concurrency": WORKER_CONCURRENCY,
            "log_level": self.log_level,
            "api": None if self.api is None else self.api.__dict__,
        }
        threading.Thread(target=self._accept, name="worker-accept", daemon=True).start()
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter, this module
            [sys.executable, "-m", "ocpi_commands_dev.emulation.workers"],
            stdin=subprocess.PIPE,
            env={k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"},
        )
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(config).encode() + b"\n")
        self._process.stdin.flush()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._ready.wait(0.1):
            code = self._process.poll()
            if code is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the function worker did not start (exit code {code})")
        threading.Thread(target=self._watch, name="worker-watch", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop the worker (it closes the API port) and forget its connections; waits STOP_TIMEOUT at most."""
        self._stopping.set()
        process = self._process
        if process is not None and process.poll() is None:
            try:
                assert process.stdin is not None
                process.stdin.close()  # the worker's signal to stop
            except OSError:
                pass
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
        self._listener.close()
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def _watch(self) -> None:
        assert self._process is not None
        code = self._process.wait()
        if not self._stopping.is_set() and self.on_exit is not None:
            self.on_exit(code)

    # ------------------------------------------------------------------ connections from the worker

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._greet, args=(connection,), name="worker-connection", daemon=True).start()

    def _greet(self, connection: Connection) -> None:
        try:
            if not connection.poll(5) or not hmac.compare_digest(connection.recv_bytes(64), self._key):
                connection.close()
                return
            kind = connection.recv()
        except (OSError, EOFError):
            connection.close()
            return
        with self._lock:
            if self._stopping.is_set():
                connection.close()
                return
            self._connections.append(connection)
        if kind == "functions":
            self._idle.put(connection)
        elif kind == "aws":
            self._serve_aws(connection)
        elif isinstance(kind, tuple) and kind[0] == "ready":
            self.api_port = kind[1].get("api_port")
            self._ready.set()

    def _serve_aws(self, connection: Connection) -> None:
        """Answer the worker's AWS requests with moto, in this process (one thread per worker thread)."""
        while True:
            try:
                request = connection.recv()
            except (OSError, EOFError):
                return
            try:
                answer = dispatch_to_moto(*request)
            except Exception as exc:  # noqa: BLE001 - an emulation failure is an AWS 500, not a dead thread
                answer = (500, {"Content-Type": "application/json"}, json.dumps({"message": repr(exc)}).encode())
            try:
                connection.send(answer)
            except (OSError, EOFError):
                return

    # ------------------------------------------------------------------ invocations

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Run the function's handler in the worker; raises ``FunctionError`` when it raised."""
        try:
            connection = self._idle.get(timeout=THROTTLE_AFTER)
        except queue.Empty:
            raise FunctionError("TooManyRequestsException", "no free execution environment") from None
        try:
            connection.send((logical_id, event))
            status, *value = connection.recv()
        except (OSError, EOFError):
            connection.close()
            raise FunctionError("ServiceException", "the function worker is gone") from None
        self._idle.put(connection)
        if status == "ok":
            return value[0]
        raise FunctionError(value[0], value[1])


_routes: dict[str, Callable[..., Any]] = {}
_routes_lock = threading.Lock()


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
        with _routes_lock:
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


# ---------------------------------------------------------------------- the worker process


def _connect(address: tuple[str, int], key: bytes, kind: Any) -> Connection:
    connection = Client(address)
    connection.send_bytes(key)
    connection.send(kind)
    return connection


class _RawBody(BytesIO):
    """The response body botocore reads (``urllib3``'s ``stream`` and ``read``)."""

    def stream(self, **_: Any) -> Any:
        contents = self.read()
        while contents:
            yield contents
            contents = self.read()


class _AwsThroughParent:
    """``before-send``: every AWS request of this process is answered by the service process."""

    def __init__(self, address: tuple[str, int], key: bytes):
        self.address = address
        self.key = key
        self._local = threading.local()

    def _connection(self) -> Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = _connect(self.address, self.key, "aws")
        return connection

    def __call__(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse, HTTPHeaders
        from botocore.exceptions import EndpointConnectionError

        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        try:
            connection = self._connection()
            connection.send((request.method, request.url, list(request.headers.items()), body or b""))
            status, headers, data = connection.recv()
        except (OSError, EOFError):
            self._local.connection = None
            raise EndpointConnectionError(endpoint_url=request.url) from None
        response_headers = HTTPHeaders()
        for name, value in headers.items():
            response_headers[name] = value
        return AWSResponse(request.url, status, response_headers, _RawBody(data))


class _Functions:
    """The handlers of this process, imported once (Lambda's init), invoked by the service process."""

    def __init__(self, functions: dict[str, dict[str, Any]]):
        import importlib

        self.specs = functions
        self.handlers: dict[str, Callable[[dict[str, Any], Any], Any]] = {}
        for logical_id, spec in functions.items():
            module_name, _, attr = spec["handler"].rpartition(".")
            self.handlers[logical_id] = getattr(importlib.import_module(module_name), attr)

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        from ocpi_commands_dev.emulation.lambda_runtime import FunctionContext

        context = FunctionContext(
            function_name=f"ocpi-local-{logical_id}", timeout_seconds=int(self.specs[logical_id]["timeout"])
        )
        return self.handlers[logical_id](event, context)

    def serve(self, connection: Connection) -> None:
        while True:
            try:
                logical_id, event = connection.recv()
            except (OSError, EOFError):
                return
            try:
                answer: tuple[Any, ...] = ("ok", self.invoke(logical_id, event))
            except Exception as exc:  # noqa: BLE001 - Lambda reports the handler's error to its caller
                answer = ("error", type(exc).__name__, str(exc)[:1000])
            try:
                connection.send(answer)
            except (OSError, EOFError):
                return


def _prepare_botocore(send: _AwsThroughParent) -> None:
    """Before any client exists: every client of this process hands its requests to ``send``.

    Two steps of botocore are skipped here, both invisible to moto and together a third of this
    process's CPU under load: the SigV4 signature (moto checks none) and rebuilding the User-Agent
    header for every request (it keeps the one the request was created with).
    """
    import botocore.handlers
    from botocore.signers import RequestSigner
    from botocore.useragent import UserAgentString

    botocore.handlers.BUILTIN_HANDLERS.append(("before-send", send))  # as moto registers its own hook

    def unsigned(*_: Any, **__: Any) -> None:
        return None

    RequestSigner.sign = unsigned
    UserAgentString.rebuild_and_replace_user_agent_handler = unsigned


def main() -> None:
    # Ctrl-C reaches the whole process group: the service process decides, and closes our stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    config = json.loads(sys.stdin.readline())
    address, key = (config["address"][0], int(config["address"][1])), bytes.fromhex(config["key"])

    _prepare_botocore(_AwsThroughParent(address, key))
    if config.get("log_level"):
        from ocpi_commands.observability import logger

        logger.setLevel(config["log_level"])
    functions = _Functions(config["functions"])
    for _ in range(int(config["concurrency"])):
        connection = _connect(address, key, "functions")
        threading.Thread(target=functions.serve, args=(connection,), name="function", daemon=True).start()

    api_server = None
    if config.get("api"):
        from ocpi_commands_dev.emulation.apigw import Routes
        from ocpi_commands_dev.emulation.server import ApiServer

        api = config["api"]
        api_server = ApiServer(
            api["host"], int(api["port"]), Routes.of([tuple(r) for r in api["routes"]]), functions.invoke, api["stage"]
        ).start()
    _connect(address, key, ("ready", {"api_port": api_server.port if api_server else None}))
    try:
        while sys.stdin.buffer.read(1):  # EOF: the service process closed it, or is gone
            pass
    finally:
        if api_server is not None:
            api_server.stop()
    os._exit(0)  # the function threads are blocked in recv on connections the service process closes


if __name__ == "__main__":
    main()
