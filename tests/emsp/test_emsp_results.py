"""CommandResults at our response_urls: who may post them, what they must be, what each one changes."""

import base64

import pytest
from emsp_support import FAKE_CPOS, accepted, b64, envelope, http, start_request

from ocpi_commands_dev.emulation.receiver import Reply

FAKE = ("DE", "FAK")
FAKE_TOKEN = FAKE_CPOS["2.2.1"][2]


@pytest.fixture
def pending(emsp):
    """A START_SESSION the fake CPO ACCEPTED with a long timeout: waiting for its result."""
    emsp.fake_cpo.script.append(accepted(timeout=60))
    answer = emsp.send("START_SESSION", start_request(), cpo=FAKE)
    assert answer.status == 201 and answer.json["status"] == "PENDING", answer.json
    record = emsp.record(answer.json["command_id"])
    yield record
    current = emsp.record(record.command_id)
    if current.status.value == "PENDING":  # end the wait
        emsp.post_result(record.response_url, {"result": "FAILED"}, FAKE_TOKEN)


def test_the_first_result_resolves_a_repeat_changes_nothing_and_another_is_late(emsp, pending):
    url = pending.response_url
    first = emsp.post_result(
        url, {"result": "EVSE_OCCUPIED", "message": [{"language": "en", "text": "busy"}]}, FAKE_TOKEN
    )
    assert (first.status, first.json["status_code"]) == (200, 1000)
    assert "data" not in first.json
    assert (first.headers["ocpi-from-country-code"], first.headers["ocpi-from-party-id"]) == ("NL", "EMS")
    assert (first.headers["ocpi-to-country-code"], first.headers["ocpi-to-party-id"]) == ("DE", "FAK")
    record = emsp.wait_status(pending.command_id, ("RESULT_RECEIVED",))
    assert record.result == {"result": "EVSE_OCCUPIED", "message": [{"language": "en", "text": "busy"}]}
    assert record.outcome == "EVSE_OCCUPIED"
    history = len(record.history)

    repeat = emsp.post_result(
        url, {"result": "EVSE_OCCUPIED", "message": [{"language": "en", "text": "busy"}]}, FAKE_TOKEN
    )
    assert repeat.json["status_code"] == 1000
    assert len(emsp.record(pending.command_id).history) == history and not emsp.record(pending.command_id).late_results

    other = emsp.post_result(url, {"result": "ACCEPTED"}, FAKE_TOKEN)
    assert other.json["status_code"] == 1000
    record = emsp.record(pending.command_id)
    assert record.result["result"] == "EVSE_OCCUPIED"  # the first one stands
    assert [e["kind"] for e in record.late_results] == ["after_result"]
    assert len(emsp.wait_events("Command Completed", pending.command_id)) == 1
    (late,) = emsp.wait_events("Command Result Late", pending.command_id)
    assert late["detail"]["kind"] == "after_result"
    description, history_events = emsp.wait_execution_done(pending.command_id)
    assert emsp.states_entered(history_events)[-1] == "Done"


def test_who_may_post_where(emsp, pending):
    url = pending.response_url
    unknown = emsp.post_result(url, {"result": "ACCEPTED"}, "not-a-token")
    assert (unknown.status, unknown.json["status_code"]) == (401, 2000)
    other_cpo = emsp.post_result(url, {"result": "ACCEPTED"}, FAKE_CPOS["2.3.0"][2])  # BR*FAK's token
    assert (other_cpo.status, other_cpo.json["status_code"]) == (404, 2001)
    an_emsp = emsp.post_result(url, {"result": "ACCEPTED"}, "demo-emsp-token-c")  # DE*TNM, an eMSP partner
    assert an_emsp.status == 404
    unknown_uid = emsp.post_result(url.rsplit("/", 1)[0] + "/" + "f" * 32, {"result": "ACCEPTED"}, FAKE_TOKEN)
    assert (unknown_uid.status, unknown_uid.json["status_code"]) == (404, 2001)
    other_type = emsp.post_result(url.replace("/START_SESSION/", "/STOP_SESSION/"), {"result": "ACCEPTED"}, FAKE_TOKEN)
    assert (other_type.status, other_type.json["status_code"]) == (404, 2001)
    other_version = emsp.post_result(url.replace("/2.2.1/", "/2.3.0/"), {"result": "ACCEPTED"}, FAKE_TOKEN)
    assert other_version.status == 404
    elsewhere = emsp.post_result(
        url, {"result": "ACCEPTED"}, FAKE_TOKEN, **{"OCPI-to-country-code": "DE", "OCPI-to-party-id": "TNM"}
    )
    assert (elsewhere.status, elsewhere.json["status_code"]) == (200, 2001)
    get = http("GET", url, headers={"Authorization": b64(FAKE_TOKEN)})
    assert get.status == 405
    record = emsp.record(pending.command_id)
    assert record.status.value == "PENDING" and record.result is None  # none of these changed anything


@pytest.mark.parametrize(
    ("raw", "http_status"),
    [
        (b'{"result": "SOMETIMES"}', 200),
        (b'{"message": []}', 200),
        (b'[{"result": "ACCEPTED"}]', 200),
        (b"", 200),
        (b"{not json", 400),
    ],
    ids=["unknown-result", "no-result", "a-list", "empty", "not-json"],
)
def test_a_body_that_is_not_a_command_result_is_refused_and_changes_nothing(emsp, pending, raw, http_status):
    answer = http("POST", pending.response_url, raw=raw, headers={"Authorization": b64(FAKE_TOKEN)})
    assert (answer.status, answer.json["status_code"]) == (http_status, 2001), answer.json
    assert emsp.record(pending.command_id).status.value == "PENDING"


def test_a_result_recorded_before_the_cpos_answer_keeps_both(emsp):
    """The CPO may post its result before our request has recorded its answer: the result resolves the
    command, and the answer is kept with it (no second transition, no wait)."""
    from ocpi_commands import composition
    from ocpi_commands.domain.credentials import OcpiReply
    from ocpi_commands.domain.model import PartyRef
    from ocpi_commands.domain.sending import SendRequest
    from ocpi_commands.ocpi.vocabulary import CommandType

    service = composition.emsp_service()
    lifecycle = composition.sent_lifecycle()
    party = emsp.local_repository().get_party(PartyRef(country_code="DE", party_id="FAK"))
    posted = {}

    class ResultFirst:
        """The CPO's POST of the result arrives while its answer to our POST is on its way."""

        def call(self, method, url, authorization, body, headers):
            posted["result"] = lifecycle.receive_result(
                party, "2.2.1", "START_SESSION", body["response_url"].rsplit("/", 1)[1], {"result": "ACCEPTED"}, None
            )
            return OcpiReply(200, 1000, {"result": "ACCEPTED", "timeout": 30})

    saved = service.client
    service.client = ResultFirst()
    try:
        outcome = service.send(
            SendRequest(CommandType.START_SESSION, PartyRef(country_code="DE", party_id="FAK"), start_request()),
            emsp.api_url,
        )
    finally:
        service.client = saved
    assert posted["result"] == "recorded"
    record = emsp.record(outcome.command.command_id)
    assert record.status.value == "RESULT_RECEIVED" and record.answer.response["result"] == "ACCEPTED"
    assert [h.event for h in record.history] == ["created", "result", "answer_after_outcome"]
    description, history = emsp.wait_execution_done(record.command_id)
    assert emsp.states_entered(history) == ["AwaitCpoAnswer", "WasAccepted", "Done"]


def test_the_2_1_1_cpo_gets_the_2_1_1_command_and_posts_a_command_response(emsp):
    emsp.fake_cpo.script.append(
        Reply(200, b'{"status_code": 1000, "data": {"result": "ACCEPTED"}, "timestamp": "2026-12-01T00:00:00Z"}')
    )
    request = {
        "token": {
            "uid": "EMS-UID-1",
            "type": "RFID",
            "auth_id": "NL-EMS-C00001",
            "issuer": "This platform's eMSP",
            "valid": True,
            "whitelist": "ALLOWED",
            "last_updated": "2026-01-01T00:00:00Z",
        },
        "location_id": "LOC1",
        "evse_uid": "3256",
    }
    answer = emsp.send("START_SESSION", request, cpo=("DE", "OLD"))
    assert answer.status == 201, answer.json
    # 2.1.1 announces no timeout: ours for the command type (clamped) is waited for.
    assert answer.json["status"] == "PENDING" and answer.json["timeout"] == 3
    (post,) = emsp.fake_posts("START_SESSION", "2.1.1")
    _, _, token, outbound = FAKE_CPOS["2.1.1"]
    assert post.header("Authorization") == f"Token {outbound}"  # raw in 2.1.1
    assert post.header("OCPI-from-party-id") is None  # no routing headers in 2.1.1
    record = emsp.record(answer.json["command_id"])
    assert "/ocpi/emsp/2.1.1/commands/START_SESSION/" in record.response_url
    refused = emsp.post_result(record.response_url, {"result": "EVSE_OCCUPIED"}, token, raw_token=True)
    assert refused.json["status_code"] == 2001  # not a 2.1.1 CommandResponseType
    ok = emsp.post_result(record.response_url, {"result": "ACCEPTED"}, token, raw_token=True)
    assert ok.json["status_code"] == 1000 and "." not in ok.json["timestamp"]  # 2.1.1: no fractions
    assert emsp.wait_status(record.command_id, ("RESULT_RECEIVED",)).result == {"result": "ACCEPTED"}


def test_the_2_3_0_cpo_and_the_lenient_reading_of_answers(emsp):
    # A one-element list of CommandResponse (seen in the field) is read as the CommandResponse.
    emsp.fake_cpo.script.append(
        Reply(
            200,
            envelope([{"result": "ACCEPTED", "timeout": 20}]),
        )
    )
    answer = emsp.send(
        "START_SESSION", {**start_request(), "token": {**start_request()["token"], "type": "EMAID"}}, cpo=("BR", "FAK")
    )
    assert answer.status == 201 and answer.json["timeout"] == 20, answer.json
    (post,) = emsp.fake_posts("START_SESSION", "2.3.0")
    assert post.header("Authorization") == "Token " + base64.b64encode(FAKE_CPOS["2.3.0"][3].encode()).decode()
    assert post.header("OCPI-to-party-id") == "FAK"
    record = emsp.record(answer.json["command_id"])
    ok = emsp.post_result(record.response_url, {"result": "ACCEPTED", "extension": "ignored"}, FAKE_CPOS["2.3.0"][2])
    assert ok.json["status_code"] == 1000
    assert emsp.wait_status(record.command_id, ("RESULT_RECEIVED",)).result == {"result": "ACCEPTED"}
    # A bare CommandResponseType (the 2.1.1 errata's form) is read as well.
    emsp.fake_cpo.script.append(
        Reply(200, b'{"status_code": 1000, "data": "REJECTED", "timestamp": "2026-12-01T00:00:00Z"}')
    )
    bare = emsp.send("STOP_SESSION", {"session_id": "S9"}, cpo=("BR", "FAK"))
    assert (bare.json["status"], bare.json["outcome"]) == ("NOT_ACCEPTED", "REJECTED")


def _emf(captured: str) -> list[dict]:
    import json

    return [json.loads(line) for line in captured.splitlines() if line.startswith('{"_aws"')]


def _named(documents: list[dict], name: str) -> list[dict]:
    return [d for d in documents if any(m["Name"] == name for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"])]


def test_the_emsp_side_counts_sends_outcomes_latency_late_results_and_send_failures(capsys, emsp, pending):
    emsp.post_result(pending.response_url, {"result": "ACCEPTED"}, FAKE_TOKEN)
    emsp.wait_status(pending.command_id, ("RESULT_RECEIVED",))
    emsp.post_result(pending.response_url, {"result": "FAILED"}, FAKE_TOKEN)  # late: after the result
    emsp.fake_cpo.script.append(Reply(500, b"<html>oops</html>"))
    assert emsp.send("START_SESSION", start_request(), cpo=FAKE).status == 502
    documents = _emf(capsys.readouterr().out)
    for document in documents:
        dimensions = document["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]
        assert "command_id" not in dimensions and "cpo" not in dimensions
    sent = _named(documents, "CommandsSent")
    assert {(d["CommandType"], d["Response"]) for d in sent} >= {("START_SESSION", "ACCEPTED")}
    outcomes = {(d["CommandType"], d["Result"]) for d in _named(documents, "CommandOutcomes")}
    assert ("START_SESSION", "ACCEPTED") in outcomes
    [latency] = _named(documents, "ResultLatency")
    assert (
        latency["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] == "Milliseconds"
        and latency["ResultLatency"][0] >= 0
    )
    late = [(d["CommandType"], d["Kind"]) for d in _named(documents, "LateResults")]
    assert late == [("START_SESSION", "after_result")]
    assert [d["CommandType"] for d in _named(documents, "SendFailures")] == ["START_SESSION"]
