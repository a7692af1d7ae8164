"""Decisions on an EVSE status this module received too long ago: flagged (logged, counted), or refused when set.

The decision table stays pure: the threshold and the time come in the Context.
"""

from datetime import UTC, datetime, timedelta

import pytest

from ocpi_commands.domain import decisions
from ocpi_commands.domain.commands import DriverToken, ReserveNow, StartSession
from ocpi_commands.domain.model import Connector, Evse, NetworkLocation, Party, PartyRef
from ocpi_commands.domain.url_policy import STRICT
from ocpi_commands.ocpi.vocabulary import CommandResponseType, CommandType, EvseStatus

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TNM = PartyRef(country_code="DE", party_id="TNM")
MAX_AGE = timedelta(minutes=60)
TOKEN = DriverToken(country_code="DE", party_id="TNM", uid="U1", type="APP_USER", contract_id="C1")


def location(received: datetime | None, status: EvseStatus = EvseStatus.AVAILABLE) -> NetworkLocation:
    evse = Evse(
        uid="3256",
        status=status,
        capabilities=("REMOTE_START_STOP_CAPABLE", "RESERVABLE"),
        connectors=(Connector(id="1"),),
        updated_at=received,
    )
    return NetworkLocation(location_id="LOC1", evses=(evse,))


def ctx(max_age: timedelta | None = MAX_AGE, reject: bool = False) -> decisions.Context:
    party = Party(ref=TNM, token_sha256="0" * 64, permissions=frozenset(CommandType))
    return decisions.Context(
        TNM, party, NOW, frozenset(CommandType), STRICT, status_max_age=max_age, reject_stale_status=reject
    )


def start(context: decisions.Context, loc: NetworkLocation) -> decisions.Decision:
    request = StartSession(response_url="https://e.example.com/cb", token=TOKEN, location_id="LOC1", evse_uid="3256")
    return decisions.decide_start_session(request, context, loc)


def reserve(context: decisions.Context, loc: NetworkLocation) -> decisions.Decision:
    request = ReserveNow(
        response_url="https://e.example.com/cb",
        token=TOKEN,
        expiry_date=NOW + timedelta(hours=1),
        reservation_id="R1",
        location_id="LOC1",
        evse_uid="3256",
    )
    return decisions.decide_reserve_now(request, context, loc, None)


@pytest.mark.parametrize("decide", [start, reserve])
def test_a_fresh_status_decides_as_before(decide):
    decision = decide(ctx(), location(NOW - MAX_AGE))
    assert decision.accepted and decision.stale is None


@pytest.mark.parametrize("decide", [start, reserve])
def test_a_stale_status_is_flagged_and_still_decides_by_default(decide):
    received = NOW - MAX_AGE - timedelta(seconds=1)
    decision = decide(ctx(), location(received))
    assert decision.accepted
    assert decision.stale == decisions.StaleStatus("3256", EvseStatus.AVAILABLE, received)
    refused = decide(ctx(), location(received, EvseStatus.OUTOFORDER))
    assert refused.result == CommandResponseType.REJECTED and refused.stale is not None


@pytest.mark.parametrize("decide", [start, reserve])
def test_with_the_setting_a_stale_status_is_rejected_as_unknown(decide):
    decision = decide(ctx(reject=True), location(NOW - timedelta(hours=2)))
    assert decision.result == CommandResponseType.REJECTED
    assert decision.message == "EVSE 3256 status unknown (last received 2026-06-01T10:00:00Z)"
    never = decide(ctx(reject=True), location(None))  # a record from before freshness was kept
    assert never.message == "EVSE 3256 status unknown (never received)"
    assert decide(ctx(reject=True), location(NOW)).accepted


def test_without_a_threshold_nothing_is_stale():
    assert start(ctx(max_age=None), location(None)).stale is None


def test_a_location_wide_start_does_not_depend_on_one_evse_status():
    request = StartSession(response_url="https://e.example.com/cb", token=TOKEN, location_id="LOC1")
    decision = decisions.decide_start_session(request, ctx(reject=True), location(None))
    assert decision.accepted and decision.stale is None
