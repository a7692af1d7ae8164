"""Our eMSP side against extrawest-ocpi's CPO app: the handshake, every command sent, its results kept.

extrawest's CPO app answers each command with its CommandResponse and, when the test's charger logic
(the partner's in-memory store, ``auto_result``) has an outcome, its poller POSTs the CommandResult
to our response_url with the token we gave it. Nothing here is ours but the charger logic.
"""

import time
from datetime import UTC, datetime, timedelta

from test_credentials_interop import connect


def _token_221(party: str) -> dict:
    return {
        "country_code": "NL",
        "party_id": "EMS",
        "uid": f"{party}-UID-1",
        "type": "APP_USER",
        "contract_id": "NL-EMS-C00001-X",
        "issuer": "Our eMSP",
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": "2026-01-01T00:00:00Z",
    }


def _token_211() -> dict:
    return {
        "uid": "EMS-UID-211",
        "type": "RFID",
        "auth_id": "NL-EMS-C00002",
        "issuer": "Our eMSP",
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": "2026-01-01T00:00:00Z",
    }


def _send(ours, party: str, command: str, request: dict) -> dict:
    status, sent = ours.request(
        "POST", f"/emsp/v1/commands/{command}", {"cpo": {"country_code": "NL", "party_id": party}, "request": request}
    )
    assert status in (201, 502), (command, status, sent)
    return sent


def _outcome(ours, command_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, shown = ours.request("GET", f"/emsp/v1/commands/{command_id}")
        assert status == 200, shown
        if shown["status"] != "PENDING" or time.monotonic() > deadline:
            return shown
        time.sleep(0.3)


def test_our_emsp_sends_every_2_2_1_command_to_its_cpo_app_and_keeps_its_results(ours, partners):
    partner = partners("CPO", "2.2.1", "XWS")
    _, output = connect(ours, partner, "--partner-role", "CPO")
    assert "Connected to NL*XWS (CPO) on OCPI 2.2.1" in output, output
    partner.admin("PUT", "/config", {"auto_result": "ACCEPTED", "command_timeout": 30})
    expiry = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    requests = {
        "START_SESSION": {"token": _token_221("XWS"), "location_id": "LOC1", "evse_uid": "3256"},
        "STOP_SESSION": {"session_id": "SESSION-1"},
        "RESERVE_NOW": {
            "token": _token_221("XWS"),
            "expiry_date": expiry,
            "reservation_id": "RES-1",
            "location_id": "LOC1",
            "evse_uid": "3256",
        },
        "CANCEL_RESERVATION": {"reservation_id": "RES-1"},
        "UNLOCK_CONNECTOR": {"location_id": "LOC1", "evse_uid": "3256", "connector_id": "1"},
    }
    sent = {command: _send(ours, "XWS", command, request) for command, request in requests.items()}
    for command, answer in sent.items():
        assert (answer["status"], answer["response"]["result"]) == ("PENDING", "ACCEPTED"), (command, answer)
        assert answer["timeout"] == 30, answer
    for command, answer in sent.items():
        shown = _outcome(ours, answer["command_id"])
        assert (shown["status"], shown["outcome"]) == ("RESULT_RECEIVED", "ACCEPTED"), (command, shown)
        assert [h["event"] for h in shown["history"]] == ["created", "accepted", "result"]
    # extrawest parsed every body with its own 2.2.1 models and POSTed each result to its response_url.
    received = {c["command"]: c for c in partner.state()["commands"]}
    assert set(received) == set(requests)
    for command, record in received.items():
        assert (
            record["response_url"] == f"{ours.api_url}/ocpi/emsp/2.2.1/commands/{command}/{sent[command]['command_id']}"
        )


def test_its_cpo_app_rejecting_is_final_at_once(ours, partners):
    partner = partners("CPO", "2.2.1", "XWR")
    connect(ours, partner, "--partner-role", "CPO")
    partner.admin("PUT", "/config", {"command_response": "REJECTED"})
    answer = _send(ours, "XWR", "STOP_SESSION", {"session_id": "SESSION-2"})
    assert (answer["status"], answer["outcome"]) == ("NOT_ACCEPTED", "REJECTED"), answer


def test_our_emsp_speaks_2_1_1_with_its_2_1_1_cpo_app(ours, partners):
    partner = partners("CPO", "2.1.1", "XWO")
    _, output = connect(ours, partner, "--partner-role", "CPO")
    assert "2.1.1" in output
    partner.admin("PUT", "/config", {"auto_result": "ACCEPTED"})
    expiry = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    requests = {
        "START_SESSION": {"token": _token_211(), "location_id": "LOC1", "evse_uid": "3256"},
        "STOP_SESSION": {"session_id": "SESSION-3"},
        "RESERVE_NOW": {
            "token": _token_211(),
            "expiry_date": expiry,
            "reservation_id": 7,
            "location_id": "LOC1",
            "evse_uid": "3256",
        },
        "UNLOCK_CONNECTOR": {"location_id": "LOC1", "evse_uid": "3256", "connector_id": "1"},
    }
    sent = {command: _send(ours, "XWO", command, request) for command, request in requests.items()}
    for command, answer in sent.items():
        assert (answer["status"], answer["response"]["result"]) == ("PENDING", "ACCEPTED"), (command, answer)
    for command, answer in sent.items():
        shown = _outcome(ours, answer["command_id"])
        # 2.1.1 POSTs the CommandResponse object as the result.
        assert (shown["status"], shown["result"]) == ("RESULT_RECEIVED", {"result": "ACCEPTED"}), (command, shown)
    status, refused = ours.request(
        "POST",
        "/emsp/v1/commands/CANCEL_RESERVATION",
        {"cpo": {"country_code": "NL", "party_id": "XWO"}, "request": {"reservation_id": "7"}},
    )
    assert (status, refused["error"]) == (400, "not_in_version")
