"""OCPI Location and Session objects as the Locations and Sessions modules publish them.

Only what the Commands rules need is read; every other field is ignored, so a CPO can load the
objects it already publishes (operator CLI, seed files). Not used on the synchronous API path.
"""

from ocpi_commands.ocpi.locations import Evse, SessionStatus
from ocpi_commands.ocpi.tokens import TokenType
from ocpi_commands.ocpi.types import CiString, DateTime, OcpiModel


class Location(OcpiModel):
    country_code: CiString(2) | None = None
    party_id: CiString(3) | None = None
    id: CiString(36)
    evses: list[Evse] = []
    last_updated: DateTime | None = None


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
