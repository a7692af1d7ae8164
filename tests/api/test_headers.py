"""Transport headers: X-Request-ID / X-Correlation-ID echo, routing headers reversed, none on Versions."""

import logging
import uuid

import pytest

from helpers import COMMANDS, ocpi_token

URL = "https://emsp.example.com/cb/h"
BODY = {"response_url": URL, "token": ocpi_token(), "location_id": "LOC1", "evse_uid": "3256"}
ROUTING = {
    "OCPI-from-country-code": "DE",
    "OCPI-from-party-id": "TNM",
    "OCPI-to-country-code": "NL",
    "OCPI-to-party-id": "CPO",
}


def test_request_and_correlation_ids_are_echoed(api):
    answer = api.command(
        "START_SESSION", BODY, headers={"X-Request-ID": "req-42", "X-Correlation-ID": "corr-7", **ROUTING}
    )
    assert answer.headers["x-request-id"] == "req-42"
    assert answer.headers["x-correlation-id"] == "corr-7"


def test_header_names_are_case_insensitive(api):
    answer = api.command("START_SESSION", BODY, headers={"x-request-id": "a", "X-CORRELATION-ID": "b"})
    assert (answer.headers["x-request-id"], answer.headers["x-correlation-id"]) == ("a", "b")


def test_missing_ids_are_generated_and_logged(api, caplog):
    answer = api.command("START_SESSION", BODY)
    uuid.UUID(answer.headers["x-request-id"])
    uuid.UUID(answer.headers["x-correlation-id"])
    assert any("X-Request-ID" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


def test_ids_are_echoed_on_errors_too(api):
    for answer in (
        api.command("START_SESSION", BODY, token="nope", headers={"X-Request-ID": "r-401", "X-Correlation-ID": "c"}),
        api.command("START_SESSION", None, raw_body="{", headers={"X-Request-ID": "r-400", "X-Correlation-ID": "c"}),
        api.call("GET", f"{COMMANDS}/START_SESSION", headers={"X-Request-ID": "r-405", "X-Correlation-ID": "c"}),
    ):
        assert answer.headers["x-request-id"].startswith("r-4")
        assert answer.headers["x-correlation-id"] == "c"
        assert answer.headers["content-type"] == "application/json"


def test_routing_headers_are_reversed(api):
    answer = api.command("START_SESSION", BODY, headers=ROUTING)
    assert answer.headers["ocpi-from-country-code"] == "NL"
    assert answer.headers["ocpi-from-party-id"] == "CPO"
    assert answer.headers["ocpi-to-country-code"] == "DE"
    assert answer.headers["ocpi-to-party-id"] == "TNM"


def test_routing_headers_without_request_routing_headers(api):
    """A direct peer may omit them: FROM is this CPO, TO the party the credentials belong to."""
    answer = api.command("START_SESSION", {**BODY, "response_url": URL + "/2"})
    assert (answer.headers["ocpi-from-country-code"], answer.headers["ocpi-from-party-id"]) == ("NL", "CPO")
    assert (answer.headers["ocpi-to-country-code"], answer.headers["ocpi-to-party-id"]) == ("DE", "TNM")


def test_a_request_addressed_to_another_party_is_refused_before_anything_else(api, ddb):
    """FROM is always this CPO's identity: a request for XX*YYY is not answered as XX*YYY (2001)."""
    headers = {**ROUTING, "OCPI-to-country-code": "XX", "OCPI-to-party-id": "YYY"}
    answer = api.command("START_SESSION", {**BODY, "response_url": URL + "/xx"}, headers=headers)
    assert (answer.status, answer.status_code) == (200, 2001)
    assert "XX*YYY" in answer.body["status_message"] and "NL*CPO" in answer.body["status_message"]
    assert (answer.headers["ocpi-from-country-code"], answer.headers["ocpi-from-party-id"]) == ("NL", "CPO")
    assert not [i for i in ddb._scan_type("COMMAND")]
    half = api.command("START_SESSION", BODY, headers={"OCPI-to-party-id": "CPO"})
    assert half.status_code == 2001 and "together" in half.body["status_message"]


def test_a_platform_with_several_cpo_parties_answers_as_the_one_addressed(api, ddb, monkeypatch):
    from ocpi_commands.composition import reset

    monkeypatch.setenv("CPO_PARTIES", "NL*CPO,NL*CP2")
    reset()
    headers = {**ROUTING, "OCPI-to-party-id": "cp2"}
    answer = api.command("START_SESSION", {**BODY, "response_url": URL + "/cp2"}, headers=headers)
    assert answer.result == "ACCEPTED"
    assert (answer.headers["ocpi-from-country-code"], answer.headers["ocpi-from-party-id"]) == ("NL", "CP2")
    [record] = ddb._scan_type("COMMAND")
    assert record["cpo"] == {"country_code": "NL", "party_id": "CP2"}  # the CommandResult comes FROM NL*CP2 too
    default = api.command("START_SESSION", {**BODY, "response_url": URL + "/default"})
    assert default.headers["ocpi-from-party-id"] == "CPO"


def test_versions_module_has_no_routing_headers(api):
    for path in ("/ocpi/versions", "/ocpi/2.2.1"):
        answer = api.call("GET", path, headers=ROUTING)
        assert answer.status == 200
        assert not any(h.startswith("ocpi-") for h in answer.headers), answer.headers
        assert "x-request-id" in answer.headers


def test_versions_lists_the_commands_receiver(api):
    versions = api.call("GET", "/ocpi/versions")
    assert versions.status_code == 1000
    assert [(e["version"], e["url"].rsplit("/ocpi/", 1)[1]) for e in versions.data] == [
        ("2.1.1", "2.1.1"),
        ("2.2.1", "2.2.1"),
        ("2.3.0", "2.3.0"),
    ]
    details = api.call("GET", "/ocpi/2.2.1")
    assert details.data["version"] == "2.2.1"
    endpoints = {(e["identifier"], e["role"]): e["url"] for e in details.data["endpoints"]}
    assert endpoints[("commands", "RECEIVER")].endswith("/ocpi/cpo/2.2.1/commands")  # the CPO role
    assert endpoints[("commands", "SENDER")].endswith("/ocpi/emsp/2.2.1/commands")  # the eMSP role
    assert endpoints[("credentials", "SENDER")].endswith("/ocpi/2.2.1/credentials")


def test_versions_need_credentials(api):
    assert api.call("GET", "/ocpi/versions", token=None).status == 401


def test_public_base_url_is_configuration(api, monkeypatch):
    from ocpi_commands.composition import reset

    monkeypatch.setenv("PUBLIC_BASE_URL", "https://ocpi.cpo.example.com/")
    reset()
    urls = [entry["url"] for entry in api.call("GET", "/ocpi/versions").data]
    assert "https://ocpi.cpo.example.com/ocpi/2.2.1" in urls


def test_a_broken_configuration_still_answers_an_envelope(api, monkeypatch):
    from ocpi_commands.composition import reset

    monkeypatch.setenv("COMMAND_TIMEOUTS", "START_SESSION=not-a-number")
    reset()
    answer = api.command("START_SESSION", BODY, headers={"X-Request-ID": "cfg"})
    assert (answer.status, answer.status_code) == (200, 3000)
    assert answer.headers["x-request-id"] == "cfg"
    monkeypatch.undo()
    reset()


@pytest.mark.parametrize(
    ("raw", "status", "status_code"),
    [
        ('{"response_url": NaN}', 400, 2001),
        ('{"response_url": Infinity}', 400, 2001),
        ("[" * 10_000 + "]" * 10_000, 200, 2001),
        ('{"a":' * 10_000 + "1" + "}" * 10_000, 200, 2001),
    ],
    ids=["nan", "infinity", "deep-list", "deep-object"],
)
def test_non_json_constants_and_very_deep_bodies_are_the_clients_fault(api, raw, status, status_code, caplog):
    answer = api.command("START_SESSION", None, raw_body=raw)
    assert (answer.status, answer.status_code) == (status, status_code), answer
    assert_no_error_logged(caplog)


def assert_no_error_logged(caplog):
    """The client's mistake is no error of ours: nothing logged at ERROR, no traceback."""
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []


def test_a_reserve_now_with_an_out_of_range_expiry_is_2001(api, caplog):
    body = {
        "response_url": "http://127.0.0.1:9/x",
        "token": ocpi_token(),
        "expiry_date": "9999-12-31T23:59:59-23:59",
        "reservation_id": "R-range",
        "location_id": "LOC1",
    }
    answer = api.command("RESERVE_NOW", body)
    assert (answer.status, answer.status_code, answer.result) == (200, 2001, "REJECTED")
    assert "expiry_date" in answer.body["status_message"]
    assert_no_error_logged(caplog)


def test_ids_are_echoed_exactly_up_to_the_documented_length(api):
    request_id, correlation_id = "r" * 255, " spaced  id:/=+ "
    answer = api.command(
        "START_SESSION",
        {**BODY, "response_url": URL + "/exact"},
        headers={"X-Request-ID": request_id, "X-Correlation-ID": correlation_id},
    )
    assert answer.result == "ACCEPTED"
    assert (answer.headers["x-request-id"], answer.headers["x-correlation-id"]) == (request_id, correlation_id)


@pytest.mark.parametrize(
    ("header", "value", "problem"),
    [
        ("X-Request-ID", "r" * 256, "longer than 255 characters"),
        ("X-Correlation-ID", "c" * 1000, "longer than 255 characters"),
        ("X-Request-ID", "caf\u00e9", "printable ASCII"),
    ],
)
def test_ids_that_cannot_be_echoed_exactly_are_refused_not_cut(api, ddb, header, value, problem):
    other = "X-Correlation-ID" if header == "X-Request-ID" else "X-Request-ID"
    answer = api.command("START_SESSION", {**BODY, "response_url": URL + "/long"}, headers={header: value, other: "ok"})
    assert (answer.status, answer.status_code) == (400, 2001)
    assert header in answer.body["status_message"] and problem in answer.body["status_message"]
    assert answer.headers[other.lower()] == "ok"
    uuid.UUID(answer.headers[header.lower()])  # a generated id, not a cut one
    assert ddb._scan_type("COMMAND") == []


def test_an_empty_path_segment_is_routed(api):
    answer = api.call("POST", f"{COMMANDS}//START_SESSION", {**BODY, "response_url": URL + "/double-slash"})
    assert (answer.status, answer.status_code, answer.result) == (200, 1000, "ACCEPTED")


@pytest.mark.parametrize("path", ["/", "/favicon.ico", "/ocpix/versions", "/v1/ocpi/versions"])
@pytest.mark.parametrize("token", [None, "not-a-token", "demo-emsp-token-c"])
def test_paths_outside_ocpi_answer_an_ocpi_404_with_the_id_headers(api, path, token):
    answer = api.call("GET", path, token=token, headers={"X-Request-ID": "r-404", "X-Correlation-ID": "c-404"})
    assert (answer.status, answer.status_code) == (404, 2000)
    assert answer.body["timestamp"].endswith("Z") and path in answer.body["status_message"]
    assert (answer.headers["x-request-id"], answer.headers["x-correlation-id"]) == ("r-404", "c-404")
