"""Receiving a command: decide, and for an ACCEPTED one record it exactly once as PENDING.

Writing the PENDING record is the whole synchronous side effect. The record's insertion reaches
the lifecycle through the table's stream (a transactional outbox): the starter function begins one
Step Functions execution per command, so there is never a PENDING record without an execution,
nor an execution without a record, whatever fails in between.
"""

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from ocpi_commands.config import Settings
from ocpi_commands.domain import decisions
from ocpi_commands.domain.auth import Caller
from ocpi_commands.domain.commands import (
    CancelReservation,
    Command,
    ReserveNow,
    StartSession,
    StopSession,
    UnlockConnector,
)
from ocpi_commands.domain.model import CommandRecord, PartyRef
from ocpi_commands.domain.ports import CommandStore, NetworkStore
from ocpi_commands.domain.url_policy import POLICIES
from ocpi_commands.ocpi.envelope import StatusCode
from ocpi_commands.ocpi.types import utc_now
from ocpi_commands.ocpi.vocabulary import CommandResponseType


class RequestMeta(NamedTuple):
    request_id: str
    correlation_id: str
    # The X-Request-ID exactly as the client sent it (None when we had to generate one).
    client_request_id: str | None
    # The CPO party the request is addressed to (OCPI-to-*; None: this platform's default party).
    recipient: PartyRef | None = None


class Answer(NamedTuple):
    """The CPO's synchronous answer, version-free: each version's encoder writes its CommandResponse."""

    status_code: StatusCode
    result: CommandResponseType
    timeout: int = 0
    message: str | None = None
    command_id: str | None = None
    duplicate: bool = False


def fingerprint(command_type: str, body: dict[str, Any]) -> str:
    """Hash of a command body, to tell a retried request from a different command."""
    canonical = json.dumps({"type": command_type, "body": body}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _answer(decision: decisions.Decision) -> Answer:
    return Answer(decision.status_code, decision.result, 0, decision.message)


class CommandService:
    def __init__(
        self,
        network: NetworkStore,
        commands: CommandStore,
        settings: Settings,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ):
        self.network = network
        self.commands = commands
        self.settings = settings
        self.clock = clock
        self.new_id = new_id

    def receive(
        self,
        caller: Caller,
        request: Command,
        meta: RequestMeta,
        body_fingerprint: str,
        ocpi_version: str = "2.2.1",
        exact_ids: bool = False,
    ) -> Answer:
        """Decide on ``request`` and, when ACCEPTED, record it (once per X-Request-ID).

        ``ocpi_version`` is the version it arrived in (its CommandResult is written in it);
        ``exact_ids`` compares location and EVSE ids case-sensitively (2.1.1)."""
        ctx = decisions.Context(
            caller=caller.acting_as,
            party=caller.party,
            now=self.clock(),
            supported_commands=self.settings.supported_commands,
            url_policy=POLICIES[self.settings.response_url_policy],
            exact_ids=exact_ids,
        )
        decision = decisions.precheck(request.command_type, request.response_url, ctx) or self._decide(request, ctx)
        if not decision.accepted:
            return _answer(decision)
        return self._accept(caller, request, decision, meta, ctx.now, body_fingerprint, ocpi_version)

    def _decide(self, request: Command, ctx: decisions.Context) -> decisions.Decision:
        network = self.network
        match request:
            case StartSession():
                return decisions.decide_start_session(request, ctx, network.get_location(request.location_id))
            case StopSession():
                session = network.get_session(request.session_id)
                location = network.get_location(session.location_id) if session else None
                return decisions.decide_stop_session(request, ctx, session, location)
            case ReserveNow():
                location, existing = network.get_location_and_reservation(
                    request.location_id, ctx.caller, request.reservation_id
                )
                return decisions.decide_reserve_now(request, ctx, location, existing)
            case CancelReservation():
                return decisions.decide_cancel_reservation(
                    request, ctx, network.get_reservation(ctx.caller, request.reservation_id)
                )
            case UnlockConnector():
                return decisions.decide_unlock_connector(request, ctx, network.get_location(request.location_id))
        raise TypeError(f"not a command: {type(request).__name__}")

    def _accept(
        self,
        caller: Caller,
        request: Command,
        decision: decisions.Decision,
        meta: RequestMeta,
        now: datetime,
        body_fingerprint: str,
        ocpi_version: str,
    ) -> Answer:
        command_type = request.command_type
        timeout = self.settings.timeout_for(command_type)
        command = CommandRecord(
            command_id=self.new_id(),
            command_type=command_type,
            party=caller.acting_as,
            request=request.as_record(),
            response_url=request.response_url,
            response={"result": CommandResponseType.ACCEPTED.value, "timeout": timeout},
            timeout=timeout,
            accepted_at=now,
            deadline=now + timedelta(seconds=timeout),
            answer_by=now + timedelta(seconds=self.settings.charge_point_wait(timeout)),
            request_id=meta.request_id,
            correlation_id=meta.correlation_id,
            cpo=meta.recipient,
            partner=None if caller.party.ref == caller.acting_as else caller.party.ref,
            ocpi_version=ocpi_version,
            **decision.targets,
        )
        outcome = self.commands.create_command(command, meta.client_request_id, body_fingerprint)
        if outcome.created:
            return Answer(StatusCode.SUCCESS, CommandResponseType.ACCEPTED, timeout, command_id=command.command_id)
        if outcome.command is not None and outcome.same_body:
            # A retried request: the same answer, and nothing dispatched a second time.
            return Answer(
                StatusCode.SUCCESS,
                CommandResponseType.ACCEPTED,
                outcome.command.timeout,
                command_id=outcome.command.command_id,
                duplicate=True,
            )
        return _answer(
            decisions.Decision(
                CommandResponseType.REJECTED,
                StatusCode.INVALID_PARAMETERS,
                f"X-Request-ID {meta.client_request_id} was already used for another"
                f" {command_type.value} of this party",
            )
        )
