"""The eMSP backend's API (API Gateway with IAM authorisation -> Lambda): send commands to CPOs and
read their state. See ``api.emsp_api`` for the answers."""

from typing import Any

from ocpi_commands.api import emsp_api


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point."""
    return emsp_api.handle(event, context)
