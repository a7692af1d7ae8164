"""Every row of the decision table (README "Answers"), through the API function's handler."""

import base64
from datetime import UTC, datetime, timedelta

import pytest

from helpers import COMMANDS, DEMO_TOKEN, HUB_TOKEN, LEGACY_TOKEN, OTHER_TOKEN, TOKEN_A, ocpi_token
from ocpi_commands import composition

URL = "https://emsp.example.com/ocpi/emsp/2.2.1/commands/cb/1"


def start(**overrides):
    body = {"response_url": URL, "token": ocpi_token(), "location_id": "LOC1", "evse_uid": "3256", "connector_id": "1"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def reserve(**overrides):
    expiry = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {
        "response_url": URL,
        "token": ocpi_token(),
        "expiry_date": expiry,
        "reservation_id": "RES-1",
        "location_id": "LOC1",
        "evse_uid": "3256",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def unlock(**overrides):
    body = {"response_url": URL, "location_id": "LOC1", "evse_uid": "3256", "connector_id": "1"}
    body.update(overrides)
    return body


def assert_envelope(answer, http, status_code, result=None, message_part=None):
    assert answer.status == http, answer
    assert answer.status_code == status_code, answer
    assert answer.body["timestamp"].endswith("Z") and len(answer.body["timestamp"]) <= 25
    if result is not None:
        assert answer.result == result, answer
        if result != "ACCEPTED":
            assert answer.data["timeout"] == 0
    if message_part is not None:
        assert message_part.lower() in answer.body.get("status_message", "").lower(), answer


def command_items(repository):
    return [i for i in repository._scan_type("COMMAND")]


# ------------------------------------------------------------------------------ authentication (401)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("Bearer " + base64.b64encode(DEMO_TOKEN.encode()).decode(), "must be 'Token"),
        ("Token", "must be 'Token"),
        ("Token \u00e9\u00e9", "must be 'Token"),
        ("Token " + base64.b64encode(b"not-a-known-token").decode(), "unknown"),
        ("Token " + DEMO_TOKEN, "unknown"),  # raw token from a party that is not marked legacy
    ],
)
def test_bad_credentials_get_401(api, header, reason):
    headers = {"Authorization": header} if header else {}
    answer = api.command("START_SESSION", start(), token=None, headers=headers)
    assert_envelope(answer, 401, 2000, message_part=reason)
    assert "data" not in answer.body
    assert command_items(api_repo(api)) == []


def api_repo(api):
    return composition.repository()


def test_token_a_is_refused_on_commands_but_allowed_on_versions(api):
    assert_envelope(api.command("START_SESSION", start(), token=TOKEN_A), 401, 2000, message_part="CREDENTIALS_TOKEN_A")
    assert api.call("GET", "/ocpi/versions", token=TOKEN_A).status == 200


def test_legacy_party_may_send_its_raw_token(api):
    body = start(token=ocpi_token("NL", "LGC"))
    raw = api.command("START_SESSION", body, token=None, headers={"Authorization": f"Token {LEGACY_TOKEN}"})
    assert_envelope(raw, 200, 1000, "ACCEPTED")
    encoded = api.command("START_SESSION", {**body, "response_url": URL + "/2"}, token=LEGACY_TOKEN)
    assert_envelope(encoded, 200, 1000, "ACCEPTED")


def test_spec_example_trailing_newline_is_tolerated(api):
    header = "Token " + base64.b64encode((DEMO_TOKEN + "\n").encode()).decode()
    assert_envelope(
        api.command("START_SESSION", start(), token=None, headers={"Authorization": header}), 200, 1000, "ACCEPTED"
    )


def test_hub_acts_for_the_party_in_the_from_headers(api):
    hub_headers = {
        "OCPI-from-country-code": "BE",
        "OCPI-from-party-id": "HBE",
        "OCPI-to-country-code": "NL",
        "OCPI-to-party-id": "CPO",
    }
    answer = api.command("START_SESSION", start(token=ocpi_token("BE", "HBE")), token=HUB_TOKEN, headers=hub_headers)
    assert_envelope(answer, 200, 1000, "ACCEPTED")
    assert (answer.headers["ocpi-to-country-code"], answer.headers["ocpi-to-party-id"]) == ("BE", "HBE")
    [item] = command_items(api_repo(api))
    assert item["party"] == {"country_code": "BE", "party_id": "HBE"}
    # The hub's token does not make the hub the owner of another eMSP's Token.
    other = api.command(
        "START_SESSION",
        start(token=ocpi_token("DE", "TNM"), response_url=URL + "/x"),
        token=HUB_TOKEN,
        headers=hub_headers,
    )
    assert_envelope(other, 200, 1000, "REJECTED")


def test_hub_must_name_an_allowed_party(api):
    missing = api.command("START_SESSION", start(), token=HUB_TOKEN)
    assert_envelope(missing, 401, 2000, message_part="OCPI-from")
    stranger = api.command(
        "START_SESSION", start(), token=HUB_TOKEN, headers={"OCPI-from-country-code": "DE", "OCPI-from-party-id": "TNM"}
    )
    assert_envelope(stranger, 401, 2000, message_part="may not act for DE*TNM")


def test_a_party_cannot_claim_to_be_another_in_the_from_headers(api):
    answer = api.command(
        "START_SESSION", start(), headers={"OCPI-from-country-code": "FR", "OCPI-from-party-id": "OTH"}
    )
    assert_envelope(answer, 401, 2000, message_part="another party")
    same_but_lower_case = api.command(
        "START_SESSION", start(), headers={"OCPI-from-country-code": "de", "OCPI-from-party-id": "tnm"}
    )
    assert_envelope(same_but_lower_case, 200, 1000, "ACCEPTED")


# ------------------------------------------------------------------------------ transport errors


@pytest.mark.parametrize("raw", ["{not json", "", "\x00", '{"a": 1'])
def test_body_that_is_not_json_gets_400(api, raw):
    answer = api.command("START_SESSION", None, raw_body=raw)
    if raw == "":
        assert_envelope(answer, 200, 2001, "REJECTED")  # valid request line, no body: a missing parameter
    else:
        assert_envelope(answer, 400, 2001, message_part="not valid JSON")


def test_unknown_command_with_broken_json_gets_400(api):
    assert_envelope(api.command("FOO", None, raw_body="{"), 400, 2001)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_other_methods_on_the_commands_path_get_405(api, method):
    answer = api.call(method, f"{COMMANDS}/START_SESSION", start() if method != "GET" else None)
    assert_envelope(answer, 405, 2000, message_part=method)
    assert answer.headers["allow"] == "POST"


def test_unknown_path_gets_404_envelope(api):
    assert_envelope(api.call("GET", "/ocpi/cpo/2.2.1/locations"), 404, 2000)
    assert_envelope(api.call("POST", f"{COMMANDS}/START_SESSION/extra", start()), 404, 2000)


def test_trailing_slash_is_tolerated(api):
    assert_envelope(api.call("POST", f"{COMMANDS}/START_SESSION/", start()), 200, 1000, "ACCEPTED")


# ------------------------------------------------------------------------------ schema errors (2001)


@pytest.mark.parametrize(
    ("command", "body", "field"),
    [
        ("START_SESSION", {k: v for k, v in start().items() if k != "token"}, "token"),
        ("START_SESSION", start(location_id="L" * 37), "location_id"),
        ("START_SESSION", start(token=ocpi_token(valid="yes")), "token.valid"),
        ("START_SESSION", start(token=ocpi_token(type="EMAID")), "token.type"),
        ("START_SESSION", start(token={**ocpi_token(), "last_updated": "yesterday"}), "token.last_updated"),
        ("START_SESSION", start(response_url="mailto:ops@example.com"), "response_url"),
        ("START_SESSION", {"response_url": URL, "session_id": "SES-TNM-1"}, "token"),  # a StopSession body
        ("STOP_SESSION", {"response_url": URL}, "session_id"),
        ("RESERVE_NOW", reserve(expiry_date="soon"), "expiry_date"),
        ("RESERVE_NOW", reserve(reservation_id=123), "reservation_id"),  # 2.1.1 int ids are not 2.2.1
        ("CANCEL_RESERVATION", {"response_url": URL}, "reservation_id"),
        ("UNLOCK_CONNECTOR", {k: v for k, v in unlock().items() if k != "connector_id"}, "connector_id"),
    ],
)
def test_schema_errors_answer_2001_naming_the_field(api, command, body, field):
    answer = api.command(command, body)
    assert_envelope(answer, 200, 2001, "REJECTED", message_part=field)
    assert field in answer.data["message"][0]["text"]
    assert command_items(api_repo(api)) == []


def test_connector_without_evse_is_a_schema_error(api):
    body = start(evse_uid=None)
    assert_envelope(api.command("START_SESSION", body), 200, 2001, "REJECTED", message_part="evse_uid is required")


def test_a_json_array_is_a_schema_error(api):
    assert_envelope(api.command("START_SESSION", [start()]), 200, 2001, "REJECTED")


# ------------------------------------------------------------------------------ unknown command


@pytest.mark.parametrize("segment", ["FOO", "start_session", "SET_CHARGING_PROFILE"])
def test_unknown_command_is_not_supported(api, segment):
    answer = api.command(segment, {"response_url": URL})
    assert_envelope(answer, 200, 1000, "NOT_SUPPORTED")
    assert command_items(api_repo(api)) == []


# ------------------------------------------------------------------------------ locations (2003)


@pytest.mark.parametrize(
    ("command", "body", "what"),
    [
        ("START_SESSION", start(location_id="NOPE"), "location"),
        ("START_SESSION", start(evse_uid="NOPE"), "EVSE"),
        ("START_SESSION", start(connector_id="9"), "connector"),
        ("RESERVE_NOW", reserve(location_id="NOPE"), "location"),
        ("RESERVE_NOW", reserve(evse_uid="NOPE"), "EVSE"),
        ("UNLOCK_CONNECTOR", unlock(location_id="NOPE"), "location"),
        ("UNLOCK_CONNECTOR", unlock(evse_uid="NOPE"), "EVSE"),
        ("UNLOCK_CONNECTOR", unlock(connector_id="9"), "connector"),
    ],
)
def test_unknown_location_evse_or_connector_is_2003_rejected(api, command, body, what):
    answer = api.command(command, body)
    assert_envelope(answer, 200, 2003, "REJECTED", message_part=f"Unknown {what}")
    assert command_items(api_repo(api)) == []


def test_ids_are_case_insensitive(api):
    assert_envelope(api.command("START_SESSION", start(location_id="loc1")), 200, 1000, "ACCEPTED")


# ------------------------------------------------------------------------------ capabilities


@pytest.mark.parametrize(
    ("command", "body"),
    [
        ("START_SESSION", start(evse_uid="3258", connector_id=None)),  # no REMOTE_START_STOP_CAPABLE
        ("START_SESSION", start(location_id="LOC2", evse_uid=None, connector_id=None)),  # no capable EVSE at all
        ("RESERVE_NOW", reserve(evse_uid="3258")),  # not RESERVABLE
        ("RESERVE_NOW", reserve(location_id="LOC2", evse_uid=None)),
        ("UNLOCK_CONNECTOR", unlock(evse_uid="3257")),  # not UNLOCK_CAPABLE
        ("STOP_SESSION", {"response_url": URL, "session_id": "SES-LOC2"}),  # session on a non-capable EVSE
    ],
)
def test_missing_capability_is_not_supported(api, command, body):
    assert_envelope(api.command(command, body), 200, 1000, "NOT_SUPPORTED")


def test_command_the_cpo_does_not_support(api, monkeypatch):
    from ocpi_commands.composition import reset

    monkeypatch.setenv("SUPPORTED_COMMANDS", "START_SESSION,STOP_SESSION")
    reset()
    assert_envelope(api.command("RESERVE_NOW", reserve()), 200, 1000, "NOT_SUPPORTED", message_part="does not support")
    assert_envelope(api.command("START_SESSION", start()), 200, 1000, "ACCEPTED")


def test_connector_required_capability(api):
    answer = api.command("START_SESSION", start(evse_uid="3257", connector_id=None))
    assert_envelope(answer, 200, 2001, "REJECTED", message_part="connector_id is required")
    assert_envelope(api.command("START_SESSION", start(evse_uid="3257", connector_id="2")), 200, 1000, "ACCEPTED")


def test_evse_out_of_order_is_rejected(api):
    assert_envelope(
        api.command("START_SESSION", start(evse_uid="3259")), 200, 1000, "REJECTED", message_part="outoforder"
    )


# ------------------------------------------------------------------------------ sessions, tokens, parties


def test_stop_unknown_session(api):
    answer = api.command("STOP_SESSION", {"response_url": URL, "session_id": "NOPE"})
    assert_envelope(answer, 200, 1000, "UNKNOWN_SESSION")


def test_stop_session_of_another_party_is_rejected(api):
    answer = api.command("STOP_SESSION", {"response_url": URL, "session_id": "SES-OTH-1"})
    assert_envelope(answer, 200, 1000, "REJECTED", message_part="another party")
    assert_envelope(
        api.command("STOP_SESSION", {"response_url": URL, "session_id": "SES-OTH-1"}, token=OTHER_TOKEN),
        200,
        1000,
        "ACCEPTED",
    )


def test_stop_completed_session_is_rejected(api):
    assert_envelope(
        api.command("STOP_SESSION", {"response_url": URL, "session_id": "SES-TNM-DONE"}), 200, 1000, "REJECTED"
    )


@pytest.mark.parametrize("command", ["START_SESSION", "RESERVE_NOW"])
def test_token_of_another_party_is_rejected(api, command):
    body = (start if command == "START_SESSION" else reserve)(token=ocpi_token("FR", "OTH"))
    assert_envelope(api.command(command, body), 200, 1000, "REJECTED", message_part="not owned")


def test_cancel_unknown_or_other_partys_reservation_is_rejected(api):
    assert_envelope(api.command("RESERVE_NOW", reserve(), token=DEMO_TOKEN), 200, 1000, "ACCEPTED")
    # Only a charge point's acceptance creates the reservation; until then it is unknown.
    body = {"response_url": URL + "/c", "reservation_id": "RES-1"}
    assert_envelope(api.command("CANCEL_RESERVATION", body), 200, 1000, "REJECTED", message_part="Unknown reservation")
    assert_envelope(api.command("CANCEL_RESERVATION", body, token=OTHER_TOKEN), 200, 1000, "REJECTED")


def test_unlock_needs_the_permission(api):
    answer = api.command("UNLOCK_CONNECTOR", unlock(), token=OTHER_TOKEN)
    assert_envelope(answer, 200, 1000, "REJECTED", message_part="not permitted")
    assert_envelope(api.command("UNLOCK_CONNECTOR", unlock()), 200, 1000, "ACCEPTED")


def test_an_unknown_location_is_answered_first_2003(api):
    """As the official diagram shows: unknown location -> 2003 + REJECTED, even without the UNLOCK
    permission (FR*OTH has none) or with another party's Token."""
    answer = api.command("UNLOCK_CONNECTOR", unlock(location_id="NOWHERE"), token=OTHER_TOKEN)
    assert_envelope(answer, 200, 2003, "REJECTED", message_part="Unknown location")
    foreign = start(location_id="NOWHERE", token=ocpi_token("FR", "OTH"))
    assert_envelope(api.command("START_SESSION", foreign), 200, 2003, "REJECTED", message_part="Unknown location")


@pytest.mark.parametrize(
    "overrides", [{"valid": False}, {"whitelist": "NEVER"}, {"valid": False, "whitelist": "NEVER"}]
)
def test_token_validity_and_whitelist_are_not_checked(api, overrides):
    assert_envelope(api.command("START_SESSION", start(token=ocpi_token(**overrides))), 200, 1000, "ACCEPTED")


def test_reservation_expiry_in_the_past_is_a_parameter_error(api):
    answer = api.command("RESERVE_NOW", reserve(expiry_date="2020-01-01T00:00:00Z"))
    assert_envelope(answer, 200, 2001, "REJECTED", message_part="expiry_date")


# ------------------------------------------------------------------------------ accepted


@pytest.mark.parametrize(
    ("command", "body", "timeout"),
    [
        ("START_SESSION", start(), 60),
        ("START_SESSION", start(evse_uid=None, connector_id=None), 60),  # the charge point picks the EVSE
        ("STOP_SESSION", {"response_url": URL, "session_id": "SES-TNM-1"}, 60),
        ("RESERVE_NOW", reserve(), 60),
        ("RESERVE_NOW", reserve(evse_uid=None), 60),
        ("UNLOCK_CONNECTOR", unlock(), 45),
    ],
)
def test_accepted_with_the_configured_timeout(api, command, body, timeout):
    answer = api.command(command, body)
    assert_envelope(answer, 200, 1000, "ACCEPTED")
    assert answer.data == {"result": "ACCEPTED", "timeout": timeout}
    assert "status_message" not in answer.body


def test_timeouts_are_configuration(api, monkeypatch):
    from ocpi_commands.composition import reset

    monkeypatch.setenv("COMMAND_TIMEOUTS", "START_SESSION=33,UNLOCK_CONNECTOR=12")
    reset()
    assert api.command("START_SESSION", start()).data["timeout"] == 33
    assert api.command("UNLOCK_CONNECTOR", unlock(response_url=URL + "/u")).data["timeout"] == 12
    assert api.command("STOP_SESSION", {"response_url": URL + "/s", "session_id": "SES-TNM-1"}).data["timeout"] == 60


def test_dependency_failure_answers_3000_and_accepts_nothing(api, monkeypatch):
    from botocore.exceptions import ClientError

    from ocpi_commands.adapters.dynamodb.repository import DynamoRepository as Repository

    def boom(*_args, **_kwargs):
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "down"}}, "TransactWriteItems")

    monkeypatch.setattr(Repository, "create_command", boom)
    answer = api.command("START_SESSION", start())
    assert_envelope(answer, 200, 3000)
    assert "data" not in answer.body
    assert "Traceback" not in str(answer.body)
    monkeypatch.undo()
    assert command_items(api_repo(api)) == []
