"""Credentials module, OCPI 2.2.1: Credentials {token, url, roles[]} with a CredentialsRole per party."""

from enum import Enum
from typing import Annotated

from pydantic import Field, StringConstraints

from ocpi_commands.domain.credentials import PartnerCredentials
from ocpi_commands.domain.model import CredentialsRole as DomainRole
from ocpi_commands.ocpi.types import BUILT_ON_FIRST_USE, URL, CiString2, CiString3, OcpiModel, String64

# The credentials token itself: printable, non-whitespace ASCII, at most 64 characters (never Base64 here).
CredentialsToken = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7E]+$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1F\x7F-\x9F]*$")]


class Role(str, Enum):
    CPO = "CPO"
    EMSP = "EMSP"
    HUB = "HUB"
    NAP = "NAP"
    NSP = "NSP"
    OTHER = "OTHER"
    SCSP = "SCSP"


class BusinessDetails(OcpiModel):
    model_config = BUILT_ON_FIRST_USE

    name: Name
    website: URL | None = None


class CredentialsRole(OcpiModel):
    model_config = BUILT_ON_FIRST_USE

    role: Role
    business_details: BusinessDetails
    party_id: CiString3
    country_code: CiString2

    def to_domain(self) -> DomainRole:
        role = getattr(self.role, "value", self.role)
        return DomainRole(
            role=str(role), country_code=self.country_code, party_id=self.party_id, name=self.business_details.name
        )


class Credentials(OcpiModel):
    model_config = BUILT_ON_FIRST_USE

    token: CredentialsToken
    url: URL
    roles: list[CredentialsRole] = Field(min_length=1)

    def to_domain(self) -> PartnerCredentials:
        return PartnerCredentials(self.token, self.url, tuple(r.to_domain() for r in self.roles))


def body(token: str, url: str, roles: list[DomainRole]) -> dict[str, object]:
    return {
        "token": token,
        "url": url,
        "roles": [
            {
                "role": r.role,
                "business_details": {"name": r.name or f"{r.country_code}*{r.party_id}"},
                "party_id": r.party_id,
                "country_code": r.country_code,
            }
            for r in roles
        ],
    }


__all__ = ["BusinessDetails", "Credentials", "CredentialsRole", "Role", "String64", "body"]
