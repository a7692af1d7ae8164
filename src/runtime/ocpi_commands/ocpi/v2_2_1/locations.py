"""OCPI 2.2.1 Location, EVSE and Connector objects, read for what the Commands rules need.

Only the fields the rules use are read; every other field of a published Location is ignored, so a
CPO can load the objects its Locations module already serves. ``to_domain`` maps to the domain's
``NetworkLocation``.
"""

from ocpi_commands.domain.model import Connector as DomainConnector
from ocpi_commands.domain.model import Evse as DomainEvse
from ocpi_commands.domain.model import NetworkLocation
from ocpi_commands.ocpi.types import CiString2, CiString3, CiString36, CiString48, DateTime, OcpiModel
from ocpi_commands.ocpi.vocabulary import EvseStatus


class Connector(OcpiModel):
    id: CiString36


class Evse(OcpiModel):
    uid: CiString36
    evse_id: CiString48 | None = None
    status: EvseStatus = EvseStatus.UNKNOWN
    # Capability is an OpenEnum in 2.3.0: unknown values are kept as plain strings.
    capabilities: list[str] = []
    connectors: list[Connector] = []
    last_updated: DateTime | None = None

    def to_domain(self) -> DomainEvse:
        return DomainEvse(
            uid=self.uid,
            evse_id=self.evse_id,
            status=self.status,
            capabilities=tuple(self.capabilities),
            connectors=tuple(DomainConnector(id=c.id) for c in self.connectors),
            last_updated=self.last_updated,
        )


class Location(OcpiModel):
    country_code: CiString2 | None = None
    party_id: CiString3 | None = None
    id: CiString36
    evses: list[Evse] = []
    last_updated: DateTime | None = None

    def to_domain(self) -> NetworkLocation:
        return NetworkLocation(
            location_id=self.id, evses=tuple(e.to_domain() for e in self.evses), last_updated=self.last_updated
        )
