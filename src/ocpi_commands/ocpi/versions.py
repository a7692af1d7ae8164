"""OCPI paths of this module (Versions module and Commands module)."""

OCPI_VERSION = "2.2.1"
VERSIONS_PATH = "/ocpi/versions"
VERSION_DETAILS_PATH = f"/ocpi/{OCPI_VERSION}"
COMMANDS_PATH = f"/ocpi/cpo/{OCPI_VERSION}/commands"
