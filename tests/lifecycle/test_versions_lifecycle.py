"""Each partner receives its own version's CommandResult: the real ASL, handlers and a local eMSP.

2.1.1 (NL*OLD): the CommandResponse object {result}, TIMEOUT among its values, the raw token, no
routing headers; a CPO-side cancellation of a 2.1.1 reservation is recorded and not sent (2.1.1 has
no CANCELED_RESERVATION). 2.3.0 (BR*NEO): the CommandResult with a Base64 token and routing headers.
"""

import base64
import time
from datetime import UTC, datetime, timedelta

from lifecycle_support import TIMEOUT

from helpers import NEO_TOKEN, OLD_TOKEN, ocpi_token, token_211
from ocpi_commands.domain.model import PartyRef
from ocpi_commands.ocpi.vocabulary import CommandType


def send(stack, version, command, body):
    token, raw = (OLD_TOKEN, True) if version == "2.1.1" else (NEO_TOKEN, False)
    return stack.api.call("POST", f"/ocpi/cpo/{version}/commands/{command}", body, token=token, raw_token=raw)


def test_a_2_1_1_partner_gets_its_command_response_as_the_result(stack):
    url = stack.url("v211/start")
    body = {"response_url": url, "token": token_211(), "location_id": "LOC1", "evse_uid": "3256"}
    assert send(stack, "2.1.1", "START_SESSION", body).data == {"result": "ACCEPTED"}
    [post] = stack.wait_posts(url)
    assert post.json == {"result": "ACCEPTED"}
    assert post.header("Authorization") == "Token token-issued-by-old-emsp"  # raw, as the peer sends its own
    assert not [h for h in post.headers if h.startswith("ocpi-")]
    assert post.header("X-Request-ID") and post.header("X-Correlation-ID")
    assert stack.wait_delivered(url).ocpi_version == "2.1.1"


def test_a_2_1_1_charge_point_outcome_without_a_2_1_1_word_is_rejected(stack):
    url = stack.url("v211/occupied")
    stack.behaviour("3256", "occupied")
    try:
        body = {"response_url": url, "token": token_211(), "location_id": "LOC1", "evse_uid": "3256"}
        assert send(stack, "2.1.1", "START_SESSION", body).result == "ACCEPTED"
        [post] = stack.wait_posts(url)
    finally:
        stack.behaviour(None, "accept")
        stack.repository.client.delete_item(
            TableName=stack.repository.table_name, Key={"pk": {"S": "SIM#LOC1"}, "sk": {"S": "EVSE#3256"}}
        )
    assert post.json == {"result": "REJECTED"}
    assert stack.wait_delivered(url).result.value == "EVSE_OCCUPIED"  # the record keeps the charge point's word


def test_a_2_1_1_silent_charger_gives_timeout_within_the_timeout(stack):
    url = stack.url("v211/silent")
    sent = time.time()
    body = {"response_url": url, "token": token_211(), "location_id": "LOC1", "evse_uid": "SILENT"}
    assert send(stack, "2.1.1", "START_SESSION", body).result == "ACCEPTED"
    [post] = stack.wait_posts(url, timeout=TIMEOUT + 10)
    assert post.json == {"result": "TIMEOUT"}
    assert post.at - sent < TIMEOUT


def test_a_cpo_cancellation_of_a_2_1_1_reservation_is_recorded_and_not_sent(stack):
    url = stack.url("v211/reserve")
    expiry = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {
        "response_url": url,
        "token": token_211(),
        "expiry_date": expiry,
        "reservation_id": 211,
        "location_id": "LOC1",
        "evse_uid": "3256",
    }
    assert send(stack, "2.1.1", "RESERVE_NOW", body).result == "ACCEPTED"
    reserved = stack.wait_delivered(url, timeout=30)
    reservation = stack.repository.get_reservation(PartyRef(country_code="NL", party_id="OLD"), "211")
    assert reservation.ocpi_version == "2.1.1"
    stack.publish("Reservation Canceled", {"cp_reservation_id": reservation.cp_reservation_id})
    notice_id = f"{reserved.command_id}-canceled-by-cpo"
    final = ("NOT_SENT", "DELIVERED", "FAILED")  # not DELIVERING: the attempt may still be open
    notice = stack.wait_until(
        lambda: (c := stack.repository.get_command(notice_id)) and c.delivery_status in final and c, timeout=30
    )
    assert notice.delivery_status.value == "NOT_SENT" and "2.1.1" in notice.delivery_error
    assert [p.json for p in stack.posts(url)] == [{"result": "ACCEPTED"}]
    assert stack.repository.get_reservation(reservation.owner, "211").status.value == "CANCELED"


def test_a_2_3_0_partner_gets_a_command_result(stack):
    url = stack.url("v230/start")
    token = ocpi_token("BR", "NEO", type="EMAID")
    body = {"response_url": url, "token": token, "location_id": "LOC1", "evse_uid": "3256"}
    assert send(stack, "2.3.0", "START_SESSION", body).data == {"result": "ACCEPTED", "timeout": TIMEOUT}
    [post] = stack.wait_posts(url)
    assert post.json == {"result": "ACCEPTED"}
    assert post.header("Authorization") == "Token " + base64.b64encode(b"token-issued-by-neo-emsp").decode()
    assert (post.header("OCPI-to-country-code"), post.header("OCPI-to-party-id")) == ("BR", "NEO")
    detail = next(d for d in stack.dispatched_events() if d["command_id"] == stack.wait_delivered(url).command_id)
    assert detail["token"]["type"] == "EMAID"  # an OpenEnum value, passed on to the CSMS


def test_every_other_2_1_1_command_gets_its_command_response_as_the_result(stack):
    start_url, stop_url, unlock_url = stack.url("v211/s"), stack.url("v211/stop"), stack.url("v211/unlock")
    body = {"response_url": start_url, "token": token_211(), "location_id": "LOC1", "evse_uid": "3256"}
    assert send(stack, "2.1.1", "START_SESSION", body).result == "ACCEPTED"
    started = stack.wait_delivered(start_url)
    assert started.result.value == "ACCEPTED", started.result
    session_id = f"SIM-{started.command_id[:24]}"
    stack.wait_until(lambda: stack.repository.get_session(session_id))
    stop = send(stack, "2.1.1", "STOP_SESSION", {"response_url": stop_url, "session_id": session_id})
    assert stop.data == {"result": "ACCEPTED"}
    unlock = {"response_url": unlock_url, "location_id": "LOC1", "evse_uid": "3256", "connector_id": "1"}
    assert send(stack, "2.1.1", "UNLOCK_CONNECTOR", unlock).data == {"result": "ACCEPTED"}
    for url in (stop_url, unlock_url):
        [post] = stack.wait_posts(url)
        assert set(post.json) == {"result"} and post.header("Authorization") == "Token token-issued-by-old-emsp"
        assert stack.wait_delivered(url).ocpi_version == "2.1.1"


def test_every_other_2_3_0_command_gets_a_command_result(stack):
    neo = stack.repository.get_party(PartyRef(country_code="BR", party_id="NEO"))
    stack.repository.put_party(neo.model_copy(update={"permissions": frozenset(CommandType)}))
    stack.configure()  # the credentials cache forgets NEO's permissions
    expiry = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    token = ocpi_token("BR", "NEO")
    urls = {name: stack.url(f"v230/{name}") for name in ("start", "stop", "reserve", "cancel", "unlock")}
    start = {"response_url": urls["start"], "token": token, "location_id": "LOC1", "evse_uid": "3256"}
    assert send(stack, "2.3.0", "START_SESSION", start).result == "ACCEPTED"
    started = stack.wait_delivered(urls["start"])
    assert started.result.value == "ACCEPTED", started.result
    session_id = f"SIM-{started.command_id[:24]}"
    stack.wait_until(lambda: stack.repository.get_session(session_id))
    reserve = {
        "response_url": urls["reserve"],
        "token": token,
        "expiry_date": expiry,
        "reservation_id": "NEO-R1",
        "location_id": "LOC1",
        "evse_uid": "3256",
    }
    # The reservation exists once the charge point accepted it; then it can be cancelled.
    assert send(stack, "2.3.0", "RESERVE_NOW", reserve).data == {"result": "ACCEPTED", "timeout": TIMEOUT}
    assert stack.wait_delivered(urls["reserve"]).result.value == "ACCEPTED"
    commands = [
        ("STOP_SESSION", {"response_url": urls["stop"], "session_id": session_id}),
        (
            "UNLOCK_CONNECTOR",
            {"response_url": urls["unlock"], "location_id": "LOC1", "evse_uid": "3256", "connector_id": "1"},
        ),
        ("CANCEL_RESERVATION", {"response_url": urls["cancel"], "reservation_id": "NEO-R1"}),
    ]
    for command, body in commands:
        answer = send(stack, "2.3.0", command, body)
        assert answer.data == {"result": "ACCEPTED", "timeout": TIMEOUT}, (command, answer)
    for name in ("stop", "unlock", "reserve", "cancel"):
        [post] = stack.wait_posts(urls[name], timeout=TIMEOUT + 10)
        assert "result" in post.json
        assert post.header("Authorization") == "Token " + base64.b64encode(b"token-issued-by-neo-emsp").decode()
        assert (post.header("OCPI-to-country-code"), post.header("OCPI-to-party-id")) == ("BR", "NEO")
        assert stack.wait_delivered(urls[name]).ocpi_version == "2.3.0"
