"""EventBridge: events on the stack's bus (the contract with the CSMS, docs/events.md)."""

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ocpi_commands.adapters import aws
from ocpi_commands.domain.ports import PublishFailed


class EventBridgePublisher:
    def __init__(self, bus_name: str, source: str, client: Callable[[], Any] = lambda: aws.client("events")):
        self.bus_name = bus_name
        self.source = source
        self._client = client

    def publish(self, detail_type: str, detail: Mapping[str, Any], resources: tuple[str, ...] = ()) -> None:
        self.publish_many([(detail_type, detail)], resources)

    def publish_many(self, events: Sequence[tuple[str, Mapping[str, Any]]], resources: tuple[str, ...] = ()) -> None:
        response = self._client().put_events(
            Entries=[
                {
                    "EventBusName": self.bus_name,
                    "Source": self.source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(dict(detail)),
                    "Resources": list(resources),
                }
                for detail_type, detail in events
            ]
        )
        if response.get("FailedEntryCount"):
            failed: dict[str, Any] = next((e for e in response.get("Entries", []) if e.get("ErrorCode")), {})
            raise PublishFailed(f"PutEvents failed: {failed.get('ErrorCode')} {failed.get('ErrorMessage')}")
