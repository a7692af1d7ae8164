"""Reservations (CPO-unique ids, replacement, CPO-side cancellation, expiry) and sessions started by command."""

import base64
import time
from datetime import UTC, datetime, timedelta

from helpers import HUB_TOKEN, OTHER_TOKEN, ocpi_token
from ocpi_commands.domain.model import PartyRef, Reservation

TNM = PartyRef(country_code="DE", party_id="TNM")


def test_reservation_lifecycle_replace_and_cpo_cancel(stack):
    first_url, second_url = stack.url("rsv/1-first"), stack.url("rsv/1-second")
    assert stack.reserve_now(first_url, "RSV-A").result == "ACCEPTED"
    first = stack.wait_delivered(first_url)
    assert first.result.value == "ACCEPTED"
    reservation = stack.repository.get_reservation(TNM, "RSV-A")
    assert reservation.response_url == first_url and reservation.status.value == "ACTIVE"
    cp_id = reservation.cp_reservation_id
    assert isinstance(cp_id, int) and cp_id > 0

    # The charge point never sees the eMSP's reservation_id, only the CPO-unique one.
    detail = next(d for d in stack.dispatched_events() if d["command_id"] == first.command_id)
    assert detail["reservation"]["cp_reservation_id"] == cp_id
    assert "RSV-A" not in str(detail)

    # Same reservation_id at the same location: the reservation is replaced, the charge point id kept.
    assert stack.reserve_now(second_url, "RSV-A", minutes=90).result == "ACCEPTED"
    second = stack.wait_delivered(second_url)
    assert second.cp_reservation_id == cp_id
    replaced = stack.repository.get_reservation(TNM, "RSV-A")
    assert replaced.response_url == second_url and replaced.command_id == second.command_id
    assert replaced.expiry_date > reservation.expiry_date

    # The CPO cancels it (broken charger): CANCELED_RESERVATION goes to the RESERVE_NOW's response_url, once.
    stack.publish(
        "Reservation Canceled",
        {"cp_reservation_id": cp_id, "message": [{"language": "en", "text": "Charger out of order"}]},
    )
    posts = stack.wait_posts(second_url, count=2)
    assert [p.json for p in posts] == [
        {"result": "ACCEPTED"},
        {"result": "CANCELED_RESERVATION", "message": [{"language": "en", "text": "Charger out of order"}]},
    ]
    notice = posts[1]
    assert notice.header("X-Correlation-ID") == second.correlation_id
    assert (notice.header("OCPI-to-country-code"), notice.header("OCPI-to-party-id")) == ("DE", "TNM")
    stack.publish("Reservation Canceled", {"cp_reservation_id": cp_id})  # a repeated cancellation
    time.sleep(1.0)
    assert len(stack.posts(second_url)) == 2
    assert stack.repository.get_reservation(TNM, "RSV-A").status.value == "CANCELED"
    # A cancelled reservation is unknown to CANCEL_RESERVATION.
    answer = stack.api.command("CANCEL_RESERVATION", {"response_url": stack.url(), "reservation_id": "RSV-A"})
    assert answer.result == "REJECTED"


def test_cancel_reservation_by_the_emsp(stack):
    reserve_url, cancel_url = stack.url("rsv/2-reserve"), stack.url("rsv/2-cancel")
    stack.reserve_now(reserve_url, "RSV-B")
    stack.wait_delivered(reserve_url)
    cp_id = stack.repository.get_reservation(TNM, "RSV-B").cp_reservation_id
    answer = stack.api.command("CANCEL_RESERVATION", {"response_url": cancel_url, "reservation_id": "rsv-b"})
    assert answer.result == "ACCEPTED"  # CiString: case-insensitive
    command = stack.wait_delivered(cancel_url)
    assert command.result.value == "ACCEPTED"
    detail = next(d for d in stack.dispatched_events() if d["command_id"] == command.command_id)
    assert detail["command_type"] == "CANCEL_RESERVATION" and detail["reservation"] == {"cp_reservation_id": cp_id}
    assert stack.repository.get_reservation(TNM, "RSV-B").status.value == "CANCELED"
    # A later CPO-side cancellation has nothing to cancel.
    stack.publish("Reservation Canceled", {"cp_reservation_id": cp_id})
    time.sleep(1.0)
    assert len(stack.posts(reserve_url)) == 1


def test_cancel_of_a_reservation_the_charger_does_not_know(stack):
    reserve_url, cancel_url = stack.url("rsv/3-reserve"), stack.url("rsv/3-cancel")
    stack.reserve_now(reserve_url, "RSV-C", evse_uid="3257")
    stack.wait_delivered(reserve_url)
    stack.behaviour("3257", "accept", commands={"CANCEL_RESERVATION": {"mode": "unknown_reservation"}})
    try:
        assert (
            stack.api.command("CANCEL_RESERVATION", {"response_url": cancel_url, "reservation_id": "RSV-C"}).result
            == "ACCEPTED"
        )
        command = stack.wait_delivered(cancel_url)
    finally:
        stack.behaviour("3257", "accept")
    assert command.result.value == "UNKNOWN_RESERVATION"
    assert [p.json for p in stack.posts(cancel_url)] == [{"result": "UNKNOWN_RESERVATION"}]


def test_rejected_reservation_is_not_kept(stack):
    stack.behaviour("3257", "occupied")
    try:
        url = stack.url("rsv/4")
        stack.reserve_now(url, "RSV-D", evse_uid="3257")
        assert stack.wait_delivered(url).result.value == "EVSE_OCCUPIED"
    finally:
        stack.behaviour("3257", "accept")
    assert stack.repository.get_reservation(TNM, "RSV-D") is None


def test_expired_reservation_is_neither_cancelled_nor_known(stack):
    past = datetime.now(UTC) - timedelta(minutes=1)
    stack.repository.put_reservation(
        Reservation(
            owner=TNM,
            reservation_id="RSV-OLD",
            cp_reservation_id=777001,
            location_id="LOC1",
            evse_uid="3256",
            expiry_date=past,
            response_url=stack.url("rsv/expired"),
            command_id="old-command",
        )
    )
    stack.publish("Reservation Canceled", {"cp_reservation_id": 777001})
    time.sleep(1.0)
    assert stack.posts(stack.url("rsv/expired")) == []
    answer = stack.api.command("CANCEL_RESERVATION", {"response_url": stack.url(), "reservation_id": "RSV-OLD"})
    assert answer.result == "REJECTED"
    # Its id can be used again for a new reservation elsewhere.
    assert stack.reserve_now(stack.url(), "RSV-OLD", evse_uid="3257").result == "ACCEPTED"


def test_reservations_are_isolated_per_party(stack):
    # The reservation is recorded directly: how fast the charge point confirms it is not the subject here.
    stack.repository.put_reservation(
        Reservation(
            owner=TNM,
            reservation_id="RSV-SHARED",
            cp_reservation_id=777005,
            location_id="LOC1",
            evse_uid="3256",
            expiry_date=datetime.now(UTC) + timedelta(minutes=30),
            response_url=stack.url("rsv/5"),
            command_id="shared-command",
        )
    )
    other = stack.api.command(
        "CANCEL_RESERVATION",
        {"response_url": "http://127.0.0.1:9/x", "reservation_id": "RSV-SHARED"},
        token=OTHER_TOKEN,
    )
    assert other.result == "REJECTED"
    assert stack.repository.get_reservation(TNM, "RSV-SHARED").status.value == "ACTIVE"


def test_stop_session_of_a_session_started_by_command(stack):
    start_url, stop_url = stack.url("session/start"), stack.url("session/stop")
    stack.start_session(start_url)
    started = stack.wait_delivered(start_url)
    session_id = f"SIM-{started.command_id[:24]}"
    session = stack.wait_until(lambda: stack.repository.get_session(session_id))
    assert session.owner == TNM and session.status.value == "ACTIVE" and session.command_id == started.command_id
    answer = stack.api.command("STOP_SESSION", {"response_url": stop_url, "session_id": session_id})
    assert answer.result == "ACCEPTED"
    assert stack.wait_delivered(stop_url).result.value == "ACCEPTED"
    assert stack.wait_until(lambda: stack.repository.get_session(session_id).status.value == "COMPLETED")
    # Another party cannot stop it.
    assert (
        stack.api.command(
            "STOP_SESSION", {"response_url": stack.url(), "session_id": session_id}, token=OTHER_TOKEN
        ).result
        == "REJECTED"
    )


def test_a_hub_routed_reservation_keeps_client_and_hub_and_every_result_goes_to_the_hub(stack):
    hbe, hub = PartyRef(country_code="BE", party_id="HBE"), PartyRef(country_code="NL", party_id="HUB")
    url = stack.url("rsv/hub")
    expiry = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {
        "response_url": url,
        "token": ocpi_token("BE", "HBE"),
        "expiry_date": expiry,
        "reservation_id": "RSV-HUB",
        "location_id": "LOC1",
        "evse_uid": "3257",
    }
    from_client = {"OCPI-from-country-code": "BE", "OCPI-from-party-id": "HBE"}
    assert stack.api.command("RESERVE_NOW", body, token=HUB_TOKEN, headers=from_client).result == "ACCEPTED"
    assert stack.wait_delivered(url).result.value == "ACCEPTED"
    reservation = stack.repository.get_reservation(hbe, "RSV-HUB")
    assert (reservation.owner, reservation.partner) == (hbe, hub)

    # The CPO cancels it: CANCELED_RESERVATION goes to the hub as well, with the hub's token, for the client.
    stack.publish("Reservation Canceled", {"cp_reservation_id": reservation.cp_reservation_id})
    first, second = stack.wait_posts(url, 2)
    assert second.json["result"] == "CANCELED_RESERVATION"
    for post in (first, second):
        assert post.header("Authorization") == "Token " + base64.b64encode(b"token-issued-by-hub").decode()
        assert (post.header("OCPI-to-country-code"), post.header("OCPI-to-party-id")) == ("BE", "HBE")


def test_two_commands_naming_the_same_response_url_each_get_their_own_result(stack):
    url = stack.url("shared")
    for correlation_id in ("corr-shared-a", "corr-shared-b"):
        answer = stack.start_session(url, headers={"X-Correlation-ID": correlation_id})
        assert answer.result == "ACCEPTED", answer
    posts = stack.wait_posts(url, 2)
    assert sorted(p.header("X-Correlation-ID") for p in posts) == ["corr-shared-a", "corr-shared-b"]
    assert all(p.json["result"] for p in posts)  # whatever the charge point said, each has its own
    time.sleep(0.5)
    assert len(stack.posts(url)) == 2  # one each, no more
