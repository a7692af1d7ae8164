"""Every lifecycle event in events/ (what `sam local invoke <Function> -e ...` takes) does what it says."""

import json
from datetime import timedelta
from pathlib import Path

import pytest

from helpers import ocpi_token
from ocpi_commands.adapters.dynamodb import keys
from ocpi_commands.adapters.dynamodb.codec import serialize
from ocpi_commands.domain.model import CommandRecord, PartyRef, Reservation
from ocpi_commands.ocpi.types import utc_now
from ocpi_commands.ocpi.v2_2_1.commands import CommandType

EVENTS = Path(__file__).resolve().parents[2] / "events"
CID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
TNM = PartyRef(country_code="DE", party_id="TNM")
FUNCTIONS = {
    "starter-": "StarterFunction",
    "dispatch-": "DispatchFunction",
    "resolve-": "ResolveFunction",
    "cp-": "ChargePointEventsFunction",
    "simulator-": "ChargePointSimulatorFunction",
}
# api-*: tests/test_events_api.py; emsp-*: tests/emsp/test_emsp_events.py
LIFECYCLE_EVENTS = sorted(p.name for p in EVENTS.glob("*.json") if not p.name.startswith(("api-", "emsp-")))


def pending_command(stack, url):
    """A PENDING command with the id the events use, written so that the stream does not start it.

    The starter's filter admits INSERTs of type COMMAND only: the record is inserted under another type
    and then updated (a MODIFY), which leaves it to the event under test.
    """
    stack.repository.client.delete_item(TableName=stack.repository.table_name, Key=serialize(keys.command(CID)))
    now = utc_now()
    command = CommandRecord(
        command_id=CID,
        command_type=CommandType.START_SESSION,
        party=TNM,
        request={"response_url": url, "token": ocpi_token(), "location_id": "LOC1", "evse_uid": "3256"},
        response_url=url,
        response={"result": "ACCEPTED", "timeout": 60},
        timeout=60,
        accepted_at=now,
        deadline=now + timedelta(seconds=60),
        request_id="r",
        correlation_id="6c0c8a6e-1d0b-4f7e-9d0e-0f6b1f3f2a11",
        location_id="LOC1",
        evse_uid="3256",
    )
    stack.repository.client.put_item(
        TableName=stack.repository.table_name,
        Item=serialize({**stack.repository._command_item(command), "type": "EVENT-TEST"}),
    )
    stack.repository.client.update_item(
        TableName=stack.repository.table_name,
        Key=serialize(keys.command(CID)),
        UpdateExpression="SET #t = :c",
        ExpressionAttributeNames={"#t": "type"},
        ExpressionAttributeValues={":c": {"S": "COMMAND"}},
    )
    return command


def function_for(name):
    return next(fn for prefix, fn in FUNCTIONS.items() if name.startswith(prefix))


def test_every_lifecycle_event_names_its_function():
    assert LIFECYCLE_EVENTS
    for name in LIFECYCLE_EVENTS:
        assert function_for(name)


@pytest.mark.parametrize("name", LIFECYCLE_EVENTS)
def test_lifecycle_event(stack, name, request):
    event = json.loads((EVENTS / name).read_text())
    url = stack.url(f"events/{name}")
    function = function_for(name)
    if name == "cp-reservation-canceled.json":
        stack.repository.put_reservation(
            Reservation(
                owner=TNM,
                reservation_id="RES-EVENT",
                cp_reservation_id=event["detail"]["cp_reservation_id"],
                location_id="LOC1",
                evse_uid="3256",
                expiry_date=utc_now() + timedelta(hours=1),
                response_url=url,
                command_id=f"event-{request.node.name}",
            )
        )
    elif name != "cp-session-updated.json":
        pending_command(stack, url)

    result = stack.local.invoke(function, event)

    if name.startswith("starter-"):
        assert result == {"batchItemFailures": []}
        description, _ = stack.wait_execution_done(CID)
        assert description["name"] == CID
        assert [p.json for p in stack.wait_posts(url)] == [{"result": "ACCEPTED"}]
    elif name.startswith("dispatch-"):
        assert result == {"dispatched": True}
        assert stack.repository.get_command(CID).task_token == event["task_token"]
        assert [p.json for p in stack.wait_posts(url)] == [{"result": "ACCEPTED"}]  # the simulator answered
    elif name.startswith("resolve-"):
        assert result["result"] == "TIMEOUT" and result["resolved_here"] is True
        assert [p.json for p in stack.wait_posts(url)] == [{"result": "TIMEOUT"}]
    elif name == "cp-result-reported.json":
        assert result == {"recorded": True, "delivery": "DELIVERED"}
        assert [p.json for p in stack.posts(url)] == [{"result": "ACCEPTED"}]
    elif name == "cp-reservation-canceled.json":
        assert result == {"canceled": True, "delivery": "DELIVERED"}
        assert stack.posts(url)[0].json["result"] == "CANCELED_RESERVATION"
    elif name == "cp-session-updated.json":
        assert result == {"updated": True}
        session = stack.repository.get_session("SES-CSMS-42")
        assert session.owner == TNM and session.status.value == "ACTIVE"
    elif name.startswith("simulator-"):
        assert result["events"][0] == "Command Result Reported"
        assert [p.json for p in stack.wait_posts(url)] == [{"result": "ACCEPTED"}]
    else:
        pytest.fail(f"no expectation for events/{name}")
    if not name.startswith("cp-session"):
        assert stack.wait_delivered(url).delivery_status.value == "DELIVERED"
