"""SQS event sources, as Lambda's pollers run them: every queue of template.yaml that feeds a function.

EventBridge rules whose target is such a queue hand their events here (``moto_patches``: moto's own SQS
scans every message on each receive and delete, far too slow for a 10,000-event refresh). Each mapping
runs as many workers as its ``ScalingConfig.MaximumConcurrency`` (at most ``max_workers``); a worker takes
a batch of at most ``BatchSize`` messages (waiting ``MaximumBatchingWindowInSeconds`` to fill it), invokes
the function and, with ``ReportBatchItemFailures``, returns only the failed messages to the queue (all of
them when the function raised). A message received ``maxReceiveCount`` times (the queue's
``RedrivePolicy``) goes to the dead letters. A failed message is visible again after ``retry_delay``
here, after the queue's ``VisibilityTimeout`` on AWS.
"""

import hashlib
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ocpi_commands_dev.emulation.template import resolve_intrinsics, resource


@dataclass
class Message:
    body: str
    message_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    sent_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    receive_count: int = 0
    visible_at: float = 0.0


@dataclass
class QueueSource:
    """One ``Type: SQS`` event of a function, with what its queue's definition says."""

    queue: str  # logical id
    function: str
    batch_size: int = 10
    window_seconds: float = 0.0
    concurrency: int = 5
    report_failures: bool = False
    max_receive_count: int | None = None
    dead_letter_queue: str | None = None


def queue_sources(template: dict[str, Any], functions: dict[str, Any], refs: dict[str, Any]) -> list[QueueSource]:
    found = []
    for logical_id, spec in functions.items():
        for event in spec.events.values():
            if event.get("Type") != "SQS":
                continue
            props = event["Properties"]
            queue = props["Queue"]["Fn::GetAtt"][0]
            redrive = resource(template, queue).get("Properties", {}).get("RedrivePolicy") or {}
            dead_letter = (redrive.get("deadLetterTargetArn") or {}).get("Fn::GetAtt", [None])[0]
            concurrency = resolve_intrinsics((props.get("ScalingConfig") or {}).get("MaximumConcurrency", 5), refs)
            found.append(
                QueueSource(
                    queue=queue,
                    function=logical_id,
                    batch_size=int(props.get("BatchSize", 10)),
                    window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                    concurrency=int(concurrency or 5),
                    report_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                    max_receive_count=int(redrive["maxReceiveCount"]) if redrive.get("maxReceiveCount") else None,
                    dead_letter_queue=dead_letter,
                )
            )
    return found


class _Mapping:
    def __init__(self, source: QueueSource, arn: str, invoke: Callable[[str, dict[str, Any]], Any], owner: "Queues"):
        self.source = source
        self.arn = arn
        self.invoke = invoke
        self.owner = owner
        self.visible: deque[Message] = deque()
        self.delayed: list[Message] = []
        self.in_flight = 0
        self.threads: list[threading.Thread] = []

    def _take(self) -> list[Message]:
        """A batch, under the owner's condition (waits for messages, and for the batching window)."""
        cond, source = self.owner.cond, self.source
        while not self.owner.stopping:
            now = time.monotonic()
            for message in [m for m in self.delayed if m.visible_at <= now]:
                self.delayed.remove(message)
                self.visible.append(message)
            if self.visible:
                if len(self.visible) < source.batch_size and source.window_seconds:
                    cond.wait_for(lambda: len(self.visible) >= source.batch_size, timeout=source.window_seconds)
                batch = [self.visible.popleft() for _ in range(min(source.batch_size, len(self.visible)))]
                self.in_flight += len(batch)
                return batch
            next_due = min((m.visible_at for m in self.delayed), default=None)
            cond.wait(timeout=None if next_due is None else max(0.0, next_due - now))
        return []

    def work(self) -> None:
        while not self.owner.stopping:
            with self.owner.cond:
                batch = self._take()
            if not batch:
                return
            for message in batch:
                message.receive_count += 1
            failed = self._deliver(batch)
            with self.owner.cond:
                for message in batch:
                    if message.message_id not in failed:
                        continue
                    if self.source.max_receive_count and message.receive_count >= self.source.max_receive_count:
                        self.owner.dead_letters.append((self.source.dead_letter_queue, message))
                    else:
                        message.visible_at = time.monotonic() + self.owner.retry_delay
                        self.delayed.append(message)
                self.in_flight -= len(batch)
                self.owner.cond.notify_all()

    def _deliver(self, batch: list[Message]) -> set[str]:
        records = [self._record(m) for m in batch]
        try:
            response = self.invoke(self.source.function, {"Records": records}) or {}
        except Exception:
            return {m.message_id for m in batch}
        if not self.source.report_failures or not isinstance(response, dict):
            return set()
        return {str(f.get("itemIdentifier")) for f in response.get("batchItemFailures") or []}

    def _record(self, message: Message) -> dict[str, Any]:
        return {
            "messageId": message.message_id,
            "receiptHandle": f"{message.message_id}#{message.receive_count}",
            "body": message.body,
            "attributes": {
                "ApproximateReceiveCount": str(message.receive_count),
                "SentTimestamp": str(message.sent_ms),
                "SenderId": "AIDAEVENTBRIDGE",
                "ApproximateFirstReceiveTimestamp": str(message.sent_ms),
            },
            "messageAttributes": {},
            "md5OfBody": hashlib.md5(message.body.encode(), usedforsecurity=False).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.arn,
            "awsRegion": self.owner.region,
        }


class Queues:
    """The template's queues that feed functions, with their event source mappings (start, put, stop)."""

    def __init__(
        self,
        invoke: Callable[[str, dict[str, Any]], Any],
        region: str,
        account: str,
        prefix: str,
        max_workers: int = 4,
        retry_delay: float = 0.2,
    ):
        self.invoke = invoke
        self.region = region
        self.account = account
        self.prefix = prefix
        self.max_workers = max_workers
        self.retry_delay = retry_delay
        self.cond = threading.Condition()
        self.stopping = False
        self.mappings: dict[str, _Mapping] = {}  # by queue ARN
        self.dead_letters: list[tuple[str | None, Message]] = []

    def arn(self, queue: str) -> str:
        return f"arn:aws:sqs:{self.region}:{self.account}:{self.prefix}-{queue}"

    def add(self, source: QueueSource) -> None:
        arn = self.arn(source.queue)
        self.mappings[arn] = _Mapping(source, arn, self.invoke, self)

    def handles(self, arn: str) -> bool:
        return arn in self.mappings

    def put(self, arn: str, body: str) -> None:
        with self.cond:
            self.mappings[arn].visible.append(Message(body))
            self.cond.notify_all()

    def start(self) -> None:
        for mapping in self.mappings.values():
            for n in range(max(1, min(mapping.source.concurrency, self.max_workers))):
                thread = threading.Thread(target=mapping.work, name=f"sqs-{mapping.source.queue}-{n}", daemon=True)
                mapping.threads.append(thread)
                thread.start()

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        for mapping in self.mappings.values():
            for thread in mapping.threads:
                thread.join(timeout=5)

    def backlog(self) -> int:
        with self.cond:
            return sum(len(m.visible) + len(m.delayed) + m.in_flight for m in self.mappings.values())

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait (with a deadline) until every message so far was processed or dead-lettered."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                if not any(m.visible or m.delayed or m.in_flight for m in self.mappings.values()):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.cond.wait(timeout=min(remaining, 0.05))
