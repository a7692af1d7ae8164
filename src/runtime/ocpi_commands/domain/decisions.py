"""The CPO's synchronous verdict on a command: the decision table (README, "Answers").

Pure rules over the request, the caller and the records looked up for it. The order matters:
what this CPO supports and the response_url policy come first; then, for commands on a location, the
location itself (Locations are public data in OCPI, and an unknown location is 2003 + REJECTED, as
the official diagram shows), then the party's permission and its Token. Sessions and reservations
are never public: for them the permission comes before any look-up.
"""

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import NamedTuple

from ocpi_commands.domain.commands import (
    CancelReservation,
    DriverToken,
    ReserveNow,
    StartSession,
    StopSession,
    UnlockConnector,
)
from ocpi_commands.domain.model import (
    Evse,
    NetworkLocation,
    Party,
    PartyRef,
    Reservation,
    SessionRecord,
    has_connector,
)
from ocpi_commands.domain.url_policy import ResponseUrlRefused, UrlPolicy, check_response_url
from ocpi_commands.ocpi.envelope import StatusCode
from ocpi_commands.ocpi.vocabulary import Capability, CommandResponseType, CommandType, EvseStatus, SessionStatus

_INOPERATIVE = frozenset({EvseStatus.INOPERATIVE, EvseStatus.OUTOFORDER})
_NOT_APPLICABLE = "#NA"


class Decision(NamedTuple):
    result: CommandResponseType
    status_code: StatusCode = StatusCode.SUCCESS
    message: str | None = None
    # Resolved targets for an ACCEPTED command (what the charge point backend will need).
    targets: Mapping[str, object] = MappingProxyType({})

    @property
    def accepted(self) -> bool:
        return self.result == CommandResponseType.ACCEPTED


def _accepted(**targets: object) -> Decision:
    return Decision(CommandResponseType.ACCEPTED, targets={k: v for k, v in targets.items() if v is not None})


def _rejected(message: str, status_code: StatusCode = StatusCode.SUCCESS) -> Decision:
    return Decision(CommandResponseType.REJECTED, status_code, message)


def _not_supported(message: str) -> Decision:
    return Decision(CommandResponseType.NOT_SUPPORTED, StatusCode.SUCCESS, message)


def _unknown_location(what: str) -> Decision:
    return _rejected(f"Unknown {what}", StatusCode.UNKNOWN_LOCATION)


def _has(evse: Evse, capability: Capability) -> bool:
    return capability.value in evse.capabilities


def _token_owned_by(token: DriverToken, caller: PartyRef) -> bool:
    return caller.same_as(token.country_code, token.party_id)


class Context(NamedTuple):
    caller: PartyRef
    party: Party
    now: datetime
    supported_commands: frozenset[CommandType]
    url_policy: UrlPolicy
    # OCPI 2.1.1: location_id / evse_uid are case-sensitive strings, not CiString.
    exact_ids: bool = False


def _permitted(command_type: CommandType, ctx: Context) -> Decision | None:
    if command_type not in ctx.party.permissions:
        return _rejected(f"{command_type.value} is not permitted for {ctx.caller.key}")
    return None


def precheck(command_type: CommandType, response_url: str, ctx: Context) -> Decision | None:
    """Rules that need no look-up. ``None`` means: go on."""
    if command_type not in ctx.supported_commands:
        return _not_supported(f"This CPO does not support {command_type.value}")
    try:
        check_response_url(response_url, ctx.url_policy, ctx.party.allowed_response_url_hosts)
    except ResponseUrlRefused as exc:
        return _rejected(str(exc), StatusCode.INVALID_PARAMETERS)
    return None


def _locate(
    location: NetworkLocation | None, location_id: str, evse_uid: str | None, connector_id: str | None, ctx: Context
) -> tuple[Decision | None, Evse | None]:
    if location is None or (ctx.exact_ids and location.location_id != location_id):
        return _unknown_location("location"), None
    if evse_uid is None:
        return None, None
    evse = location.evse(evse_uid)
    if evse is None or (ctx.exact_ids and evse.uid != evse_uid):
        return _unknown_location("EVSE"), None
    if connector_id is not None and not has_connector(evse, connector_id):
        return _unknown_location("connector"), None
    return None, evse


def _operable(evse: Evse) -> Decision | None:
    if evse.status in _INOPERATIVE:
        return _rejected(f"EVSE {evse.uid} is {evse.status.value.lower()}")
    return None


def decide_start_session(request: StartSession, ctx: Context, location: NetworkLocation | None) -> Decision:
    problem, evse = _locate(location, request.location_id, request.evse_uid, request.connector_id, ctx)
    if problem:
        return problem
    assert location is not None
    if refused := _permitted(CommandType.START_SESSION, ctx):
        return refused
    if not _token_owned_by(request.token, ctx.caller):
        return _rejected("The Token is not owned by the requesting party")
    if evse is not None:
        if not _has(evse, Capability.REMOTE_START_STOP_CAPABLE):
            return _not_supported(f"EVSE {evse.uid} cannot be started remotely")
        if _has(evse, Capability.START_SESSION_CONNECTOR_REQUIRED) and request.connector_id is None:
            return _rejected(f"connector_id is required for EVSE {evse.uid}", StatusCode.INVALID_PARAMETERS)
        if inoperable := _operable(evse):
            return inoperable
    else:
        capable = [e for e in location.active_evses if _has(e, Capability.REMOTE_START_STOP_CAPABLE)]
        if not capable:
            return _not_supported("No EVSE at this location can be started remotely")
        if all(_has(e, Capability.START_SESSION_CONNECTOR_REQUIRED) for e in capable):
            return _rejected("evse_uid and connector_id are required at this location", StatusCode.INVALID_PARAMETERS)
    return _accepted(location_id=location.location_id, evse_uid=request.evse_uid, connector_id=request.connector_id)


def decide_stop_session(
    request: StopSession, ctx: Context, session: SessionRecord | None, location: NetworkLocation | None
) -> Decision:
    if refused := _permitted(CommandType.STOP_SESSION, ctx):
        return refused
    if session is None:
        return Decision(CommandResponseType.UNKNOWN_SESSION, message="Unknown session")
    if not session.owner.same_as(ctx.caller.country_code, ctx.caller.party_id):
        return _rejected("The session belongs to another party")
    if session.status not in (SessionStatus.ACTIVE, SessionStatus.PENDING, SessionStatus.RESERVATION):
        return _rejected(f"The session is {session.status.value.lower()}")
    evse_uid = session.evse_uid if session.evse_uid and session.evse_uid != _NOT_APPLICABLE else None
    if location is not None and evse_uid is not None:
        evse = location.evse(evse_uid)
        if evse is not None and not _has(evse, Capability.REMOTE_START_STOP_CAPABLE):
            return _not_supported(f"EVSE {evse.uid} cannot be stopped remotely")
    return _accepted(
        session_id=session.session_id,
        location_id=session.location_id,
        evse_uid=evse_uid,
        connector_id=session.connector_id if session.connector_id != _NOT_APPLICABLE else None,
    )


def decide_reserve_now(
    request: ReserveNow, ctx: Context, location: NetworkLocation | None, existing: Reservation | None
) -> Decision:
    problem, evse = _locate(location, request.location_id, request.evse_uid, None, ctx)
    if problem:
        return problem
    assert location is not None
    if refused := _permitted(CommandType.RESERVE_NOW, ctx):
        return refused
    if not _token_owned_by(request.token, ctx.caller):
        return _rejected("The Token is not owned by the requesting party")
    if request.expiry_date <= ctx.now:
        return _rejected("expiry_date must be in the future", StatusCode.INVALID_PARAMETERS)
    if evse is not None:
        if not _has(evse, Capability.RESERVABLE):
            return _not_supported(f"EVSE {evse.uid} cannot be reserved")
        if inoperable := _operable(evse):
            return inoperable
    elif not any(_has(e, Capability.RESERVABLE) for e in location.active_evses):
        return _not_supported("No EVSE at this location can be reserved")
    replaces = None
    if existing is not None and existing.is_active(ctx.now):
        if existing.location_id.upper() != location.location_id.upper():
            return _rejected("reservation_id is already used for a reservation at another location")
        replaces = existing.cp_reservation_id
    return _accepted(
        location_id=location.location_id,
        evse_uid=request.evse_uid,
        reservation_id=request.reservation_id,
        cp_reservation_id=replaces,
    )


def decide_cancel_reservation(request: CancelReservation, ctx: Context, existing: Reservation | None) -> Decision:
    # Reservations are keyed per party, so another party's reservation is indistinguishable from an
    # unknown one: nothing about it leaks.
    if refused := _permitted(CommandType.CANCEL_RESERVATION, ctx):
        return refused
    if existing is None or not existing.is_active(ctx.now):
        return _rejected("Unknown reservation")
    return _accepted(
        reservation_id=existing.reservation_id,
        cp_reservation_id=existing.cp_reservation_id,
        location_id=existing.location_id,
        evse_uid=existing.evse_uid,
    )


def decide_unlock_connector(request: UnlockConnector, ctx: Context, location: NetworkLocation | None) -> Decision:
    problem, evse = _locate(location, request.location_id, request.evse_uid, request.connector_id, ctx)
    if problem:
        return problem
    assert location is not None and evse is not None
    if refused := _permitted(CommandType.UNLOCK_CONNECTOR, ctx):
        return refused
    if not _has(evse, Capability.UNLOCK_CAPABLE):
        return _not_supported(f"EVSE {evse.uid} has no remotely unlockable connector")
    return _accepted(location_id=location.location_id, evse_uid=request.evse_uid, connector_id=request.connector_id)
