"""The OCPI 2.2.1 models: good and bad payloads for every object, DateTime and string rules."""

import json
from datetime import UTC, datetime, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from helpers import ocpi_token
from ocpi_commands.ocpi.types import DisplayText, format_datetime, parse_datetime
from ocpi_commands.ocpi.v2_2_1.commands import (
    CancelReservation,
    CommandResponse,
    CommandResult,
    ReserveNow,
    StartSession,
    StopSession,
    UnlockConnector,
)
from ocpi_commands.ocpi.v2_2_1.tokens import EnergyContract, Token

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "ocpi-examples"
URL = "https://emsp.example.com/ocpi/emsp/2.2.1/commands/START_SESSION/8a1f0c9e"
TOKEN = ocpi_token()  # the minimal APP_USER Token of the spec's examples
FULL_TOKEN = {
    "country_code": "DE",
    "party_id": "TNM",
    "uid": "12345678905880",
    "type": "RFID",
    "contract_id": "DE8ACC12E46L89",
    "visual_number": "DF000-2001-8999-1",
    "issuer": "TheNewMotion",
    "group_id": "DF000-2001-8999",
    "valid": True,
    "whitelist": "ALLOWED",
    "language": "it",
    "default_profile_type": "GREEN",
    "energy_contract": {"supplier_name": "Greenpeace Energy eG", "contract_id": "0123456789"},
    "last_updated": "2018-12-10T17:25:10Z",
}


def errors_at(exc: ValidationError) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in exc.errors()}


# ------------------------------------------------------------------------------------- Token


def test_full_token_keeps_every_field() -> None:
    token = Token.model_validate(FULL_TOKEN)
    assert token.to_json_dict() == FULL_TOKEN
    assert token.energy_contract == EnergyContract(supplier_name="Greenpeace Energy eG", contract_id="0123456789")


@pytest.mark.parametrize("name", ["token_example_1_app_user.json", "token_example_2_full_rfid.json"])
def test_official_token_examples_validate(name: str) -> None:
    raw = json.loads((EXAMPLES / name).read_text())
    assert Token.model_validate(raw).to_json_dict() == raw


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("country_code", "DEU"),  # CiString(2)
        ("party_id", "TNMX"),  # CiString(3)
        ("uid", "x" * 37),  # CiString(36)
        ("uid", "caf\u00e9"),  # CiString is ASCII
        ("uid", "a\nb"),  # no control characters
        ("type", "EMAID"),  # 2.3.0 only; closed enum in 2.2.1
        ("type", "app_user"),  # enum values are case-sensitive
        ("contract_id", None),
        ("issuer", "x" * 65),  # string(64)
        ("valid", "true"),  # a JSON boolean, not a string
        ("valid", 1),
        ("whitelist", "SOMETIMES"),
        ("language", "ita"),  # string(2)
        ("default_profile_type", "SLOW"),
        ("last_updated", "10-12-2018"),
        ("last_updated", 1544462175),
    ],
)
def test_bad_token_fields_are_rejected(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Token.model_validate({**TOKEN, field: value})
    assert field in errors_at(caught.value)


@pytest.mark.parametrize(
    "missing",
    ["country_code", "party_id", "uid", "type", "contract_id", "issuer", "valid", "whitelist", "last_updated"],
)
def test_required_token_fields(missing: str) -> None:
    raw = {k: v for k, v in TOKEN.items() if k != missing}
    with pytest.raises(ValidationError) as caught:
        Token.model_validate(raw)
    assert missing in errors_at(caught.value)


def test_energy_contract_needs_a_supplier() -> None:
    with pytest.raises(ValidationError):
        Token.model_validate({**TOKEN, "energy_contract": {"contract_id": "1"}})


def test_unknown_fields_are_ignored_never_rejected() -> None:
    token = Token.model_validate({**TOKEN, "brand_new_field": {"x": 1}})
    assert "brand_new_field" not in token.to_json_dict()
    body = StartSession.model_validate({"response_url": URL, "token": TOKEN, "location_id": "LOC1", "extra": True})
    assert body.location_id == "LOC1"


# ------------------------------------------------------------------------------------- commands


def test_start_session_good_and_connector_rule() -> None:
    body = StartSession.model_validate(
        {
            "response_url": URL,
            "token": TOKEN,
            "location_id": "LOC1",
            "evse_uid": "3256",
            "connector_id": "1",
            "authorization_reference": "567890",
        }
    )
    assert (body.evse_uid, body.connector_id, body.authorization_reference) == ("3256", "1", "567890")
    assert StartSession.model_validate({"response_url": URL, "token": TOKEN, "location_id": "LOC1"}).evse_uid is None
    with pytest.raises(ValidationError, match="evse_uid is required when connector_id is set"):
        StartSession.model_validate({"response_url": URL, "token": TOKEN, "location_id": "LOC1", "connector_id": "1"})


@pytest.mark.parametrize(
    ("model", "good"),
    [
        (CancelReservation, {"response_url": URL, "reservation_id": "ABC123"}),
        (
            ReserveNow,
            {
                "response_url": URL,
                "token": TOKEN,
                "expiry_date": "2030-01-01T10:00:00Z",
                "reservation_id": "ABC123",
                "location_id": "LOC1",
                "evse_uid": "3256",
                "authorization_reference": "ref-1",
            },
        ),
        (StartSession, {"response_url": URL, "token": TOKEN, "location_id": "LOC1", "evse_uid": "3256"}),
        (StopSession, {"response_url": URL, "session_id": "SES-1"}),
        (UnlockConnector, {"response_url": URL, "location_id": "LOC1", "evse_uid": "3256", "connector_id": "1"}),
    ],
)
def test_every_command_object_good_missing_and_overlong(model: type, good: dict) -> None:
    assert model.model_validate(good).to_json_dict() == good
    required = [name for name, info in model.model_fields.items() if info.is_required()]
    for name in required:
        with pytest.raises(ValidationError) as caught:
            model.model_validate({k: v for k, v in good.items() if k != name})
        assert name in errors_at(caught.value)
    for name, value in good.items():
        if isinstance(value, str) and name not in ("response_url", "expiry_date"):
            with pytest.raises(ValidationError) as caught:
                model.model_validate({**good, name: "x" * 37})  # every CiString here is CiString(36)
            assert name in errors_at(caught.value)
    with pytest.raises(ValidationError) as caught:
        model.model_validate({**good, "response_url": "not a url"})
    assert "response_url" in errors_at(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://emsp.example.com/x",
        "https://",
        "/relative/path",
        "https://emsp.example.com/" + "x" * 250,
        "https://emsp.example.com/a b",
        "https://emsp.example.com:99999/x",
        42,
    ],
)
def test_response_url_must_be_an_absolute_http_url_of_at_most_255(url: object) -> None:
    with pytest.raises(ValidationError):
        StopSession.model_validate({"response_url": url, "session_id": "S"})


def test_response_url_is_kept_verbatim() -> None:
    url = "https://Emsp.Example.com/cb/START_SESSION/1234?x=1&y=%20z"
    assert StopSession.model_validate({"response_url": url, "session_id": "S"}).response_url == url


def test_reserve_now_expiry_is_a_datetime() -> None:
    raw = {"response_url": URL, "token": TOKEN, "expiry_date": "tomorrow", "reservation_id": "R", "location_id": "L"}
    with pytest.raises(ValidationError) as caught:
        ReserveNow.model_validate(raw)
    assert "expiry_date" in errors_at(caught.value)


def test_command_response_and_result() -> None:
    response = CommandResponse(result="ACCEPTED", timeout=30)
    assert response.to_json_dict() == {"result": "ACCEPTED", "timeout": 30}
    assert CommandResponse.model_validate(
        {"result": "REJECTED", "timeout": 0, "message": [{"language": "en", "text": "Unknown location"}]}
    ).message == [DisplayText(language="en", text="Unknown location")]
    for bad in (
        {"result": "TIMEOUT", "timeout": 1},
        {"result": "ACCEPTED"},
        {"result": "ACCEPTED", "timeout": -1},
        {"result": "ACCEPTED", "timeout": "30"},
        {"result": "ACCEPTED", "timeout": 1.5},
    ):
        with pytest.raises(ValidationError):
            CommandResponse.model_validate(bad)
    for value in (
        "ACCEPTED",
        "CANCELED_RESERVATION",
        "EVSE_OCCUPIED",
        "EVSE_INOPERATIVE",
        "FAILED",
        "NOT_SUPPORTED",
        "REJECTED",
        "TIMEOUT",
        "UNKNOWN_RESERVATION",
    ):
        assert CommandResult(result=value).to_json_dict() == {"result": value}
    with pytest.raises(ValidationError):
        CommandResult.model_validate({"result": "UNKNOWN_SESSION"})  # a response type, not a result type


def test_display_text_rules() -> None:
    official = json.loads((EXAMPLES / "type_displaytext_example.json").read_text())
    assert DisplayText.model_validate(official).to_json_dict() == official
    assert DisplayText(language="nl", text="Onbekende locatie").text == "Onbekende locatie"
    for bad in (
        {"language": "eng", "text": "x"},
        {"language": "en", "text": "x" * 513},
        {"language": "en"},
        {"language": "en", "text": "bell\x07"},
    ):
        with pytest.raises(ValidationError):
            DisplayText.model_validate(bad)


# ------------------------------------------------------------------------------------- DateTime


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2015-06-29T20:39:09Z", datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC)),
        ("2015-06-29T20:39:09", datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC)),  # no designator = UTC
        ("2016-12-29T17:45:09.2Z", datetime(2016, 12, 29, 17, 45, 9, 200000, tzinfo=UTC)),
        ("2016-12-29T17:45:09.2", datetime(2016, 12, 29, 17, 45, 9, 200000, tzinfo=UTC)),
        ("2018-01-01T01:08:01.123Z", datetime(2018, 1, 1, 1, 8, 1, 123000, tzinfo=UTC)),
        ("2018-01-01T01:08:01.123", datetime(2018, 1, 1, 1, 8, 1, 123000, tzinfo=UTC)),
        ("2018-01-01T02:08:01+01:00", datetime(2018, 1, 1, 1, 8, 1, tzinfo=UTC)),  # lenient with offsets
    ],
)
def test_datetime_parsing_accepts_the_spec_forms(raw: str, expected: datetime) -> None:
    assert parse_datetime(raw) == expected


@pytest.mark.parametrize("raw", ["2015-06-29", "2015-06-29 20:39:09", "2015-13-01T00:00:00Z", "yesterday", ""])
def test_datetime_parsing_rejects_other_forms(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_datetime(raw)


def test_datetime_output_is_utc_z_and_at_most_25_characters() -> None:
    moment = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert moment.isoformat() == "2024-05-01T12:00:00.123456+00:00"  # the pitfall: 32 characters
    assert format_datetime(moment) == "2024-05-01T12:00:00.123Z"
    assert format_datetime(datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)) == "2024-05-01T12:00:00Z"
    from datetime import timedelta

    offset = datetime(2024, 5, 1, 14, 0, 0, 999999, tzinfo=timezone(timedelta(hours=2)))
    assert format_datetime(offset) == "2024-05-01T12:00:00.999Z"
    token = Token.model_validate({**TOKEN, "last_updated": "2018-12-10T18:16:15.5+01:00"})
    assert token.to_json_dict()["last_updated"] == "2018-12-10T17:16:15.500Z"
    assert all(len(format_datetime(parse_datetime(s))) <= 25 for s in ("2018-01-01T01:08:01.123456789Z",))


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59-23:59",  # the offset moves it past year 9999
        "0001-01-01T00:00:00+23:00",  # ... or before year 1
        "\uff12\uff10\uff12\uff16-01-01T00:00:00Z",  # full-width digits
        "2026-01-01T00:00:0\u0661Z",  # an Arabic-Indic digit
    ],
)
def test_datetimes_out_of_range_or_with_non_ascii_digits_are_invalid_not_errors(value):
    from ocpi_commands.ocpi.types import parse_datetime

    with pytest.raises(ValueError):
        parse_datetime(value)
