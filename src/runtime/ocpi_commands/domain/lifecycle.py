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
import math
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from ocpi_commands.config import Settings
from ocpi_commands.domain.delivery import Deliverer
from ocpi_commands.domain.events import (
    COMMAND_DISPATCHED,
    ReservationCanceledReport,
    ResultReport,
    SessionReport,
    dispatch_detail,
)
from ocpi_commands.domain.model import (
    CommandRecord,
    CommandStatus,
    DeliveryAttempt,
    DeliveryStatus,
    PartyRef,
    Reservation,
    ResultSource,
    SessionRecord,
)
from ocpi_commands.domain.ports import EventPublisher, ExecutionStarter, Store, TaskTokens
from ocpi_commands.observability import MetricUnit, bind, logger, metric
from ocpi_commands.ocpi.types import utc_now
from ocpi_commands.ocpi.vocabulary import CommandResultType, CommandType, SessionStatus


def wait_seconds(answer_by_epoch: float, now: float) -> int:
    """Whole seconds left to wait for the charge point (at least 1: TimeoutSecondsPath needs a positive
    int), rounded down so the wait never outlasts ``answer_by``."""
    return max(1, math.floor(answer_by_epoch - now))


class DispatchOutcome(NamedTuple):
    dispatched: bool
    command: CommandRecord


class ResolveOutcome(NamedTuple):
    won: bool
    command: CommandRecord | None
    delivery: DeliveryStatus | None = None
    in_progress: bool = False  # the same owner is delivering in another, live, invocation


class UnknownCommand(LookupError):
    """A lifecycle step named a command that has no record."""


class Lifecycle:
    def __init__(
        self,
        repository: Store,
        settings: Settings,
        deliverer: Deliverer,
        task_tokens: TaskTokens,
        publisher: EventPublisher,
        executions: ExecutionStarter,
        clock: Callable[[], datetime] = utc_now,
    ):
        self.repository = repository
        self.settings = settings
        self.deliverer = deliverer
        self.task_tokens = task_tokens
        self.publisher = publisher
        self.executions = executions
        self.clock = clock

    # ---------------------------------------------------------------- start and dispatch

    def start(self, command_id: str, answer_by_epoch: float) -> bool:
        """Start the command's execution (named after it, so a repeated start is a no-op); False if it exists."""
        payload = {"command_id": command_id, "wait_seconds": wait_seconds(answer_by_epoch, self.clock().timestamp())}
        return self.executions.start(command_id, payload)

    def dispatch(self, command_id: str, task_token: str, execution_arn: str | None) -> DispatchOutcome:
        """Keep the task token with the pending command and publish "Command Dispatched".

        A command that is already resolved (a result for an earlier dispatch attempt won) ends the
        wait at once. RESERVE_NOW gets its CPO-unique charge point reservation id here, once.
        """
        repo = self.repository
        transition = repo.record_dispatch(command_id, task_token, execution_arn, self.clock(), None)
        command = transition.command
        if command is None:
            raise UnknownCommand(f"unknown command {command_id}")
        self._bind(command)
        if not transition.won:
            logger.info("Command already resolved; not dispatching again", extra={"status": command.status.value})
            self.task_tokens.succeed(task_token, {"resolved_by": "earlier_attempt"})
            return DispatchOutcome(False, command)
        if command.command_type == CommandType.RESERVE_NOW and command.cp_reservation_id is None:
            cp_id = repo.next_cp_reservation_id()
            transition = repo.record_dispatch(command_id, task_token, execution_arn, self.clock(), cp_id)
            if transition.command is None or transition.command.status != CommandStatus.PENDING:
                self.task_tokens.succeed(task_token, {"resolved_by": "earlier_attempt"})
                return DispatchOutcome(False, transition.command or command)
            command = transition.command
        self.publisher.publish(COMMAND_DISPATCHED, dispatch_detail(command), (execution_arn,) if execution_arn else ())
        metric("CommandsDispatched", CommandType=command.command_type.value)
        logger.info(
            "Command dispatched",
            extra={
                "location_id": command.location_id,
                "evse_uid": command.evse_uid,
                "cp_reservation_id": command.cp_reservation_id,
            },
        )
        return DispatchOutcome(True, command)

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
            metric("TimeToResult", latency_ms, unit=MetricUnit.Milliseconds, CommandType=command.command_type.value)
            if result == CommandResultType.TIMEOUT:
                metric("Timeouts")
            logger.info(
                "Command resolved",
                extra={"result": result.value, "source": source.value, "time_to_result_ms": latency_ms},
            )
        return ResolveOutcome(transition.won, command)

    @staticmethod
    def _bind(command: CommandRecord) -> None:
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

    def _apply_side_effects(self, command: CommandRecord, report: ResultReport) -> None:
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
                    ocpi_version=command.ocpi_version,
                    partner=command.partner,
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
                ),
                partner=command.partner,
            )

    def update_session(self, report: SessionReport, partner: PartyRef | None = None) -> None:
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
                partner=partner,
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
        notice = CommandRecord(
            command_id=notice_id,
            ocpi_version=reservation.ocpi_version,
            partner=reservation.partner,
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
