"""botocore event hooks that count, and record, every AWS call a handler makes.

* ``before-call`` counts the API call (once per call, whatever the retries) and notes the request.
* ``before-send`` / ``before-parse`` keep the request body and the raw response (status, headers,
  body) as the emulator answered it: the child processes replay these answers byte for byte.
* ``after-call`` closes the call and, for DynamoDB, computes the capacity units it consumed from
  the sizes of the items involved (read from moto's backend before and after a write).

Calls are attributed to the function running in the calling thread (:meth:`Recorder.running`);
calls made by the bench itself outside any function are not recorded.
"""

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import common

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"}
READS = {"GetItem", "BatchGetItem", "Query", "Scan"}
KEY_ATTRS = ("pk", "sk")


@dataclass
class Call:
    function: str
    service: str
    operation: str
    request: dict[str, Any]
    started: float = field(default_factory=time.perf_counter)
    thread: int = field(default_factory=threading.get_ident)
    duration_ms: float = 0.0
    request_body: str | None = None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str | None = None
    wru: int = 0
    rru: float = 0.0
    gsi_wru: int = 0
    items_written: list[int] = field(default_factory=list)  # serialised sizes, bytes
    items_read: list[int] = field(default_factory=list)
    before: list[tuple[str, str, dict[str, Any] | None]] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "service": self.service,
            "operation": self.operation,
            "status": self.status,
            "wru": self.wru,
            "gsi_wru": self.gsi_wru,
            "rru": self.rru,
            "items_written_bytes": self.items_written,
            "items_read_bytes": self.items_read,
        }

    def replay(self) -> dict[str, Any]:
        """What a child process needs to answer this call again."""
        return {
            "service": self.service,
            "operation": self.operation,
            "request_body": self.request_body,
            "status": self.status,
            "headers": self.response_headers,
            "body": self.response_body,
        }


def _split(event_name: str) -> tuple[str, str]:
    parts = event_name.split(".")
    return parts[1], parts[2]


def _decode(body: Any) -> str | None:
    if body is None:
        return None
    if isinstance(body, bytes):
        return body.decode("utf-8")
    if isinstance(body, str):
        return body
    return None


class Recorder:
    """Install on a boto3 session (before its clients are created) or on one client's event emitter."""

    def __init__(self, dynamodb_backend: Any = None):
        self.backend = dynamodb_backend
        self.calls: list[Call] = []
        self._local = threading.local()
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- attribution

    @contextlib.contextmanager
    def running(self, function: str) -> Iterator[None]:
        previous = getattr(self._local, "function", None)
        self._local.function = function
        try:
            yield
        finally:
            self._local.function = previous

    @property
    def current(self) -> str | None:
        return getattr(self._local, "function", None)

    def _stack(self) -> list[Call]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def install(self, emitter: Any) -> None:
        emitter.register("before-call", self._before_call, unique_id="bench-before-call")
        emitter.register("before-send", self._before_send, unique_id="bench-before-send")
        emitter.register("before-parse", self._before_parse, unique_id="bench-before-parse")
        emitter.register("after-call", self._after_call, unique_id="bench-after-call")

    def mark(self) -> int:
        with self._lock:
            return len(self.calls)

    def since(self, mark: int) -> list[Call]:
        with self._lock:
            return list(self.calls[mark:])

    # ---------------------------------------------------------------- hooks

    def _before_call(self, event_name: str, params: dict[str, Any], **_: Any) -> None:
        function = self.current
        if function is None:
            return
        service, operation = _split(event_name)
        body = params.get("body")
        try:
            request = json.loads(body) if body else {}
        except (ValueError, TypeError):
            request = {}
        call = Call(function, service, operation, request)
        if service == "dynamodb" and operation in WRITES and self.backend is not None:
            call.before = [(table, json.dumps(key), self._item(table, key)) for table, key in self._write_keys(call)]
        self._stack().append(call)

    def _before_send(self, request: Any, **_: Any) -> None:
        stack = self._stack() if self.current is not None else []
        if stack:
            stack[-1].request_body = _decode(request.body)

    def _before_parse(self, response_dict: dict[str, Any], **_: Any) -> None:
        stack = self._stack() if self.current is not None else []
        if stack:
            call = stack[-1]
            call.status = response_dict.get("status_code")
            call.response_headers = {str(k).lower(): str(v) for k, v in (response_dict.get("headers") or {}).items()}
            call.response_body = _decode(response_dict.get("body"))

    def _after_call(self, event_name: str, http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
        stack = self._stack() if self.current is not None else []
        if not stack:
            return
        call = stack.pop()
        call.duration_ms = (time.perf_counter() - call.started) * 1000
        if call.status is None:
            call.status = getattr(http_response, "status_code", None)
        if call.service == "dynamodb":
            self._capacity(call, parsed)
        with self._lock:
            self.calls.append(call)

    # ---------------------------------------------------------------- DynamoDB capacity

    def _item(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        found = self.backend.get_item(table, key)
        if found is None:
            return None
        return json.loads(json.dumps(found.to_json()["Attributes"], default=str))

    @staticmethod
    def _write_keys(call: Call) -> list[tuple[str, dict[str, Any]]]:
        request = call.request
        if call.operation == "TransactWriteItems":
            found = []
            for entry in request.get("TransactItems", []):
                ((kind, op),) = entry.items()
                source = op["Item"] if kind == "Put" else op["Key"]
                found.append((op["TableName"], {k: source[k] for k in KEY_ATTRS if k in source}))
            return found
        source = request.get("Item") if call.operation == "PutItem" else request.get("Key")
        return [(request["TableName"], {k: source[k] for k in KEY_ATTRS if k in source})]

    def _capacity(self, call: Call, parsed: dict[str, Any]) -> None:
        request = call.request
        if call.operation in WRITES and self.backend is not None:
            factor = 2 if call.operation == "TransactWriteItems" else 1
            succeeded = call.status is not None and call.status < 300
            for table, key_json, before in call.before:
                after = self._item(table, json.loads(key_json)) if succeeded else before
                call.wru += factor * common.write_units(before, after)
                call.gsi_wru += common.gsi_writes(before, after)
                call.items_written.append(max(common.item_size(before), common.item_size(after)))
        elif call.operation == "GetItem":
            size = common.item_size(parsed.get("Item"))
            call.items_read.append(size)
            call.rru = common.read_units(size, bool(request.get("ConsistentRead")))
        elif call.operation == "BatchGetItem":
            for table, items in (parsed.get("Responses") or {}).items():
                consistent = bool(request.get("RequestItems", {}).get(table, {}).get("ConsistentRead"))
                for item in items:
                    size = common.item_size(item)
                    call.items_read.append(size)
                    call.rru += common.read_units(size, consistent)
        elif call.operation in ("Query", "Scan"):
            sizes = [common.item_size(i) for i in parsed.get("Items") or []]
            call.items_read.extend(sizes)
            consistent = bool(request.get("ConsistentRead")) and not request.get("IndexName")
            call.rru = common.read_units(sum(sizes), consistent)


def count_by_operation(calls: list[Call]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in calls:
        name = f"{call.service}:{call.operation}"
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))
