"""Lambda, in this process: the functions of template.yaml run their real handlers.

* synchronous invocations (``RequestResponse``: the state machine's tasks, the API);
* asynchronous invocations (``Event``: EventBridge rule targets) on a thread pool, with Lambda's two
  retries;
* the DynamoDB stream event source mapping (batches, the template's filter criteria, partial batch
  failures retried from the first failed record).
"""

import collections
import importlib
import itertools
import queue
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ocpi_commands_dev.emulation.template import FunctionSpec

REGION = "us-east-1"
ACCOUNT = "123456789012"


@dataclass
class FunctionContext:
    """A Lambda context object for in-process invocations."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_seconds: int = 10
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    _deadline: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline + self.timeout_seconds - time.monotonic()) * 1000))


@dataclass
class Invocation:
    function: str
    event: dict[str, Any]
    result: Any = None
    error: BaseException | None = None
    asynchronous: bool = False


def matches(pattern: Any, value: Any) -> bool:
    """EventBridge-style pattern match (exact values and nested objects), used for ESM filters."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(matches(p, value.get(k)) for k, p in pattern.items())
    if isinstance(pattern, list):
        return value in pattern
    return pattern == value


class InProcessLambda:
    def __init__(
        self,
        functions: dict[str, FunctionSpec],
        name_prefix: str,
        on_invocation: Callable[[Invocation], None] | None = None,
        async_workers: int = 64,
    ):
        self.functions = functions
        self.name_prefix = name_prefix
        self.on_invocation = on_invocation
        self.invocations: list[Invocation] = []
        self.errors: list[Invocation] = []
        # Where handlers run: this process (tests), or a function worker (``workers.FunctionWorker.invoke``).
        self.remote: Callable[[str, dict[str, Any]], Any] | None = None
        # make run keeps no history of invocations (it would grow for as long as it runs).
        self.record = True
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=async_workers, thread_name_prefix="lambda-async")
        self.stopping = threading.Event()
        self._queued: collections.OrderedDict[int, float] = collections.OrderedDict()  # ticket -> queued at
        self._tickets = itertools.count()

    def _handler(self, logical_id: str) -> Callable[[dict[str, Any], Any], Any]:
        module_name, _, attr = self.functions[logical_id].handler.rpartition(".")
        handler: Callable[[dict[str, Any], Any], Any] = getattr(importlib.import_module(module_name), attr)
        return handler

    def invoke(self, logical_id: str, event: dict[str, Any], asynchronous: bool = False) -> Any:
        """Run a function's real handler as Lambda would (raises what the handler raises)."""
        record = Invocation(logical_id, event, asynchronous=asynchronous)
        try:
            if self.remote is not None:
                record.result = self.remote(logical_id, event)
            else:
                spec = self.functions[logical_id]
                context = FunctionContext(
                    function_name=f"{self.name_prefix}-{logical_id}", timeout_seconds=spec.timeout
                )
                record.result = self._handler(logical_id)(event, context)
            return record.result
        except BaseException as exc:
            record.error = exc
            if self.record:
                with self._lock:
                    self.errors.append(record)
            raise
        finally:
            if self.record:
                with self._lock:
                    self.invocations.append(record)
            if self.on_invocation:
                self.on_invocation(record)

    def invoke_async(self, logical_id: str, event: dict[str, Any]) -> None:
        """Lambda's asynchronous invocation: queued, retried twice on error."""
        ticket = next(self._tickets)
        with self._lock:
            self._queued[ticket] = time.monotonic()

        def run() -> None:
            with self._lock:
                self._queued.pop(ticket, None)
            for attempt in range(3):
                if self.stopping.is_set():
                    return
                try:
                    self.invoke(logical_id, event, asynchronous=True)
                    return
                except Exception:
                    time.sleep(0.2 * (attempt + 1))

        self._executor.submit(run)

    def queued(self) -> tuple[int, float]:
        """Asynchronous invocations waiting for a free worker: how many, and how long the oldest has waited."""
        with self._lock:
            if not self._queued:
                return 0, 0.0
            return len(self._queued), time.monotonic() - next(iter(self._queued.values()))

    def stop(self) -> None:
        self.stopping.set()
        self._executor.shutdown(wait=False, cancel_futures=True)


class StreamMapping:
    """The DynamoDB stream -> function event source mappings (one reader thread, as Lambda's poller)."""

    def __init__(self, runtime: InProcessLambda):
        self.runtime = runtime
        self.mappings: list[tuple[str, list[dict[str, Any]], int]] = []  # (function, filters, batch size)
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._arrivals: collections.deque[float] = collections.deque()  # when each waiting record arrived

    def add(self, logical_id: str, filters: list[dict[str, Any]], batch_size: int) -> None:
        self.mappings.append((logical_id, filters, batch_size))

    def put(self, record: dict[str, Any]) -> None:
        self._arrivals.append(time.monotonic())
        self._queue.put(record)

    def lag(self) -> tuple[int, float]:
        """Records waiting for the functions: how many, and how long the oldest has waited."""
        waiting = len(self._arrivals)
        try:
            return waiting, (time.monotonic() - self._arrivals[0]) if waiting else 0.0
        except IndexError:
            return 0, 0.0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._pump, name="ddb-stream-esm", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        if self._thread:
            self._thread.join(timeout=5)

    @property
    def backlog(self) -> int:
        return self._queue.unfinished_tasks

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait (with a deadline) until every stream record so far has been handed to its consumers."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def _pump(self) -> None:
        stopping = self.runtime.stopping
        while not stopping.is_set():
            record = self._queue.get()
            if record is None:
                self._queue.task_done()
                return
            batch = [record]
            while len(batch) < 25:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.task_done()
                    stopping.set()
                    break
                batch.append(more)
            try:
                self._process(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()
                    if self._arrivals:
                        self._arrivals.popleft()

    def _process(self, batch: list[dict[str, Any]]) -> None:
        for listener in list(self.listeners):
            for item in batch:
                try:
                    listener(item)
                except Exception:  # noqa: S112 - an observer never stops the stream
                    continue
        for logical_id, filters, _ in self.mappings:
            selected = [r for r in batch if not filters or any(matches(f, r) for f in filters)]
            self._deliver(logical_id, selected)

    def _deliver(self, logical_id: str, records: list[dict[str, Any]]) -> None:
        attempts = 0
        while records and not self.runtime.stopping.is_set():
            try:
                response = self.runtime.invoke(logical_id, {"Records": records}) or {}
                failed = [f["itemIdentifier"] for f in response.get("batchItemFailures", [])]
            except Exception:
                failed = [records[0]["dynamodb"]["SequenceNumber"]]
            if not failed:
                return
            attempts += 1
            if attempts > 20:
                return
            first = next(i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] in failed)
            records = records[first:]
            time.sleep(min(2.0, 0.1 * 2**attempts))
