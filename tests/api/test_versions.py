"""Each partner in its own OCPI version: 2.1.1 (NL*OLD), 2.2.1 (DE*TNM) and 2.3.0 (BR*NEO).

The decision table's rules, for every version where they apply, and what differs on the wire:
the versions offered and their details, the request objects, the CommandResponse, the token
encoding, routing headers, DateTimes, case-sensitive ids, OpenEnums.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest

from helpers import DEMO_TOKEN, NEO_TOKEN, OLD_TOKEN, commands_path, ocpi_token, token_211

URL = "https://emsp.example.com/cb"
PARTIES = {
    "2.1.1": {"token": OLD_TOKEN, "raw_token": True, "party": ("NL", "OLD")},
    "2.2.1": {"token": DEMO_TOKEN, "raw_token": False, "party": ("DE", "TNM")},
    "2.3.0": {"token": NEO_TOKEN, "raw_token": False, "party": ("BR", "NEO")},
}
VERSIONS = list(PARTIES)


def send(api, version, command, body, **kwargs):
    who = PARTIES[version]
    options = {"token": who["token"], "raw_token": who["raw_token"], **kwargs}
    return api.call("POST", f"{commands_path(version)}/{command}", body, **options)


def driver_token(version, **overrides):
    if version == "2.1.1":
        return token_211(**overrides)
    return ocpi_token(*PARTIES[version]["party"], **overrides)


def start(version, **overrides):
    body = {"response_url": f"{URL}/{version}/start", "token": driver_token(version), "location_id": "LOC1"}
    body["evse_uid"] = "3256"
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def reserve(version, **overrides):
    expiry = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {
        "response_url": f"{URL}/{version}/reserve",
        "token": driver_token(version),
        "expiry_date": expiry,
        "reservation_id": 42 if version == "2.1.1" else "R-42",
        "location_id": "LOC1",
        "evse_uid": "3256",
    }
    body.update(overrides)
    return body


def commands_of(ddb):
    return {c["command_id"]: c for c in ddb._scan_type("COMMAND")}


# ------------------------------------------------------------------------------ Versions module


def test_every_version_is_offered_with_its_own_details(api):
    listed = api.call("GET", "/ocpi/versions").data
    assert [entry["version"] for entry in listed] == VERSIONS
    for entry in listed:
        details = api.call("GET", "/ocpi/" + entry["url"].rsplit("/ocpi/", 1)[1])
        assert details.status_code == 1000 and details.data["version"] == entry["version"]
        commands = [e for e in details.data["endpoints"] if e["identifier"] == "commands"]
        if entry["version"] == "2.1.1":
            # 2.1.1 Endpoints have identifier and url only: one per module, the CPO's for an eMSP caller.
            [endpoint] = commands
            assert "role" not in endpoint
            assert endpoint["url"].endswith("/ocpi/cpo/2.1.1/commands")
        else:
            assert [(e["role"], e["url"].split("/ocpi/", 1)[1]) for e in commands] == [
                ("RECEIVER", f"cpo/{entry['version']}/commands"),
                ("SENDER", f"emsp/{entry['version']}/commands"),
            ]


def test_a_platform_playing_one_role_lists_only_its_commands_interface(api, monkeypatch):
    from ocpi_commands.composition import reset

    monkeypatch.setenv("ROLES", "EMSP")
    reset()
    details = api.call("GET", "/ocpi/2.2.1")
    assert [(e["identifier"], e["role"]) for e in details.data["endpoints"]] == [
        ("credentials", "SENDER"),
        ("commands", "SENDER"),
    ]
    command = send(api, "2.2.1", "START_SESSION", start("2.2.1"))
    assert (command.status, command.status_code) == (404, 2000)  # no CPO role: no Commands receiver
    monkeypatch.setenv("ROLES", "CPO")
    reset()
    details = api.call("GET", "/ocpi/2.2.1")
    assert ("commands", "SENDER") not in [(e["identifier"], e["role"]) for e in details.data["endpoints"]]


def test_the_versions_offered_are_configuration(api, monkeypatch):
    from ocpi_commands.composition import reset

    monkeypatch.setenv("OCPI_VERSIONS", "2.2.1,2.3.0")
    reset()
    assert [entry["version"] for entry in api.call("GET", "/ocpi/versions").data] == ["2.2.1", "2.3.0"]
    details = api.call("GET", "/ocpi/2.1.1", token=OLD_TOKEN, raw_token=True)
    assert (details.status, details.status_code) == (404, 2000)
    command = send(api, "2.1.1", "START_SESSION", start("2.1.1"))
    assert (command.status, command.status_code) == (404, 2000)


def test_an_unknown_version_is_404(api):
    answer = api.call("POST", "/ocpi/cpo/9.9/commands/START_SESSION", start("2.2.1"))
    assert (answer.status, answer.status_code) == (404, 2000)


# ------------------------------------------------------------------------------ answers per version


@pytest.mark.parametrize("version", VERSIONS)
def test_start_session_is_accepted_in_each_version_with_its_command_response(api, ddb, version):
    answer = send(api, version, "START_SESSION", start(version), headers={"X-Request-ID": f"v-{version}"})
    assert (answer.status, answer.status_code) == (200, 1000)
    if version == "2.1.1":
        assert answer.data == {"result": "ACCEPTED"}  # CommandResponse{result}: no timeout in 2.1.1
        assert len(answer.body["timestamp"]) == 20  # YYYY-MM-DDTHH:MM:SSZ, no fractional seconds
        assert not [h for h in answer.headers if h.startswith("ocpi-")]  # no routing headers in 2.1.1
    else:
        assert answer.data == {"result": "ACCEPTED", "timeout": 60}
        assert answer.headers["ocpi-to-party-id"] == PARTIES[version]["party"][1]
    assert answer.headers["x-request-id"] == f"v-{version}"
    [record] = commands_of(ddb).values()
    assert record["ocpi_version"] == version
    country, party = PARTIES[version]["party"]
    assert (record["request"]["token"]["country_code"], record["request"]["token"]["party_id"]) == (country, party)


@pytest.mark.parametrize("version", VERSIONS)
def test_an_unknown_location_is_2003_rejected_in_each_version(api, version):
    answer = send(api, version, "START_SESSION", start(version, location_id="NOWHERE"))
    assert (answer.status_code, answer.result) == (2003, "REJECTED")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_schema_error_is_2001_in_each_version(api, version):
    body = start(version)
    del body["token"]
    answer = send(api, version, "START_SESSION", body)
    assert (answer.status, answer.status_code, answer.result) == (200, 2001, "REJECTED")
    assert "token" in answer.body["status_message"]


@pytest.mark.parametrize("version", VERSIONS)
def test_an_unknown_command_is_not_supported_in_each_version(api, version):
    answer = send(api, version, "SET_CHARGING_PROFILE", {"response_url": f"{URL}/x"})
    assert (answer.status_code, answer.result) == (1000, "NOT_SUPPORTED")


@pytest.mark.parametrize("version", VERSIONS)
def test_an_out_of_order_evse_is_rejected_in_each_version(api, version):
    answer = send(api, version, "START_SESSION", start(version, evse_uid="3259"))
    assert (answer.status_code, answer.result) == (1000, "REJECTED")


@pytest.mark.parametrize("version", VERSIONS)
def test_stop_session_of_another_partys_session_is_rejected_in_each_version(api, version):
    answer = send(api, version, "STOP_SESSION", {"response_url": f"{URL}/stop", "session_id": "SES-OTH-1"})
    assert (answer.status_code, answer.result) == (1000, "REJECTED")
    unknown = send(api, version, "STOP_SESSION", {"response_url": f"{URL}/stop", "session_id": "NOPE"})
    assert unknown.result == "UNKNOWN_SESSION"


@pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
def test_a_token_of_another_party_is_rejected_where_tokens_name_their_owner(api, version):
    answer = send(api, version, "START_SESSION", start(version, token=ocpi_token("FR", "OTH")))
    assert (answer.status_code, answer.result) == (1000, "REJECTED")


@pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
def test_undocumented_fields_are_never_rejected(api, version):
    body = start(version, token=driver_token(version, nickname="x"), preferred_language="nl")
    assert send(api, version, "START_SESSION", body).result == "ACCEPTED"


# ------------------------------------------------------------------------------ 2.1.1


def test_2_1_1_has_no_cancel_reservation(api):
    answer = send(api, "2.1.1", "CANCEL_RESERVATION", {"response_url": f"{URL}/c", "reservation_id": "42"})
    assert (answer.status_code, answer.data) == (1000, {"result": "NOT_SUPPORTED"})


def test_2_1_1_reservation_id_is_an_int(api, ddb):
    assert send(api, "2.1.1", "RESERVE_NOW", reserve("2.1.1")).data == {"result": "ACCEPTED"}
    [record] = commands_of(ddb).values()
    assert record["request"]["reservation_id"] == "42"
    refused = send(api, "2.1.1", "RESERVE_NOW", reserve("2.1.1", reservation_id="R-42"))
    assert (refused.status_code, refused.result) == (2001, "REJECTED")


def test_2_1_1_ids_are_case_sensitive(api):
    lower = send(api, "2.1.1", "START_SESSION", start("2.1.1", location_id="loc1"))
    assert (lower.status_code, lower.result) == (2003, "REJECTED")
    assert send(api, "2.2.1", "START_SESSION", start("2.2.1", location_id="loc1")).result == "ACCEPTED"


def test_2_1_1_token_is_owned_by_the_credentials_party(api, ddb):
    """A 2.1.1 Token has no country_code/party_id; whatever else it carries is not read."""
    body = start(
        "2.1.1", token=token_211(country_code="FR", party_id="OTH"), connector_id="1", authorization_reference="R1"
    )
    assert send(api, "2.1.1", "START_SESSION", body).result == "ACCEPTED"
    [record] = commands_of(ddb).values()
    token = record["request"]["token"]
    assert (token["country_code"], token["party_id"], token["contract_id"]) == ("NL", "OLD", "NL-OLD-C1")
    assert "connector_id" not in record["request"]  # StartSession has no connector_id in 2.1.1
    assert record["request"].get("authorization_reference") is None  # nor an authorization_reference


def test_2_1_1_strings_are_ascii(api):
    answer = send(api, "2.1.1", "START_SESSION", start("2.1.1", token=token_211(issuer="Ökostrom")))
    assert answer.status_code == 2001


# ------------------------------------------------------------------------------ 2.3.0


@pytest.mark.parametrize("token_type", ["EMAID", "LICENSE_PLATE"])
def test_2_3_0_token_type_is_an_open_enum_passed_on(api, ddb, token_type):
    answer = send(api, "2.3.0", "START_SESSION", start("2.3.0", token=driver_token("2.3.0", type=token_type)))
    assert answer.result == "ACCEPTED"
    [record] = commands_of(ddb).values()
    assert record["request"]["token"]["type"] == token_type


def test_2_2_1_token_type_is_a_closed_enum(api):
    answer = send(api, "2.2.1", "START_SESSION", start("2.2.1", token=ocpi_token(type="EMAID")))
    assert (answer.status_code, answer.result) == (2001, "REJECTED")


def test_2_3_0_reservations_and_cancellations(api):
    assert send(api, "2.3.0", "RESERVE_NOW", reserve("2.3.0")).result == "ACCEPTED"
    cancel = send(api, "2.3.0", "CANCEL_RESERVATION", {"response_url": f"{URL}/c", "reservation_id": "R-42"})
    assert cancel.result == "REJECTED"  # until the charge point accepted the reservation, it is unknown


# ------------------------------------------------------------------------------ the partner's version


@pytest.mark.parametrize(
    ("party_version", "endpoint_version"), [("2.2.1", "2.1.1"), ("2.1.1", "2.2.1"), ("2.3.0", "2.2.1")]
)
def test_a_partner_calling_another_versions_endpoint_is_told_its_own(api, party_version, endpoint_version):
    who = PARTIES[party_version]
    answer = api.call(
        "POST",
        f"{commands_path(endpoint_version)}/START_SESSION",
        start(endpoint_version),
        token=who["token"],
        raw_token=who["raw_token"],
    )
    assert (answer.status, answer.status_code, answer.result) == (200, 2000, "REJECTED")
    assert f"/ocpi/cpo/{party_version}/commands" in answer.body["status_message"]


def test_2_1_1_partners_authenticate_with_the_raw_token(api):
    assert send(api, "2.1.1", "START_SESSION", start("2.1.1")).status == 200
    encoded = api.call("POST", f"{commands_path('2.1.1')}/START_SESSION", start("2.1.1"), token=OLD_TOKEN)
    assert encoded.status == 200  # Base64 of it is accepted too (peers that moved on)
    assert (
        api.call(
            "POST", f"{commands_path('2.2.1')}/START_SESSION", start("2.2.1"), token=DEMO_TOKEN, raw_token=True
        ).status
        == 401
    )


def test_commands_received_are_counted_per_ocpi_version(api, capsys):
    send(api, "2.1.1", "START_SESSION", start("2.1.1"))
    send(api, "2.3.0", "START_SESSION", start("2.3.0"))
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"CommandsReceived"' in line]
    assert {(m["OcpiVersion"], m["Response"]) for m in metrics} >= {("2.1.1", "ACCEPTED"), ("2.3.0", "ACCEPTED")}
    for m in metrics:
        [dimensions] = m["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
        assert {"CommandType", "OcpiVersion", "Response"} <= set(dimensions), dimensions
