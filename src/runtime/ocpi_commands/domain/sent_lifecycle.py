"""The eMSP side after the send: the CPO's CommandResults at our response_urls and the steps of the
execution that enforces the CPO's timeout (see ``domain.sending`` for the whole life of a command).

Exactly one conditional transition leaves PENDING: the first valid CommandResult (RESULT_RECEIVED),
or the execution when the result deadline passes (TIMED_OUT) or when no answer was ever recorded
(SEND_FAILED). A result after that is recorded as late and announced; a repeated one changes nothing.
"""

import hashlib
import json
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ocpi_commands.domain.events import COMMAND_COMPLETED, COMMAND_RESULT_LATE, completed_detail, late_detail
from ocpi_commands.domain.model import HistoryEntry, Party, SentCommand, SentStatus
from ocpi_commands.domain.ports import TaskTokens
from ocpi_commands.domain.sending import (
    AnswerNotYetRecorded,
    SendWire,
    SentCommandStore,
    UnknownResponseUrl,
    UnknownSentCommand,
)
from ocpi_commands.observability import MetricUnit, bind, logger, metric
from ocpi_commands.ocpi.types import format_datetime, utc_now
from ocpi_commands.ocpi.vocabulary import CommandType


class SentLifecycle:
    def __init__(
        self,
        store: SentCommandStore,
        wire: SendWire,
        task_tokens: TaskTokens,
        clock: Callable[[], datetime] = utc_now,
    ):
        self.store = store
        self.wire = wire
        self.task_tokens = task_tokens
        self.clock = clock

    # ------------------------------------------------------------------ the CPO's CommandResult

    def receive_result(
        self, caller: Party, version: str, command_name: str, uid: str, body: Any, request_id: str | None
    ) -> str:
        """Record a CommandResult POSTed to one of our response_urls: "recorded", "duplicate" or "late"."""
        command = self.store.get(uid) if _is_uid(uid) else None
        if (
            command is None
            or command.partner.key != caller.ref.key
            or command.command_type.value != command_name
            or command.ocpi_version != version
        ):
            raise UnknownResponseUrl(f"No command of {caller.ref.key} is waiting at this URL")
        bind(command_id=uid, party=command.cpo.key, command_type=command_name, ocpi_version=version)
        result = self.wire.read_result(version, body)
        now = self.clock()
        if command.status == SentStatus.PENDING:
            history = HistoryEntry(
                at=now, event="result", detail={"result": result.get("result"), "request_id": request_id}
            )
            sets = {"status": SentStatus.RESULT_RECEIVED, "result": result, "result_at": now}
            final = command.model_copy(update={**sets, "history": (*command.history, history)})
            transition = self.store.transition(
                uid, answered=None, sets=sets, history=history, event=(COMMAND_COMPLETED, completed_detail(final))
            )
            if transition.won:
                assert transition.command is not None
                self.task_tokens.succeed(transition.command.task_token, {"resolved_by": "result"})
                latency = int((now - command.created_at).total_seconds() * 1000)
                metric("CommandOutcomes", CommandType=command_name, Result=str(result.get("result")))
                metric("ResultLatency", latency, unit=MetricUnit.Milliseconds, CommandType=command_name)
                logger.info("CommandResult recorded", extra={"result": result.get("result"), "latency_ms": latency})
                return "recorded"
            command = transition.command or self.store.get(uid)
            assert command is not None
        if command.status == SentStatus.RESULT_RECEIVED and command.result == result:
            logger.info("Repeated CommandResult: nothing changes", extra={"result": result.get("result")})
            return "duplicate"
        return self._late(command, result, now, request_id)

    def _late(self, command: SentCommand, result: dict[str, Any], now: datetime, request_id: str | None) -> str:
        if command.command_type == CommandType.RESERVE_NOW and result.get("result") == "CANCELED_RESERVATION":
            kind = "reservation_canceled"  # a genuine second result: the CPO ended the reservation
        elif command.status == SentStatus.RESULT_RECEIVED:
            kind = "after_result"
        else:
            kind = f"after_{command.status.value.lower()}"
        entry = {"received_at": format_datetime(now), "result": result, "kind": kind, "request_id": request_id}
        key = hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()[:32]
        added = self.store.add_late_result(
            command.command_id, entry, key, (COMMAND_RESULT_LATE, late_detail(command, entry))
        )
        if not added:
            logger.info("Repeated late CommandResult: nothing changes")
            return "duplicate"
        metric("LateResults", CommandType=command.command_type.value, Kind=kind)
        logger.warning(
            "Late CommandResult recorded",
            extra={"result": result.get("result"), "kind": kind, "status": command.status.value},
        )
        return "late"

    # ------------------------------------------------------------------ the execution's steps

    def await_answer(self, command_id: str) -> dict[str, Any]:
        """First step: wait for the CPO's answer to be recorded, then say whether to wait for a result."""
        command = self.store.get(command_id)
        if command is None:
            raise UnknownSentCommand(command_id)
        if command.status != SentStatus.PENDING:
            return {"command_id": command_id, "status": "FINAL"}
        if command.answer is None or command.result_deadline is None:
            raise AnswerNotYetRecorded(f"{command_id}: the CPO's answer is not recorded yet")
        left = command.result_deadline.timestamp() - self.clock().timestamp()
        return {"command_id": command_id, "status": "AWAITING_RESULT", "wait_seconds": max(1, math.floor(left))}

    def keep_task_token(self, command_id: str, token: str, execution_arn: str | None) -> bool:
        """Second step: keep the task token with the command; a command resolved meanwhile ends the wait."""
        transition = self.store.keep_task_token(command_id, token, execution_arn)
        if not transition.won:
            self.task_tokens.succeed(token, {"resolved_by": "earlier_result"})
        return transition.won

    def time_out(self, command_id: str, error: str | None) -> bool:
        """The wait ended without a CommandResult: TIMED_OUT, unless a result won the race."""
        command = self.store.get(command_id)
        if command is None:
            raise UnknownSentCommand(command_id)
        now = self.clock()
        if error == "States.Timeout":
            reason = f"No CommandResult within the CPO's timeout ({command.timeout} s) and our grace"
        else:
            reason = f"The wait for the CommandResult failed ({error}); a result may still arrive"
        return self._finish(command, now, "timed_out", SentStatus.TIMED_OUT, reason, answered=True)

    def give_up_send(self, command_id: str, error: str | None) -> bool:
        """No answer was ever recorded (the sending request was interrupted): SEND_FAILED."""
        command = self.store.get(command_id)
        if command is None:
            raise UnknownSentCommand(command_id)
        reason = (
            "The send was interrupted before the CPO's answer was recorded; the CPO may have received the "
            f"command (a result will still be recorded) [{error}]"
        )
        return self._finish(command, self.clock(), "send_interrupted", SentStatus.SEND_FAILED, reason, answered=False)

    def _finish(
        self, command: SentCommand, now: datetime, event_name: str, status: SentStatus, reason: str, answered: bool
    ) -> bool:
        if command.status != SentStatus.PENDING:
            return False
        history = HistoryEntry(at=now, event=event_name, detail={"reason": reason})
        sets = {"status": status, "reason": reason}
        final = command.model_copy(update={**sets, "history": (*command.history, history)})
        transition = self.store.transition(
            command.command_id,
            answered=answered,
            sets=sets,
            history=history,
            event=(COMMAND_COMPLETED, completed_detail(final)),
        )
        if transition.won:
            bind(command_id=command.command_id, party=command.cpo.key, command_type=command.command_type.value)
            metric("CommandOutcomes", CommandType=command.command_type.value, Result=str(final.outcome))
            if status == SentStatus.SEND_FAILED:
                metric("SendFailures", CommandType=command.command_type.value)
            logger.warning("Command resolved without a CommandResult", extra={"status": status.value, "reason": reason})
        return transition.won


def _is_uid(value: str) -> bool:
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)
