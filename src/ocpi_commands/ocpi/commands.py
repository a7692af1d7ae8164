"""Commands module objects, OCPI 2.2.1 (chapter 13)."""

from enum import Enum
from typing import Annotated

from pydantic import Field, StrictInt, model_validator

from ocpi_commands.ocpi.tokens import Token
from ocpi_commands.ocpi.types import BUILT_ON_FIRST_USE, URL, CiString, DateTime, DisplayText, OcpiModel


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


class CancelReservation(OcpiModel):
    model_config = BUILT_ON_FIRST_USE

    response_url: URL
    reservation_id: CiString(36)


class ReserveNow(OcpiModel):
    model_config = BUILT_ON_FIRST_USE

    response_url: URL
    token: Token
    expiry_date: DateTime
    reservation_id: CiString(36)
    location_id: CiString(36)
    evse_uid: CiString(36) | None = None
    authorization_reference: CiString(36) | None = None


class StartSession(OcpiModel):
    response_url: URL
    token: Token
    location_id: CiString(36)
    evse_uid: CiString(36) | None = None
    connector_id: CiString(36) | None = None
    authorization_reference: CiString(36) | None = None

    @model_validator(mode="after")
    def _connector_requires_evse(self) -> "StartSession":
        if self.connector_id is not None and self.evse_uid is None:
            raise ValueError("evse_uid is required when connector_id is set")
        return self


class StopSession(OcpiModel):
    model_config = BUILT_ON_FIRST_USE

    response_url: URL
    session_id: CiString(36)


class UnlockConnector(OcpiModel):
    model_config = BUILT_ON_FIRST_USE

    response_url: URL
    location_id: CiString(36)
    evse_uid: CiString(36)
    connector_id: CiString(36)


CommandRequest = CancelReservation | ReserveNow | StartSession | StopSession | UnlockConnector

REQUEST_MODELS: dict[CommandType, type[OcpiModel]] = {
    CommandType.CANCEL_RESERVATION: CancelReservation,
    CommandType.RESERVE_NOW: ReserveNow,
    CommandType.START_SESSION: StartSession,
    CommandType.STOP_SESSION: StopSession,
    CommandType.UNLOCK_CONNECTOR: UnlockConnector,
}


class CommandResponse(OcpiModel):
    """Synchronous answer, inside ``data`` of the OCPI envelope."""

    result: CommandResponseType
    timeout: Annotated[StrictInt, Field(ge=0)]
    message: list[DisplayText] | None = None


class CommandResult(OcpiModel):
    """Asynchronous result, POSTed bare (no envelope) to ``response_url``."""

    model_config = BUILT_ON_FIRST_USE

    result: CommandResultType
    message: list[DisplayText] | None = None
