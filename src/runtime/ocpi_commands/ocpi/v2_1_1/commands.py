"""Commands module, OCPI 2.1.1: four commands, the 2.1.1 Token, CommandResponse as both answers."""

from enum import Enum
from typing import Annotated

from pydantic import StrictBool, StrictInt, StringConstraints

from ocpi_commands.domain import commands as domain
from ocpi_commands.domain.model import PartyRef
from ocpi_commands.ocpi.types import BUILT_ON_FIRST_USE, URL, DateTime, OcpiModel
from ocpi_commands.ocpi.vocabulary import CommandResultType, CommandType

VERSION = "2.1.1"

_ASCII = r"^[\x20-\x7E]*$"  # 2.1.1 strings are printable ASCII


def _ascii(max_length: int, min_length: int = 0) -> StringConstraints:
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=_ASCII)


String2 = Annotated[str, _ascii(2)]
String36 = Annotated[str, _ascii(36, 1)]
String39 = Annotated[str, _ascii(39, 1)]  # location_id / evse_uid: case-sensitive in 2.1.1
String64 = Annotated[str, _ascii(64)]
RequiredString64 = Annotated[str, _ascii(64, 1)]

COMMAND_TYPES = frozenset(CommandType) - {CommandType.CANCEL_RESERVATION}


class TokenType(str, Enum):
    OTHER = "OTHER"
    RFID = "RFID"


class WhitelistType(str, Enum):
    ALWAYS = "ALWAYS"
    ALLOWED = "ALLOWED"
    ALLOWED_OFFLINE = "ALLOWED_OFFLINE"
    NEVER = "NEVER"


class Token(OcpiModel):
    """The 2.1.1 Token: ``auth_id`` where 2.2 has ``contract_id``; no country_code or party_id."""

    uid: String36
    type: TokenType
    auth_id: String36
    visual_number: String64 | None = None
    issuer: RequiredString64
    valid: StrictBool
    whitelist: WhitelistType
    language: String2 | None = None
    last_updated: DateTime

    def to_domain(self, owner: PartyRef) -> domain.DriverToken:
        return domain.DriverToken(
            country_code=owner.country_code,
            party_id=owner.party_id,
            uid=self.uid,
            type=self.type.value,
            contract_id=self.auth_id,
            issuer=self.issuer,
            visual_number=self.visual_number,
            valid=self.valid,
            whitelist=self.whitelist.value,
            language=self.language,
            last_updated=self.last_updated,
        )


class CommandRequest(OcpiModel):
    response_url: URL

    def to_domain(self, owner: PartyRef) -> domain.Command:
        raise NotImplementedError


class StartSession(CommandRequest):
    token: Token
    location_id: String39
    evse_uid: String39 | None = None

    def to_domain(self, owner: PartyRef) -> domain.StartSession:
        return domain.StartSession(
            response_url=self.response_url,
            token=self.token.to_domain(owner),
            location_id=self.location_id,
            evse_uid=self.evse_uid,
        )


class StopSession(CommandRequest):
    model_config = BUILT_ON_FIRST_USE

    session_id: String36

    def to_domain(self, owner: PartyRef) -> domain.StopSession:
        return domain.StopSession(response_url=self.response_url, session_id=self.session_id)


class ReserveNow(CommandRequest):
    model_config = BUILT_ON_FIRST_USE

    token: Token
    expiry_date: DateTime
    reservation_id: StrictInt
    location_id: String39
    evse_uid: String39 | None = None

    def to_domain(self, owner: PartyRef) -> domain.ReserveNow:
        return domain.ReserveNow(
            response_url=self.response_url,
            token=self.token.to_domain(owner),
            expiry_date=self.expiry_date,
            reservation_id=str(self.reservation_id),
            location_id=self.location_id,
            evse_uid=self.evse_uid,
        )


class UnlockConnector(CommandRequest):
    model_config = BUILT_ON_FIRST_USE

    location_id: String39
    evse_uid: String39
    connector_id: String36

    def to_domain(self, owner: PartyRef) -> domain.UnlockConnector:
        return domain.UnlockConnector(
            response_url=self.response_url,
            location_id=self.location_id,
            evse_uid=self.evse_uid,
            connector_id=self.connector_id,
        )


REQUEST_MODELS: dict[CommandType, type[CommandRequest]] = {
    CommandType.RESERVE_NOW: ReserveNow,
    CommandType.START_SESSION: StartSession,
    CommandType.STOP_SESSION: StopSession,
    CommandType.UNLOCK_CONNECTOR: UnlockConnector,
}


class CommandResponseType(str, Enum):
    """2.1.1: the values "by the CPO or Charge Point", for both the answer and the result."""

    NOT_SUPPORTED = "NOT_SUPPORTED"
    REJECTED = "REJECTED"
    ACCEPTED = "ACCEPTED"
    TIMEOUT = "TIMEOUT"
    UNKNOWN_SESSION = "UNKNOWN_SESSION"


class CommandResponse(OcpiModel):
    """Both the synchronous ``data`` and the body POSTed to ``response_url`` in 2.1.1."""

    result: CommandResponseType


# The charge point's outcomes in 2.1.1's words. CANCELED_RESERVATION has none: a CPO-side
# cancellation of a 2.1.1 reservation is not sent as a result (the reservation's Session ends).
RESULTS: dict[CommandResultType, CommandResponseType] = {
    CommandResultType.ACCEPTED: CommandResponseType.ACCEPTED,
    CommandResultType.REJECTED: CommandResponseType.REJECTED,
    CommandResultType.TIMEOUT: CommandResponseType.TIMEOUT,
    CommandResultType.NOT_SUPPORTED: CommandResponseType.NOT_SUPPORTED,
    CommandResultType.FAILED: CommandResponseType.REJECTED,
    CommandResultType.EVSE_OCCUPIED: CommandResponseType.REJECTED,
    CommandResultType.EVSE_INOPERATIVE: CommandResponseType.REJECTED,
    CommandResultType.UNKNOWN_RESERVATION: CommandResponseType.REJECTED,
}
