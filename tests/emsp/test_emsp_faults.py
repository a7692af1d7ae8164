"""Faults between the write and the POST, and after it: each ends in a recorded state with a clear
reason, and nothing is ever sent twice to the CPO."""

import time

from emsp_support import FAKE_CPOS, accepted, start_request

FAKE = ("DE", "FAK")
FAKE_TOKEN = FAKE_CPOS["2.2.1"][2]
BROKEN = "InternalServerError"


def test_dynamodb_failing_at_the_first_write_sends_nothing(emsp):
    emsp.fake_cpo.received.clear()
    emsp.local.inject_fault("dynamodb", "PutItem", BROKEN, times=1)
    answer = emsp.send("START_SESSION", start_request(), cpo=FAKE)
    assert answer.status == 503 and answer.json["error"] == "temporarily_unavailable", answer.json
    assert "nothing was sent" in answer.json["message"]
    assert emsp.fake_cpo.received == []


def test_dynamodb_failing_after_the_post_ends_in_send_failed_by_the_execution_and_a_result_is_still_kept(request, emsp):
    request.node._expected_errors = True  # the execution's first step fails on purpose until it gives up
    emsp.fake_cpo.received.clear()
    emsp.fake_cpo.script.append(accepted(timeout=30))
    # Every attempt to record the CPO's answer fails (the sending request retries 4 times).
    emsp.local.inject_fault("dynamodb", "UpdateItem", BROKEN, times=4)
    answer = emsp.send("START_SESSION", start_request(), cpo=FAKE)
    assert answer.status == 503 and answer.json["error"] == "answer_not_recorded", answer.json
    command_id = answer.json["command_id"]
    assert len(emsp.fake_posts("START_SESSION")) == 1
    assert emsp.record(command_id).status.value == "PENDING"
    # The execution waits for the answer (about 31 s of retries), then records the interrupted send.
    record = emsp.wait_status(command_id, ("SEND_FAILED",), timeout=50)
    assert record.status.value == "SEND_FAILED" and "interrupted" in record.reason
    (event,) = emsp.wait_events("Command Completed", command_id)
    assert event["detail"]["outcome"] == "SEND_FAILED"
    # The CPO did accept it: its result is answered 1000 and kept as late.
    late = emsp.post_result(record.response_url, {"result": "ACCEPTED"}, FAKE_TOKEN)
    assert late.json["status_code"] == 1000
    assert [e["kind"] for e in emsp.record(command_id).late_results] == ["after_send_failed"]
    assert len(emsp.fake_posts("START_SESSION")) == 1  # never sent twice


def test_step_functions_failing_to_start_the_execution_is_retried_by_the_stream(request, emsp):
    request.node._expected_errors = True
    emsp.fake_cpo.script.append(accepted(timeout=2))
    emsp.local.inject_fault("stepfunctions", "StartExecution", "ServiceUnavailable", times=2)
    answer = emsp.send("START_SESSION", start_request(), cpo=FAKE)
    assert answer.status == 201, answer.json
    description, history = emsp.wait_execution_done(answer.json["command_id"], timeout=60)
    assert description["status"] == "SUCCEEDED"
    record = emsp.record(answer.json["command_id"])
    assert record.status.value == "TIMED_OUT"  # the timer ran: nothing is left PENDING without one
    assert len(emsp.fake_posts("START_SESSION")) >= 1


def test_the_bus_failing_delays_the_event_but_does_not_lose_it(request, emsp):
    request.node._expected_errors = True
    emsp.fake_cpo.script.append(accepted(timeout=60))
    answer = emsp.send("START_SESSION", start_request(), cpo=FAKE)
    record = emsp.record(answer.json["command_id"])
    emsp.local.inject_fault("events", "PutEvents", "InternalException", times=2)
    assert emsp.post_result(record.response_url, {"result": "ACCEPTED"}, FAKE_TOKEN).json["status_code"] == 1000
    events = emsp.wait_events("Command Completed", record.command_id, timeout=30)
    assert len(events) >= 1 and events[0]["detail"]["outcome"] == "ACCEPTED"


def test_dynamodb_failing_while_a_result_arrives_answers_3000_and_the_retry_is_recorded(emsp):
    emsp.fake_cpo.script.append(accepted(timeout=60))
    answer = emsp.send("START_SESSION", start_request(), cpo=FAKE)
    record = emsp.wait_for(lambda: (r := emsp.record(answer.json["command_id"])) and r.task_token and r)
    # The result's transition and its event are one transaction: it fails as a whole.
    emsp.local.inject_fault("dynamodb", "TransactWriteItems", BROKEN, times=1)
    failed = emsp.post_result(record.response_url, {"result": "ACCEPTED"}, FAKE_TOKEN)
    assert (failed.status, failed.json["status_code"]) == (200, 3000)
    assert emsp.record(record.command_id).status.value == "PENDING"  # nothing half-recorded
    time.sleep(0.1)
    again = emsp.post_result(record.response_url, {"result": "ACCEPTED"}, FAKE_TOKEN)
    assert again.json["status_code"] == 1000
    assert emsp.wait_status(record.command_id, ("RESULT_RECEIVED",)).result == {"result": "ACCEPTED"}
