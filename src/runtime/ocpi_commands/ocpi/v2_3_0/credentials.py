"""Credentials module, OCPI 2.3.0: 2.2.1's, with ``hub_party_id`` (a hub names itself; its clients are
ordinary roles) and no HUB role."""

from typing import Annotated

from pydantic import Field, StringConstraints

from ocpi_commands.domain.credentials import PartnerCredentials
from ocpi_commands.domain.model import CredentialsRole as DomainRole
from ocpi_commands.ocpi.types import BUILT_ON_FIRST_USE, URL, OpenEnum
from ocpi_commands.ocpi.v2_2_1 import credentials as v2_2_1

HubPartyId = Annotated[str, StringConstraints(min_length=5, max_length=5, pattern=r"^[A-Za-z]{2}[A-Za-z0-9]{3}$")]


class CredentialsRole(v2_2_1.CredentialsRole):
    role: OpenEnum  # type: ignore[assignment]  # lenient: the 2.3.0 Role values, or another


class Credentials(v2_2_1.Credentials):
    model_config = BUILT_ON_FIRST_USE

    roles: list[CredentialsRole] = Field(min_length=1)  # type: ignore[assignment]
    hub_party_id: HubPartyId | None = None
    url: URL

    def to_domain(self) -> PartnerCredentials:
        roles = tuple(r.to_domain() for r in self.roles)
        return PartnerCredentials(self.token, self.url, roles, self.hub_party_id)


def body(token: str, url: str, roles: list[DomainRole]) -> dict[str, object]:
    # This platform is no hub: no hub_party_id, and no HUB role (there is none in 2.3.0).
    return v2_2_1.body(token, url, [r for r in roles if r.role != "HUB"])
