"""The OpenAPI document of the OCPI API, one per OCPI version, generated from the models that validate
requests (each version's ``Dialect.request_models``).

The API function validates with those models directly; this module declares the same routes with them
as typed request bodies on a Powertools resolver with validation enabled, only to let Powertools
render the document (``ocpi-commands openapi --version 2.1.1``). It is never imported by a Lambda
function.
"""

# No "from __future__ import annotations": Powertools reads the route signatures at runtime.
import json
from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import create_model

from ocpi_commands.ocpi import dialects, paths
from ocpi_commands.ocpi.types import OcpiModel
from ocpi_commands.ocpi.v2_1_1 import commands as v2_1_1
from ocpi_commands.ocpi.v2_1_1.versions import VersionDetails as VersionDetails211
from ocpi_commands.ocpi.v2_2_1 import commands as v2_2_1
from ocpi_commands.ocpi.v2_2_1.versions import Version, VersionDetails
from ocpi_commands.ocpi.vocabulary import CommandType

_SUMMARIES = {
    CommandType.START_SESSION: "Start a charging session on a Location / EVSE / Connector.",
    CommandType.STOP_SESSION: "Stop a charging session of the calling eMSP.",
    CommandType.RESERVE_NOW: "Reserve an EVSE (or any EVSE of a Location) for a Token until expiry_date.",
    CommandType.CANCEL_RESERVATION: "Cancel a reservation of the calling eMSP.",
    CommandType.UNLOCK_CONNECTOR: "Unlock a connector (help desk use; per-party permission).",
}
_ERRORS: dict[int, Any] = {
    401: {"description": "Missing, malformed or unknown credentials token (status_code 2000)"},
    413: {"description": "The body is too large (status_code 2001)"},
}


def _envelope(name: str, data: Any) -> type[OcpiModel]:
    model: type[OcpiModel] = create_model(
        name,
        __base__=OcpiModel,
        data=(data | None, None),
        status_code=(int, ...),
        status_message=(str | None, None),
        timestamp=(str, ...),
    )
    return model


def _command_route(app: APIGatewayRestResolver, path: str, model: Any, summary: str, responses: Any) -> None:
    def route(body: Annotated[model, Body()]):  # noqa: ARG001
        pass

    route.__doc__ = summary
    app.post(path, responses=responses)(route)


def _document_app(version: str) -> APIGatewayRestResolver:
    dialect = dialects.for_version(version)
    response_model = v2_1_1.CommandResponse if version == "2.1.1" else v2_2_1.CommandResponse
    envelope = _envelope(f"CommandResponseEnvelope_{version.replace('.', '_')}", response_model)
    responses: dict[int, Any] = {
        200: {
            "description": "CommandResponse in the OCPI envelope (status_code 1000, 2000, 2001 or 2003)",
            "content": {"application/json": {"model": envelope}},
        },
        400: {"description": "The body is not JSON (status_code 2001)"},
        405: {"description": "Any method but POST (status_code 2000)"},
        **_ERRORS,
    }
    app = APIGatewayRestResolver(enable_validation=True)
    base = paths.commands_path(version)
    for command_type, model in sorted(dialect.request_models.items()):
        _command_route(app, f"{base}/{command_type.value}", model, _SUMMARIES[command_type], responses)

    def other_command(command: str):  # noqa: ARG001
        """Any other command: NOT_SUPPORTED (a command this version does not have)."""

    app.post(f"{base}/<command>", responses=responses)(other_command)
    details_model = VersionDetails211 if version == "2.1.1" else VersionDetails
    _get(app, paths.VERSIONS_PATH, "Version information: the OCPI versions offered.", list[Version])
    _get(app, paths.version_details_path(version), f"Version details of {version}.", details_model)
    return app


def _get(app: APIGatewayRestResolver, path: str, summary: str, data: Any) -> None:
    model = _envelope(f"Envelope_{abs(hash(path))}", data)
    responses = {200: {"description": summary, "content": {"application/json": {"model": model}}}, **_ERRORS}
    route: Callable[[], None] = lambda: None  # noqa: E731
    route.__doc__ = summary
    app.get(path, responses=responses)(route)


def openapi_document(version: str = dialects.DEFAULT_VERSION) -> dict[str, Any]:
    if version not in dialects.SUPPORTED_VERSIONS:
        raise ValueError(f"no OCPI {version}: one of {', '.join(dialects.SUPPORTED_VERSIONS)}")
    commands = ", ".join(c.value for c in sorted(dialects.for_version(version).command_types))
    schema = _document_app(version).get_openapi_json_schema(
        title=f"OCPI {version} Commands receiver (CPO)", version=version, summary=commands
    )
    document: dict[str, Any] = json.loads(schema)
    return document
