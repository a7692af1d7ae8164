"""The pending-command record: written once, only for ACCEPTED commands, with idempotency guards."""

import math
import threading
from datetime import UTC, datetime, timedelta

from helpers import OTHER_TOKEN, ocpi_token
from ocpi_commands.ocpi.types import parse_datetime

URL = "https://emsp.example.com/cb/records/1"


def body(url=URL, **overrides):
    return {
        "response_url": url,
        "token": ocpi_token(),
        "location_id": "LOC1",
        "evse_uid": "3256",
        "connector_id": "1",
        "authorization_reference": "auth-ref-1",
        **overrides,
    }


def commands(repository):
    return repository._scan_type("COMMAND")


def test_accepted_command_is_recorded_as_pending(api, ddb):
    before = datetime.now().astimezone()
    answer = api.command("START_SESSION", body(), headers={"X-Request-ID": "req-1", "X-Correlation-ID": "corr-1"})
    assert answer.result == "ACCEPTED"
    [item] = commands(ddb)
    assert item["pk"] == f"CMD#{item['command_id']}" and item["sk"] == "CMD"
    assert item["status"] == "PENDING"
    assert item["command_type"] == "START_SESSION"
    assert item["party"] == {"country_code": "DE", "party_id": "TNM"} and item["party_key"] == "DE*TNM"
    assert item["response_url"] == URL
    assert item["request"]["token"]["uid"] == ocpi_token()["uid"]
    assert item["request"]["authorization_reference"] == "auth-ref-1"
    assert (item["location_id"], item["evse_uid"], item["connector_id"]) == ("LOC1", "3256", "1")
    assert item["response"] == {"result": "ACCEPTED", "timeout": 60}
    assert (item["request_id"], item["correlation_id"]) == ("req-1", "corr-1")
    accepted, deadline = parse_datetime(item["accepted_at"]), parse_datetime(item["deadline"])
    assert before - timedelta(seconds=1) <= accepted <= datetime.now().astimezone()
    assert deadline - accepted == timedelta(seconds=60)
    assert item["deadline_epoch"] == math.ceil(deadline.timestamp())  # never before the deadline
    assert item["expires_at"] >= int(accepted.timestamp()) + 7 * 86400  # TTL
    assert item["gsi1pk"].startswith("PENDING#")  # listed as pending
    assert [c.command_id for c in ddb.list_pending_commands()] == [item["command_id"]]


def test_no_record_for_a_command_that_was_not_accepted(api, ddb):
    assert api.command("START_SESSION", body(location_id="NOPE")).result == "REJECTED"
    assert api.command("STOP_SESSION", {"response_url": URL, "session_id": "NOPE"}).result == "UNKNOWN_SESSION"
    assert api.command("START_SESSION", body(evse_uid="3258", connector_id=None)).result == "NOT_SUPPORTED"
    assert commands(ddb) == []
    assert ddb._scan_type("IDEM") == []


def test_same_request_id_is_answered_the_same_and_recorded_once(api, ddb):
    first = api.command("START_SESSION", body(), headers={"X-Request-ID": "retry-me"})
    second = api.command("START_SESSION", body(), headers={"X-Request-ID": "retry-me"})
    assert first.data == second.data == {"result": "ACCEPTED", "timeout": 60}
    assert len(commands(ddb)) == 1


def test_the_same_response_url_with_another_request_id_is_another_command(api, ddb):
    """A response_url is no key: the same START_SESSION sent again is a new command, with its own result."""
    first = api.command("START_SESSION", body(), headers={"X-Request-ID": "a"})
    second = api.command("START_SESSION", body(), headers={"X-Request-ID": "b"})
    assert first.result == second.result == "ACCEPTED"
    assert len(commands(ddb)) == 2


def test_reserve_now_then_cancel_on_the_same_per_reservation_url_are_both_accepted(api, ddb):
    """The pattern of the OCPI examples: one URL per reservation, for RESERVE_NOW and CANCEL_RESERVATION."""

    url = URL + "/reservation/RES-SEED-1"  # the seed's active reservation at LOC1
    expiry = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    reserve = {
        "response_url": url,
        "token": ocpi_token(),
        "expiry_date": expiry,
        "reservation_id": "RES-SEED-1",
        "location_id": "LOC1",
        "evse_uid": "3256",
    }
    assert api.command("RESERVE_NOW", reserve).result == "ACCEPTED"
    cancel = api.command("CANCEL_RESERVATION", {"response_url": url, "reservation_id": "RES-SEED-1"})
    assert (cancel.status_code, cancel.result) == (1000, "ACCEPTED")
    assert sorted(c["command_type"] for c in commands(ddb)) == ["CANCEL_RESERVATION", "RESERVE_NOW"]


def test_same_request_id_with_a_different_command_is_refused(api, ddb):
    api.command("START_SESSION", body(), headers={"X-Request-ID": "dup"})
    other = api.command(
        "START_SESSION", body(url=URL + "/other", evse_uid="3257", connector_id="2"), headers={"X-Request-ID": "dup"}
    )
    assert (other.status_code, other.result) == (2001, "REJECTED")
    assert "X-Request-ID" in other.body["status_message"]
    assert len(commands(ddb)) == 1


def test_guards_are_per_party(api, ddb):
    api.command("START_SESSION", body(), headers={"X-Request-ID": "shared"})
    other = api.command(
        "START_SESSION", body(token=ocpi_token("FR", "OTH")), token=OTHER_TOKEN, headers={"X-Request-ID": "shared"}
    )
    assert other.result == "ACCEPTED"
    assert {c["party_key"] for c in commands(ddb)} == {"DE*TNM", "FR*OTH"}


def test_records_for_each_command_type_carry_their_targets(api, ddb):
    api.command("STOP_SESSION", {"response_url": URL + "/stop", "session_id": "SES-TNM-1"})
    api.command(
        "UNLOCK_CONNECTOR",
        {"response_url": URL + "/unlock", "location_id": "LOC1", "evse_uid": "3256", "connector_id": "1"},
    )
    by_type = {c["command_type"]: c for c in commands(ddb)}
    assert by_type["STOP_SESSION"]["session_id"] == "SES-TNM-1"
    assert by_type["STOP_SESSION"]["location_id"] == "LOC1"
    assert (by_type["UNLOCK_CONNECTOR"]["evse_uid"], by_type["UNLOCK_CONNECTOR"]["connector_id"]) == ("3256", "1")


def test_concurrent_duplicates_are_recorded_once(ddb):
    """The same request arriving concurrently: the conditional transaction admits exactly one."""
    from ocpi_commands.config import get_settings
    from ocpi_commands.domain.auth import Caller, token_sha256
    from ocpi_commands.domain.receiving import CommandService, RequestMeta, fingerprint
    from ocpi_commands.ocpi.v2_2_1.commands import StartSession
    from ocpi_commands_dev.emulation.moto_patches import serialised_dynamodb

    party, _ = ddb.get_party_by_token_sha256(token_sha256("demo-emsp-token-c"))
    service = CommandService(ddb, ddb, get_settings())
    request = StartSession.model_validate(body())
    answers = []
    barrier = threading.Barrier(8)

    def send():
        barrier.wait()
        answers.append(
            service.receive(
                Caller(party, party.ref),
                request.to_domain(),
                RequestMeta("same-id", "corr", "same-id"),
                fingerprint("START_SESSION", request.to_json_dict()),
            )
        )

    with serialised_dynamodb():
        threads = [threading.Thread(target=send) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(answers) == 8
    assert {a.result.value for a in answers} == {"ACCEPTED"}
    assert len({a.command_id for a in answers}) == 1
    assert len(commands(ddb)) == 1
