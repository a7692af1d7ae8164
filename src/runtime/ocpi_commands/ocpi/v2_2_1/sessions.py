"""OCPI 2.2.1 Session objects, read for what STOP_SESSION needs: the session, its EVSE and its owner."""

from ocpi_commands.domain.model import PartyRef, SessionRecord
from ocpi_commands.ocpi.types import CiString2, CiString3, CiString36, DateTime, OcpiModel
from ocpi_commands.ocpi.v2_2_1.tokens import TokenType
from ocpi_commands.ocpi.vocabulary import SessionStatus


class CdrToken(OcpiModel):
    country_code: CiString2
    party_id: CiString3
    uid: CiString36
    type: TokenType
    contract_id: CiString36


class Session(OcpiModel):
    """An OCPI Session; its owner (the eMSP) is ``cdr_token.country_code`` / ``party_id``."""

    country_code: CiString2 | None = None
    party_id: CiString3 | None = None
    id: CiString36
    cdr_token: CdrToken
    location_id: CiString36
    evse_uid: CiString36
    connector_id: CiString36
    status: SessionStatus
    authorization_reference: CiString36 | None = None
    last_updated: DateTime | None = None

    def to_domain(self) -> SessionRecord:
        return SessionRecord(
            session_id=self.id,
            owner=PartyRef(country_code=self.cdr_token.country_code, party_id=self.cdr_token.party_id),
            location_id=self.location_id,
            evse_uid=self.evse_uid,
            connector_id=self.connector_id,
            status=self.status,
            authorization_reference=self.authorization_reference,
            last_updated=self.last_updated,
        )
