"""The event contract with the charge point backend (CSMS), as docs/events.md describes it.

Published by this module on the stack's bus:
  * "Command Dispatched": a command to pass to the charge point (:func:`dispatch_detail`).
  * "Command Completed" (eMSP side): the outcome of a command we sent to a CPO (:func:`completed_detail`);
  * "Command Result Late" (eMSP side): a CommandResult after that outcome (:func:`late_detail`).
Consumed from the bus (published by the CSMS, the operator CLI or the simulator):
  * "Command Result Reported": the charge point's outcome of a dispatched command (:class:`ResultReport`);
  * "Reservation Canceled": a CPO-side cancellation (:class:`ReservationCanceledReport`);
  * "Session Updated": a session and the eMSP that owns it (:class:`SessionReport`).
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ocpi_commands.domain.model import CommandRecord, PartyRef, SentCommand
from ocpi_commands.ocpi.types import DisplayText, format_datetime
from ocpi_commands.ocpi.vocabulary import CommandResultType, CommandType, SessionStatus

COMMAND_DISPATCHED = "Command Dispatched"
RESULT_REPORTED = "Command Result Reported"
RESERVATION_CANCELED = "Reservation Canceled"
SESSION_UPDATED = "Session Updated"
COMMAND_COMPLETED = "Command Completed"
COMMAND_RESULT_LATE = "Command Result Late"

# The token fields a charge point backend may need (OCPP idTag, parent id, language); never validity data.
_DISPATCHED_TOKEN_FIELDS = (
    "country_code",
    "party_id",
    "uid",
    "type",
    "contract_id",
    "group_id",
    "visual_number",
    "language",
)


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ResultReport(_Event):
    """Detail of "Command Result Reported": the charge point's outcome, from the CSMS."""

    command_id: str = Field(min_length=1, max_length=64)
    result: CommandResultType
    message: list[DisplayText] | None = None
    # For START_SESSION / RESERVE_NOW: the CPO Session created for it, when already known.
    session_id: str | None = Field(default=None, max_length=36)

    @model_validator(mode="after")
    def _not_cpo_only(self) -> "ResultReport":
        if self.result in (CommandResultType.TIMEOUT, CommandResultType.CANCELED_RESERVATION):
            raise ValueError(f"{self.result.value} is decided by this module, not reported by the charge point")
        return self


class ReservationCanceledReport(_Event):
    """Detail of "Reservation Canceled": a CPO-side cancellation (broken charger, roadworks, ...)."""

    cp_reservation_id: int | None = None
    country_code: str | None = Field(default=None, max_length=2)
    party_id: str | None = Field(default=None, max_length=3)
    reservation_id: str | None = Field(default=None, max_length=36)
    message: list[DisplayText] | None = None

    @model_validator(mode="after")
    def _identified(self) -> "ReservationCanceledReport":
        if self.cp_reservation_id is None and not (self.country_code and self.party_id and self.reservation_id):
            raise ValueError("give cp_reservation_id, or country_code + party_id + reservation_id")
        return self


class SessionReport(_Event):
    """Detail of "Session Updated": the CSMS reports a session and the eMSP that owns it."""

    session_id: str = Field(min_length=1, max_length=36)
    country_code: str = Field(min_length=2, max_length=2)
    party_id: str = Field(min_length=3, max_length=3)
    location_id: str = Field(min_length=1, max_length=36)
    evse_uid: str | None = Field(default=None, max_length=36)
    connector_id: str | None = Field(default=None, max_length=36)
    status: SessionStatus
    authorization_reference: str | None = Field(default=None, max_length=36)
    command_id: str | None = None


def dispatch_detail(command: CommandRecord) -> dict[str, Any]:
    """The "Command Dispatched" event detail: everything a CSMS needs for the OCPP call."""
    request = command.request
    token = request.get("token")
    detail: dict[str, Any] = {
        "command_id": command.command_id,
        "command_type": command.command_type.value,
        "party": {"country_code": command.party.country_code, "party_id": command.party.party_id},
        "location_id": command.location_id,
        "evse_uid": command.evse_uid,
        "connector_id": command.connector_id,
        "session_id": command.session_id,
        "authorization_reference": request.get("authorization_reference"),
        # When the charge point's answer is due: the announced deadline less the delivery margin.
        "deadline": format_datetime(command.answer_by or command.deadline),
        "timeout": command.timeout,
        "correlation_id": command.correlation_id,
    }
    if token:
        detail["token"] = {k: token.get(k) for k in _DISPATCHED_TOKEN_FIELDS if token.get(k) is not None}
    if command.command_type in (CommandType.RESERVE_NOW, CommandType.CANCEL_RESERVATION):
        # The eMSP's reservation_id never reaches the charge point: only the CPO-unique id does.
        detail["reservation"] = {"cp_reservation_id": command.cp_reservation_id}
        if command.command_type == CommandType.RESERVE_NOW:
            detail["reservation"]["expiry_date"] = request.get("expiry_date")
    return {k: v for k, v in detail.items() if v is not None}


def _party(ref: PartyRef) -> dict[str, str]:
    return {"country_code": ref.country_code, "party_id": ref.party_id}


def _sent_summary(command: SentCommand) -> dict[str, Any]:
    answer = command.answer
    return {
        "command_id": command.command_id,
        "command_type": command.command_type.value,
        "cpo": _party(command.cpo),
        "emsp": _party(command.emsp),
        "ocpi_version": command.ocpi_version,
        "status": command.status.value,
        "outcome": command.outcome,
        "reason": command.reason,
        "response": answer.response if answer else None,
        "http_status": answer.http_status if answer else None,
        "ocpi_status_code": answer.ocpi_status_code if answer else None,
        "timeout": command.timeout,
        "result": command.result,
        "created_at": format_datetime(command.created_at),
        "correlation_id": command.correlation_id,
        "idempotency_key": command.idempotency_key,
    }


def completed_detail(command: SentCommand) -> dict[str, Any]:
    """The "Command Completed" event detail: a sent command's one outcome (docs/events.md)."""
    completed_at = command.history[-1].at if command.history else command.created_at
    return {**_sent_summary(command), "completed_at": format_datetime(completed_at)}


def late_detail(command: SentCommand, entry: dict[str, Any]) -> dict[str, Any]:
    """The "Command Result Late" event detail: a CommandResult after the command's outcome."""
    result = entry["result"]
    detail = {
        **_sent_summary(command),
        "late_result": result,
        "kind": entry["kind"],
        "received_at": entry["received_at"],
    }
    if command.command_type == CommandType.START_SESSION and result.get("result") == "ACCEPTED":
        detail["note"] = "The charge point accepted START_SESSION after the outcome: a session may be running"
    return detail
