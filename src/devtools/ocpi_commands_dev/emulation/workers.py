"""The functions in a process of their own, beside the emulated AWS services (``make run``).

One Python process runs one thing at a time, and ``make run`` has more work than one core does
under load. So it runs three processes, as AWS runs Lambda apart from the services it calls:

* the **service process** (``LocalAws``): moto's EventBridge and Step Functions (executing the real
  ASL), the Lambda service (asynchronous invocations and their retries, the DynamoDB stream
  mapping), moto's server for the operator CLI;
* the **DynamoDB process** (``dynamodb_service``): moto's DynamoDB;
* the **function worker** (this module's ``main``): the functions' real handlers and the local API
  Gateway. Its AWS calls are handed over as botocore prepared them (a ``before-send`` hook, the way
  moto intercepts them in-process) to the process serving that service, where moto answers them
  in-process; the service process invokes the handlers here, as Lambda invokes an execution
  environment.

They talk over ``ipc`` (``multiprocessing.connection`` on 127.0.0.1, a random key); children end
when the service process closes their standard input or goes away.
"""

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from ocpi_commands_dev.emulation import ipc

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
    gateway: dict[str, Any]  # the template's gateway responses (``apigw.gateway_template``)
    iam_resources: list[str]  # the resources AWS_IAM guards (loopback clients only, locally)


class FunctionWorker:
    """The service process's side: starts the worker and invokes its functions."""

    def __init__(
        self,
        hub: ipc.Hub,
        name: str,
        functions: dict[str, dict[str, Any]],
        api: WorkerApi | None = None,
        log_level: str | None = None,
        routes: dict[str, ipc.Address] | None = None,
        concurrency: int = WORKER_CONCURRENCY,
    ):
        self.hub = hub
        self.name = name
        self.api_port: int | None = None
        self._idle: queue.Queue[Connection] = queue.Queue()
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self.on_exit: Callable[[int], None] | None = None
        hub.on(f"functions:{name}", lambda connection, _: self._idle.put(connection))
        hub.on(f"worker-ready:{name}", self._on_ready)
        self.child = ipc.Child(
            "ocpi_commands_dev.emulation.workers",
            {
                "name": name,
                "hub": list(hub.address),
                "key": hub.key.hex(),
                "routes": {service: list(address) for service, address in (routes or {}).items()},
                "functions": functions,
                "concurrency": concurrency,
                "log_level": log_level,
                "api": None if api is None else api.__dict__,
            },
            label=name,
        )

    def start(self) -> "FunctionWorker":
        self.child.start()
        deadline = time.monotonic() + ipc.START_TIMEOUT
        while not self._ready.wait(0.1):
            if self.child.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the function worker {self.name} did not start (exit code {self.child.poll()})")
        threading.Thread(target=self._watch, name="worker-watch", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop the worker (it closes the API port first); waits ``ipc.STOP_TIMEOUT`` at most, then kills it."""
        self._stopping.set()
        self.child.stop()

    def _on_ready(self, _: Connection, payload: dict[str, Any]) -> None:
        self.api_port = payload.get("api_port")
        self._ready.set()

    def _watch(self) -> None:
        code = self.child.wait()
        if not self._stopping.is_set() and self.on_exit is not None:
            self.on_exit(code)

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


# ---------------------------------------------------------------------- the worker process


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


def _prepare_botocore(send: ipc.AwsSender) -> None:
    """Before any client exists: every client of this process hands its requests to ``send``."""
    import botocore.handlers

    botocore.handlers.BUILTIN_HANDLERS.append(("before-send", send))  # as moto registers its own hook
    ipc.lighten_botocore()


def main() -> None:
    import os
    import sys

    config = ipc.child_config()
    hub, key = tuple(config["hub"]), bytes.fromhex(config["key"])
    name = config["name"]
    routes = {service: tuple(address) for service, address in config["routes"].items()}
    # The API's requests go first where they wait with others (the DynamoDB process).
    _prepare_botocore(ipc.AwsSender(hub, key, routes, priority=0 if config.get("api") else 1))
    if config.get("log_level"):
        from ocpi_commands.observability import logger

        logger.setLevel(config["log_level"])
    functions = _Functions(config["functions"])
    for _ in range(int(config["concurrency"])):
        connection = ipc.connect(hub, key, f"functions:{name}")
        threading.Thread(target=functions.serve, args=(connection,), name="function", daemon=True).start()

    api_server = None
    if config.get("api"):
        from ocpi_commands_dev.emulation.apigw import Routes
        from ocpi_commands_dev.emulation.server import ApiServer

        api = config["api"]
        api_routes = Routes.of([tuple(r) for r in api["routes"]], api["gateway"], api["iam_resources"])
        api_server = ApiServer(api["host"], int(api["port"]), api_routes, functions.invoke, api["stage"]).start()
    ipc.connect(hub, key, f"worker-ready:{name}", {"api_port": api_server.port if api_server else None})
    try:
        ipc.wait_for_parent()
    finally:
        if api_server is not None:
            api_server.stop()
    sys.stdout.flush()
    os._exit(0)  # the function threads are blocked in recv on connections the service process closes


if __name__ == "__main__":
    main()
