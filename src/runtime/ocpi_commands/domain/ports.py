"""What the domain needs from the outside world, as ``typing.Protocol`` s.

``adapters/`` implement them (DynamoDB, Step Functions, EventBridge, urllib3); ``composition`` wires
the implementations in; tests pass in-memory fakes. The domain imports no SDK.
"""

from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any, NamedTuple, Protocol

from ocpi_commands.domain.events import EvseStatusReport
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
    UpdateSource,
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

    def put_session(self, session: SessionRecord, only_if_newer: bool = False) -> bool: ...

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


# ---------------------------------------------------------------------------------------------- live data


class FeedOutcome(str, Enum):
    """What an update from the CPO platform did (the ``Outcome`` dimension of the ``FeedUpdates`` metric)."""

    APPLIED = "applied"
    UNCHANGED = "unchanged"  # the same state, confirmed recently: nothing written
    OLDER = "older"  # what is stored is newer: nothing written
    UNKNOWN = "unknown"  # an EVSE status for a Location or EVSE this module does not know yet
    INVALID = "invalid"  # refused: does not validate


class PullState(NamedTuple):
    """The stored progress of the pulls of one kind (``locations``, ``sessions``)."""

    high_water: datetime | None = None  # the latest last_updated seen by the last complete pull
    last_success_at: datetime | None = None
    lease_until: datetime | None = None  # a pull is running until then (one at a time)


class FeedStore(Protocol):
    """Locations, EVSE status and Sessions as the platform keeps them; every write is conditional."""

    def read_location(self, location_id: str) -> tuple[NetworkLocation | None, str | None]:
        """The stored Location and the revision a write must find (``(None, None)`` when unknown)."""
        ...

    def write_location(self, location: NetworkLocation, revision: str | None) -> bool:
        """Store ``location`` if the stored one is still at ``revision`` (None: if there is none yet)."""
        ...

    def apply_evse_status(self, report: EvseStatusReport, now: datetime, source: UpdateSource) -> FeedOutcome:
        """One EVSE's status, unless its stored last_updated is newer (APPLIED, OLDER or UNKNOWN)."""
        ...

    def put_session(self, session: SessionRecord, only_if_newer: bool = False) -> bool: ...

    def record_heartbeat(self, now: datetime, source: UpdateSource) -> None: ...

    def last_heartbeat(self) -> tuple[datetime, UpdateSource] | None: ...

    def get_pull_state(self, kind: str) -> PullState: ...

    def begin_pull(self, kind: str, now: datetime, lease_until: datetime) -> bool:
        """Take the pull lease of ``kind``; False while another pull holds it."""
        ...

    def finish_pull(self, kind: str, now: datetime, high_water: datetime | None, error: str | None) -> None:
        """Release the lease; a complete pull (``error`` None) also stores its high-water mark."""
        ...


class PlatformPage(NamedTuple):
    """One page of a GET on the platform's Sender interface, with the OCPI pagination headers."""

    http_status: int | None
    status_code: int | None = None
    data: Any = None
    error: str | None = None  # transport error, or an answer that is not an OCPI envelope
    next_url: str | None = None  # Link rel="next", verbatim
    total_count: int | None = None  # X-Total-Count
    limit: int | None = None  # X-Limit


class PlatformReader(Protocol):
    def get_page(self, url: str, authorization: str, headers: Mapping[str, str]) -> PlatformPage:
        """GET ``url`` through the outbound guard (policy checked, connection pinned, no redirect)."""
        ...
