"""What the domain needs from the outside world, as ``typing.Protocol`` s.

``adapters/`` implement them (DynamoDB, Step Functions, EventBridge, urllib3); ``composition`` wires
the implementations in; tests pass in-memory fakes. The domain imports no SDK.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from ocpi_commands.domain.model import (
    CommandRecord,
    CredentialsStatus,
    DeliveryAttempt,
    DeliveryStatus,
    NetworkLocation,
    Party,
    PartyRef,
    Reservation,
    ResultSource,
    SessionRecord,
)
from ocpi_commands.domain.url_policy import ParsedUrl
from ocpi_commands.ocpi.vocabulary import CommandResultType


class CreateOutcome(NamedTuple):
    """Result of :meth:`CommandStore.create_command`."""

    created: bool
    command: CommandRecord | None = None
    # When not created: which guard matched (the X-Request-ID) and whether the earlier body was the same.
    conflict: str | None = None
    same_body: bool = True


class Transition(NamedTuple):
    """Result of a conditional transition: whether this caller made it, and the record after it."""

    won: bool
    command: CommandRecord | None


class PartyStore(Protocol):
    def get_party(self, ref: PartyRef) -> Party | None: ...

    def get_party_by_token_sha256(self, token_sha256: str) -> tuple[Party, CredentialsStatus] | None: ...


class NetworkStore(Protocol):
    """Locations, sessions and reservations: what the decision table looks up and the lifecycle keeps."""

    def get_location(self, location_id: str) -> NetworkLocation | None: ...

    def get_location_and_reservation(
        self, location_id: str, owner: PartyRef, reservation_id: str
    ) -> tuple[NetworkLocation | None, Reservation | None]: ...

    def get_session(self, session_id: str) -> SessionRecord | None: ...

    def put_session(self, session: SessionRecord) -> None: ...

    def get_reservation(self, owner: PartyRef, reservation_id: str) -> Reservation | None: ...

    def put_reservation(self, reservation: Reservation) -> None: ...

    def cancel_reservation(
        self, owner: PartyRef, reservation_id: str, now: datetime, by: str
    ) -> Reservation | None: ...

    def find_reservation_by_cp_id(self, cp_reservation_id: int) -> Reservation | None: ...


class CommandStore(Protocol):
    """Command records. Every state change is a conditional write: the store is the arbiter."""

    def create_command(
        self, command: CommandRecord, client_request_id: str | None, body_fingerprint: str
    ) -> CreateOutcome: ...

    def get_command(self, command_id: str) -> CommandRecord | None: ...

    def record_dispatch(
        self, command_id: str, task_token: str, execution_arn: str | None, now: datetime, cp_reservation_id: int | None
    ) -> Transition: ...

    def next_cp_reservation_id(self) -> int: ...

    def resolve_command(
        self,
        command_id: str,
        result: CommandResultType,
        source: ResultSource,
        message: list[dict[str, str]] | None,
        now: datetime,
        delivery_owner: str,
        first_attempt: DeliveryAttempt,
    ) -> Transition: ...

    def count_late_result(self, command_id: str) -> None: ...

    def put_resolved_notice(self, command: CommandRecord) -> bool: ...

    def begin_delivery_attempt(self, command_id: str, owner: str, attempt: DeliveryAttempt) -> Transition: ...

    def finish_delivery_attempt(
        self,
        command_id: str,
        owner: str,
        attempt: DeliveryAttempt,
        final_status: DeliveryStatus | None,
        now: datetime,
        error: str | None = None,
        request_id: str | None = None,
    ) -> Transition: ...


class Store(PartyStore, NetworkStore, CommandStore, Protocol):
    """Everything the lifecycle keeps (one table in the DynamoDB adapter)."""


class TaskTokens(Protocol):
    def succeed(self, token: str | None, output: Mapping[str, Any]) -> bool:
        """Resume the execution waiting on ``token``; False when it had already moved on."""
        ...


class ExecutionStarter(Protocol):
    def start(self, name: str, payload: Mapping[str, Any]) -> bool:
        """Start the execution ``name``; False when it already exists (starts are idempotent)."""
        ...


class PublishFailed(Exception):
    """The event bus did not take the event; the caller's retry policy applies."""


class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: Mapping[str, Any], resources: tuple[str, ...] = ()) -> None:
        """Put one event on the stack's bus, or raise :class:`PublishFailed`."""
        ...


class HttpAnswer(NamedTuple):
    status: int | None
    body: bytes = b""
    error: str | None = None  # transport error, when status is None
    retryable_error: bool = True


class HttpPoster(Protocol):
    def post(self, url: ParsedUrl, address: str, body: bytes, headers: Mapping[str, str]) -> HttpAnswer:
        """POST ``body`` to ``url.target`` over a connection to ``address`` (the IP that was checked, never
        resolved again), with ``Host: url.host_header`` and, for https, the TLS server name and the
        certificate check of ``url.host``."""
        ...


class ResultWire(Protocol):
    """How a CommandResult is written on the wire, in the OCPI version of its command."""

    def body(self, command: CommandRecord) -> bytes | None:
        """The body POSTed to response_url; None when the version cannot say this result."""
        ...

    def raw_token(self, ocpi_version: str) -> bool:
        """The credentials token goes in Authorization as is (2.1.1), not Base64-encoded."""
        ...

    def routing_headers(self, ocpi_version: str) -> bool: ...


class AddressResolver(Protocol):
    def __call__(self, host: str, port: int) -> list[str]:
        """Every address ``host`` resolves to (raises OSError when it does not resolve)."""
        ...
