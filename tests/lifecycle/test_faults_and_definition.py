"""The ASL file runs in the interpreter; failures to start or dispatch still end in one recorded result."""

import json
from pathlib import Path

import pytest

from ocpi_commands_dev.emulation import template as tpl

STATEMACHINES = sorted((Path(__file__).resolve().parents[2] / "statemachine").glob("*.asl.json"))


@pytest.mark.parametrize("path", STATEMACHINES, ids=lambda p: p.name)
def test_every_asl_file_loads_into_the_interpreter(path):
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    definition = json.loads(path.read_text())
    # What the template substitutes into this file, each a function ARN.
    machines = tpl.resources_of_type(tpl.load_template(), "AWS::Serverless::StateMachine")
    (machine,) = [m for m in machines.values() if m["Properties"]["DefinitionUri"] == f"statemachine/{path.name}"]
    names = machine["Properties"]["DefinitionSubstitutions"]
    text = tpl.substitute(
        definition, {name: f"arn:aws:lambda:us-east-1:123456789012:function:{name}" for name in names}
    )
    program, _ = AmazonStateLanguageParser.parse(text)
    assert program is not None
    assert "${" not in text


def test_state_machine_runs_an_unknown_command_to_completion(stack, request):
    """An execution for a command without a record (impossible via the stream) ends cleanly, delivering nothing."""
    request.node._expected_errors = True  # the dispatch function refuses the unknown command
    sfn = stack.local.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=stack.local.state_machine_arn,
        name="ghost",
        input=json.dumps({"command_id": "ghost", "wait_seconds": 1}),
    )["executionArn"]
    description, history = stack.wait_execution_done("ghost")
    assert description["status"] == "SUCCEEDED", arn
    assert stack.repository.get_command("ghost") is None


def test_dispatch_failure_resolves_as_failed(stack, request):
    request.node._expected_errors = True
    url = stack.url("fault/dispatch")
    stack.local.inject_fault("events", "PutEvents", "InternalException", times=12)
    try:
        assert stack.start_session(url).result == "ACCEPTED"
        command = stack.wait_delivered(url, timeout=20)
    finally:
        stack.local.clear_faults()
    assert command.result.value == "FAILED" and command.result_source.value == "DISPATCH_FAILURE"
    assert [p.json["result"] for p in stack.posts(url)] == ["FAILED"]
    description, history = stack.wait_execution_done(command.command_id)
    assert description["status"] == "SUCCEEDED"
    dispatch_attempts = [e for e in history if e["type"] == "TaskScheduled"]
    assert len(dispatch_attempts) >= 3  # the dispatch was retried before giving up


def test_start_execution_failure_is_retried_from_the_stream(stack):
    url = stack.url("fault/start")
    stack.local.inject_fault("stepfunctions", "StartExecution", "ServiceUnavailable", times=6)
    try:
        assert stack.start_session(url).result == "ACCEPTED"
        command = stack.wait_delivered(url, timeout=20)
    finally:
        stack.local.clear_faults()
    assert command.result.value == "ACCEPTED"
    assert len(stack.posts(url)) == 1
