"""The eMSP side: send a command to a CPO, receive its CommandResult, enforce its timeout.

    recorded PENDING (before the POST; an Idempotency-Key guards it)  --stream--> one execution
      -> the CPO's answer: ACCEPTED keeps it PENDING with a result deadline (timeout + grace);
         REJECTED / NOT_SUPPORTED / UNKNOWN_SESSION / an OCPI error -> NOT_ACCEPTED;
         no usable answer (transport, HTML, redirect) -> SEND_FAILED
      -> exactly one conditional transition out of PENDING, by
           * the CPO's CommandResult at our response_url (RESULT_RECEIVED), or
           * the execution when the deadline passes (TIMED_OUT), or when no answer was ever
             recorded (SEND_FAILED: the send was interrupted)
      -> a result after that is answered 1000, recorded as late and announced.

Every final transition writes its "Command Completed" event in the same transaction (an outbox
item the stream relays to the bus); every late result its "Command Result Late". The command is
POSTed to the CPO once, by the request that recorded it, never again.
"""

import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

from ocpi_commands.config import Settings
from ocpi_commands.domain.auth import encode_token
from ocpi_commands.domain.credentials import OcpiClient, OcpiReply
from ocpi_commands.domain.events import COMMAND_COMPLETED, completed_detail
from ocpi_commands.domain.model import (
    CpoAnswer,
    CredentialsStatus,
    HistoryEntry,
    Party,
    PartyRef,
    PartyRole,
    SentCommand,
    SentStatus,
)
from ocpi_commands.domain.ports import PartyStore
from ocpi_commands.observability import bind, logger, metric
from ocpi_commands.ocpi import paths
from ocpi_commands.ocpi.envelope import Header
from ocpi_commands.ocpi.types import utc_now
from ocpi_commands.ocpi.vocabulary import CommandType

SENT_RETENTION_SECONDS = 30 * 24 * 3600
_RECORD_ATTEMPTS = 4


class SendRefused(Exception):
    """The eMSP backend's request cannot be sent: ``http_status`` and a code and message for it."""

    def __init__(self, http_status: int, error: str, message: str, command: SentCommand | None = None):
        super().__init__(message)
        self.http_status = http_status
        self.error = error
        self.message = message
        self.command = command


class AnswerNotYetRecorded(Exception):
    """The execution looked before the sending request recorded the CPO's answer (it retries)."""


class UnknownSentCommand(LookupError):
    pass


class UnknownResponseUrl(LookupError):
    """A CommandResult for a response_url we did not give this CPO (404)."""


class InvalidResult(ValueError):
    """The body POSTed to a response_url is not this version's CommandResult."""


class SendRequest(NamedTuple):
    command_type: CommandType
    cpo: PartyRef
    request: dict[str, Any]  # the OCPI command object, without response_url
    emsp: PartyRef | None = None
    idempotency_key: str | None = None
    correlation_id: str | None = None


class SendOutcome(NamedTuple):
    command: SentCommand
    replayed: bool = False  # the same Idempotency-Key and body: the command sent earlier
    recorded: bool = True  # False: sent, but the CPO's answer could not be recorded (yet)


class CreateSent(NamedTuple):
    created: bool
    command: SentCommand | None = None
    same_body: bool = True


class SentTransition(NamedTuple):
    won: bool
    command: SentCommand | None


class SentCommandStore(Protocol):
    """The eMSP side's records; every change of state is a conditional write."""

    def create(self, command: SentCommand, idempotency_key: str | None, fingerprint: str) -> CreateSent: ...

    def get(self, command_id: str) -> SentCommand | None: ...

    def transition(
        self,
        command_id: str,
        *,
        answered: bool | None,
        sets: dict[str, Any],
        history: HistoryEntry,
        event: tuple[str, dict[str, Any]] | None,
    ) -> SentTransition:
        """Update a PENDING command (``answered``: only if it has / has not the CPO's answer yet) and,
        when ``event`` is given, write that event to the outbox in the same transaction."""
        ...

    def attach_answer(self, command_id: str, answer: CpoAnswer, now: datetime) -> SentCommand | None:
        """Keep the CPO's answer with a command that was resolved before it was recorded."""
        ...

    def keep_task_token(self, command_id: str, token: str, execution_arn: str | None) -> SentTransition: ...

    def add_late_result(
        self, command_id: str, entry: dict[str, Any], key: str, event: tuple[str, dict[str, Any]]
    ) -> bool:
        """Append a late result and its event; False when the same result was recorded already."""
        ...


class SendWire(Protocol):
    """How each OCPI version writes the command and reads the CPO's answers (``ocpi/`` implements it)."""

    def has_command(self, version: str, command_type: CommandType) -> bool: ...

    def request_body(
        self, version: str, command_type: CommandType, request: dict[str, Any], response_url: str
    ) -> dict[str, Any]:
        """The command object as the version writes it (raises ValueError naming the bad fields)."""
        ...

    def read_response(self, version: str, data: Any) -> dict[str, Any] | None: ...

    def read_result(self, version: str, body: Any) -> dict[str, Any]:
        """The CommandResult (2.1.1: CommandResponse) POSTed to our response_url (raises InvalidResult)."""
        ...

    def raw_token(self, version: str) -> bool: ...

    def routing_headers(self, version: str) -> bool: ...


def request_fingerprint(request: SendRequest, emsp: PartyRef) -> str:
    canonical = json.dumps(
        {"type": request.command_type.value, "cpo": request.cpo.key, "emsp": emsp.key, "request": request.request},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _text(message: Any) -> str:
    if isinstance(message, list):
        for item in message:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                return item["text"][:200]
    return ""


class EmspService:
    def __init__(
        self,
        store: SentCommandStore,
        parties: PartyStore,
        client: OcpiClient,
        wire: SendWire,
        settings: Settings,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = lambda: secrets.token_hex(16),
    ):
        self.store = store
        self.parties = parties
        self.client = client
        self.wire = wire
        self.settings = settings
        self.clock = clock
        self.new_id = new_id

    # ------------------------------------------------------------------ sending

    def _partner(self, cpo: PartyRef) -> Party:
        party = self.parties.get_party(cpo)
        if party is None:
            raise SendRefused(404, "unknown_cpo", f"No CPO {cpo.key} is registered (ocpi-commands party connect)")
        if party.role not in (PartyRole.CPO, PartyRole.HUB):
            raise SendRefused(409, "not_a_cpo", f"{cpo.key} is registered as {party.role.value}, not as a CPO")
        if party.credentials_status != CredentialsStatus.REGISTERED or not party.enabled:
            raise SendRefused(
                409, "cpo_not_registered", f"The credentials with {cpo.key} are {party.credentials_status.value}"
            )
        if not party.outbound_token:
            raise SendRefused(409, "no_token", f"{cpo.key} has not given us a credentials token")
        return party

    def _emsp(self, wanted: PartyRef | None) -> PartyRef:
        ours = self.settings.our_emsp_parties
        if wanted is None:
            return ours[0]
        for party in ours:
            if party.key == wanted.key:
                return party
        raise SendRefused(400, "unknown_emsp", f"{wanted.key} is not one of this platform's eMSP parties")

    def send(self, request: SendRequest, base_url: str) -> SendOutcome:
        if not self.settings.is_emsp:
            raise SendRefused(404, "not_emsp", "This platform does not play the eMSP role (template parameter Roles)")
        if "response_url" in request.request:
            raise SendRefused(400, "invalid_request", "request.response_url is set by this platform: leave it out")
        emsp = self._emsp(request.emsp)
        party = self._partner(request.cpo)
        version = party.ocpi_version
        command_type = request.command_type
        if not self.wire.has_command(version, command_type):
            raise SendRefused(
                400, "not_in_version", f"OCPI {version} (spoken with {party.ref.key}) has no {command_type.value}"
            )
        endpoint = party.endpoint("commands", "RECEIVER")
        if endpoint is None:
            raise SendRefused(
                409, "no_commands_endpoint", f"{party.ref.key}'s version details list no commands RECEIVER endpoint"
            )
        command_id = self.new_id()
        response_url = f"{base_url}{paths.emsp_commands_path(version)}/{command_type.value}/{command_id}"
        try:
            body = self.wire.request_body(version, command_type, request.request, response_url)
        except ValueError as exc:
            raise SendRefused(
                400, "invalid_request", f"Not a valid OCPI {version} {command_type.value}: {exc}"
            ) from None
        now = self.clock()
        command = SentCommand(
            command_id=command_id,
            command_type=command_type,
            cpo=request.cpo,
            partner=party.ref,
            emsp=emsp,
            ocpi_version=version,
            request=body,
            response_url=response_url,
            commands_url=f"{endpoint.url.rstrip('/')}/{command_type.value}",
            created_at=now,
            request_id=str(uuid.uuid4()),
            correlation_id=request.correlation_id or str(uuid.uuid4()),
            idempotency_key=request.idempotency_key,
            history=(HistoryEntry(at=now, event="created"),),
            expires_at=int(now.timestamp()) + SENT_RETENTION_SECONDS,
        )
        bind(command_id=command_id, party=request.cpo.key, command_type=command_type.value, ocpi_version=version)
        created = self.store.create(command, request.idempotency_key, request_fingerprint(request, emsp))
        if not created.created:
            if not created.same_body:
                raise SendRefused(
                    409, "idempotency_key_reused", "This Idempotency-Key was used for another command body"
                )
            if created.command is None:
                raise SendRefused(409, "idempotency_key_reused", "This Idempotency-Key's command is gone")
            logger.info(
                "Idempotent replay: the command was sent before", extra={"command_id": created.command.command_id}
            )
            return SendOutcome(created.command, replayed=True)
        reply, duration_ms = self._post(command, party)
        return self._record_answer(command, reply, duration_ms)

    def _post(self, command: SentCommand, party: Party) -> tuple[OcpiReply, int]:
        version = command.ocpi_version
        token = party.outbound_token or ""
        raw = self.wire.raw_token(version) or party.legacy_token_encoding
        headers = {Header.REQUEST_ID: command.request_id, Header.CORRELATION_ID: command.correlation_id}
        if self.wire.routing_headers(version):
            headers.update(
                {
                    Header.FROM_COUNTRY_CODE: command.emsp.country_code,
                    Header.FROM_PARTY_ID: command.emsp.party_id,
                    Header.TO_COUNTRY_CODE: command.cpo.country_code,
                    Header.TO_PARTY_ID: command.cpo.party_id,
                }
            )
        started = time.monotonic()
        reply = self.client.call(
            "POST", command.commands_url, f"Token {token}" if raw else encode_token(token), command.request, headers
        )
        return reply, int((time.monotonic() - started) * 1000)

    def _classify(
        self, command: SentCommand, reply: OcpiReply, duration_ms: int
    ) -> tuple[SentStatus, CpoAnswer | None, str | None]:
        if reply.error is not None or reply.http_status is None or reply.status_code is None:
            return SentStatus.SEND_FAILED, None, f"No OCPI answer from the CPO: {reply.describe()}"
        response = self.wire.read_response(command.ocpi_version, reply.data)
        answer = CpoAnswer(
            http_status=reply.http_status,
            ocpi_status_code=reply.status_code,
            status_message=(reply.status_message or None) and reply.status_message[:500],
            response=response,
            duration_ms=duration_ms,
        )
        success = 200 <= reply.http_status < 300 and 1000 <= reply.status_code < 2000
        if success and response is None:
            return SentStatus.SEND_FAILED, answer, "The CPO answered without a CommandResponse in data"
        if answer.accepted:
            return SentStatus.PENDING, answer, None
        if success and response is not None:
            said = _text(response.get("message"))
            return (
                SentStatus.NOT_ACCEPTED,
                answer,
                f"The CPO answered {response['result']}" + (f": {said}" if said else ""),
            )
        reason = f"The CPO answered HTTP {reply.http_status}, OCPI status_code {reply.status_code}"
        return (
            SentStatus.NOT_ACCEPTED,
            answer,
            reason + (f": {reply.status_message[:200]}" if reply.status_message else ""),
        )

    def _record_answer(self, command: SentCommand, reply: OcpiReply, duration_ms: int) -> SendOutcome:
        status, answer, reason = self._classify(command, reply, duration_ms)
        now = self.clock()
        sets: dict[str, Any] = {"answered_at": now}
        if answer is not None:
            sets["answer"] = answer
        detail: dict[str, Any] = {"duration_ms": duration_ms}
        if answer is not None:
            detail.update(http_status=answer.http_status, ocpi_status_code=answer.ocpi_status_code)
            if answer.response:
                detail["response"] = answer.response.get("result")
        if reason:
            detail["reason"] = reason
        event = None
        if status == SentStatus.PENDING:
            assert answer is not None and answer.response is not None
            timeout, wait = self.settings.emsp_wait_seconds(answer.response.get("timeout"), command.command_type)
            sets.update(timeout=timeout, result_deadline=now + timedelta(seconds=wait))
            history = HistoryEntry(at=now, event="accepted", detail={**detail, "timeout": timeout})
        else:
            sets.update(status=status, reason=reason)
            history = HistoryEntry(at=now, event=status.value.lower(), detail=detail)
            final = command.model_copy(update={**sets, "history": (*command.history, history)})
            event = (COMMAND_COMPLETED, completed_detail(final))
        transition = self._retrying(
            lambda: self.store.transition(command.command_id, answered=False, sets=sets, history=history, event=event)
        )
        response_label = (answer.response or {}).get("result") if answer else None
        metric(
            "CommandsSent",
            CommandType=command.command_type.value,
            Response=str(response_label or ("OCPI_ERROR" if answer else "SEND_FAILED")),
            OcpiVersion=command.ocpi_version,
        )
        if transition is None:
            logger.error("Sent, but the CPO's answer could not be recorded", extra={"status": status.value})
            return SendOutcome(command, recorded=False)
        if not transition.won:
            # A CommandResult (or the execution giving up) was recorded before this answer.
            current = self.store.attach_answer(command.command_id, answer, now) if answer else None
            logger.info("The command was resolved before its answer was recorded")
            return SendOutcome(current or transition.command or command)
        assert transition.command is not None
        if status == SentStatus.SEND_FAILED:
            metric("SendFailures", CommandType=command.command_type.value)
        if status != SentStatus.PENDING:
            metric("CommandOutcomes", CommandType=command.command_type.value, Result=str(transition.command.outcome))
        logger.info(
            "Command sent",
            extra={"status": status.value, "response": response_label, "reason": reason, "duration_ms": duration_ms},
        )
        return SendOutcome(transition.command)

    @staticmethod
    def _retrying(write: Callable[[], SentTransition]) -> SentTransition | None:
        """The write after the POST: retried a few times (the CPO has the command now); None if it kept failing."""
        for attempt in range(_RECORD_ATTEMPTS):
            try:
                return write()
            except Exception:  # noqa: BLE001 - a dependency failure; the execution resolves the command
                logger.exception("Recording the CPO's answer failed", extra={"attempt": attempt + 1})
                time.sleep(0.1 * (2**attempt))
        return None
