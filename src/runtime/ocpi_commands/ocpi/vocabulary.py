"""The OCPI words every version shares, as the domain uses them (2.2.1 baseline).

Where a version differs (2.1.1 has no CANCEL_RESERVATION and puts TIMEOUT among the
CommandResponseType values; 2.3.0 makes CommandType, TokenType and Capability OpenEnums), the
difference is written in that version's package under ``ocpi/``, which maps to these values.
"""

from enum import Enum


class CommandType(str, Enum):
    CANCEL_RESERVATION = "CANCEL_RESERVATION"
    RESERVE_NOW = "RESERVE_NOW"
    START_SESSION = "START_SESSION"
    STOP_SESSION = "STOP_SESSION"
    UNLOCK_CONNECTOR = "UNLOCK_CONNECTOR"


class CommandResponseType(str, Enum):
    """The CPO's synchronous verdict."""

    NOT_SUPPORTED = "NOT_SUPPORTED"
    REJECTED = "REJECTED"
    ACCEPTED = "ACCEPTED"
    UNKNOWN_SESSION = "UNKNOWN_SESSION"


class CommandResultType(str, Enum):
    """The asynchronous outcome POSTed to ``response_url``."""

    ACCEPTED = "ACCEPTED"
    CANCELED_RESERVATION = "CANCELED_RESERVATION"
    EVSE_OCCUPIED = "EVSE_OCCUPIED"
    EVSE_INOPERATIVE = "EVSE_INOPERATIVE"
    FAILED = "FAILED"
    NOT_SUPPORTED = "NOT_SUPPORTED"
    REJECTED = "REJECTED"
    TIMEOUT = "TIMEOUT"
    UNKNOWN_RESERVATION = "UNKNOWN_RESERVATION"


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


class SessionStatus(str, Enum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    INVALID = "INVALID"
    PENDING = "PENDING"
    RESERVATION = "RESERVATION"
