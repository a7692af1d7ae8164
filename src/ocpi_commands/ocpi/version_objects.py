"""Versions module objects (version information and version details)."""

from enum import Enum

from ocpi_commands.ocpi.types import URL, OcpiModel
from ocpi_commands.ocpi.versions import COMMANDS_PATH, OCPI_VERSION, VERSION_DETAILS_PATH


class InterfaceRole(str, Enum):
    SENDER = "SENDER"
    RECEIVER = "RECEIVER"


class Version(OcpiModel):
    version: str
    url: URL


class Endpoint(OcpiModel):
    identifier: str
    role: InterfaceRole
    url: URL


class VersionDetails(OcpiModel):
    version: str
    endpoints: list[Endpoint]


def version_list(base_url: str) -> list[Version]:
    return [Version(version=OCPI_VERSION, url=f"{base_url}{VERSION_DETAILS_PATH}")]


def version_details(base_url: str) -> VersionDetails:
    return VersionDetails(
        version=OCPI_VERSION,
        endpoints=[Endpoint(identifier="commands", role=InterfaceRole.RECEIVER, url=f"{base_url}{COMMANDS_PATH}")],
    )
