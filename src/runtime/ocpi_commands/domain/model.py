"""Domain records: parties, the charging network the rules need, sessions, reservations and commands.

These are the product's own records, independent of every OCPI version's wire format (``ocpi/v*``)
and of the storage format (``adapters/dynamodb``); each boundary converts explicitly.
"""

from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ocpi_commands.ocpi.types import BUILT_ON_FIRST_USE, ci_key
from ocpi_commands.ocpi.vocabulary import CommandResultType, CommandType, EvseStatus, SessionStatus


class DomainModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class PartyRef(DomainModel):
    """An OCPI party: ``country_code`` + ``party_id`` (both CiString)."""

    country_code: str
    party_id: str

    @property
    def key(self) -> str:
        """Normalised identity, e.g. ``DE*TNM`` (the eMI3 notation)."""
        return f"{ci_key(self.country_code)}*{ci_key(self.party_id)}"

    def same_as(self, country_code: str, party_id: str) -> bool:
        return ci_key(country_code) == ci_key(self.country_code) and ci_key(party_id) == ci_key(self.party_id)

    def __str__(self) -> str:
        return self.key


class PartyRole(str, Enum):
    EMSP = "EMSP"
    HUB = "HUB"


class CredentialsStatus(str, Enum):
    """``REGISTERED``: the party's token may call every module. ``TOKEN_A``: registration token only."""

    REGISTERED = "REGISTERED"
    TOKEN_A = "TOKEN_A"


DEFAULT_PERMISSIONS: frozenset[CommandType] = frozenset(
    {CommandType.START_SESSION, CommandType.STOP_SESSION, CommandType.RESERVE_NOW, CommandType.CANCEL_RESERVATION}
)


class Party(DomainModel):
    """An eMSP partner (or a hub) registered with this CPO."""

    ref: PartyRef
    role: PartyRole = PartyRole.EMSP
    name: str | None = None
    # SHA-256 (hex) of the credentials token the party calls us with. The token itself is never stored.
    token_sha256: str
    credentials_status: CredentialsStatus = CredentialsStatus.REGISTERED
    # The credentials token the party issued to us, used to POST CommandResults to it.
    outbound_token: str | None = None
    # Accept the raw, un-encoded token in the Authorization header (OCPI 2.1.1/2.2 peers).
    legacy_token_encoding: bool = False
    # Command types this party may send. UNLOCK_CONNECTOR is for help-desk use and is opt-in.
    permissions: frozenset[CommandType] = DEFAULT_PERMISSIONS
    # Optional allow-list of hosts for response_url (empty: any host that passes the URL policy).
    allowed_response_url_hosts: tuple[str, ...] = ()
    # For a hub: the eMSPs it may act for (empty: any, as told by the OCPI-from-* headers).
    hub_clients: tuple[str, ...] = ()
    enabled: bool = True


class Connector(DomainModel):
    id: str


class Evse(DomainModel):
    """An EVSE as the command rules see it (any OCPI version's EVSE maps to this)."""

    uid: str
    evse_id: str | None = None
    status: EvseStatus = EvseStatus.UNKNOWN
    # Capability is an OpenEnum in 2.3.0: unknown values are kept as plain strings.
    capabilities: tuple[str, ...] = ()
    connectors: tuple[Connector, ...] = ()


class NetworkLocation(DomainModel):
    """A CPO Location with the EVSE data the command rules need."""

    location_id: str
    evses: tuple[Evse, ...] = ()

    def evse(self, uid: str) -> Evse | None:
        wanted = ci_key(uid)
        for evse in self.evses:
            if ci_key(evse.uid) == wanted and evse.status != EvseStatus.REMOVED:
                return evse
        return None

    @property
    def active_evses(self) -> tuple[Evse, ...]:
        return tuple(e for e in self.evses if e.status != EvseStatus.REMOVED)


def has_connector(evse: Evse, connector_id: str) -> bool:
    wanted = ci_key(connector_id)
    return any(ci_key(c.id) == wanted for c in evse.connectors)


class SessionRecord(DomainModel):
    """A charging session known to the CPO, with the eMSP that owns it."""

    model_config = BUILT_ON_FIRST_USE

    session_id: str
    owner: PartyRef
    location_id: str
    evse_uid: str | None = None
    connector_id: str | None = None
    status: SessionStatus = SessionStatus.ACTIVE
    authorization_reference: str | None = None
    command_id: str | None = None
    last_updated: datetime | None = None


class ReservationStatus(str, Enum):
    ACTIVE = "ACTIVE"
    CANCELED = "CANCELED"


class Reservation(DomainModel):
    """A reservation, keyed per (eMSP party, eMSP reservation_id).

    The charge point only ever sees ``cp_reservation_id``, a CPO-unique integer (OCPP reservationId).
    ``response_url`` and the party are kept until ``expiry_date`` for a CPO-side cancellation.
    """

    model_config = BUILT_ON_FIRST_USE

    owner: PartyRef
    reservation_id: str
    cp_reservation_id: int
    location_id: str
    evse_uid: str | None = None
    expiry_date: datetime
    response_url: str
    command_id: str
    correlation_id: str | None = None
    status: ReservationStatus = ReservationStatus.ACTIVE
    canceled_by: str | None = None  # "EMSP" (CANCEL_RESERVATION) or "CPO"

    def is_active(self, now: datetime) -> bool:
        return self.status == ReservationStatus.ACTIVE and self.expiry_date > now


class CommandStatus(str, Enum):
    """``PENDING`` until one terminal result is recorded, then ``RESOLVED`` (never back)."""

    PENDING = "PENDING"
    RESOLVED = "RESOLVED"


class ResultSource(str, Enum):
    CHARGE_POINT = "CHARGE_POINT"  # the CSMS reported the charge point's answer
    TIMEOUT = "TIMEOUT"  # the announced timeout elapsed
    DISPATCH_FAILURE = "DISPATCH_FAILURE"  # the command could not be handed to the CSMS
    CPO = "CPO"  # decided by the CPO itself (reservation cancelled by the CPO, unknown reservation)


class DeliveryStatus(str, Enum):
    DELIVERING = "DELIVERING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class DeliveryAttempt(DomainModel):
    number: int
    started_at: datetime
    duration_ms: int | None = None
    outcome: str | None = None  # "delivered", "rejected", "retryable", "failed"; None while in flight
    http_status: int | None = None
    ocpi_status_code: int | None = None
    error: str | None = None
    request_id: str | None = None  # this attempt's own X-Request-ID


class CommandRecord(DomainModel):
    """A command the CPO ACCEPTED, from PENDING until exactly one CommandResult is delivered, and after.

    Also the record of a CPO-initiated result (``CANCELED_RESERVATION``), stored already resolved.
    """

    command_id: str
    command_type: CommandType
    party: PartyRef
    request: dict[str, Any]
    response_url: str
    response: dict[str, Any]
    timeout: int
    accepted_at: datetime
    deadline: datetime
    request_id: str
    correlation_id: str
    status: CommandStatus = CommandStatus.PENDING
    # What the charge point backend needs, resolved at acceptance time.
    location_id: str | None = None
    evse_uid: str | None = None
    connector_id: str | None = None
    session_id: str | None = None
    reservation_id: str | None = None
    cp_reservation_id: int | None = None
    # Lifecycle.
    execution_arn: str | None = None
    task_token: str | None = None
    dispatched_at: datetime | None = None
    result: CommandResultType | None = None
    result_message: list[dict[str, str]] | None = None
    result_source: ResultSource | None = None
    resolved_at: datetime | None = None
    late_results: int = 0
    delivery_status: DeliveryStatus | None = None
    delivery_owner: str | None = None
    delivery_request_id: str | None = None
    delivery_attempts: tuple[DeliveryAttempt, ...] = ()
    delivered_at: datetime | None = None
    delivery_error: str | None = None
    expires_at: int | None = Field(default=None, description="DynamoDB TTL (epoch seconds)")
