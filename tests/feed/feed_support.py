"""Support for the live-data tests: the whole stack on moto (the real handlers in-process, the feed's queue and
schedules as template.yaml defines them), and a CPO platform's OCPI Sender interface on 127.0.0.1."""

import json
import uuid
from typing import Any

from helpers import Api, ocpi_token

PLATFORM_TOKEN = "platform-token-for-the-module"  # noqa: S105 - a test token


class FeedStack:
    def __init__(self, local, receiver, repository, platform, secret_arn: str):
        from ocpi_commands.adapters.dynamodb.feed import DynamoFeedStore

        self.local = local
        self.receiver = receiver
        self.repository = repository
        self.platform = platform
        self.secret_arn = secret_arn
        self.store = DynamoFeedStore(local.table_name)
        self.api = Api()

    def configure(self, **environment: str) -> None:
        """Change settings for the following invocations (restored when the stack stops)."""
        self.local.configure(**environment)

    def url(self) -> str:
        return f"{self.receiver.url}/ocpi/emsp/2.2.1/commands/{uuid.uuid4().hex}"

    def start_session(self, location_id: str = "LOC1", evse_uid: str = "3256"):
        body = {"response_url": self.url(), "token": ocpi_token(), "location_id": location_id, "evse_uid": evse_uid}
        return self.api.command("START_SESSION", body)

    def publish(self, detail_type: str, detail: Any, source: str = "cpo.platform") -> None:
        """Put one event on the stack's bus, as the CPO platform does."""
        self.publish_many(detail_type, [detail], source)

    def publish_many(self, detail_type: str, details: list[Any], source: str = "cpo.platform") -> None:
        events = self.local.client("events")
        for start in range(0, len(details), 10):  # PutEvents takes at most 10 entries
            entries = [
                {
                    "EventBusName": self.local.bus_name,
                    "Source": source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(d),
                }
                for d in details[start : start + 10]
            ]
            assert events.put_events(Entries=entries)["FailedEntryCount"] == 0

    def settle(self) -> None:
        """Every event published so far has been applied or refused: a bounded wait for the queue, no sleep."""
        assert self.local.wait_queues_idle(timeout=30), "the feed queue did not drain"

    def pull(self) -> dict[str, Any]:
        """What EventBridge Scheduler's FeedPullSchedule does, now."""
        return self.local.schedules.fire("FeedPullSchedule")

    def location(self, location_id: str = "LOC1"):
        return self.store.read_location(location_id)[0]

    def evse(self, evse_uid: str = "3256", location_id: str = "LOC1"):
        location = self.location(location_id)
        return location.evse(evse_uid) if location else None


class JsonLines:
    """Collects the Powertools logger's JSON lines as they are printed (use as a context manager)."""

    def __init__(self):
        import logging

        from ocpi_commands.observability import logger

        class Handler(logging.Handler):
            def __init__(self, lines):
                super().__init__()
                self.lines = lines
                self.setFormatter(logger.registered_formatter)

            def emit(self, record):  # called under the handler's own lock
                self.lines.append(json.loads(self.format(record)))

        self.lines: list[dict[str, Any]] = []
        self._logger = logger
        self._handler = Handler(self.lines)

    def __enter__(self) -> "JsonLines":
        self._logger.addHandler(self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.removeHandler(self._handler)

    def with_message(self, message: str) -> list[dict[str, Any]]:
        """The lines whose message is (or begins with) ``message``."""
        return [line for line in self.lines if str(line.get("message", "")).startswith(message)]


def emf(captured: str, name: str) -> list[dict[str, Any]]:
    """The EMF documents of metric ``name`` in captured stdout."""
    found = []
    for line in captured.splitlines():
        if line.startswith('{"_aws"'):
            document = json.loads(line)
            if any(m["Name"] == name for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]):
                found.append(document)
    return found
