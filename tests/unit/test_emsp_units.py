"""The eMSP side's pure rules: reading CPO answers, the wait, our roles, the outcome word."""

import pytest

from ocpi_commands.config import Settings
from ocpi_commands.ocpi import dialects
from ocpi_commands.ocpi.vocabulary import CommandType


@pytest.mark.parametrize(
    ("version", "data", "read"),
    [
        ("2.2.1", {"result": "ACCEPTED", "timeout": 30}, {"result": "ACCEPTED", "timeout": 30}),
        ("2.2.1", [{"result": "REJECTED", "timeout": 0}], {"result": "REJECTED", "timeout": 0}),
        ("2.2.1", "NOT_SUPPORTED", {"result": "NOT_SUPPORTED"}),
        ("2.2.1", {"result": "ACCEPTED", "timeout": 30.0}, {"result": "ACCEPTED", "timeout": 30}),
        ("2.2.1", {"result": "ACCEPTED", "timeout": True}, {"result": "ACCEPTED"}),  # not a number
        ("2.2.1", {"result": "TIMEOUT"}, None),  # not a 2.2.1 CommandResponseType
        ("2.1.1", {"result": "TIMEOUT"}, {"result": "TIMEOUT"}),  # 2.1.1's values include it
        ("2.2.1", {"result": "accepted"}, None),  # enum values are case-sensitive
        ("2.2.1", [{"result": "ACCEPTED"}, {"result": "ACCEPTED"}], None),
        ("2.2.1", None, None),
        (
            "2.3.0",
            {"result": "ACCEPTED", "timeout": 5, "message": [{"language": "en", "text": "ok"}, "x"]},
            {"result": "ACCEPTED", "timeout": 5, "message": [{"language": "en", "text": "ok"}]},
        ),
    ],
)
def test_a_cpos_command_response_is_read_leniently_but_never_guessed(version, data, read):
    assert dialects.for_version(version).read_command_response(data) == read


def test_the_request_written_for_the_cpo_is_the_versions_model_and_typos_are_refused():
    wire = dialects.SEND_WIRE
    body = wire.request_body("2.2.1", CommandType.STOP_SESSION, {"session_id": "S1"}, "https://emsp.invalid/r/1")
    assert body == {"response_url": "https://emsp.invalid/r/1", "session_id": "S1"}
    with pytest.raises(ValueError, match="sesion_id"):
        wire.request_body("2.2.1", CommandType.STOP_SESSION, {"sesion_id": "S1"}, "https://emsp.invalid/r/1")
    with pytest.raises(ValueError, match="reservation_id"):  # an int in 2.1.1
        wire.request_body("2.1.1", CommandType.RESERVE_NOW, {"reservation_id": "R1"}, "https://emsp.invalid/r/1")
    assert not wire.has_command("2.1.1", CommandType.CANCEL_RESERVATION)


def test_the_wait_is_the_cpos_timeout_clamped_plus_the_grace():
    settings = Settings(table_name="t", emsp_result_grace_seconds=10)
    assert settings.emsp_wait_seconds(30, CommandType.START_SESSION) == (30, 40)
    assert settings.emsp_wait_seconds(0, CommandType.START_SESSION) == (10, 20)  # odd values are clamped
    assert settings.emsp_wait_seconds(86400, CommandType.START_SESSION) == (600, 610)
    assert settings.emsp_wait_seconds(None, CommandType.CANCEL_RESERVATION) == (45, 55)  # 2.1.1: ours


def test_our_roles_put_the_complement_of_the_partner_first():
    settings = Settings(table_name="t")
    assert [r.role for r in settings.our_roles()] == ["CPO", "EMSP"]
    assert [(r.role, r.party_id) for r in settings.our_roles("CPO")] == [("EMSP", "EMS"), ("CPO", "CPO")]
    assert [r.role for r in Settings(table_name="t", roles="EMSP").our_roles()] == ["EMSP"]
    with pytest.raises(ValueError):
        Settings(table_name="t", roles="")
