"""Our eMSP side against our own CPO side, over HTTP, as `make run` wires them (NL*EMS <-> NL*CPO)."""

import time
from datetime import UTC, datetime, timedelta

from emsp_support import TIMEOUT, start_request, token_for


def _started(emsp, request=None, **kwargs):
    answer = emsp.send("START_SESSION", request or start_request(), **kwargs)
    assert answer.status == 201, answer.json
    return answer.json


def test_a_start_session_is_sent_accepted_and_its_result_resolves_it(emsp):
    sent = _started(emsp, headers={"X-Correlation-ID": "emsp-corr-1"})
    assert sent["status"] == "PENDING"
    assert sent["response"] == {"result": "ACCEPTED", "timeout": TIMEOUT}
    assert (sent["ocpi_status_code"], sent["timeout"]) == (1000, TIMEOUT)
    command_id = sent["command_id"]
    assert len(command_id) == 32 and int(command_id, 16) >= 0  # 128 bits, hex

    record = emsp.wait_status(command_id, ("RESULT_RECEIVED", "TIMED_OUT"))
    assert record.status.value == "RESULT_RECEIVED" and record.result == {"result": "ACCEPTED"}
    assert record.response_url.endswith(f"/ocpi/emsp/2.2.1/commands/START_SESSION/{command_id}")
    # Our CPO side received it from NL*EMS, with our X-Correlation-ID, and answered the response_url.
    # It records DELIVERED once our eMSP side has answered that POST: after RESULT_RECEIVED, not with it.
    deadline = time.monotonic() + 10
    while True:
        cpo_side = [
            c
            for c in (
                emsp.local_repository().get_command(i["command_id"])
                for i in emsp.local_repository()._scan_type("COMMAND")
            )
            if c and c.response_url == record.response_url
        ]
        delivered = [c.delivery_status and c.delivery_status.value for c in cpo_side] == ["DELIVERED"]
        if delivered or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(cpo_side) == 1
    assert (cpo_side[0].party.key, cpo_side[0].correlation_id) == ("NL*EMS", "emsp-corr-1")
    assert cpo_side[0].delivery_status.value == "DELIVERED"

    (event,) = emsp.wait_events("Command Completed", command_id)
    detail = event["detail"]
    assert event["source"] == "ocpi.commands"
    assert (detail["status"], detail["outcome"], detail["result"]) == (
        "RESULT_RECEIVED",
        "ACCEPTED",
        {"result": "ACCEPTED"},
    )
    assert detail["cpo"] == {"country_code": "NL", "party_id": "CPO"}
    assert detail["emsp"] == {"country_code": "NL", "party_id": "EMS"}
    assert detail["response"] == {"result": "ACCEPTED", "timeout": TIMEOUT}
    assert detail["correlation_id"] == "emsp-corr-1"

    shown = emsp.show(command_id)
    assert shown.status == 200
    assert [h["event"] for h in shown.json["history"]] == ["created", "accepted", "result"]
    assert shown.json["outcome"] == "ACCEPTED" and "task_token" not in shown.json

    description, history = emsp.wait_execution_done(command_id)
    assert description["status"] == "SUCCEEDED"
    assert emsp.states_entered(history) == ["AwaitCpoAnswer", "WasAccepted", "WaitForResult", "Done"]


def test_a_silent_charger_gets_the_cpo_sides_timeout_and_our_timer_does_not_fire(emsp):
    sent = _started(emsp, start_request(evse_uid="SILENT"))
    record = emsp.wait_status(sent["command_id"], ("RESULT_RECEIVED", "TIMED_OUT"), timeout=TIMEOUT + 10)
    assert record.status.value == "RESULT_RECEIVED" and record.result["result"] == "TIMEOUT"
    description, history = emsp.wait_execution_done(sent["command_id"])
    assert "ResultTimeout" not in emsp.states_entered(history)
    (event,) = emsp.wait_events("Command Completed", sent["command_id"])
    assert event["detail"]["outcome"] == "TIMEOUT" and event["detail"]["status"] == "RESULT_RECEIVED"


def test_stop_session_reserve_now_and_cancel_reservation_reach_our_cpo(emsp):
    sent = _started(emsp)
    assert emsp.wait_status(sent["command_id"], ("RESULT_RECEIVED",)).result["result"] == "ACCEPTED"
    session = emsp.wait_for(lambda: next(iter(emsp.sessions_of_command_response_url(sent["command_id"])), None))
    stop = emsp.send("STOP_SESSION", {"session_id": session})
    assert stop.status == 201 and stop.json["response"]["result"] == "ACCEPTED", stop.json
    assert emsp.wait_status(stop.json["command_id"], ("RESULT_RECEIVED",)).result["result"] == "ACCEPTED"

    expiry = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    reserve = emsp.send(
        "RESERVE_NOW",
        {
            "token": token_for(),
            "expiry_date": expiry,
            "reservation_id": "EMS-R1",
            "location_id": "LOC1",
            "evse_uid": "3256",
        },
    )
    assert reserve.status == 201 and reserve.json["response"]["result"] == "ACCEPTED", reserve.json
    assert emsp.wait_status(reserve.json["command_id"], ("RESULT_RECEIVED",)).result["result"] == "ACCEPTED"
    cancel = emsp.send("CANCEL_RESERVATION", {"reservation_id": "EMS-R1"})
    assert cancel.status == 201 and cancel.json["response"]["result"] == "ACCEPTED", cancel.json
    assert emsp.wait_status(cancel.json["command_id"], ("RESULT_RECEIVED",)).result["result"] == "ACCEPTED"


def test_a_command_our_cpo_rejects_is_final_at_once_without_a_wait(emsp):
    # NL*EMS may not UNLOCK_CONNECTOR (opt-in permission): our CPO side answers REJECTED.
    answer = emsp.send("UNLOCK_CONNECTOR", {"location_id": "LOC1", "evse_uid": "3256", "connector_id": "1"})
    assert answer.status == 201, answer.json
    assert (answer.json["status"], answer.json["outcome"]) == ("NOT_ACCEPTED", "REJECTED")
    assert "REJECTED" in answer.json["reason"]
    description, history = emsp.wait_execution_done(answer.json["command_id"])
    assert emsp.states_entered(history) == ["AwaitCpoAnswer", "WasAccepted", "Done"]
    (event,) = emsp.wait_events("Command Completed", answer.json["command_id"])
    assert event["detail"]["outcome"] == "REJECTED"
