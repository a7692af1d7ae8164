"""Support for the lifecycle tests.

The whole stack on moto: the real ASL executed by moto's interpreter, the real handlers in-process,
the simulated charge points, and a local eMSP endpoint receiving the CommandResults.
"""

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from helpers import Api, ocpi_token

TIMEOUT = 3  # seconds announced for every command type in these tests


class Stack:
    def __init__(self, local, receiver, repository):
        self.local = local
        self.receiver = receiver
        self.repository = repository
        self.api = Api()

    def url(self, name: str | None = None) -> str:
        return f"{self.receiver.url}/ocpi/emsp/2.2.1/commands/{name or uuid.uuid4().hex}"

    def configure(self, **environment: str) -> None:
        """Change settings for the following invocations (restored when the stack stops)."""
        self.local.configure(**environment)

    def behaviour(self, evse_uid: str | None, mode: str, location_id: str = "LOC1", **extra: Any) -> None:
        self.repository.put_simulator_behaviour(location_id, evse_uid, {"mode": mode, **extra})

    def start_session(self, url: str, evse_uid: str = "3256", **kwargs: Any):
        body = {"response_url": url, "token": ocpi_token(), "location_id": "LOC1", "evse_uid": evse_uid}
        return self.api.command("START_SESSION", body, **kwargs)

    def reserve_now(self, url: str, reservation_id: str, evse_uid: str = "3256", minutes: int = 30, **kwargs: Any):
        expiry = (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "response_url": url,
            "token": ocpi_token(),
            "expiry_date": expiry,
            "reservation_id": reservation_id,
            "location_id": "LOC1",
            "evse_uid": evse_uid,
        }
        return self.api.command("RESERVE_NOW", body, **kwargs)

    def publish(self, detail_type: str, detail: dict[str, Any], source: str = "cpo.csms") -> None:
        response = self.local.client("events").put_events(
            Entries=[
                {
                    "EventBusName": self.local.bus_name,
                    "Source": source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail),
                }
            ]
        )
        assert response["FailedEntryCount"] == 0

    def report_result(self, command_id: str, result: str, **extra: Any) -> None:
        self.publish("Command Result Reported", {"command_id": command_id, "result": result, **extra})

    def command_for(self, url: str):
        for item in self.repository._scan_type("COMMAND"):
            if item["response_url"] == url:
                return self.repository.get_command(item["command_id"])
        return None

    def wait_until(self, predicate, timeout: float = 15.0, interval: float = 0.05):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        return predicate()

    def wait_delivered(self, url: str, timeout: float = 15.0):
        """The command's record once its delivery is final (DELIVERED or FAILED)."""

        def final():
            command = self.command_for(url)
            if command and command.delivery_status and command.delivery_status.value in ("DELIVERED", "FAILED"):
                return command
            return None

        return self.wait_until(final, timeout)

    def posts(self, url: str):
        return self.receiver.for_path(url.removeprefix(self.receiver.url))

    def wait_posts(self, url: str, count: int = 1, timeout: float = 15.0):
        return self.receiver.wait_for(url.removeprefix(self.receiver.url), count, timeout)

    def execution(self, command_id: str):
        sfn = self.local.client("stepfunctions")
        arn = f"{self.local.state_machine_arn.replace(':stateMachine:', ':execution:')}:{command_id}"
        return sfn.describe_execution(executionArn=arn), sfn.get_execution_history(executionArn=arn)["events"]

    def wait_execution_done(self, command_id: str, timeout: float = 20.0):
        def done():
            try:
                description, history = self.execution(command_id)
            except Exception:
                return None
            return (description, history) if description["status"] != "RUNNING" else None

        return self.wait_until(done, timeout)

    def dispatched_events(self):
        return [i.event["detail"] for i in self.local.invocations if i.function == "ChargePointSimulatorFunction"]
