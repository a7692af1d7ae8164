"""Every CommandResultType end to end, TIMEOUT at the announced time, and what the eMSP receives."""

import base64
import time

import pytest
from lifecycle_support import TIMEOUT

from helpers import ocpi_token
from ocpi_commands.domain.model import NetworkLocation
from ocpi_commands.ocpi.v2_2_1.commands import CommandResultType

MODES = {
    "accept": "ACCEPTED",
    "reject": "REJECTED",
    "fail": "FAILED",
    "occupied": "EVSE_OCCUPIED",
    "inoperative": "EVSE_INOPERATIVE",
    "not_supported": "NOT_SUPPORTED",
    "unknown_reservation": "UNKNOWN_RESERVATION",
}


def test_charge_point_outcomes_reach_the_emsp(stack):
    """Each simulated charge point behaviour produces exactly one CommandResult with that result."""
    stack.repository.put_location(
        NetworkLocation(
            location_id="LOC-MODES",
            evses=tuple(
                {"uid": f"EVSE-{mode}", "capabilities": ["REMOTE_START_STOP_CAPABLE"], "connectors": [{"id": "1"}]}
                for mode in MODES
            ),
        )
    )
    urls = {}
    for mode in MODES:
        stack.behaviour(f"EVSE-{mode}", mode, location_id="LOC-MODES")
        urls[mode] = stack.url(f"modes/{mode}")
        body = {
            "response_url": urls[mode],
            "token": ocpi_token(),
            "location_id": "LOC-MODES",
            "evse_uid": f"EVSE-{mode}",
        }
        assert stack.api.command("START_SESSION", body).result == "ACCEPTED"
    for mode, expected in MODES.items():
        [post] = stack.wait_posts(urls[mode])
        assert post.json == {"result": expected}
        command = stack.wait_delivered(urls[mode])
        assert command.result.value == expected and command.result_source.value == "CHARGE_POINT"
        assert command.delivery_status.value == "DELIVERED" and len(command.delivery_attempts) == 1
    time.sleep(0.3)
    assert all(len(stack.posts(url)) == 1 for url in urls.values())


def test_what_the_emsp_receives(stack):
    url = stack.url("headers/8a1f0c9e") + "?ref=abc&x=%20y"  # used verbatim, query string included
    answer = stack.start_session(url, headers={"X-Request-ID": "orig-request", "X-Correlation-ID": "orig-corr"})
    assert answer.result == "ACCEPTED"
    [post] = stack.receiver.wait_for("/ocpi/emsp/2.2.1/commands/headers/8a1f0c9e?ref=abc&x=%20y")
    assert post.json == {"result": "ACCEPTED"}  # the bare CommandResult, no envelope
    assert post.header("Authorization") == "Token " + base64.b64encode(b"demo-token-issued-by-emsp").decode()
    assert post.header("Content-Type") == "application/json"
    assert post.header("X-Request-ID") not in (None, "", "orig-request")
    assert post.header("X-Correlation-ID") == "orig-corr"
    assert (post.header("OCPI-from-country-code"), post.header("OCPI-from-party-id")) == ("NL", "CPO")
    assert (post.header("OCPI-to-country-code"), post.header("OCPI-to-party-id")) == ("DE", "TNM")
    command = stack.wait_delivered(url)
    assert command.delivery_request_id == post.header("X-Request-ID")
    attempt = command.delivery_attempts[0]
    assert (attempt.outcome, attempt.http_status, attempt.ocpi_status_code) == ("delivered", 200, 1000)


def test_timeout_at_the_announced_time(stack):
    url = stack.url("silent/1")
    sent = time.monotonic()
    answer = stack.start_session(url, evse_uid="SILENT")
    assert answer.data == {"result": "ACCEPTED", "timeout": TIMEOUT}
    [post] = stack.wait_posts(url, timeout=TIMEOUT + 10)
    elapsed = post.at - (time.time() - (time.monotonic() - sent))
    assert post.json == {"result": "TIMEOUT"}
    # Within the announced timeout: the wait ends by answer_by (TIMEOUT less the margin, here 1 s),
    # in whole seconds rounded down.
    assert TIMEOUT - 1 - 1 <= elapsed < TIMEOUT, elapsed
    command = stack.wait_delivered(url)
    assert (command.result, command.result_source.value) == (CommandResultType.TIMEOUT, "TIMEOUT")


def test_dispatch_event_carries_what_a_csms_needs(stack):
    url = stack.url("dispatch/1")
    body = {
        "response_url": url,
        "token": ocpi_token(),
        "location_id": "LOC1",
        "evse_uid": "3257",
        "connector_id": "2",
        "authorization_reference": "auth-77",
    }
    assert stack.api.command("START_SESSION", body).result == "ACCEPTED"
    command = stack.wait_delivered(url)
    detail = next(d for d in stack.dispatched_events() if d["command_id"] == command.command_id)
    assert detail["command_type"] == "START_SESSION"
    assert (detail["location_id"], detail["evse_uid"], detail["connector_id"]) == ("LOC1", "3257", "2")
    assert detail["token"]["uid"] == body["token"]["uid"] and detail["token"]["type"] == "APP_USER"
    assert detail["authorization_reference"] == "auth-77"
    assert detail["party"] == {"country_code": "DE", "party_id": "TNM"}
    assert detail["timeout"] == TIMEOUT and detail["deadline"].endswith("Z")
    assert "response_url" not in detail  # the charge point backend never needs the eMSP's URL


@pytest.mark.parametrize(
    ("path", "states"),
    [
        ("accept", ["DispatchAndWaitForChargePoint"]),
        ("silent", ["DispatchAndWaitForChargePoint", "ResolveWithoutAnswer"]),
    ],
)
def test_state_transitions_per_path(stack, path, states):
    url = stack.url(f"transitions/{path}")
    stack.start_session(url, evse_uid="3256" if path == "accept" else "SILENT")
    command = stack.wait_delivered(url, timeout=TIMEOUT + 10)
    description, history = stack.wait_execution_done(command.command_id)
    assert description["status"] == "SUCCEEDED"
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]
    assert entered == states
