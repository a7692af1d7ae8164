"""Every eMSP-side event in events/ (what `sam local invoke <Function> -e ...` takes) does what it says."""

import json
from datetime import timedelta
from pathlib import Path

import pytest

from ocpi_commands.adapters.dynamodb import keys
from ocpi_commands.adapters.dynamodb.codec import serialize
from ocpi_commands.adapters.dynamodb.sent_commands import DynamoSentCommands
from ocpi_commands.domain.model import CpoAnswer, HistoryEntry, PartyRef, SentCommand
from ocpi_commands.ocpi.types import utc_now
from ocpi_commands.ocpi.vocabulary import CommandType

EVENTS = Path(__file__).resolve().parents[2] / "events"
CID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
FUNCTIONS = {
    "emsp-api-": "EmspApiFunction",
    "emsp-result-": "EmspResultsFunction",
    "emsp-timer-": "EmspTimerFunction",
    "emsp-starter-": "StarterFunction",
}
EMSP_EVENTS = sorted(p.name for p in EVENTS.glob("emsp-*.json"))


def function_for(name: str) -> str:
    return next(fn for prefix, fn in FUNCTIONS.items() if name.startswith(prefix))


def sent_command(emsp, answered: bool = True) -> SentCommand:
    """The command the events name, PENDING, written so that the stream does not start its execution:
    inserted under another type, then given its own (a MODIFY, which the starter's filter leaves alone)."""
    store = DynamoSentCommands(emsp.local.table_name)
    for key in (keys.sent_command(CID), keys.sent_event(CID, "COMPLETED")):
        store.client.delete_item(TableName=store.table_name, Key=serialize(key))
    now = utc_now()
    url = f"{emsp.api_url}/ocpi/emsp/2.2.1/commands/START_SESSION/{CID}"
    fak = PartyRef(country_code="DE", party_id="FAK")
    command = SentCommand(
        command_id=CID,
        command_type=CommandType.START_SESSION,
        cpo=fak,
        partner=fak,
        emsp=PartyRef(country_code="NL", party_id="EMS"),
        ocpi_version="2.2.1",
        request={"response_url": url, "location_id": "LOC1"},
        response_url=url,
        commands_url="http://127.0.0.1:9/ocpi/cpo/2.2.1/commands/START_SESSION",
        created_at=now,
        request_id="r",
        correlation_id="emsp-corr-4711",
        history=(HistoryEntry(at=now, event="created"),),
    )
    if answered:
        command = command.model_copy(
            update={
                "answer": CpoAnswer(
                    http_status=200, ocpi_status_code=1000, response={"result": "ACCEPTED", "timeout": 60}
                ),
                "answered_at": now,
                "timeout": 60,
                "result_deadline": now + timedelta(seconds=70),
            }
        )
    store.client.put_item(TableName=store.table_name, Item=serialize({**store._item(command), "type": "EVENT-TEST"}))
    store.client.update_item(
        TableName=store.table_name,
        Key=serialize(keys.sent_command(CID)),
        UpdateExpression="SET #t = :t",
        ExpressionAttributeNames={"#t": "type"},
        ExpressionAttributeValues={":t": {"S": "SENT_COMMAND"}},
    )
    return command


def test_every_emsp_event_names_its_function():
    assert len(EMSP_EVENTS) >= 12
    for name in EMSP_EVENTS:
        assert function_for(name)


def _body(result):
    return json.loads(result["body"])


def _stop_execution(emsp):
    sfn = emsp.local.client("stepfunctions")
    arn = emsp.local.state_machine_arns["EmspCommandExecution"].replace(":stateMachine:", ":execution:") + f":{CID}"
    try:
        sfn.stop_execution(executionArn=arn)
    except Exception:  # noqa: BLE001, S110 - none was started
        pass


EXPECTED = {
    "emsp-api-start-session.json": lambda e, r: r["statusCode"] == 201 and _body(r)["response"]["result"] == "ACCEPTED",
    "emsp-api-unknown-cpo.json": lambda e, r: r["statusCode"] == 404 and _body(r)["error"] == "unknown_cpo",
    "emsp-api-invalid-request.json": lambda e, r: r["statusCode"] == 400 and "location_id" in _body(r)["message"],
    "emsp-api-show-command.json": lambda e, r: r["statusCode"] == 200 and _body(r)["command_id"] == CID,
    "emsp-result-start-session.json": lambda e, r: (
        (r["statusCode"], _body(r)["status_code"]) == (200, 1000) and e.record(CID).status.value == "RESULT_RECEIVED"
    ),
    "emsp-result-unknown-uid.json": lambda e, r: (r["statusCode"], _body(r)["status_code"]) == (404, 2001),
    "emsp-timer-answer.json": lambda e, r: r["status"] == "AWAITING_RESULT" and 60 <= r["wait_seconds"] <= 70,
    "emsp-timer-wait.json": lambda e, r: r["waiting"] is True and e.record(CID).task_token.startswith("AQCE"),
    "emsp-timer-timeout.json": lambda e, r: r["timed_out"] is True and e.record(CID).status.value == "TIMED_OUT",
    "emsp-timer-lost.json": lambda e, r: r["send_failed"] is True and e.record(CID).status.value == "SEND_FAILED",
    "emsp-starter-sent-command.json": lambda e, r: (
        r == {"batchItemFailures": []} and e.execution(CID)[0]["status"] in ("RUNNING", "SUCCEEDED", "ABORTED")
    ),
    "emsp-starter-event.json": lambda e, r: (
        r == {"batchItemFailures": []}
        and e.wait_events("Command Completed", CID)[-1]["detail"]["outcome"] == "ACCEPTED"
    ),
}


def test_every_emsp_event_has_an_expectation():
    assert set(EMSP_EVENTS) == set(EXPECTED)


@pytest.mark.parametrize("name", EMSP_EVENTS)
def test_emsp_event(emsp, name):
    event = json.loads((EVENTS / name).read_text())
    _stop_execution(emsp)
    sent_command(emsp, answered=name != "emsp-timer-lost.json")
    result = emsp.local.invoke(function_for(name), event)
    try:
        assert EXPECTED[name](emsp, result), result
    finally:
        _stop_execution(emsp)
