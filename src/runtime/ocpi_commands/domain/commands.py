"""The five commands as the domain sees them, whatever OCPI version carried them.

Each version's wire models (``ocpi/v*/commands.py``) validate a request body and map it here with
``to_domain()``; the decision table, the lifecycle and delivery only ever see these objects.
``as_record()`` is what the command record keeps of a request (and what the CSMS is sent).
"""

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from ocpi_commands.ocpi.types import format_datetime
from ocpi_commands.ocpi.vocabulary import CommandType


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class DriverToken:
    """The driver's Token a START_SESSION or RESERVE_NOW carries.

    ``country_code``/``party_id`` name the eMSP that owns it (2.1.1 Tokens have none: the owner is
    the party behind the credentials). ``type`` is a plain string: TokenType is an OpenEnum in 2.3.0.
    """

    country_code: str
    party_id: str
    uid: str
    type: str
    contract_id: str
    issuer: str | None = None
    visual_number: str | None = None
    group_id: str | None = None
    valid: bool | None = None
    whitelist: str | None = None
    language: str | None = None
    last_updated: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    response_url: str

    command_type = CommandType.START_SESSION  # overridden by every subclass

    def as_record(self) -> dict[str, Any]:
        """The request as the command record keeps it: JSON values, unset fields left out."""
        return _plain(asdict(self))


@dataclass(frozen=True, slots=True, kw_only=True)
class StartSession(Command):
    command_type = CommandType.START_SESSION
    token: DriverToken
    location_id: str
    evse_uid: str | None = None
    connector_id: str | None = None
    authorization_reference: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StopSession(Command):
    command_type = CommandType.STOP_SESSION
    session_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReserveNow(Command):
    command_type = CommandType.RESERVE_NOW
    token: DriverToken
    expiry_date: datetime
    reservation_id: str
    location_id: str
    evse_uid: str | None = None
    authorization_reference: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelReservation(Command):
    command_type = CommandType.CANCEL_RESERVATION
    reservation_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UnlockConnector(Command):
    command_type = CommandType.UNLOCK_CONNECTOR
    location_id: str
    evse_uid: str
    connector_id: str
