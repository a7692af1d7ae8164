"""Where this module serves each OCPI interface, for every version (the same shape in all of them)."""

VERSIONS_PATH = "/ocpi/versions"


def version_details_path(version: str) -> str:
    return f"/ocpi/{version}"


def commands_path(version: str) -> str:
    """The CPO's Commands receiver: ``{commands_path}/{command}``."""
    return f"/ocpi/cpo/{version}/commands"


def emsp_commands_path(version: str) -> str:
    """The eMSP's CommandResult receiver: ``{emsp_commands_path}/{command}/{uid}`` (our response_urls)."""
    return f"/ocpi/emsp/{version}/commands"


def credentials_path(version: str) -> str:
    return f"/ocpi/{version}/credentials"
