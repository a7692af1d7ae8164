"""A command's life emits the expected EMF metrics and structured log fields, across every function."""

import json
import logging

import pytest

from helpers import ocpi_token
from ocpi_commands.observability import logger


class JsonLines(logging.Handler):
    """Collects the Powertools logger's JSON lines exactly as they are printed."""

    def __init__(self):
        super().__init__()
        self.lines = []
        self.setFormatter(logger.registered_formatter)

    def emit(self, record):  # called under the handler's own lock
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def log_lines():
    handler = JsonLines()
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def emf(captured):
    found = []
    for line in captured.splitlines():
        if line.startswith('{"_aws"'):
            found.append(json.loads(line))
    return found


def by_name(documents, name):
    return [d for d in documents if any(m["Name"] == name for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"])]


def dims(document):
    return document["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]


def test_a_command_life_emits_its_metrics(stack, capsys):
    url = stack.url("observability/metrics")
    stack.start_session(url, headers={"X-Correlation-ID": "obs-corr"})
    command = stack.wait_delivered(url)
    stack.report_result(command.command_id, "ACCEPTED")  # a late duplicate
    stack.wait_until(lambda: stack.command_for(url).late_results == 1)
    silent = stack.url("observability/silent")
    stack.start_session(silent, evse_uid="SILENT")
    stack.wait_delivered(silent, timeout=15)
    documents = emf(capsys.readouterr().out)
    for document in documents:
        assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "OcpiCommands"
        assert "command_id" not in json.dumps(dims(document)) and "party" not in dims(document)
    received = by_name(documents, "CommandsReceived")
    assert any(d["CommandType"] == "START_SESSION" and d["Response"] == "ACCEPTED" for d in received)
    assert set(dims(received[0])) == {"CommandType", "Response", "OcpiVersion", "service"}
    results = by_name(documents, "CommandResults")
    assert {(d["CommandType"], d["Result"]) for d in results} >= {
        ("START_SESSION", "ACCEPTED"),
        ("START_SESSION", "TIMEOUT"),
    }
    assert len(by_name(documents, "ResultsRecorded")) >= 2
    assert by_name(documents, "Timeouts") and dims(by_name(documents, "Timeouts")[0]) == ["service"]
    assert by_name(documents, "LateResults")
    [latency, *_] = by_name(documents, "TimeToResult")
    assert (
        latency["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] == "Milliseconds"
        and latency["TimeToResult"][0] > 0
    )
    assert {d["Outcome"] for d in by_name(documents, "DeliveryAttempts")} == {"delivered"}
    assert by_name(documents, "Delivered")


def test_log_lines_follow_one_command_from_request_to_result(stack, log_lines):
    url = stack.url("observability/logs")
    answer = stack.start_session(url, headers={"X-Request-ID": "obs-req", "X-Correlation-ID": "obs-corr-2"})
    assert answer.result == "ACCEPTED"
    command = stack.wait_delivered(url)
    stack.wait_until(
        lambda: any(
            line.get("message") == "CommandResult delivery attempt" and line.get("command_id") == command.command_id
            for line in log_lines
        )
    )
    mine = [line for line in log_lines if line.get("command_id") == command.command_id]
    functions = {line.get("function_name", "").rsplit("-", 1)[-1] for line in mine}
    assert {"ApiFunction", "StarterFunction", "DispatchFunction", "ChargePointEventsFunction"} <= functions
    messages = {line["message"] for line in mine}
    assert {
        "Command answered",
        "Execution started",
        "Command dispatched",
        "Command resolved",
        "CommandResult delivery attempt",
    } <= messages
    for line in mine:
        assert line["correlation_id"] == "obs-corr-2", line
        assert line["party"] == "DE*TNM" and line["command_type"] == "START_SESSION", line
    answered = next(line for line in mine if line["message"] == "Command answered")
    assert answered["token"]["uid"].endswith(ocpi_token()["uid"][-4:])
    assert ocpi_token()["uid"] not in json.dumps(answered) and ocpi_token()["contract_id"] not in json.dumps(answered)
