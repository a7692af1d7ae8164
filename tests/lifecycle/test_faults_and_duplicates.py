"""Faults (DynamoDB errors and throttling, in the API and in the lifecycle) and concurrent duplicates:
nothing accepted is lost, nothing half-accepted is left, one CommandResult at most per command."""

import threading
import time

import pytest

THROTTLED = "ProvisionedThroughputExceededException"  # retried by the AWS SDK
BROKEN = "InternalServerError"  # not retried by the SDK at the HTTP 400 status the emulation answers


def executions(stack):
    return stack.local.client("stepfunctions").list_executions(stateMachineArn=stack.local.state_machine_arn)[
        "executions"
    ]


@pytest.mark.parametrize(
    ("action", "error", "times"),
    [
        ("TransactWriteItems", BROKEN, 1),  # with an X-Request-ID: the command and its guard, one transaction
        ("TransactWriteItems", THROTTLED, 10),
        ("PutItem", BROKEN, 1),  # without one: a single conditional put
        ("GetItem", BROKEN, 1),
    ],
)
def test_dynamodb_failure_in_the_api_answers_3000_and_leaves_nothing(stack, action, error, times):
    url = stack.url(f"fault/api/{action}/{error}")
    before = len(executions(stack))
    stack.local.inject_fault("dynamodb", action, error, times=times)
    headers = {"X-Request-ID": f"fault-{action}-{error}"} if action == "TransactWriteItems" else {}
    try:
        answer = stack.start_session(url, headers=headers)
    finally:
        stack.local.clear_faults()
    assert (answer.status, answer.status_code) == (200, 3000)
    assert "data" not in answer.body
    time.sleep(0.5)
    assert stack.command_for(url) is None  # no PENDING record...
    assert len(executions(stack)) == before  # ...and no execution
    assert stack.posts(url) == []


def test_throttling_within_the_sdk_retries_is_invisible(stack):
    url = stack.url("fault/api/throttled-once")
    stack.local.inject_fault("dynamodb", "TransactWriteItems", THROTTLED, times=1)
    try:
        assert stack.start_session(url, headers={"X-Request-ID": "throttled-once"}).result == "ACCEPTED"
    finally:
        stack.local.clear_faults()
    assert stack.wait_delivered(url).result.value == "ACCEPTED"


@pytest.mark.parametrize("times", [3, 6])
def test_dynamodb_failures_in_the_lifecycle_still_end_in_one_result(stack, request, times):
    """UpdateItem fails for a while (dispatch, resolution): the state machine and Lambda retry."""
    request.node._expected_errors = True
    url = stack.url(f"fault/lifecycle/{times}")
    answer = stack.start_session(url)
    assert answer.result == "ACCEPTED"
    stack.local.inject_fault("dynamodb", "UpdateItem", BROKEN, times=times)
    try:
        command = stack.wait_delivered(url, timeout=30)
    finally:
        stack.local.clear_faults()
    assert command.status.value == "RESOLVED" and command.result.value in ("ACCEPTED", "TIMEOUT", "FAILED")
    time.sleep(1.0)
    assert len(stack.posts(url)) == 1
    description, _ = stack.wait_execution_done(command.command_id)
    assert description["status"] == "SUCCEEDED"


def test_timeout_resolution_survives_dynamodb_failures(stack, request):
    request.node._expected_errors = True
    url = stack.url("fault/timeout")
    stack.start_session(url, evse_uid="SILENT")
    stack.wait_until(lambda: (c := stack.command_for(url)) and c.dispatched_at)
    time.sleep(2.7)  # just before the deadline (3 s): the resolution's first writes fail
    stack.local.inject_fault("dynamodb", "UpdateItem", BROKEN, times=3)
    try:
        command = stack.wait_delivered(url, timeout=30)
    finally:
        stack.local.clear_faults()
    assert command.result.value == "TIMEOUT"
    assert [p.json for p in stack.posts(url)] == [{"result": "TIMEOUT"}]


def test_concurrent_duplicates_are_dispatched_once(stack):
    url = stack.url("duplicates/concurrent")
    answers = []
    barrier = threading.Barrier(6)

    def send():
        barrier.wait()
        answers.append(stack.start_session(url, headers={"X-Request-ID": "concurrent-dup"}))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {(a.status_code, a.result) for a in answers} == {(1000, "ACCEPTED")}
    command = stack.wait_delivered(url)
    time.sleep(1.0)
    assert len(stack.posts(url)) == 1
    assert len([e for e in executions(stack) if e["name"] == command.command_id]) == 1
    dispatched = [d for d in stack.dispatched_events() if d["command_id"] == command.command_id]
    assert len(dispatched) == 1
