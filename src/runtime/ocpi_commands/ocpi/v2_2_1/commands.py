"""Commands module objects, OCPI 2.2.1 (chapter 13), and their mapping to the domain's commands."""

from typing import Annotated

from pydantic import Field, StrictInt, model_validator

from ocpi_commands.domain import commands as domain
from ocpi_commands.ocpi.types import BUILT_ON_FIRST_USE, CiString36, DateTime, DisplayText, OcpiModel, ResponseUrl
from ocpi_commands.ocpi.v2_2_1.tokens import Token
from ocpi_commands.ocpi.vocabulary import CommandResponseType, CommandResultType, CommandType


class CommandRequest(OcpiModel):
    """A command body of this version; ``to_domain`` maps it to the version-free command."""

    response_url: ResponseUrl

    def to_domain(self) -> domain.Command:
        raise NotImplementedError


class CancelReservation(CommandRequest):
    model_config = BUILT_ON_FIRST_USE

    response_url: ResponseUrl
    reservation_id: CiString36

    def to_domain(self) -> domain.CancelReservation:
        return domain.CancelReservation(response_url=self.response_url, reservation_id=self.reservation_id)


class ReserveNow(CommandRequest):
    model_config = BUILT_ON_FIRST_USE

    response_url: ResponseUrl
    token: Token
    expiry_date: DateTime
    reservation_id: CiString36
    location_id: CiString36
    evse_uid: CiString36 | None = None
    authorization_reference: CiString36 | None = None

    def to_domain(self) -> domain.ReserveNow:
        return domain.ReserveNow(
            response_url=self.response_url,
            token=self.token.to_domain(),
            expiry_date=self.expiry_date,
            reservation_id=self.reservation_id,
            location_id=self.location_id,
            evse_uid=self.evse_uid,
            authorization_reference=self.authorization_reference,
        )


class StartSession(CommandRequest):
    response_url: ResponseUrl
    token: Token
    location_id: CiString36
    evse_uid: CiString36 | None = None
    connector_id: CiString36 | None = None
    authorization_reference: CiString36 | None = None

    @model_validator(mode="after")
    def _connector_requires_evse(self) -> "StartSession":
        if self.connector_id is not None and self.evse_uid is None:
            raise ValueError("evse_uid is required when connector_id is set")
        return self

    def to_domain(self) -> domain.StartSession:
        return domain.StartSession(
            response_url=self.response_url,
            token=self.token.to_domain(),
            location_id=self.location_id,
            evse_uid=self.evse_uid,
            connector_id=self.connector_id,
            authorization_reference=self.authorization_reference,
        )


class StopSession(CommandRequest):
    model_config = BUILT_ON_FIRST_USE

    response_url: ResponseUrl
    session_id: CiString36

    def to_domain(self) -> domain.StopSession:
        return domain.StopSession(response_url=self.response_url, session_id=self.session_id)


class UnlockConnector(CommandRequest):
    model_config = BUILT_ON_FIRST_USE

    response_url: ResponseUrl
    location_id: CiString36
    evse_uid: CiString36
    connector_id: CiString36

    def to_domain(self) -> domain.UnlockConnector:
        return domain.UnlockConnector(
            response_url=self.response_url,
            location_id=self.location_id,
            evse_uid=self.evse_uid,
            connector_id=self.connector_id,
        )


REQUEST_MODELS: dict[CommandType, type[CommandRequest]] = {
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
