"""Receiving a command: decide, and for an ACCEPTED one record it exactly once as PENDING.

Writing the PENDING record is the whole synchronous side effect. The record's insertion reaches
the lifecycle through the table's stream (a transactional outbox): the starter function begins one
Step Functions execution per command, so there is never a PENDING record without an execution,
nor an execution without a record, whatever fails in between.
"""

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from ocpi_commands.config import Settings
from ocpi_commands.dal.repository import Repository, fingerprint
from ocpi_commands.domain import decisions
from ocpi_commands.domain.auth import Caller
from ocpi_commands.domain.models import PendingCommand
from ocpi_commands.ocpi.commands import (
    CancelReservation,
    CommandResponse,
    CommandResponseType,
    CommandType,
    ReserveNow,
    StartSession,
    StopSession,
    UnlockConnector,
)
from ocpi_commands.ocpi.envelope import StatusCode
from ocpi_commands.ocpi.types import OcpiModel, display_text, utc_now


class RequestMeta(NamedTuple):
    request_id: str
    correlation_id: str
    # The X-Request-ID exactly as the client sent it (None when we had to generate one).
    client_request_id: str | None


class Answer(NamedTuple):
    status_code: StatusCode
    response: CommandResponse
    status_message: str | None = None
    command_id: str | None = None
    duplicate: bool = False


def _answer(decision: decisions.Decision) -> Answer:
    message = [display_text(decision.message)] if decision.message else None
    return Answer(
        decision.status_code,
        CommandResponse(result=decision.result, timeout=0, message=message),
        decision.message,
    )


class CommandService:
    def __init__(
        self,
        repository: Repository,
        settings: Settings,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ):
        self.repository = repository
        self.settings = settings
        self.clock = clock
        self.new_id = new_id

    def receive(self, caller: Caller, command_type: CommandType, request: OcpiModel, meta: RequestMeta) -> Answer:
        ctx = decisions.Context(
            caller=caller.acting_as,
            party=caller.party,
            now=self.clock(),
            supported_commands=self.settings.supported_commands,
            allow_insecure_urls=self.settings.insecure_response_urls_allowed,
            allow_private_urls=self.settings.private_response_urls_allowed,
        )
        decision = decisions.precheck(command_type, request.response_url, ctx) or self._decide(request, ctx)
        if not decision.accepted:
            return _answer(decision)
        return self._accept(caller, command_type, request, decision, meta, ctx.now)

    def _decide(self, request: OcpiModel, ctx: decisions.Context) -> decisions.Decision:
        repo = self.repository
        match request:
            case StartSession():
                return decisions.decide_start_session(request, ctx, repo.get_location(request.location_id))
            case StopSession():
                session = repo.get_session(request.session_id)
                location = repo.get_location(session.location_id) if session else None
                return decisions.decide_stop_session(request, ctx, session, location)
            case ReserveNow():
                location, existing = repo.get_location_and_reservation(
                    request.location_id, ctx.caller, request.reservation_id
                )
                return decisions.decide_reserve_now(request, ctx, location, existing)
            case CancelReservation():
                return decisions.decide_cancel_reservation(
                    request, ctx, repo.get_reservation(ctx.caller, request.reservation_id)
                )
            case UnlockConnector():
                return decisions.decide_unlock_connector(request, ctx, repo.get_location(request.location_id))
        raise TypeError(f"not a command object: {type(request).__name__}")

    def _accept(
        self,
        caller: Caller,
        command_type: CommandType,
        request: OcpiModel,
        decision: decisions.Decision,
        meta: RequestMeta,
        now: datetime,
    ) -> Answer:
        timeout = self.settings.timeout_for(command_type)
        response = CommandResponse(result=CommandResponseType.ACCEPTED, timeout=timeout)
        body = request.to_json_dict()
        command = PendingCommand(
            command_id=self.new_id(),
            command_type=command_type,
            party=caller.acting_as,
            request=body,
            response_url=request.response_url,
            response=response.to_json_dict(),
            timeout=timeout,
            accepted_at=now,
            deadline=now + timedelta(seconds=timeout),
            request_id=meta.request_id,
            correlation_id=meta.correlation_id,
            **decision.targets,
        )
        outcome = self.repository.create_command(command, meta.client_request_id, fingerprint(command_type.value, body))
        if outcome.created:
            return Answer(StatusCode.SUCCESS, response, command_id=command.command_id)
        if outcome.command is not None and outcome.same_body and outcome.command.command_type == command_type:
            # A retried request: the same answer, and nothing dispatched a second time.
            return Answer(
                StatusCode.SUCCESS,
                CommandResponse.model_validate(outcome.command.response),
                command_id=outcome.command.command_id,
                duplicate=True,
            )
        what = "X-Request-ID" if outcome.conflict == "request_id" else "response_url"
        return _answer(
            decisions.Decision(
                CommandResponseType.REJECTED,
                StatusCode.INVALID_PARAMETERS,
                f"{what} is already used by another pending command of this party",
            )
        )
