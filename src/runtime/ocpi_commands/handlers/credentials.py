"""The Credentials function (API Gateway -> Lambda): partners register, rotate tokens and unregister.

The shared doorway (``api.doorway``) with the routes of ``api.credentials``. It calls the partner's
versions and version details back during a POST or PUT (outbound, through the URL guard).
"""

from typing import Any

from ocpi_commands.api import credentials, doorway


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point."""
    return doorway.serve(event, context, credentials.route, credentials.functional_version, credentials.version_of)
