"""Versions module, OCPI 2.2.1: the paths of this module and the version information/details objects."""

from enum import Enum

from ocpi_commands.ocpi.types import BUILT_ON_FIRST_USE, URL, OcpiModel

OCPI_VERSION = "2.2.1"
VERSIONS_PATH = "/ocpi/versions"
VERSION_DETAILS_PATH = f"/ocpi/{OCPI_VERSION}"
COMMANDS_PATH = f"/ocpi/cpo/{OCPI_VERSION}/commands"


class InterfaceRole(str, Enum):
    SENDER = "SENDER"
    RECEIVER = "RECEIVER"


class Version(OcpiModel):
    model_config = BUILT_ON_FIRST_USE

    version: str
    url: URL


class Endpoint(OcpiModel):
    model_config = BUILT_ON_FIRST_USE

    identifier: str
    role: InterfaceRole
    url: URL


class VersionDetails(OcpiModel):
    model_config = BUILT_ON_FIRST_USE

    version: str
    endpoints: list[Endpoint]


def version_list(base_url: str) -> list[Version]:
    return [Version(version=OCPI_VERSION, url=f"{base_url}{VERSION_DETAILS_PATH}")]


def version_details(base_url: str) -> VersionDetails:
    return VersionDetails(
        version=OCPI_VERSION,
        endpoints=[Endpoint(identifier="commands", role=InterfaceRole.RECEIVER, url=f"{base_url}{COMMANDS_PATH}")],
    )
