"""Commands module, OCPI 2.3.0: 2.2.1's objects, whose Token ``type`` is an OpenEnum."""

from ocpi_commands.ocpi.types import OpenEnum
from ocpi_commands.ocpi.v2_2_1 import commands as v2_2_1
from ocpi_commands.ocpi.v2_2_1 import tokens as v2_2_1_tokens
from ocpi_commands.ocpi.vocabulary import CommandType

VERSION = "2.3.0"

# Known TokenType values in 2.3.0; any other string is accepted and passed on as sent.
KNOWN_TOKEN_TYPES = ("AD_HOC_USER", "APP_USER", "EMAID", "OTHER", "RFID")


class Token(v2_2_1_tokens.Token):
    type: OpenEnum  # type: ignore[assignment]  # TokenType is an OpenEnum in 2.3.0


class StartSession(v2_2_1.StartSession):
    token: Token


class ReserveNow(v2_2_1.ReserveNow):
    token: Token


REQUEST_MODELS: dict[CommandType, type[v2_2_1.CommandRequest]] = {
    **v2_2_1.REQUEST_MODELS,
    CommandType.START_SESSION: StartSession,
    CommandType.RESERVE_NOW: ReserveNow,
}
