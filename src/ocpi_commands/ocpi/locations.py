"""The parts of OCPI Location and Session objects that the Commands rules need.

These models read full OCPI Location / Session JSON (every other field is ignored), so a CPO can load
the objects its Locations and Sessions modules already publish.
"""

from enum import Enum

from ocpi_commands.ocpi.tokens import TokenType
from ocpi_commands.ocpi.types import CiString, DateTime, OcpiModel


class Capability(str, Enum):
    """EVSE capabilities that decide whether a command is supported (Locations module)."""

    REMOTE_START_STOP_CAPABLE = "REMOTE_START_STOP_CAPABLE"
    RESERVABLE = "RESERVABLE"
    UNLOCK_CAPABLE = "UNLOCK_CAPABLE"
    START_SESSION_CONNECTOR_REQUIRED = "START_SESSION_CONNECTOR_REQUIRED"


class EvseStatus(str, Enum):
    AVAILABLE = "AVAILABLE"
    BLOCKED = "BLOCKED"
    CHARGING = "CHARGING"
    INOPERATIVE = "INOPERATIVE"
    OUTOFORDER = "OUTOFORDER"
    PLANNED = "PLANNED"
    REMOVED = "REMOVED"
    RESERVED = "RESERVED"
    UNKNOWN = "UNKNOWN"


class Connector(OcpiModel):
    id: CiString(36)


class Evse(OcpiModel):
    uid: CiString(36)
    evse_id: CiString(48) | None = None
    status: EvseStatus = EvseStatus.UNKNOWN
    # Capability is an OpenEnum in 2.3.0: unknown values are kept as plain strings.
    capabilities: list[str] = []
    connectors: list[Connector] = []


class Location(OcpiModel):
    country_code: CiString(2) | None = None
    party_id: CiString(3) | None = None
    id: CiString(36)
    evses: list[Evse] = []
    last_updated: DateTime | None = None


class SessionStatus(str, Enum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    INVALID = "INVALID"
    PENDING = "PENDING"
    RESERVATION = "RESERVATION"


class CdrToken(OcpiModel):
    country_code: CiString(2)
    party_id: CiString(3)
    uid: CiString(36)
    type: TokenType
    contract_id: CiString(36)


class Session(OcpiModel):
    """An OCPI Session; its owner (the eMSP) is ``cdr_token.country_code`` / ``party_id``."""

    country_code: CiString(2) | None = None
    party_id: CiString(3) | None = None
    id: CiString(36)
    cdr_token: CdrToken
    location_id: CiString(36)
    evse_uid: CiString(36)
    connector_id: CiString(36)
    status: SessionStatus
    authorization_reference: CiString(36) | None = None
    last_updated: DateTime | None = None
