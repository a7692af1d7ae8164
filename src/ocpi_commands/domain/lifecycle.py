"""The life of an ACCEPTED command after the synchronous answer (README, "Command lifecycle").

    accepted (PENDING record) --stream--> execution started
      -> dispatched: task token kept with the command, "Command Dispatched" event to the CSMS
      -> resolved: exactly one conditional transition out of PENDING, by
           * the charge point's answer ("Command Result Reported" from the CSMS), or
           * the state machine when the announced timeout ends (TIMEOUT) or dispatch failed (FAILED)
      -> delivered: whoever made the transition POSTs the one CommandResult to response_url

A result that loses the race (duplicate, or after TIMEOUT) changes nothing and is counted as late.
"""

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ocpi_commands import aws
from ocpi_commands.config import Settings
from ocpi_commands.dal.repository import Repository
from ocpi_commands.domain.delivery import Deliverer
from ocpi_commands.domain.models import (
    CommandStatus,
    DeliveryAttempt,
    DeliveryStatus,
    PartyRef,
    PendingCommand,
    Reservation,
    ResultSource,
    SessionRecord,
)
from ocpi_commands.observability import bind, logger, metric
from ocpi_commands.ocpi.commands import CommandResultType, CommandType
from ocpi_commands.ocpi.locations import SessionStatus
from ocpi_commands.ocpi.types import DisplayText, format_datetime, utc_now

EVENT_COMMAND_DISPATCHED = "Command Dispatched"
EVENT_RESULT_REPORTED = "Command Result Reported"
EVENT_RESERVATION_CANCELED = "Reservation Canceled"
EVENT_SESSION_UPDATED = "Session Updated"


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


def dispatch_detail(command: PendingCommand) -> dict[str, Any]:
    """The "Command Dispatched" event detail: everything a CSMS needs for the OCPP call (docs/events.md)."""
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
        "deadline": format_datetime(command.deadline),
        "timeout": command.timeout,
        "correlation_id": command.correlation_id,
    }
    if token:
        detail["token"] = {
            k: token.get(k)
            for k in ("country_code", "party_id", "uid", "type", "contract_id", "group_id", "visual_number", "language")
            if token.get(k) is not None
        }
    if command.command_type in (CommandType.RESERVE_NOW, CommandType.CANCEL_RESERVATION):
        # The eMSP's reservation_id never reaches the charge point: only the CPO-unique id does.
        detail["reservation"] = {"cp_reservation_id": command.cp_reservation_id}
        if command.command_type == CommandType.RESERVE_NOW:
            detail["reservation"]["expiry_date"] = request.get("expiry_date")
    return {k: v for k, v in detail.items() if v is not None}


class TaskTokens:
    """Resume a waiting execution; a token that is already closed means "already resolved"."""

    ALREADY_CLOSED = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})

    def __init__(self, client_factory: Callable[[], Any]):
        self._client_factory = client_factory

    def succeed(self, token: str | None, output: dict[str, Any]) -> bool:
        if not token:
            return False
        try:
            self._client_factory().send_task_success(taskToken=token, output=json.dumps(output))
            return True
        except Exception as exc:  # noqa: BLE001 - classified below
            if aws.error_code(exc) in self.ALREADY_CLOSED:
                return False
            raise


class ResolveOutcome(NamedTuple):
    won: bool
    command: PendingCommand | None
    delivery: DeliveryStatus | None = None
    in_progress: bool = False  # the same owner is delivering in another, live, invocation


class Lifecycle:
    def __init__(
        self,
        repository: Repository,
        settings: Settings,
        deliverer: Deliverer,
        task_tokens: TaskTokens,
        clock: Callable[[], datetime] = utc_now,
    ):
        self.repository = repository
        self.settings = settings
        self.deliverer = deliverer
        self.task_tokens = task_tokens
        self.clock = clock

    # ---------------------------------------------------------------- resolution (the arbiter)

    def _resolve(
        self,
        command_id: str,
        result: CommandResultType,
        source: ResultSource,
        message: list[dict[str, str]] | None,
        owner: str,
    ) -> ResolveOutcome:
        now = self.clock()
        transition = self.repository.resolve_command(
            command_id, result, source, message, now, owner, DeliveryAttempt(number=1, started_at=now)
        )
        command = transition.command
        if transition.won:
            assert command is not None
            latency_ms = int((now - command.accepted_at).total_seconds() * 1000)
            self._bind(command)
            metric("CommandResults", CommandType=command.command_type.value, Result=result.value)
            metric("ResultsRecorded")
            metric("TimeToResult", latency_ms, unit="Milliseconds", CommandType=command.command_type.value)
            if result == CommandResultType.TIMEOUT:
                metric("Timeouts")
            logger.info(
                "Command resolved",
                extra={"result": result.value, "source": source.value, "time_to_result_ms": latency_ms},
            )
        return ResolveOutcome(transition.won, command)

    @staticmethod
    def _bind(command: PendingCommand) -> None:
        """Every following log line of this invocation names the command and its correlation id."""
        bind(
            command_id=command.command_id,
            party=command.party.key,
            command_type=command.command_type.value,
            correlation_id=command.correlation_id,
        )

    def _resume_or_ignore(self, outcome: ResolveOutcome, owner: str, what: str) -> ResolveOutcome:
        """The transition was not ours: resume our own interrupted delivery, or count a late result."""
        command = outcome.command
        if command is None:
            metric("UnknownCommandResults")
            logger.warning(f"{what} for an unknown command ignored")
            return outcome
        self._bind(command)
        if command.delivery_owner == owner and command.delivery_status == DeliveryStatus.DELIVERING:
            # The same event or execution again. Only take over a delivery whose invocation is gone
            # (its lease ran out); a live one is a concurrent duplicate, which must not POST twice.
            if not self.deliverer.abandoned(command, self.clock()):
                logger.info("The delivery is in progress in another invocation", extra={"owner": owner})
                return ResolveOutcome(False, command, in_progress=True)
            logger.warning("Resuming an interrupted delivery", extra={"attempts": len(command.delivery_attempts)})
            return ResolveOutcome(False, command, self.deliverer.deliver(command, owner))
        return outcome

    def record_charge_point_result(self, report: ResultReport, event_id: str) -> ResolveOutcome:
        owner = f"result:{event_id}"
        message = [m.model_dump() for m in report.message] if report.message else None
        outcome = self._resolve(report.command_id, report.result, ResultSource.CHARGE_POINT, message, owner)
        if not outcome.won:
            resumed = self._resume_or_ignore(outcome, owner, "Result")
            if resumed.delivery is None and resumed.command is not None and not resumed.in_progress:
                self.repository.count_late_result(report.command_id)
                metric("LateResults")
                logger.warning(
                    "Late or duplicate result ignored: the command was already resolved",
                    extra={
                        "reported": report.result.value,
                        "recorded": resumed.command.result.value if resumed.command.result else None,
                        "recorded_source": resumed.command.result_source.value
                        if resumed.command.result_source
                        else None,
                    },
                )
            return resumed
        command = outcome.command
        assert command is not None
        self._apply_side_effects(command, report)
        # End the wait now (a token that already timed out only means the state machine moved on).
        self.task_tokens.succeed(command.task_token, {"resolved_by": "charge_point", "result": report.result.value})
        return ResolveOutcome(True, command, self.deliverer.deliver(command, owner))

    def resolve_without_answer(self, command_id: str, error: str | None, cause: str | None) -> ResolveOutcome:
        """The wait ended without the charge point's answer: TIMEOUT, or FAILED when dispatch failed."""
        owner = f"execution:{command_id}"
        if error == "States.Timeout":
            result, source, message = CommandResultType.TIMEOUT, ResultSource.TIMEOUT, None
        else:
            result, source = CommandResultType.FAILED, ResultSource.DISPATCH_FAILURE
            message = [{"language": "en", "text": "The command could not be passed to the charge point"}]
            logger.error(
                "Dispatch failed", extra={"command_id": command_id, "error": error, "cause": (cause or "")[:500]}
            )
        outcome = self._resolve(command_id, result, source, message, owner)
        if not outcome.won:
            resumed = self._resume_or_ignore(outcome, owner, "Timeout")
            if resumed.delivery is None and resumed.command is not None and not resumed.in_progress:
                metric("ResultsAtDeadline")
                logger.info(
                    "The charge point's answer was recorded before the timeout resolution",
                    extra={"recorded": resumed.command.result.value if resumed.command.result else None},
                )
            return resumed
        assert outcome.command is not None
        return ResolveOutcome(True, outcome.command, self.deliverer.deliver(outcome.command, owner))

    # ---------------------------------------------------------------- effects of a recorded result

    def _apply_side_effects(self, command: PendingCommand, report: ResultReport) -> None:
        if report.result != CommandResultType.ACCEPTED:
            return
        request = command.request
        if command.command_type == CommandType.RESERVE_NOW and command.cp_reservation_id is not None:
            self.repository.put_reservation(
                Reservation(
                    owner=command.party,
                    reservation_id=request["reservation_id"],
                    cp_reservation_id=command.cp_reservation_id,
                    location_id=command.location_id or request["location_id"],
                    evse_uid=command.evse_uid,
                    expiry_date=request["expiry_date"],
                    response_url=command.response_url,
                    command_id=command.command_id,
                    correlation_id=command.correlation_id,
                )
            )
        elif command.command_type == CommandType.CANCEL_RESERVATION and command.reservation_id:
            self.repository.cancel_reservation(command.party, command.reservation_id, self.clock(), by="EMSP")
        if report.session_id and command.command_type in (CommandType.START_SESSION, CommandType.RESERVE_NOW):
            reserved = command.command_type == CommandType.RESERVE_NOW
            self.update_session(
                SessionReport(
                    session_id=report.session_id,
                    country_code=command.party.country_code,
                    party_id=command.party.party_id,
                    location_id=command.location_id or request["location_id"],
                    evse_uid=command.evse_uid,
                    connector_id=command.connector_id,
                    status=SessionStatus.RESERVATION if reserved else SessionStatus.PENDING,
                    authorization_reference=request.get("authorization_reference"),
                    command_id=command.command_id,
                )
            )

    def update_session(self, report: SessionReport) -> None:
        self.repository.put_session(
            SessionRecord(
                session_id=report.session_id,
                owner=PartyRef(country_code=report.country_code, party_id=report.party_id),
                location_id=report.location_id,
                evse_uid=report.evse_uid,
                connector_id=report.connector_id,
                status=report.status,
                authorization_reference=report.authorization_reference,
                command_id=report.command_id,
                last_updated=self.clock(),
            )
        )
        logger.info("Session updated", extra={"session_id": report.session_id, "status": report.status.value})

    # ---------------------------------------------------------------- CPO-side reservation cancellation

    def cancel_reservation_by_cpo(self, report: ReservationCanceledReport) -> ResolveOutcome:
        """POST CANCELED_RESERVATION to the RESERVE_NOW's response_url, once per reservation."""
        if report.cp_reservation_id is not None:
            reservation = self.repository.find_reservation_by_cp_id(report.cp_reservation_id)
        else:
            reservation = self.repository.get_reservation(
                PartyRef(country_code=report.country_code or "", party_id=report.party_id or ""),
                report.reservation_id or "",
            )
        if reservation is None:
            metric("CpoCancellationsIgnored", Reason="unknown")
            logger.warning("CPO cancellation of an unknown reservation ignored", extra=report.model_dump())
            return ResolveOutcome(False, None)
        notice_id = f"{reservation.command_id}-canceled-by-cpo"
        owner = f"cpo-cancel:{reservation.command_id}"
        bind(
            command_id=notice_id,
            party=reservation.owner.key,
            command_type=CommandType.RESERVE_NOW.value,
            correlation_id=reservation.correlation_id,
        )
        now = self.clock()
        canceled = self.repository.cancel_reservation(reservation.owner, reservation.reservation_id, now, by="CPO")
        if canceled is None:
            # Already canceled or expired. Carry on only if it was this same cancellation, interrupted.
            notice = self.repository.get_command(notice_id)
            if notice is not None:
                return self._resume_or_ignore(ResolveOutcome(False, notice), owner, "CPO cancellation")
            current = self.repository.get_reservation(reservation.owner, reservation.reservation_id)
            if current is None or current.canceled_by != "CPO" or current.command_id != reservation.command_id:
                metric("CpoCancellationsIgnored", Reason="not_active")
                logger.info("CPO cancellation ignored: the reservation is no longer active")
                return ResolveOutcome(False, None)
            reservation = current
        message = [m.model_dump() for m in report.message] if report.message else None
        notice = PendingCommand(
            command_id=notice_id,
            command_type=CommandType.RESERVE_NOW,
            party=reservation.owner,
            request={"reservation_id": reservation.reservation_id, "notice": "CANCELED_RESERVATION"},
            response_url=reservation.response_url,
            response={},
            timeout=0,
            accepted_at=now,
            deadline=now,
            request_id=str(uuid.uuid4()),
            correlation_id=reservation.correlation_id or hashlib.sha256(notice_id.encode()).hexdigest()[:32],
            status=CommandStatus.RESOLVED,
            location_id=reservation.location_id,
            evse_uid=reservation.evse_uid,
            reservation_id=reservation.reservation_id,
            cp_reservation_id=reservation.cp_reservation_id,
            result=CommandResultType.CANCELED_RESERVATION,
            result_message=message,
            result_source=ResultSource.CPO,
            resolved_at=now,
            delivery_status=DeliveryStatus.DELIVERING,
            delivery_owner=owner,
            delivery_attempts=(DeliveryAttempt(number=1, started_at=now),),
        )
        if not self.repository.put_resolved_notice(notice):
            existing = self.repository.get_command(notice_id)
            return self._resume_or_ignore(ResolveOutcome(False, existing), owner, "CPO cancellation")
        metric(
            "CommandResults",
            CommandType=CommandType.RESERVE_NOW.value,
            Result=CommandResultType.CANCELED_RESERVATION.value,
        )
        logger.info("Reservation canceled by the CPO", extra={"cp_reservation_id": reservation.cp_reservation_id})
        return ResolveOutcome(True, notice, self.deliverer.deliver(notice, owner))
