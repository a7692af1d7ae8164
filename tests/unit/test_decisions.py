"""The decision table, rule by rule, on domain objects (no storage, no HTTP): README "Answers"."""

from datetime import UTC, datetime, timedelta

import pytest

from ocpi_commands.domain import decisions
from ocpi_commands.domain.commands import (
    CancelReservation,
    DriverToken,
    ReserveNow,
    StartSession,
    StopSession,
    UnlockConnector,
)
from ocpi_commands.domain.model import (
    DEFAULT_PERMISSIONS,
    Connector,
    Evse,
    NetworkLocation,
    Party,
    PartyRef,
    Reservation,
    ReservationStatus,
    SessionRecord,
)
from ocpi_commands.domain.url_policy import STRICT
from ocpi_commands.ocpi.envelope import StatusCode
from ocpi_commands.ocpi.vocabulary import CommandResponseType, CommandType, EvseStatus, SessionStatus

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TNM = PartyRef(country_code="DE", party_id="TNM")
URL = "https://emsp.example.com/cb/1"
ALL = frozenset(CommandType)
R = CommandResponseType


def token(country_code: str = "DE", party_id: str = "TNM") -> DriverToken:
    return DriverToken(country_code=country_code, party_id=party_id, uid="U1", type="APP_USER", contract_id="C1")


def evse(uid: str = "1", status: EvseStatus = EvseStatus.AVAILABLE, *capabilities: str) -> Evse:
    caps = capabilities or ("REMOTE_START_STOP_CAPABLE", "RESERVABLE", "UNLOCK_CAPABLE")
    return Evse(uid=uid, status=status, capabilities=caps, connectors=(Connector(id="1"),))


def location(*evses: Evse) -> NetworkLocation:
    return NetworkLocation(location_id="LOC1", evses=evses or (evse(),))


def ctx(permissions=ALL, supported=ALL, allowed_hosts=()) -> decisions.Context:
    party = Party(
        ref=TNM, token_sha256="0" * 64, permissions=permissions, allowed_response_url_hosts=tuple(allowed_hosts)
    )
    return decisions.Context(TNM, party, NOW, supported, url_policy=STRICT)


def start(**overrides) -> StartSession:
    fields = {"response_url": URL, "token": token(), "location_id": "LOC1", "evse_uid": "1"}
    return StartSession(**{**fields, **overrides})


# ------------------------------------------------------------------------------ precheck


def test_precheck_passes_a_permitted_supported_command_with_a_good_url():
    assert decisions.precheck(CommandType.START_SESSION, URL, ctx()) is None


def test_a_command_the_cpo_does_not_support_is_not_supported_before_anything_else():
    decision = decisions.precheck(
        CommandType.RESERVE_NOW, "http://10.0.0.1/x", ctx(supported={CommandType.STOP_SESSION})
    )
    assert (decision.result, decision.status_code) == (R.NOT_SUPPORTED, StatusCode.SUCCESS)


def test_unlock_is_opt_in_per_party():
    unlock = UnlockConnector(response_url=URL, location_id="LOC1", evse_uid="1", connector_id="1")
    decision = decisions.decide_unlock_connector(unlock, ctx(permissions=DEFAULT_PERMISSIONS), location())
    assert decision.result == R.REJECTED and "not permitted" in decision.message


def test_an_unknown_location_is_2003_before_the_permission_and_the_token():
    """Locations are public data: a strict partner expects 2003 + REJECTED for an unknown one, whatever else."""
    unlock = UnlockConnector(response_url=URL, location_id="NOWHERE", evse_uid="1", connector_id="1")
    decision = decisions.decide_unlock_connector(unlock, ctx(permissions=frozenset()), None)
    assert (decision.result, decision.status_code) == (R.REJECTED, StatusCode.UNKNOWN_LOCATION)
    foreign = decisions.decide_start_session(start(token=token("FR", "OTH")), ctx(permissions=frozenset()), None)
    assert (foreign.result, foreign.status_code) == (R.REJECTED, StatusCode.UNKNOWN_LOCATION)
    reserve_foreign = decisions.decide_reserve_now(reserve(token=token("FR", "OTH")), ctx(), None, None)
    assert reserve_foreign.status_code == StatusCode.UNKNOWN_LOCATION


def test_sessions_and_reservations_are_not_public_the_permission_comes_first():
    no_rights = ctx(permissions=frozenset())
    stop = decisions.decide_stop_session(StopSession(response_url=URL, session_id="S9"), no_rights, None, None)
    cancel = decisions.decide_cancel_reservation(
        CancelReservation(response_url=URL, reservation_id="R9"), no_rights, None
    )
    assert stop.result == cancel.result == R.REJECTED and "not permitted" in stop.message


@pytest.mark.parametrize(
    "url",
    ["http://emsp.example.com/cb", "https://127.0.0.1/cb", "https://10.1.2.3/cb", "https://169.254.169.254/x"],
)
def test_a_refused_response_url_is_2001_rejected(url):
    decision = decisions.precheck(CommandType.START_SESSION, url, ctx())
    assert (decision.result, decision.status_code) == (R.REJECTED, StatusCode.INVALID_PARAMETERS)


def test_the_party_allow_list_limits_response_url_hosts():
    allow = ctx(allowed_hosts=["*.emsp.example.com"])
    assert decisions.precheck(CommandType.START_SESSION, "https://cb.emsp.example.com/x", allow) is None
    refused = decisions.precheck(CommandType.START_SESSION, "https://elsewhere.example.org/x", allow)
    assert refused.status_code == StatusCode.INVALID_PARAMETERS


# ------------------------------------------------------------------------------ START_SESSION


def test_start_session_accepted_with_its_targets():
    decision = decisions.decide_start_session(start(connector_id="1"), ctx(), location())
    assert decision.accepted
    assert dict(decision.targets) == {"location_id": "LOC1", "evse_uid": "1", "connector_id": "1"}


@pytest.mark.parametrize(
    ("request_", "loc", "expected"),
    [
        (start(), None, (R.REJECTED, StatusCode.UNKNOWN_LOCATION, "Unknown location")),
        (start(evse_uid="9"), location(), (R.REJECTED, StatusCode.UNKNOWN_LOCATION, "Unknown EVSE")),
        (start(connector_id="9"), location(), (R.REJECTED, StatusCode.UNKNOWN_LOCATION, "Unknown connector")),
        (start(token=token("FR", "OTH")), location(), (R.REJECTED, StatusCode.SUCCESS, "not owned")),
        (start(), location(evse("1", EvseStatus.AVAILABLE, "RESERVABLE")), (R.NOT_SUPPORTED, StatusCode.SUCCESS, "")),
        (start(), location(evse("1", EvseStatus.OUTOFORDER)), (R.REJECTED, StatusCode.SUCCESS, "outoforder")),
        (start(), location(evse("1", EvseStatus.INOPERATIVE)), (R.REJECTED, StatusCode.SUCCESS, "inoperative")),
        (start(), location(evse("1", EvseStatus.REMOVED)), (R.REJECTED, StatusCode.UNKNOWN_LOCATION, "EVSE")),
        (
            start(),
            location(evse("1", EvseStatus.AVAILABLE, "REMOTE_START_STOP_CAPABLE", "START_SESSION_CONNECTOR_REQUIRED")),
            (R.REJECTED, StatusCode.INVALID_PARAMETERS, "connector_id is required"),
        ),
        (start(evse_uid=None), location(evse("1", EvseStatus.AVAILABLE, "RESERVABLE")), (R.NOT_SUPPORTED, 1000, "")),
    ],
    ids=[
        "unknown-location",
        "unknown-evse",
        "unknown-connector",
        "foreign-token",
        "not-remote-startable",
        "out-of-order",
        "inoperative",
        "removed-evse",
        "connector-required",
        "no-capable-evse-at-location",
    ],
)
def test_start_session_rules(request_, loc, expected):
    decision = decisions.decide_start_session(request_, ctx(), loc)
    result, status_code, message = expected
    assert (decision.result, decision.status_code) == (result, status_code)
    assert message.lower() in (decision.message or "").lower()


def test_start_session_compares_ids_case_insensitively():
    assert decisions.decide_start_session(start(token=token("de", "tnm"), evse_uid="1"), ctx(), location()).accepted


# ------------------------------------------------------------------------------ STOP_SESSION


def session(status=SessionStatus.ACTIVE, owner=TNM, evse_uid="1") -> SessionRecord:
    return SessionRecord(session_id="S1", owner=owner, location_id="LOC1", evse_uid=evse_uid, status=status)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (None, R.UNKNOWN_SESSION),
        (session(owner=PartyRef(country_code="FR", party_id="OTH")), R.REJECTED),
        (session(SessionStatus.COMPLETED), R.REJECTED),
        (session(SessionStatus.ACTIVE), R.ACCEPTED),
        (session(SessionStatus.PENDING), R.ACCEPTED),
        (session(SessionStatus.RESERVATION, evse_uid="#NA"), R.ACCEPTED),
    ],
)
def test_stop_session_rules(record, expected):
    decision = decisions.decide_stop_session(StopSession(response_url=URL, session_id="S1"), ctx(), record, location())
    assert decision.result == expected


def test_stop_session_targets_the_sessions_evse_but_not_a_placeholder():
    stop = StopSession(response_url=URL, session_id="S1")
    assert dict(decisions.decide_stop_session(stop, ctx(), session(), location()).targets)["evse_uid"] == "1"
    targets = decisions.decide_stop_session(stop, ctx(), session(evse_uid="#NA"), location()).targets
    assert "evse_uid" not in targets


def test_stop_session_on_an_evse_that_cannot_be_stopped_remotely():
    loc = location(evse("1", EvseStatus.CHARGING, "RESERVABLE"))
    decision = decisions.decide_stop_session(StopSession(response_url=URL, session_id="S1"), ctx(), session(), loc)
    assert decision.result == R.NOT_SUPPORTED


# ------------------------------------------------------------------------------ RESERVE_NOW / CANCEL_RESERVATION


def reserve(**overrides) -> ReserveNow:
    fields = {
        "response_url": URL,
        "token": token(),
        "expiry_date": NOW + timedelta(minutes=30),
        "reservation_id": "R1",
        "location_id": "LOC1",
        "evse_uid": "1",
    }
    return ReserveNow(**{**fields, **overrides})


def reservation(location_id="LOC1", status=ReservationStatus.ACTIVE, expiry=NOW + timedelta(minutes=5)) -> Reservation:
    return Reservation(
        owner=TNM,
        reservation_id="R1",
        cp_reservation_id=900001,
        location_id=location_id,
        expiry_date=expiry,
        response_url=URL,
        command_id="c1",
        status=status,
    )


def test_reserve_now_in_the_past_is_2001():
    decision = decisions.decide_reserve_now(reserve(expiry_date=NOW - timedelta(seconds=1)), ctx(), location(), None)
    assert (decision.result, decision.status_code) == (R.REJECTED, StatusCode.INVALID_PARAMETERS)


def test_reserve_now_replacing_an_active_reservation_keeps_its_charge_point_id():
    decision = decisions.decide_reserve_now(reserve(), ctx(), location(), reservation())
    assert decision.accepted and decision.targets["cp_reservation_id"] == 900001


def test_reserve_now_reusing_an_id_active_elsewhere_is_rejected():
    decision = decisions.decide_reserve_now(reserve(), ctx(), location(), reservation(location_id="LOC2"))
    assert decision.result == R.REJECTED and "another location" in decision.message


def test_reserve_now_after_the_earlier_one_expired_is_a_new_reservation():
    expired = reservation(expiry=NOW - timedelta(minutes=1))
    decision = decisions.decide_reserve_now(reserve(), ctx(), location(), expired)
    assert decision.accepted and "cp_reservation_id" not in decision.targets


def test_reserve_now_on_an_evse_that_cannot_be_reserved():
    loc = location(evse("1", EvseStatus.AVAILABLE, "REMOTE_START_STOP_CAPABLE"))
    assert decisions.decide_reserve_now(reserve(), ctx(), loc, None).result == R.NOT_SUPPORTED


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        (None, R.REJECTED),
        (reservation(status=ReservationStatus.CANCELED), R.REJECTED),
        (reservation(expiry=NOW - timedelta(seconds=1)), R.REJECTED),
        (reservation(), R.ACCEPTED),
    ],
)
def test_cancel_reservation_rules(existing, expected):
    cancel = CancelReservation(response_url=URL, reservation_id="R1")
    assert decisions.decide_cancel_reservation(cancel, ctx(), existing).result == expected


# ------------------------------------------------------------------------------ UNLOCK_CONNECTOR


def test_unlock_connector_rules():
    unlock = UnlockConnector(response_url=URL, location_id="LOC1", evse_uid="1", connector_id="1")
    assert decisions.decide_unlock_connector(unlock, ctx(), location()).accepted
    assert decisions.decide_unlock_connector(unlock, ctx(), None).status_code == StatusCode.UNKNOWN_LOCATION
    no_lock = location(evse("1", EvseStatus.AVAILABLE, "REMOTE_START_STOP_CAPABLE"))
    assert decisions.decide_unlock_connector(unlock, ctx(), no_lock).result == R.NOT_SUPPORTED
