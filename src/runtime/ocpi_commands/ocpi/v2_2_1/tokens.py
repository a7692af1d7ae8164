"""Token object (Tokens module) and the types it depends on, OCPI 2.2.1."""

from enum import Enum

from pydantic import StrictBool

from ocpi_commands.domain.commands import DriverToken
from ocpi_commands.ocpi.types import CiString2, CiString3, CiString36, DateTime, OcpiModel, String2, String64


class TokenType(str, Enum):
    AD_HOC_USER = "AD_HOC_USER"
    APP_USER = "APP_USER"
    OTHER = "OTHER"
    RFID = "RFID"


class WhitelistType(str, Enum):
    ALWAYS = "ALWAYS"
    ALLOWED = "ALLOWED"
    ALLOWED_OFFLINE = "ALLOWED_OFFLINE"
    NEVER = "NEVER"


class ProfileType(str, Enum):
    CHEAP = "CHEAP"
    FAST = "FAST"
    GREEN = "GREEN"
    REGULAR = "REGULAR"


class EnergyContract(OcpiModel):
    supplier_name: String64
    contract_id: String64 | None = None


class Token(OcpiModel):
    """The driver's Token. The CPO does not check ``valid`` or ``whitelist`` for commands (spec 7.1)."""

    country_code: CiString2
    party_id: CiString3
    uid: CiString36
    type: TokenType
    contract_id: CiString36
    visual_number: String64 | None = None
    issuer: String64
    group_id: CiString36 | None = None
    valid: StrictBool
    whitelist: WhitelistType
    language: String2 | None = None
    default_profile_type: ProfileType | None = None
    energy_contract: EnergyContract | None = None
    last_updated: DateTime

    def to_domain(self) -> DriverToken:
        return DriverToken(
            country_code=self.country_code,
            party_id=self.party_id,
            uid=self.uid,
            type=str(getattr(self.type, "value", self.type)),  # an OpenEnum (plain str) in 2.3.0
            contract_id=self.contract_id,
            issuer=self.issuer,
            visual_number=self.visual_number,
            group_id=self.group_id,
            valid=self.valid,
            whitelist=self.whitelist.value,
            language=self.language,
            last_updated=self.last_updated,
        )
