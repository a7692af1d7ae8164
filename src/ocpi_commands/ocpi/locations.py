"""The parts of OCPI Locations (EVSEs, connectors, capabilities) and Sessions that the Commands rules need.

The full-object readers used to load OCPI Location and Session JSON are in ``ocpi.objects``.
"""

from enum import Enum

from ocpi_commands.ocpi.types import CiString, OcpiModel


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


class SessionStatus(str, Enum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    INVALID = "INVALID"
    PENDING = "PENDING"
    RESERVATION = "RESERVATION"
