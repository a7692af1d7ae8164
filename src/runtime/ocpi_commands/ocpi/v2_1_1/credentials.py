"""Credentials module, OCPI 2.1.1: one party per Credentials object (token, url, business_details,
party_id, country_code); no roles."""

from ocpi_commands.domain.credentials import PartnerCredentials
from ocpi_commands.domain.model import CredentialsRole as DomainRole
from ocpi_commands.ocpi.types import BUILT_ON_FIRST_USE, URL, OcpiModel
from ocpi_commands.ocpi.v2_1_1.commands import String36
from ocpi_commands.ocpi.v2_2_1.credentials import BusinessDetails, CredentialsToken

__all__ = ["Credentials", "String36", "body"]


class Credentials(OcpiModel):
    model_config = BUILT_ON_FIRST_USE

    token: CredentialsToken
    url: URL
    business_details: BusinessDetails
    party_id: str
    country_code: str

    def to_domain(self, role_name: str = "EMSP") -> PartnerCredentials:
        if len(self.party_id) != 3 or len(self.country_code) != 2:
            raise ValueError("party_id is 3 and country_code 2 characters")
        # 2.1.1 says nothing of the role: it is the counterpart of ours (an eMSP for a CPO).
        role = DomainRole(
            role=role_name, country_code=self.country_code, party_id=self.party_id, name=self.business_details.name
        )
        return PartnerCredentials(self.token, self.url, (role,))


def body(token: str, url: str, roles: list[DomainRole]) -> dict[str, object]:
    primary = roles[0]
    return {
        "token": token,
        "url": url,
        "business_details": {"name": primary.name or f"{primary.country_code}*{primary.party_id}"},
        "party_id": primary.party_id,
        "country_code": primary.country_code,
    }
