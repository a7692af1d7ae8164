"""The OpenAPI document of the OCPI API, generated from the same models that validate requests.

The API function validates with ``ocpi_commands.ocpi.v2_2_1.commands.REQUEST_MODELS``; this module declares
the same routes with those models as typed request bodies on a Powertools resolver with validation
enabled, only to let Powertools render the document (``ocpi-commands openapi``). It is never imported
by a Lambda function.
"""

# No "from __future__ import annotations": Powertools reads the route signatures at runtime.
import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Body

from ocpi_commands.ocpi.types import OcpiModel
from ocpi_commands.ocpi.v2_2_1.commands import (
    CancelReservation,
    CommandResponse,
    ReserveNow,
    StartSession,
    StopSession,
    UnlockConnector,
)
from ocpi_commands.ocpi.v2_2_1.versions import (
    COMMANDS_PATH,
    VERSION_DETAILS_PATH,
    VERSIONS_PATH,
    Version,
    VersionDetails,
)


class CommandResponseEnvelope(OcpiModel):
    """The OCPI envelope around a CommandResponse."""

    data: CommandResponse | None = None
    status_code: int
    status_message: str | None = None
    timestamp: str


class VersionsEnvelope(OcpiModel):
    data: list[Version]
    status_code: int
    timestamp: str


class VersionDetailsEnvelope(OcpiModel):
    data: VersionDetails
    status_code: int
    timestamp: str


_ERRORS: dict[int, Any] = {
    401: {"description": "Missing, malformed or unknown credentials token (status_code 2000)"},
    413: {"description": "The body is too large (status_code 2001)"},
}
_COMMAND_RESPONSES: dict[int, Any] = {
    200: {
        "description": "CommandResponse in the OCPI envelope (status_code 1000, 2001 or 2003)",
        "content": {"application/json": {"model": CommandResponseEnvelope}},
    },
    400: {"description": "The body is not JSON (status_code 2001)"},
    405: {"description": "Any method but POST (status_code 2000)"},
    **_ERRORS,
}


def _document_app() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)

    @app.post(f"{COMMANDS_PATH}/START_SESSION", responses=_COMMAND_RESPONSES)
    def start_session(body: Annotated[StartSession, Body()]):  # noqa: ARG001
        """Start a charging session on a Location / EVSE / Connector."""

    @app.post(f"{COMMANDS_PATH}/STOP_SESSION", responses=_COMMAND_RESPONSES)
    def stop_session(body: Annotated[StopSession, Body()]):  # noqa: ARG001
        """Stop a charging session of the calling eMSP."""

    @app.post(f"{COMMANDS_PATH}/RESERVE_NOW", responses=_COMMAND_RESPONSES)
    def reserve_now(body: Annotated[ReserveNow, Body()]):  # noqa: ARG001
        """Reserve an EVSE (or any EVSE of a Location) for a Token until expiry_date."""

    @app.post(f"{COMMANDS_PATH}/CANCEL_RESERVATION", responses=_COMMAND_RESPONSES)
    def cancel_reservation(body: Annotated[CancelReservation, Body()]):  # noqa: ARG001
        """Cancel a reservation of the calling eMSP."""

    @app.post(f"{COMMANDS_PATH}/UNLOCK_CONNECTOR", responses=_COMMAND_RESPONSES)
    def unlock_connector(body: Annotated[UnlockConnector, Body()]):  # noqa: ARG001
        """Unlock a connector (help desk use; per-party permission)."""

    @app.post(f"{COMMANDS_PATH}/<command>", responses=_COMMAND_RESPONSES)
    def other_command(command: str):  # noqa: ARG001
        """Any other command: NOT_SUPPORTED (CommandType is a closed enum in 2.2.1)."""

    @app.get(
        VERSIONS_PATH,
        responses={
            200: {"description": "Version information", "content": {"application/json": {"model": VersionsEnvelope}}},
            **_ERRORS,
        },
    )
    def versions():
        """Version information: the OCPI versions this CPO supports."""

    @app.get(
        VERSION_DETAILS_PATH,
        responses={
            200: {"description": "Version details", "content": {"application/json": {"model": VersionDetailsEnvelope}}},
            **_ERRORS,
        },
    )
    def details():
        """Version details: the commands module, role RECEIVER."""

    return app


def openapi_document() -> dict[str, Any]:
    schema = _document_app().get_openapi_json_schema(
        title="OCPI 2.2.1 Commands receiver (CPO)",
        version="2.2.1",
        summary="START_SESSION, STOP_SESSION, RESERVE_NOW, CANCEL_RESERVATION and UNLOCK_CONNECTOR",
    )
    return json.loads(schema)
