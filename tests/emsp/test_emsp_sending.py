"""Our eMSP side sending to a scripted CPO: what each answer leads to, and what is refused before sending."""

import base64
import time

import pytest
from emsp_support import FAKE_CPOS, GRACE, TIMEOUT, accepted, envelope, start_request, token_for

from ocpi_commands_dev.emulation.receiver import Reply

FAKE = ("DE", "FAK")


def test_the_command_goes_out_with_our_token_ids_and_routing_headers(emsp):
    emsp.fake_cpo.script.append(accepted())
    answer = emsp.send("START_SESSION", start_request(), cpo=FAKE, headers={"X-Correlation-ID": "corr-9"})
    assert answer.status == 201, answer.json
    (post,) = emsp.fake_posts("START_SESSION")
    _, _, _, outbound = FAKE_CPOS["2.2.1"]
    assert post.header("Authorization") == "Token " + base64.b64encode(outbound.encode()).decode()
    assert post.header("X-Correlation-ID") == "corr-9" and post.header("X-Request-ID")
    assert (post.header("OCPI-from-country-code"), post.header("OCPI-from-party-id")) == ("NL", "EMS")
    assert (post.header("OCPI-to-country-code"), post.header("OCPI-to-party-id")) == ("DE", "FAK")
    body = post.json
    assert body["response_url"] == f"{emsp.api_url}/ocpi/emsp/2.2.1/commands/START_SESSION/{answer.json['command_id']}"
    assert body["token"]["uid"] == "EMS-UID-1" and body["location_id"] == "LOC1"
    emsp.fake_cpo.received.clear()


def test_a_cpo_that_never_posts_a_result_times_out_at_timeout_plus_grace_and_a_late_result_is_kept(emsp):
    emsp.fake_cpo.script.append(accepted(timeout=TIMEOUT))
    answer = emsp.send("START_SESSION", start_request(), cpo=FAKE)
    command_id = answer.json["command_id"]
    record = emsp.wait_status(command_id, ("TIMED_OUT", "RESULT_RECEIVED"), timeout=TIMEOUT + GRACE + 10)
    assert record.status.value == "TIMED_OUT" and record.outcome == "TIMEOUT"
    waited = (record.history[-1].at - record.answered_at).total_seconds()
    assert waited >= TIMEOUT + GRACE - 1, waited  # never before the timeout plus the grace (moto's whole seconds)
    assert "timeout" in record.reason
    (completed,) = emsp.wait_events("Command Completed", command_id)
    assert (completed["detail"]["status"], completed["detail"]["outcome"]) == ("TIMED_OUT", "TIMEOUT")
    description, history = emsp.wait_execution_done(command_id)
    assert emsp.states_entered(history)[-1] == "ResultTimeout"

    # The CPO's result after our timeout: answered 1000, recorded as late and announced.
    cpo_token = FAKE_CPOS["2.2.1"][2]
    late = emsp.post_result(record.response_url, {"result": "ACCEPTED"}, cpo_token)
    assert late.status == 200 and late.json["status_code"] == 1000
    again = emsp.post_result(record.response_url, {"result": "ACCEPTED"}, cpo_token)
    assert again.status == 200 and again.json["status_code"] == 1000
    record = emsp.record(command_id)
    assert record.status.value == "TIMED_OUT"  # the outcome does not change
    assert [entry["kind"] for entry in record.late_results] == ["after_timed_out"]
    (event,) = emsp.wait_events("Command Result Late", command_id)
    assert event["detail"]["late_result"] == {"result": "ACCEPTED"}
    assert "session may be running" in event["detail"]["note"]
    assert len(emsp.events("Command Result Late", command_id)) == 1  # the repeat changed nothing


@pytest.mark.parametrize("result", ["REJECTED", "NOT_SUPPORTED", "UNKNOWN_SESSION"])
def test_a_cpo_answer_other_than_accepted_is_final_at_once(emsp, result):
    emsp.fake_cpo.script.append(
        Reply(200, envelope({"result": result, "timeout": 30, "message": [{"language": "en", "text": "no"}]}))
    )
    answer = emsp.send("STOP_SESSION", {"session_id": "S1"}, cpo=FAKE)
    assert answer.status == 201, answer.json
    assert (answer.json["status"], answer.json["outcome"]) == ("NOT_ACCEPTED", result)
    assert answer.json["reason"] == f"The CPO answered {result}: no"
    description, history = emsp.wait_execution_done(answer.json["command_id"])
    assert "WaitForResult" not in emsp.states_entered(history)
    (event,) = emsp.wait_events("Command Completed", answer.json["command_id"])
    assert event["detail"]["outcome"] == result


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (Reply(200, envelope({"result": "REJECTED", "timeout": 0}, 2001, "Invalid or missing parameters")), 2001),
        (Reply(200, envelope(None, 2003, "Unknown Location")), 2003),
        (Reply(500, envelope(None, 3000, "Generic server error")), 3000),
        (Reply(401, envelope(None, 2000, "Unknown token")), 2000),
    ],
    ids=["2001", "2003", "3000-http-500", "401"],
)
def test_an_ocpi_error_is_not_accepted_with_its_status_code(emsp, reply, code):
    emsp.fake_cpo.script.append(reply)
    answer = emsp.send("START_SESSION", start_request(), cpo=FAKE)
    assert answer.status == 201, answer.json
    assert (answer.json["status"], answer.json["outcome"], answer.json["ocpi_status_code"]) == (
        "NOT_ACCEPTED",
        "OCPI_ERROR",
        code,
    )
    assert str(code) in answer.json["reason"] and str(reply.status) in answer.json["reason"]


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (Reply(200, b"\x00\xffgarbage"), "not JSON"),
        (Reply(200, b"<html><body>Welcome</body></html>"), "not JSON"),
        (Reply(500, b"<html>Internal Server Error</html>"), "HTTP 500"),
        (Reply(302, b""), "redirects are not followed"),
        (Reply(200, envelope()), "without a CommandResponse"),
        (Reply(200, envelope({"result": "MAYBE"})), "without a CommandResponse"),
        (Reply(200, b'{"data": {"result": "ACCEPTED"}}'), "not an OCPI envelope"),
        (Reply(close=True), "No OCPI answer"),
        (Reply(200, envelope({"result": "ACCEPTED", "timeout": 5}), delay=3.0), "ReadTimeout"),
    ],
    ids=[
        "garbage",
        "html",
        "html-500",
        "redirect",
        "no-data",
        "unknown-result",
        "no-status-code",
        "closed",
        "read-timeout",
    ],
)
def test_no_usable_answer_is_send_failed_502_and_the_command_is_sent_once(emsp, reply, words):
    emsp.fake_cpo.received.clear()
    emsp.fake_cpo.script.append(reply)
    answer = emsp.send("START_SESSION", start_request(), cpo=FAKE)
    assert answer.status == 502, answer.json
    assert (answer.json["status"], answer.json["error"]) == ("SEND_FAILED", "send_failed")
    assert words in answer.json["message"], answer.json["message"]
    command_id = answer.json["command_id"]
    assert emsp.record(command_id).status.value == "SEND_FAILED"
    (event,) = emsp.wait_events("Command Completed", command_id)
    assert event["detail"]["outcome"] == "SEND_FAILED" and words in event["detail"]["reason"]
    description, history = emsp.wait_execution_done(command_id)
    assert "WaitForResult" not in emsp.states_entered(history)
    time.sleep(0.2)
    assert len(emsp.fake_posts("START_SESSION")) == 1  # never sent again


def test_the_same_idempotency_key_and_body_return_the_same_command_without_a_second_post(emsp):
    emsp.fake_cpo.received.clear()
    emsp.fake_cpo.script.append(accepted(timeout=30))
    first = emsp.send("START_SESSION", start_request(), cpo=FAKE, headers={"Idempotency-Key": "backend-key-1"})
    assert first.status == 201
    second = emsp.send("START_SESSION", start_request(), cpo=FAKE, headers={"Idempotency-Key": "backend-key-1"})
    assert second.status == 200 and second.json["replayed"] is True
    assert second.json["command_id"] == first.json["command_id"]
    assert second.json["response"] == first.json["response"]
    other = emsp.send(
        "START_SESSION", start_request(evse_uid="3257"), cpo=FAKE, headers={"Idempotency-Key": "backend-key-1"}
    )
    assert other.status == 409 and other.json["error"] == "idempotency_key_reused"
    assert len(emsp.fake_posts("START_SESSION")) == 1
    # Resolve it, so that no wait outlives the test.
    emsp.post_result(emsp.record(first.json["command_id"]).response_url, {"result": "ACCEPTED"}, FAKE_CPOS["2.2.1"][2])


@pytest.mark.parametrize(
    ("command", "body", "status", "error", "words"),
    [
        (
            "START_SESSIONS",
            {"cpo": {"country_code": "DE", "party_id": "FAK"}, "request": {}},
            400,
            "unknown_command",
            "Unknown command",
        ),
        (
            "START_SESSION",
            {"cpo": {"country_code": "XX", "party_id": "NOP"}, "request": start_request()},
            404,
            "unknown_cpo",
            "XX*NOP",
        ),
        (
            "START_SESSION",
            {"cpo": {"country_code": "DE", "party_id": "TNM"}, "request": start_request()},
            409,
            "not_a_cpo",
            "EMSP",
        ),
        (
            "START_SESSION",
            {"cpo": {"country_code": "DE", "party_id": "FAK"}, "request": {"token": token_for()}},
            400,
            "invalid_request",
            "location_id",
        ),
        (
            "START_SESSION",
            {
                "cpo": {"country_code": "DE", "party_id": "FAK"},
                "request": {**start_request(), "response_url": "https://x.invalid/r"},
            },
            400,
            "invalid_request",
            "response_url",
        ),
        (
            "START_SESSION",
            {"cpo": {"country_code": "DE", "party_id": "FAK"}, "request": {**start_request(), "evse_id": "x"}},
            400,
            "invalid_request",
            "evse_id",
        ),
        (
            "START_SESSION",
            {"cpo": {"country_code": "DE", "party_id": "FAK"}, "request": start_request(), "extra": 1},
            400,
            "invalid_request",
            "extra",
        ),
        (
            "START_SESSION",
            {"cpo": {"country_code": "DEU", "party_id": "FAK"}, "request": start_request()},
            400,
            "invalid_request",
            "country_code",
        ),
        ("START_SESSION", {"cpo": {"country_code": "DE", "party_id": "FAK"}}, 400, "invalid_request", "request"),
        (
            "START_SESSION",
            {
                "cpo": {"country_code": "DE", "party_id": "FAK"},
                "emsp": {"country_code": "DE", "party_id": "TNM"},
                "request": start_request(),
            },
            400,
            "unknown_emsp",
            "DE*TNM",
        ),
        (
            "CANCEL_RESERVATION",
            {"cpo": {"country_code": "DE", "party_id": "OLD"}, "request": {"reservation_id": "1"}},
            400,
            "not_in_version",
            "2.1.1",
        ),
    ],
    ids=[
        "unknown-command",
        "unknown-cpo",
        "not-a-cpo",
        "missing-field",
        "response-url-given",
        "unknown-request-field",
        "unknown-field",
        "bad-party",
        "no-request",
        "not-our-emsp",
        "not-in-version",
    ],
)
def test_what_cannot_be_sent_is_refused_before_anything_is_sent(emsp, command, body, status, error, words):
    emsp.fake_cpo.received.clear()
    from emsp_support import http

    answer = http("POST", f"{emsp.api_url}/emsp/v1/commands/{command}", body)
    assert (answer.status, answer.json["error"]) == (status, error), answer.json
    assert words in answer.json["message"], answer.json
    assert emsp.fake_cpo.received == []


def test_bodies_methods_and_ids_that_are_not_the_api(emsp):
    from emsp_support import http

    url = f"{emsp.api_url}/emsp/v1/commands"
    assert http("POST", f"{url}/START_SESSION", raw=b"{not json").json["error"] == "not_json"
    assert http("POST", f"{url}/START_SESSION", raw=b"[1]").json["error"] == "not_json"
    assert http("POST", f"{url}/START_SESSION", raw=b'{"x": NaN}').status == 400
    assert http("POST", f"{url}/START_SESSION", raw=b"{" + b'"a":"' + b"x" * 70000 + b'"}').status == 413
    put = http("PUT", f"{url}/START_SESSION", {})
    assert put.status == 405 and put.headers["allow"] == "GET, POST"
    assert http("GET", f"{url}/{'0' * 32}").status == 404
    assert http("GET", f"{url}/not-an-id").json["error"] == "unknown_command_id"
    key = http(
        "POST",
        f"{url}/START_SESSION",
        {"cpo": {"country_code": "DE", "party_id": "FAK"}, "request": start_request()},
        {"Idempotency-Key": "k" * 300},
    )
    assert (key.status, key.json["error"]) == (400, "invalid_idempotency_key")


def test_only_iam_callers_or_loopback_clients_may_use_the_api(emsp):
    import json

    from ocpi_commands.handlers import emsp_api
    from ocpi_commands_dev.emulation.apigw import build_event

    path = "/emsp/v1/commands/START_SESSION"
    body = json.dumps({"cpo": {"country_code": "XX", "party_id": "NOP"}, "request": {}})
    outside = build_event("POST", path, {}, body, resource="/emsp/v1/commands/{command}", source_ip="203.0.113.9")
    answer = emsp_api.handler(outside, None)
    assert answer["statusCode"] == 403 and json.loads(answer["body"])["error"] == "forbidden"
    signed = build_event("POST", path, {}, body, resource="/emsp/v1/commands/{command}", source_ip="203.0.113.9")
    signed["requestContext"]["identity"]["userArn"] = "arn:aws:iam::123456789012:role/emsp-backend"
    assert emsp_api.handler(signed, None)["statusCode"] == 404  # past the check: unknown CPO


def test_a_cpo_that_is_not_ready_is_refused(emsp):
    from ocpi_commands.domain.model import PartyRef

    repository = emsp.local_repository()
    fake = repository.get_party(PartyRef(country_code="DE", party_id="FAK"))
    try:
        repository.put_party(fake.model_copy(update={"endpoints": ()}))
        answer = emsp.send("START_SESSION", start_request(), cpo=FAKE)
        assert (answer.status, answer.json["error"]) == (409, "no_commands_endpoint")
        repository.put_party(fake.model_copy(update={"enabled": False}))
        answer = emsp.send("START_SESSION", start_request(), cpo=FAKE)
        assert (answer.status, answer.json["error"]) == (409, "cpo_not_registered")
    finally:
        repository.put_party(fake)
