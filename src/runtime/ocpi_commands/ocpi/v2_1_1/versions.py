"""Versions module, OCPI 2.1.1: endpoints have no ``role``."""

from ocpi_commands.ocpi.types import BUILT_ON_FIRST_USE, URL, OcpiModel


class Endpoint(OcpiModel):
    model_config = BUILT_ON_FIRST_USE

    identifier: str
    url: URL


class VersionDetails(OcpiModel):
    model_config = BUILT_ON_FIRST_USE

    version: str
    endpoints: list[Endpoint]
