"""The OCPI API's routes: the Commands receiver and the Versions module.

A route is a plain function of the request and the authenticated caller; nothing is kept between
requests but the composition's caches, so concurrent requests (the local server's threads) never see
each other's state.
"""

import re
from collections.abc import Callable
from typing import Any, NamedTuple

from pydantic import ValidationError

from ocpi_commands import composition
from ocpi_commands.api import transport
from ocpi_commands.api.http import HttpRequest, HttpResponse
from ocpi_commands.domain.auth import Caller
from ocpi_commands.domain.errors import InvalidParameters, MethodNotAllowed, NotFound
from ocpi_commands.domain.receiving import Answer, RequestMeta, fingerprint
from ocpi_commands.observability import bind, logger, mask_token, metric
from ocpi_commands.ocpi import dialects
from ocpi_commands.ocpi.envelope import StatusCode
from ocpi_commands.ocpi.v2_2_1.commands import REQUEST_MODELS
from ocpi_commands.ocpi.v2_2_1.versions import COMMANDS_PATH, VERSION_DETAILS_PATH, VERSIONS_PATH
from ocpi_commands.ocpi.vocabulary import CommandResponseType, CommandType


class Call(NamedTuple):
    """One request, authenticated: passed explicitly to the route (no per-request module state)."""

    request: HttpRequest
    caller: Caller
    meta: RequestMeta
    params: dict[str, str]


Route = Callable[[Call], HttpResponse]


def _field_errors(errors: list[Any]) -> str:
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ())) or "body"
        parts.append(f"{where}: {str(error.get('msg', 'invalid')).removeprefix('Value error, ')}")
    return "Invalid or missing parameters: " + "; ".join(parts)


def _rejected(message: str) -> dict[str, Any]:
    return dialects.command_response(Answer(StatusCode.INVALID_PARAMETERS, CommandResponseType.REJECTED, 0, message))


def base_url(request: HttpRequest) -> str:
    settings = composition.settings()
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    domain = request.domain_name or request.header("Host") or "localhost"
    if ".execute-api." in domain and request.stage:
        return f"https://{domain}/{request.stage}"
    return f"https://{domain}"


def command(call: Call) -> HttpResponse:
    name = call.params["command"]
    try:
        raw = transport.json_object(call.request.body)
    except InvalidParameters as exc:  # a command that reached the OCPI layer still gets a CommandResponse
        raise InvalidParameters(exc.message, _rejected(exc.message)) from None
    try:
        command_type = CommandType(name)
    except ValueError:
        return _unknown_command(name)
    try:
        body = REQUEST_MODELS[command_type].model_validate(raw)
    except ValidationError as exc:
        message = _field_errors(exc.errors())
        raise InvalidParameters(message, _rejected(message)) from None
    caller = call.caller
    bind(command_type=command_type.value, party=caller.acting_as.key)
    answer = composition.command_service().receive(
        caller, body.to_domain(), call.meta, fingerprint(command_type.value, body.to_json_dict())
    )
    bind(command_id=answer.command_id)
    metric("CommandsReceived", CommandType=command_type.value, Response=answer.result.value)
    logger.info(
        "Command answered",
        extra={
            "response": answer.result.value,
            "status_code": int(answer.status_code),
            "reason": answer.message,
            "duplicate": answer.duplicate,
            "location_id": getattr(body, "location_id", None),
            "evse_uid": getattr(body, "evse_uid", None),
            "token": mask_token(body.token.to_json_dict()) if hasattr(body, "token") else None,
        },
    )
    return transport.ocpi_response(answer.status_code, dialects.command_response(answer), answer.message)


def _unknown_command(name: str) -> HttpResponse:
    # CommandType is a closed enum in 2.2.1 (an OpenEnum in 2.3.0): a command we do not know is a
    # command we do not support. Enum values are case-sensitive, so "start_session" lands here too.
    message = f"Unknown command {name[:64]}"
    answer = Answer(StatusCode.SUCCESS, CommandResponseType.NOT_SUPPORTED, 0, message)
    metric("CommandsReceived", CommandType="UNKNOWN", Response=CommandResponseType.NOT_SUPPORTED.value)
    logger.info("Unknown command", extra={"command": name[:64]})
    return transport.ocpi_response(StatusCode.SUCCESS, dialects.command_response(answer), message)


def versions(call: Call) -> HttpResponse:
    from ocpi_commands.ocpi.v2_2_1.versions import version_list

    data = [v.to_json_dict() for v in version_list(base_url(call.request))]
    return transport.ocpi_response(StatusCode.SUCCESS, data)


def version_details(call: Call) -> HttpResponse:
    from ocpi_commands.ocpi.v2_2_1.versions import version_details as details

    return transport.ocpi_response(StatusCode.SUCCESS, details(base_url(call.request)).to_json_dict())


_COMMAND_PATH = re.compile(rf"^{re.escape(COMMANDS_PATH)}/(?P<command>[^/]+)/?$")

# (method, path pattern, route); the first match wins.
ROUTES: tuple[tuple[str, re.Pattern[str], Route], ...] = (
    ("GET", re.compile(rf"^{re.escape(VERSIONS_PATH)}/?$"), versions),
    ("GET", re.compile(rf"^{re.escape(VERSION_DETAILS_PATH)}/?$"), version_details),
    ("POST", _COMMAND_PATH, command),
)


def is_ocpi_path(path: str) -> bool:
    """Paths under /ocpi/ (everything else is answered 404 before the credentials are looked at)."""
    return path == "/ocpi" or path.startswith("/ocpi/")


def is_functional_module(path: str) -> bool:
    """Paths of functional modules (routing headers apply; CREDENTIALS_TOKEN_A does not)."""
    return path.startswith(COMMANDS_PATH)


def route(request: HttpRequest) -> tuple[Route, dict[str, str]]:
    """The route for ``request``, or the OCPI error that answers it (404, 405)."""
    for method, pattern, found in ROUTES:
        match = pattern.match(request.path)
        if match and method == request.method:
            return found, match.groupdict()
    if _COMMAND_PATH.match(request.path):
        raise MethodNotAllowed(f"{request.method} is not allowed; commands are POSTed")
    raise NotFound(f"No OCPI endpoint at {request.path[:128]}")
