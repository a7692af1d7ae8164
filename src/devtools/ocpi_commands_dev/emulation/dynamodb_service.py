"""DynamoDB in a process of its own (``make run``): moto's DynamoDB, nothing else.

DynamoDB is the largest part of the emulation's work under load (every command writes its record
four times), and nothing of moto's other services calls it. So ``make run`` gives it a process:

* the functions (``workers``) send their DynamoDB requests here directly;
* the service process forwards here whatever DynamoDB request reaches it (its own clients, the
  operator CLI through moto's server): ``forward_dynamodb``;
* the table's stream records are pushed to the service process, in order, where the stream mapping
  invokes the functions (``DynamoDBService.on_record``).

The emulation's changes to moto (``moto_patches``) apply here as in one process: requests one at a
time, the stream records of a cancelled transaction dropped.
"""

import itertools
import os
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from ocpi_commands_dev.emulation import ipc

REGION = "us-east-1"


class DynamoDBService:
    """The service process's side: starts the DynamoDB process and receives its stream records."""

    def __init__(self, hub: ipc.Hub, on_record: Callable[[dict[str, Any]], None]):
        self.hub = hub
        self.on_record = on_record
        self.address: ipc.Address | None = None
        self._ready = threading.Event()
        self._markers: dict[int, threading.Event] = {}
        self._marker_ids = itertools.count(1)
        self._sender: ipc.AwsSender | None = None
        hub.on("dynamodb-ready", self._on_ready)
        hub.on("dynamodb-stream", self._receive_stream)
        self.child = ipc.Child(
            "ocpi_commands_dev.emulation.dynamodb_service", {"hub": hub.address, "key": hub.key.hex()}
        )

    def start(self) -> "DynamoDBService":
        self.child.start()
        if not _wait(self._ready, self.child):
            self.child.stop()
            raise RuntimeError(f"the DynamoDB process did not start (exit code {self.child.poll()})")
        assert self.address is not None
        self._sender = ipc.AwsSender(self.address, self.hub.key)
        return self

    def stop(self) -> None:
        self.child.stop()

    def send(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, dict, bytes]:
        assert self._sender is not None
        return self._sender.send(method, url, headers, body)

    def sync(self, timeout: float = 10.0) -> bool:
        """Wait until every stream record of the requests answered so far has been received."""
        marker = next(self._marker_ids)
        event = self._markers[marker] = threading.Event()
        self.send("POST", f"https://dynamodb.{REGION}.amazonaws.com/", [("X-Emulation-Marker", str(marker))], b"")
        return event.wait(timeout)

    def _on_ready(self, _: Connection, payload: dict[str, Any]) -> None:
        self.address = tuple(payload["address"])
        self._ready.set()

    def _receive_stream(self, connection: Connection, _: Any) -> None:
        while True:
            try:
                record = connection.recv()
            except (OSError, EOFError):
                return
            if isinstance(record, int):
                event = self._markers.pop(record, None)
                if event is not None:
                    event.set()
                continue
            self.on_record(record)


def forward_dynamodb(service: DynamoDBService) -> Callable[[], None]:
    """Make this process's moto forward every DynamoDB request to the DynamoDB process. Returns the undo."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler._dispatch

    def dispatch(handler: Any, request: Any, full_url: str, headers: Any) -> Any:
        path = full_url.split("://", 1)[-1].partition("/")[2]
        url = f"https://dynamodb.{REGION}.amazonaws.com/{path}"  # as botocore addresses it (moto's server: host:port)
        body = request.data if hasattr(request, "data") else (request.body or b"")
        return service.send(request.method, url, list(request.headers.items()), body or b"")

    DynamoHandler._dispatch = dispatch  # type: ignore[method-assign,assignment]

    def undo() -> None:
        DynamoHandler._dispatch = original  # type: ignore[method-assign]

    return undo


def _wait(event: threading.Event, child: ipc.Child) -> bool:
    import time

    deadline = time.monotonic() + ipc.START_TIMEOUT
    while not event.wait(0.1):
        if child.poll() is not None or time.monotonic() > deadline:
            return False
    return True


# ---------------------------------------------------------------------- the DynamoDB process


class _Hooks:
    """What the patched moto calls back into, here: stream records go to the service process."""

    def __init__(self, stream: Connection):
        self.stream = stream
        self._lock = threading.Lock()

    def stream_record(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.stream.send(record)

    def marker(self, marker: int) -> None:
        with self._lock:
            self.stream.send(marker)

    def invoke_lambda(self, function_name: str, event: dict[str, Any], asynchronous: bool) -> Any:
        raise RuntimeError("no Lambda in the DynamoDB process")

    def take_fault(self, service: str, action: str) -> str | None:
        return None

    def queue_handles(self, queue_arn: str) -> bool:
        return False  # EventBridge's rules, and so the feed queue, live in the parent process

    def queue_message(self, queue_arn: str, body: str) -> None:
        raise RuntimeError("no SQS event source in the DynamoDB process")


def main() -> None:
    config = ipc.child_config()
    hub_address, key = tuple(config["hub"]), bytes.fromhex(config["key"])
    from moto import mock_aws

    from ocpi_commands_dev.emulation.moto_patches import MotoPatches, check_moto_version

    check_moto_version()
    os.environ.pop("AWS_ENDPOINT_URL", None)
    mock = mock_aws()
    mock.start()
    hooks = _Hooks(ipc.connect(hub_address, key, "dynamodb-stream"))
    MotoPatches(hooks).install()

    def respond(request: tuple[str, str, list[tuple[str, str]], bytes]) -> tuple[int, dict, bytes]:
        marker = dict(request[2]).get("X-Emulation-Marker")
        if marker is None:
            return ipc.answer_aws(request)
        hooks.marker(int(marker))  # every stream record so far went before it
        return 200, {}, b"{}"

    hub = ipc.Hub(key)
    hub.serve("aws", respond)
    ipc.connect(hub_address, key, "dynamodb-ready", {"address": list(hub.address)})
    ipc.wait_for_parent()
    hub.close()
    mock.stop()
    os._exit(0)


if __name__ == "__main__":
    main()
