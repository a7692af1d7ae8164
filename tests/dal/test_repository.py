"""Every public method of ``Repository``, on moto and on DynamoDB Local (AWS's own DynamoDB engine).

The conditional writes are the arbiter of the product (a command is recorded once, resolved once, its
result delivered by one owner); these tests check that the conditions hold on the real engine too.
"""

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from helpers import ocpi_token, seed
from ocpi_commands.adapters.dynamodb import keys
from ocpi_commands.adapters.dynamodb.repository import COMMAND_RETENTION_SECONDS
from ocpi_commands.adapters.dynamodb.repository import DynamoRepository as Repository
from ocpi_commands.domain.auth import token_sha256
from ocpi_commands.domain.model import (
    CommandRecord,
    CommandStatus,
    CredentialsStatus,
    DeliveryAttempt,
    DeliveryStatus,
    Party,
    PartyRef,
    PartyRole,
    Reservation,
    ReservationStatus,
    ResultSource,
    SessionRecord,
)
from ocpi_commands.domain.receiving import fingerprint
from ocpi_commands.ocpi.types import utc_now
from ocpi_commands.ocpi.v2_2_1.commands import (
    CommandResponse,
    CommandResponseType,
    CommandResultType,
    CommandType,
    StartSession,
)
from ocpi_commands.ocpi.vocabulary import SessionStatus
from ocpi_commands_dev.loading import load_seed, parse_locations

DEMO = PartyRef(country_code="DE", party_id="TNM")
OTHER = PartyRef(country_code="FR", party_id="OTH")
THREADS = 12


# ---------------------------------------------------------------------------------------------- builders


def start_session(response_url: str, **overrides: Any) -> StartSession:
    return StartSession.model_validate(
        {
            "response_url": response_url,
            "token": ocpi_token(),
            "location_id": "LOC1",
            "evse_uid": "3256",
            "connector_id": "1",
            **overrides,
        }
    )


def accept(
    response_url: str | None = None,
    *,
    party: PartyRef = DEMO,
    timeout: int = 60,
    accepted_at: datetime | None = None,
    **body: Any,
) -> tuple[CommandRecord, str]:
    """An ACCEPTED START_SESSION as ``CommandService._accept`` builds it, with its body fingerprint."""
    now = accepted_at or utc_now()
    request = start_session(response_url or f"https://emsp.example.com/cb/{uuid.uuid4().hex}", **body)
    payload = request.to_json_dict()
    command = CommandRecord(
        command_id=uuid.uuid4().hex,
        command_type=CommandType.START_SESSION,
        party=party,
        request=payload,
        response_url=request.response_url,
        response=CommandResponse(result=CommandResponseType.ACCEPTED, timeout=timeout).to_json_dict(),
        timeout=timeout,
        accepted_at=now,
        deadline=now + timedelta(seconds=timeout),
        request_id=uuid.uuid4().hex,
        correlation_id=uuid.uuid4().hex,
        location_id="LOC1",
        evse_uid="3256",
        connector_id="1",
    )
    return command, fingerprint(CommandType.START_SESSION.value, payload)


def created(repository: Repository, client_request_id: str | None = None, **kwargs: Any) -> CommandRecord:
    command, body = accept(**kwargs)
    assert repository.create_command(command, client_request_id, body).created
    return command


def resolve(
    repository: Repository,
    command_id: str,
    owner: str = "result:event-1",
    result: CommandResultType = CommandResultType.ACCEPTED,
    now: datetime | None = None,
):
    now = now or utc_now()
    return repository.resolve_command(
        command_id, result, ResultSource.CHARGE_POINT, None, now, owner, DeliveryAttempt(number=1, started_at=now)
    )


def reservation(reservation_id: str, cp_reservation_id: int, expiry: timedelta = timedelta(hours=1)) -> Reservation:
    return Reservation(
        owner=DEMO,
        reservation_id=reservation_id,
        cp_reservation_id=cp_reservation_id,
        location_id="LOC1",
        evse_uid="3256",
        expiry_date=utc_now() + expiry,
        response_url=f"https://emsp.example.com/cb/reserve/{reservation_id}",
        command_id=uuid.uuid4().hex,
        correlation_id="corr-rsv",
    )


def concurrently(count: int, call: Callable[[int], Any]) -> list[Any]:
    """Run ``call(i)`` for i in range(count) from ``count`` threads released at the same moment."""
    barrier = threading.Barrier(count)

    def run(index: int) -> Any:
        barrier.wait(timeout=30)
        return call(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def now_ms() -> datetime:
    """Now, at the millisecond precision of the OCPI DateTime the repository writes for lifecycle moments."""
    now = utc_now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def pair(transition: Any) -> tuple[bool, CommandRecord | None]:
    return transition.won, transition.command


def without_ttl(command: CommandRecord | None) -> dict[str, Any]:
    assert command is not None
    return command.model_dump(exclude={"expires_at"})


# ---------------------------------------------------------------------------------------------- parties


def test_the_sample_seed_loads_and_every_party_is_found_by_its_token(repository):
    sample = seed()
    counts = load_seed(repository, sample)
    assert counts["parties"] == len(sample["parties"]) > 1
    assert sorted(p.ref.key for p in repository.list_parties()) == sorted(
        f"{p['country_code']}*{p['party_id']}" for p in sample["parties"]
    )
    for spec in sample["parties"]:
        found = repository.get_party_by_token_sha256(token_sha256(spec["token"]))
        assert found is not None, spec["party_id"]
        party, status = found
        assert party.ref == PartyRef(country_code=spec["country_code"], party_id=spec["party_id"])
        assert party.name == spec["name"]
        assert status == CredentialsStatus(spec.get("credentials_status", "REGISTERED"))
    assert repository.get_party_by_token_sha256(token_sha256("no-such-token")) is None
    # Loading the same seed again changes nothing (parties are replaced in place, tokens unchanged).
    load_seed(repository, sample)
    assert len(repository.list_parties()) == len(sample["parties"])


def test_a_party_round_trips_with_every_field(repository):
    party = Party(
        ref=PartyRef(country_code="NL", party_id="HUB"),
        role=PartyRole.HUB,
        name="Hub",
        token_sha256=token_sha256("hub-token"),
        credentials_status=CredentialsStatus.TOKEN_A,
        outbound_token="issued-by-hub",
        legacy_token_encoding=True,
        permissions=frozenset({CommandType.UNLOCK_CONNECTOR, CommandType.START_SESSION}),
        allowed_response_url_hosts=("emsp.example.com", "hub.example.net"),
        hub_clients=("BE*HBE",),
        enabled=False,
    )
    assert repository.get_party(party.ref) is None
    repository.put_party(party)
    assert repository.get_party(party.ref) == party
    assert repository.get_party(PartyRef(country_code="nl", party_id="hub")) == party  # CiString identity
    assert repository.get_party_by_token_sha256(party.token_sha256) == (party, CredentialsStatus.TOKEN_A)


def test_token_rotation_replaces_the_token_lookup(repository):
    old = Party(ref=DEMO, token_sha256=token_sha256("old-token"), credentials_status=CredentialsStatus.TOKEN_A)
    repository.put_party(old)
    rotated = old.model_copy(
        update={"token_sha256": token_sha256("new-token"), "credentials_status": CredentialsStatus.REGISTERED}
    )
    repository.put_party(rotated, previous_token_sha256=old.token_sha256)

    assert repository.get_party_by_token_sha256(token_sha256("old-token")) is None
    assert repository.get_party_by_token_sha256(token_sha256("new-token")) == (rotated, CredentialsStatus.REGISTERED)
    assert repository.get_party(DEMO) == rotated
    old_lookup = repository.client.get_item(
        TableName=repository.table_name, Key=_key(keys.credentials(old.token_sha256))
    )
    assert "Item" not in old_lookup  # the old token's look-up item is gone, in the same transaction

    # Without the previous hash the stale look-up item stays, yet it no longer authenticates anyone.
    third = rotated.model_copy(update={"token_sha256": token_sha256("third-token")})
    repository.put_party(third)
    assert repository.get_party_by_token_sha256(token_sha256("new-token")) is None
    assert repository.get_party_by_token_sha256(token_sha256("third-token")) == (third, CredentialsStatus.REGISTERED)


def _key(key: dict[str, str]) -> dict[str, Any]:
    return {name: {"S": value} for name, value in key.items()}


# ---------------------------------------------------------------------------------------------- locations, sessions


def test_locations_round_trip_and_are_found_case_insensitively(repository):
    loc1, loc2 = parse_locations(seed()["locations"])
    repository.put_location(loc1)
    repository.put_location(loc2)
    assert repository.get_location("LOC1") == loc1
    assert repository.get_location("loc2") == loc2
    assert repository.get_location("LOC3") is None
    assert repository.get_location("LOC1").evse("3256").connectors[0].id == "1"


def test_sessions_round_trip_and_are_replaced_by_a_newer_report(repository):
    session = SessionRecord(
        session_id="SES-1",
        owner=DEMO,
        location_id="LOC1",
        evse_uid="3256",
        connector_id="1",
        status=SessionStatus.PENDING,
        authorization_reference="auth-1",
        command_id="cmd-1",
        last_updated=utc_now(),
    )
    assert repository.get_session("SES-1") is None
    repository.put_session(session)
    assert repository.get_session("ses-1") == session
    completed = session.model_copy(update={"status": SessionStatus.COMPLETED, "last_updated": utc_now()})
    repository.put_session(completed)
    assert repository.get_session("SES-1") == completed


# ---------------------------------------------------------------------------------------------- reservations


def test_location_and_reservation_are_read_in_one_batch(repository):
    [location, _] = parse_locations(seed()["locations"])
    held = reservation("RES-1", 7)
    assert repository.get_location_and_reservation("LOC1", DEMO, "RES-1") == (None, None)
    repository.put_location(location)
    assert repository.get_location_and_reservation("LOC1", DEMO, "RES-1") == (location, None)
    repository.put_reservation(held)
    assert repository.get_reservation(DEMO, "res-1") == held
    assert repository.get_location_and_reservation("loc1", DEMO, "res-1") == (location, held)
    assert repository.get_location_and_reservation("NOPE", DEMO, "RES-1") == (None, held)
    # Reservation ids are per party: another eMSP's RES-1 is another reservation.
    assert repository.get_location_and_reservation("LOC1", OTHER, "RES-1") == (location, None)
    assert repository.get_reservation(OTHER, "RES-1") is None


def test_a_reservation_is_found_by_the_charge_points_reservation_id(repository):
    first, second = reservation("RES-1", 7), reservation("RES-2", 8)
    repository.put_reservation(first)
    repository.put_reservation(second)
    created(repository)  # a pending command shares the sparse index; it is never taken for a reservation
    assert repository.find_reservation_by_cp_id(7) == first
    assert repository.find_reservation_by_cp_id(8) == second
    assert repository.find_reservation_by_cp_id(9) is None
    # Still found once cancelled: a late CPO cancellation must see that it is no longer active.
    repository.cancel_reservation(DEMO, "RES-1", utc_now(), by="EMSP")
    assert repository.find_reservation_by_cp_id(7).status == ReservationStatus.CANCELED


def test_a_reservation_is_cancelled_only_once(repository):
    held = reservation("RES-1", 7)
    repository.put_reservation(held)
    canceled = repository.cancel_reservation(DEMO, "res-1", utc_now(), by="CPO")
    assert canceled is not None
    assert (canceled.status, canceled.canceled_by, canceled.cp_reservation_id) == (ReservationStatus.CANCELED, "CPO", 7)
    assert repository.cancel_reservation(DEMO, "RES-1", utc_now(), by="EMSP") is None
    stored = repository.get_reservation(DEMO, "RES-1")
    assert (stored.status, stored.canceled_by) == (ReservationStatus.CANCELED, "CPO")  # the first one stands


def test_an_expired_or_unknown_reservation_is_not_cancelled(repository):
    expired = reservation("RES-OLD", 7, expiry=timedelta(minutes=-1))
    repository.put_reservation(expired)
    assert repository.cancel_reservation(DEMO, "RES-OLD", utc_now(), by="EMSP") is None
    assert repository.get_reservation(DEMO, "RES-OLD") == expired  # untouched
    assert repository.cancel_reservation(DEMO, "RES-NONE", utc_now(), by="EMSP") is None
    assert repository.get_reservation(DEMO, "RES-NONE") is None  # the failed update created nothing


def test_charge_point_reservation_ids_increase(repository):
    assert [repository.next_cp_reservation_id() for _ in range(3)] == [1, 2, 3]


def test_charge_point_reservation_ids_are_unique_under_concurrency(repository):
    ids = concurrently(THREADS, lambda _: [repository.next_cp_reservation_id() for _ in range(4)])
    flat = [i for batch in ids for i in batch]
    assert sorted(flat) == list(range(1, THREADS * 4 + 1))
    for batch in ids:
        assert batch == sorted(batch)  # increasing as seen by each caller
    assert repository.next_cp_reservation_id() == THREADS * 4 + 1


# ---------------------------------------------------------------------------------------------- create_command


def test_an_accepted_command_is_recorded_once_as_pending(repository):
    command, body = accept()
    outcome = repository.create_command(command, "req-1", body)
    assert (outcome.created, outcome.command) == (True, command)
    stored = repository.get_command(command.command_id)
    assert without_ttl(stored) == without_ttl(command)
    assert stored.status == CommandStatus.PENDING
    assert stored.expires_at == int(command.accepted_at.timestamp()) + COMMAND_RETENTION_SECONDS
    assert [c.command_id for c in repository.list_pending_commands()] == [command.command_id]


def test_the_same_request_id_is_a_duplicate_of_the_first_command(repository):
    first, body = accept()
    assert repository.create_command(first, "req-1", body).created
    retry, retry_body = accept(first.response_url, accepted_at=first.accepted_at + timedelta(seconds=2))
    assert retry_body == body  # the client sent the same request again
    outcome = repository.create_command(retry, "req-1", retry_body)
    assert (outcome.created, outcome.conflict, outcome.same_body) == (False, "request_id", True)
    assert outcome.command == repository.get_command(first.command_id)
    assert outcome.command.response == first.response  # what the retry is answered with
    assert repository.get_command(retry.command_id) is None  # nothing of the retry was written
    assert [c.command_id for c in repository.list_pending_commands()] == [first.command_id]
    # The same request from another party is another command.
    assert repository.create_command(accept(first.response_url, party=OTHER)[0], "req-1", body).created


def test_the_same_request_id_with_another_body_is_flagged(repository):
    first, body = accept()
    assert repository.create_command(first, "req-1", body).created
    other, other_body = accept(location_id="LOC2", evse_uid="9999", connector_id="2")
    assert other_body != body
    outcome = repository.create_command(other, "req-1", other_body)
    assert (outcome.created, outcome.conflict, outcome.same_body) == (False, "request_id", False)
    assert outcome.command.command_id == first.command_id


def test_a_response_url_is_no_key_two_commands_may_name_it(repository):
    """RESERVE_NOW then CANCEL_RESERVATION on one per-reservation URL, or the same START_SESSION sent
    again after its result: each is its own command with its own CommandResult."""
    url = "https://emsp.example.com/cb/same"
    first, body = accept(url)
    assert repository.create_command(first, None, body).created
    again, again_body = accept(url)
    assert again_body == body
    assert repository.create_command(again, None, again_body).created
    third, third_body = accept(url)
    assert repository.create_command(third, "another-request", third_body).created
    pending = {c.command_id for c in repository.list_pending_commands()}
    assert pending == {first.command_id, again.command_id, third.command_id}


def test_the_same_request_id_for_another_command_type_is_another_command(repository):
    first, body = accept()
    assert repository.create_command(first, "req-shared", body).created
    stop = first.model_copy(update={"command_id": uuid.uuid4().hex, "command_type": CommandType.STOP_SESSION})
    assert repository.create_command(stop, "req-shared", fingerprint("STOP_SESSION", {"session_id": "S1"})).created


def test_an_expired_request_id_guard_admits_a_new_command(repository):
    first, body = accept()
    assert repository.create_command(first, "req-old", body).created
    guard = keys.request_id_guard(first.party, "START_SESSION", "req-old")
    repository.client.update_item(
        TableName=repository.table_name,
        Key={"pk": {"S": guard["pk"]}, "sk": {"S": "IDEM"}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )  # a day has passed (neither engine deletes TTL-expired items)
    again, _ = accept()
    outcome = repository.create_command(again, "req-old", body)
    assert outcome.created and outcome.command == again


def test_concurrent_identical_requests_record_one_command(repository):
    url = "https://emsp.example.com/cb/concurrent"
    attempts = [accept(url) for _ in range(THREADS)]
    outcomes = concurrently(THREADS, lambda i: repository.create_command(attempts[i][0], "req-same", attempts[i][1]))
    winners = [o for o in outcomes if o.created]
    assert len(winners) == 1
    winner = winners[0].command.command_id
    assert {o.command.command_id for o in outcomes} == {winner}
    assert all(o.same_body for o in outcomes)
    assert [c.command_id for c in repository.list_pending_commands()] == [winner]


# ---------------------------------------------------------------------------------------------- dispatch and resolution


def test_dispatch_is_recorded_only_while_pending(repository):
    command = created(repository)
    now = now_ms()
    first = repository.record_dispatch(command.command_id, "token-1", "arn:execution:1", now, 42)
    assert first.won
    assert (first.command.task_token, first.command.execution_arn) == ("token-1", "arn:execution:1")
    assert (first.command.cp_reservation_id, first.command.dispatched_at) == (42, now)
    assert first.command.status == CommandStatus.PENDING
    assert resolve(repository, command.command_id).won
    late = repository.record_dispatch(command.command_id, "token-2", None, utc_now(), None)
    assert not late.won
    assert (late.command.status, late.command.task_token) == (CommandStatus.RESOLVED, "token-1")
    assert repository.get_command(command.command_id).task_token == "token-1"
    assert pair(repository.record_dispatch("no-such-command", "token", None, now, None)) == (False, None)


def test_a_command_is_resolved_once_and_the_loser_gets_the_stored_record(repository):
    command = created(repository)
    now = now_ms()
    won = repository.resolve_command(
        command.command_id,
        CommandResultType.REJECTED,
        ResultSource.CHARGE_POINT,
        [{"language": "en", "text": "Connector busy"}],
        now,
        "result:event-1",
        DeliveryAttempt(number=1, started_at=now),
    )
    assert won.won
    record = won.command
    assert (record.status, record.result, record.result_source) == (
        CommandStatus.RESOLVED,
        CommandResultType.REJECTED,
        ResultSource.CHARGE_POINT,
    )
    assert record.result_message == [{"language": "en", "text": "Connector busy"}]
    assert (record.resolved_at, record.delivery_status, record.delivery_owner) == (
        now,
        DeliveryStatus.DELIVERING,
        "result:event-1",
    )
    assert record.delivery_attempts == (DeliveryAttempt(number=1, started_at=now),)
    assert repository.list_pending_commands() == []

    lost = resolve(repository, command.command_id, owner="execution:timeout", result=CommandResultType.TIMEOUT)
    assert not lost.won
    assert lost.command == repository.get_command(command.command_id) == record
    assert pair(resolve(repository, "no-such-command")) == (False, None)


def test_concurrent_resolutions_have_exactly_one_winner(repository):
    command = created(repository)
    results = [CommandResultType.ACCEPTED, CommandResultType.TIMEOUT, CommandResultType.FAILED]
    owners = [f"owner-{i}" for i in range(THREADS)]
    transitions = concurrently(
        THREADS, lambda i: resolve(repository, command.command_id, owner=owners[i], result=results[i % 3])
    )
    winners = [i for i, t in enumerate(transitions) if t.won]
    assert len(winners) == 1
    [winner] = winners
    stored = repository.get_command(command.command_id)
    assert (stored.delivery_owner, stored.result) == (owners[winner], results[winner % 3])
    assert len(stored.delivery_attempts) == 1
    assert transitions[winner].command == stored
    for i, transition in enumerate(transitions):
        if i != winner:
            assert transition.command is not None
            assert (transition.command.status, transition.command.delivery_owner) == (
                CommandStatus.RESOLVED,
                owners[winner],
            )
            assert transition.command.result == results[winner % 3]


# ---------------------------------------------------------------------------------------------- delivery


def test_delivery_attempts_belong_to_their_owner_and_are_numbered(repository):
    command = created(repository)
    owner = "result:event-1"
    assert resolve(repository, command.command_id, owner=owner).won

    def attempt(number: int) -> DeliveryAttempt:
        return DeliveryAttempt(number=number, started_at=utc_now())

    intruder = repository.begin_delivery_attempt(command.command_id, "execution:other", attempt(2))
    assert not intruder.won and intruder.command.delivery_owner == owner
    assert not repository.begin_delivery_attempt(command.command_id, owner, attempt(3)).won  # numbering skips
    assert len(repository.get_command(command.command_id).delivery_attempts) == 1

    first = repository.get_command(command.command_id).delivery_attempts[0]
    retryable = first.model_copy(update={"outcome": "retryable", "http_status": 503, "duration_ms": 12})
    done = repository.finish_delivery_attempt(command.command_id, owner, retryable, None, utc_now())
    assert done.won
    assert done.command.delivery_attempts == (retryable,)
    assert done.command.delivery_status == DeliveryStatus.DELIVERING  # not final

    second = attempt(2)
    opened = repository.begin_delivery_attempt(command.command_id, owner, second)
    assert opened.won and opened.command.delivery_attempts == (retryable, second)
    assert not repository.begin_delivery_attempt(command.command_id, owner, attempt(2)).won  # opened once

    delivered = second.model_copy(update={"outcome": "delivered", "http_status": 200, "ocpi_status_code": 1000})
    now = now_ms()
    refused = repository.finish_delivery_attempt(
        command.command_id, "execution:other", delivered, DeliveryStatus.DELIVERED, now
    )
    assert not refused.won and refused.command.delivery_status == DeliveryStatus.DELIVERING
    finished = repository.finish_delivery_attempt(
        command.command_id, owner, delivered, DeliveryStatus.DELIVERED, now, request_id="delivery-req-1"
    )
    assert finished.won
    record = repository.get_command(command.command_id)
    assert record == finished.command
    assert (record.delivery_status, record.delivered_at, record.delivery_request_id) == (
        DeliveryStatus.DELIVERED,
        now,
        "delivery-req-1",
    )
    assert record.delivery_attempts == (retryable, delivered)
    assert not repository.begin_delivery_attempt(command.command_id, owner, attempt(3)).won  # delivered: no more


def test_a_failed_delivery_keeps_a_bounded_error(repository):
    command = created(repository)
    assert resolve(repository, command.command_id, owner="o").won
    stored = repository.get_command(command.command_id)
    failed = stored.delivery_attempts[0].model_copy(update={"outcome": "failed", "error": "refused"})
    outcome = repository.finish_delivery_attempt(
        command.command_id, "o", failed, DeliveryStatus.FAILED, utc_now(), error="x" * 800
    )
    assert outcome.won
    assert outcome.command.delivery_status == DeliveryStatus.FAILED
    assert outcome.command.delivery_error == "x" * 500
    assert outcome.command.delivered_at is None


def test_no_delivery_attempt_on_a_pending_or_unknown_command(repository):
    command = created(repository)
    attempt = DeliveryAttempt(number=1, started_at=utc_now())
    pending = repository.begin_delivery_attempt(
        command.command_id, "o", DeliveryAttempt(number=2, started_at=utc_now())
    )
    assert not pending.won and pending.command.status == CommandStatus.PENDING
    assert repository.finish_delivery_attempt(command.command_id, "o", attempt, None, utc_now()).won is False
    assert pair(repository.begin_delivery_attempt("no-such-command", "o", attempt)) == (False, None)


def test_late_results_are_counted(repository):
    command = created(repository)
    assert resolve(repository, command.command_id).won
    repository.count_late_result(command.command_id)
    repository.count_late_result(command.command_id)
    assert repository.get_command(command.command_id).late_results == 2
    with pytest.raises(ClientError) as raised:
        repository.count_late_result("no-such-command")
    assert raised.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert repository.get_command("no-such-command") is None


def test_a_cpo_notice_is_stored_once_as_resolved(repository):
    now = utc_now()
    notice = CommandRecord(
        command_id="cmd-1-canceled-by-cpo",
        command_type=CommandType.RESERVE_NOW,
        party=DEMO,
        request={"reservation_id": "RES-1", "notice": "CANCELED_RESERVATION"},
        response_url="https://emsp.example.com/cb/reserve/RES-1",
        response={},
        timeout=0,
        accepted_at=now,
        deadline=now,
        request_id=str(uuid.uuid4()),
        correlation_id="corr-rsv",
        status=CommandStatus.RESOLVED,
        location_id="LOC1",
        reservation_id="RES-1",
        cp_reservation_id=7,
        result=CommandResultType.CANCELED_RESERVATION,
        result_source=ResultSource.CPO,
        resolved_at=now,
        delivery_status=DeliveryStatus.DELIVERING,
        delivery_owner="cpo-cancel:cmd-1",
        delivery_attempts=(DeliveryAttempt(number=1, started_at=now),),
    )
    assert repository.put_resolved_notice(notice) is True
    assert repository.put_resolved_notice(notice.model_copy(update={"delivery_owner": "cpo-cancel:again"})) is False
    stored = repository.get_command(notice.command_id)
    assert without_ttl(stored) == without_ttl(notice)  # the first notice stands
    assert repository.list_pending_commands() == []  # never listed as pending


# ---------------------------------------------------------------------------------------------- listing


def test_pending_commands_are_listed_by_deadline(repository):
    now = utc_now()
    commands = [created(repository, timeout=timeout, accepted_at=now) for timeout in (90, 30, 300, 60, 45, 120, 10)]
    resolved = commands[3]
    assert resolve(repository, resolved.command_id).won
    listed = repository.list_pending_commands()
    expected = sorted((c for c in commands if c is not resolved), key=lambda c: c.deadline)
    assert [c.command_id for c in listed] == [c.command_id for c in expected]
    assert [c.timeout for c in listed] == [10, 30, 45, 90, 120, 300]
    assert {c.status for c in listed} == {CommandStatus.PENDING}


# ---------------------------------------------------------------------------------------------- simulator


def test_simulator_behaviour_per_evse_falls_back_to_the_location(repository):
    repository.put_simulator_behaviour("LOC1", None, {"mode": "accept", "delay_seconds": 1})
    repository.put_simulator_behaviour("LOC1", "SILENT", {"mode": "silent"})
    assert repository.get_simulator_behaviour("loc1", "silent") == {"mode": "silent"}
    assert repository.get_simulator_behaviour("LOC1", "3256") == {"mode": "accept", "delay_seconds": 1}
    assert repository.get_simulator_behaviour("LOC1", None) == {"mode": "accept", "delay_seconds": 1}
    assert repository.get_simulator_behaviour("LOC2", "3256") is None
    assert repository.get_simulator_behaviour(None, "SILENT") is None
