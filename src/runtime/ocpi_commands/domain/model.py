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
    """The role of a partner platform with us (OCPI Role; NAP, NSP, SCSP and the like are OTHER)."""

    EMSP = "EMSP"
    HUB = "HUB"
    CPO = "CPO"
    OTHER = "OTHER"


class CredentialsStatus(str, Enum):
    """``REGISTERED``: the party's token may call every module. ``TOKEN_A``: registration token only
    (an invited partner that has not registered yet)."""

    REGISTERED = "REGISTERED"
    TOKEN_A = "TOKEN_A"
    UNREGISTERED = "UNREGISTERED"  # the partner (or we) ended the registration: no token works
    # We are registering with the partner (party connect): the token we gave it works for its calls back
    # to our versions, never on functional modules, and is never cached.
    CONNECTING = "CONNECTING"


class CredentialsRole(DomainModel):
    """A role a partner platform holds (Credentials ``roles``): several parties may share one platform."""

    role: str
    country_code: str
    party_id: str
    name: str | None = None

    @property
    def ref(self) -> PartyRef:
        return PartyRef(country_code=self.country_code, party_id=self.party_id)


class Endpoint(DomainModel):
    """One endpoint of a partner's version details."""

    identifier: str
    role: str | None = None  # SENDER / RECEIVER (2.2+); None in 2.1.1
    url: str


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
    # For a hub: the parties it may act for (empty: none), named by the OCPI-from-* headers.
    hub_clients: tuple[str, ...] = ()
    enabled: bool = True
    # The OCPI version this party speaks with us (registered, or agreed in the credentials handshake).
    ocpi_version: str = "2.2.1"
    # From the credentials handshake: every role of the platform (the parties it may act as, for a hub
    # its clients), its versions URL and the endpoints of the agreed version, and when they were fetched.
    roles: tuple[CredentialsRole, ...] = ()
    versions_url: str | None = None
    endpoints: tuple[Endpoint, ...] = ()
    endpoints_fetched_at: datetime | None = None
    # An invited partner's CREDENTIALS_TOKEN_A stops working at this time.
    token_a_expires_at: datetime | None = None
    # While we update our credentials with the partner (PUT), the token we are giving it works too.
    next_token_sha256: str | None = None
    registered_at: datetime | None = None

    def acts_for(self, country_code: str, party_id: str) -> PartyRef | None:
        """The party of this platform named ``country_code``/``party_id`` (OCPI-from-*), if it is one.

        A hub acts only for the clients it is registered for; any other platform for itself and its roles."""
        if self.role == PartyRole.HUB:
            wanted = f"{ci_key(country_code)}*{ci_key(party_id)}"
            return PartyRef(country_code=country_code, party_id=party_id) if wanted in self.hub_clients else None
        if self.ref.same_as(country_code, party_id):
            return self.ref
        for role in self.roles:
            if role.role != PartyRole.HUB.value and role.ref.same_as(country_code, party_id):
                return role.ref
        return None

    def endpoint(self, identifier: str, role: str | None = None) -> Endpoint | None:
        """The partner's endpoint for a module (and interface role, where its version has roles)."""
        for endpoint in self.endpoints:
            if endpoint.identifier == identifier and (role is None or endpoint.role in (None, role)):
                return endpoint
        return None


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
    partner: PartyRef | None = None  # the credentials that started it, when not the owner's (a hub)


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
    ocpi_version: str = "2.2.1"  # of the RESERVE_NOW (2.1.1 has no CANCELED_RESERVATION result)
    partner: PartyRef | None = None  # the credentials that sent the RESERVE_NOW, when not the owner's

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
    NOT_SENT = "NOT_SENT"  # the command's OCPI version has no way to say this result


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
    # The announced deadline (accepted_at + timeout), and when the wait for the charge point ends
    # (earlier, by the delivery margin, so a TIMEOUT reaches the eMSP before the deadline).
    deadline: datetime
    answer_by: datetime | None = None
    request_id: str
    correlation_id: str
    # The CPO party it was addressed to (None: the platform's default party).
    cpo: PartyRef | None = None
    # The partner whose credentials sent it, when not ``party`` itself (a hub, or a platform with several
    # roles): its CommandResult goes out with that partner's token, encoding and allow-list.
    partner: PartyRef | None = None
    # The OCPI version it was received in: its CommandResult is written in the same one.
    ocpi_version: str = "2.2.1"
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


# ------------------------------------------------------------------------------------ the eMSP side


class SentStatus(str, Enum):
    """A command our eMSP side sent to a CPO.

    ``PENDING`` from its recording (before the POST) until one final state: ``NOT_ACCEPTED`` (the CPO's
    answer was not ACCEPTED, or an OCPI error), ``SEND_FAILED`` (no usable answer), ``RESULT_RECEIVED``
    (the CPO's CommandResult) or ``TIMED_OUT`` (none within the CPO's timeout plus the grace).
    """

    PENDING = "PENDING"
    NOT_ACCEPTED = "NOT_ACCEPTED"
    SEND_FAILED = "SEND_FAILED"
    RESULT_RECEIVED = "RESULT_RECEIVED"
    TIMED_OUT = "TIMED_OUT"


FINAL_SENT_STATUSES = frozenset(s for s in SentStatus if s != SentStatus.PENDING)


class CpoAnswer(DomainModel):
    """The CPO's synchronous answer to a command we sent, as read from its envelope."""

    http_status: int
    ocpi_status_code: int
    status_message: str | None = None
    # The CommandResponse (``result``, ``timeout``, ``message``), when the answer carried one.
    response: dict[str, Any] | None = None
    duration_ms: int | None = None

    @property
    def accepted(self) -> bool:
        return (
            200 <= self.http_status < 300
            and 1000 <= self.ocpi_status_code < 2000
            and (self.response or {}).get("result") == "ACCEPTED"
        )


class HistoryEntry(DomainModel):
    at: datetime
    event: str
    detail: dict[str, Any] | None = None


class SentCommand(DomainModel):
    """A command our eMSP side sent, from its recording until one outcome, and the results after it."""

    model_config = BUILT_ON_FIRST_USE

    command_id: str  # also the unguessable segment of its response_url (128 bits)
    command_type: CommandType
    cpo: PartyRef  # the CPO party addressed (OCPI-to-*)
    partner: PartyRef  # the credentials party we POST to (the CPO's platform, or a hub)
    emsp: PartyRef  # our eMSP party (OCPI-from-*)
    ocpi_version: str
    request: dict[str, Any]  # the command object as sent, response_url included
    response_url: str
    commands_url: str
    created_at: datetime
    request_id: str
    correlation_id: str
    idempotency_key: str | None = None
    status: SentStatus = SentStatus.PENDING
    answer: CpoAnswer | None = None
    answered_at: datetime | None = None
    # The CPO's timeout (clamped; ours for 2.1.1) and when our wait for the CommandResult ends.
    timeout: int | None = None
    result_deadline: datetime | None = None
    result: dict[str, Any] | None = None  # the CommandResult (2.1.1: its CommandResponse), as received
    result_at: datetime | None = None
    reason: str | None = None  # why SEND_FAILED / TIMED_OUT / NOT_ACCEPTED, in words
    late_results: tuple[dict[str, Any], ...] = ()
    history: tuple[HistoryEntry, ...] = ()
    execution_arn: str | None = None
    task_token: str | None = None
    expires_at: int | None = Field(default=None, description="DynamoDB TTL (epoch seconds)")

    @property
    def outcome(self) -> str | None:
        """One word for the final state: the CommandResult's result, the CPO's CommandResponse result
        (or OCPI_ERROR), TIMEOUT (ours), SEND_FAILED; None while PENDING."""
        if self.status == SentStatus.RESULT_RECEIVED:
            return str((self.result or {}).get("result"))
        if self.status == SentStatus.NOT_ACCEPTED:
            answer = self.answer
            if answer and answer.response and 1000 <= answer.ocpi_status_code < 2000:
                return str(answer.response.get("result"))
            return "OCPI_ERROR"
        if self.status == SentStatus.TIMED_OUT:
            return "TIMEOUT"
        if self.status == SentStatus.SEND_FAILED:
            return "SEND_FAILED"
        return None
