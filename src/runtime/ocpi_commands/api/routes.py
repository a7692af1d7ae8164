"""The OCPI API's routes: the Commands receiver and the Versions module, for every version offered.

A route is a plain function of the request and the authenticated caller; nothing is kept between
requests but the composition's caches, so concurrent requests (the local server's threads) never see
each other's state. The version of a request is the one in its path; the wire differences are the
version's ``Dialect`` (``ocpi/dialects.py``).
"""

import re
from collections.abc import Callable
from typing import Any, NamedTuple

from pydantic import ValidationError

from ocpi_commands import composition
from ocpi_commands.api import transport
from ocpi_commands.api.http import HttpRequest, HttpResponse
from ocpi_commands.domain.auth import Caller
from ocpi_commands.domain.errors import InvalidParameters, MethodNotAllowed, NotFound, OtherVersion
from ocpi_commands.domain.receiving import Answer, RequestMeta, fingerprint
from ocpi_commands.observability import bind, logger, mask_token, metric
from ocpi_commands.ocpi import dialects, paths
from ocpi_commands.ocpi.envelope import StatusCode
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


def _rejected(dialect: dialects.Dialect, message: str, status: StatusCode = StatusCode.INVALID_PARAMETERS) -> Any:
    return dialect.command_response(Answer(status, CommandResponseType.REJECTED, 0, message))


def base_url(request: HttpRequest) -> str:
    settings = composition.settings()
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    domain = request.domain_name or request.header("Host") or "localhost"
    if ".execute-api." in domain and request.stage:
        return f"https://{domain}/{request.stage}"
    return f"https://{domain}"


def offered(version: str) -> dialects.Dialect:
    """The dialect of a version this platform offers, or the 404 a partner gets for another one."""
    if version not in composition.settings().ocpi_versions:
        raise NotFound(f"OCPI {version[:16]} is not offered here; GET /ocpi/versions lists the versions")
    return dialects.for_version(version)


def command(call: Call) -> HttpResponse:
    if not composition.settings().is_cpo:
        raise NotFound("This platform does not play the CPO role: it receives no commands")
    dialect = offered(call.params["version"])
    name = call.params["command"]
    caller = call.caller
    if caller.party.ocpi_version != dialect.version:
        url = f"{base_url(call.request)}{paths.commands_path(caller.party.ocpi_version)}"
        message = (
            f"{caller.acting_as.key} speaks OCPI {caller.party.ocpi_version} with this platform: "
            f"its commands go to {url}"
        )
        raise OtherVersion(message, _rejected(dialect, message, StatusCode.CLIENT_ERROR))
    try:
        raw = transport.json_object(call.request.body)
    except InvalidParameters as exc:  # a command that reached the OCPI layer still gets a CommandResponse
        raise InvalidParameters(exc.message, _rejected(dialect, exc.message)) from None
    try:
        command_type = CommandType(name)
    except ValueError:
        command_type = None
    if command_type is None or command_type not in dialect.command_types:
        return _unknown_command(dialect, name)
    try:
        body = dialect.request_models[command_type].model_validate(raw)
    except ValidationError as exc:
        message = _field_errors(exc.errors())
        raise InvalidParameters(message, _rejected(dialect, message)) from None
    bind(command_type=command_type.value, party=caller.acting_as.key, ocpi_version=dialect.version)
    answer = composition.command_service().receive(
        caller,
        dialect.to_domain(body, caller.acting_as),
        call.meta,
        fingerprint(command_type.value, body.to_json_dict()),
        ocpi_version=dialect.version,
        exact_ids=dialect.exact_ids,
    )
    bind(command_id=answer.command_id)
    metric(
        "CommandsReceived", CommandType=command_type.value, Response=answer.result.value, OcpiVersion=dialect.version
    )
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
    return transport.ocpi_response(
        answer.status_code, dialect.command_response(answer), answer.message, timestamp=dialect.timestamp
    )


def _unknown_command(dialect: dialects.Dialect, name: str) -> HttpResponse:
    # A command this version does not have: CommandType is a closed enum in 2.1.1 and 2.2.1 (2.1.1 has
    # no CANCEL_RESERVATION) and an OpenEnum in 2.3.0; a command we do not know is a command we do not
    # support. Enum values are case-sensitive, so "start_session" lands here too.
    message = f"Unknown command {name[:64]}"
    answer = Answer(StatusCode.SUCCESS, CommandResponseType.NOT_SUPPORTED, 0, message)
    metric(
        "CommandsReceived",
        CommandType="UNKNOWN",
        Response=CommandResponseType.NOT_SUPPORTED.value,
        OcpiVersion=dialect.version,
    )
    logger.info("Unknown command", extra={"command": name[:64]})
    return transport.ocpi_response(
        StatusCode.SUCCESS, dialect.command_response(answer), message, timestamp=dialect.timestamp
    )


def versions(call: Call) -> HttpResponse:
    base = base_url(call.request)
    data = [
        {"version": v, "url": f"{base}{paths.version_details_path(v)}"} for v in composition.settings().ocpi_versions
    ]
    return transport.ocpi_response(StatusCode.SUCCESS, data)


def version_details(call: Call) -> HttpResponse:
    dialect = offered(call.params["version"])
    base = base_url(call.request)
    settings = composition.settings()
    version = dialect.version
    commands = []
    if settings.is_cpo:
        commands.append(("commands", "RECEIVER", f"{base}{paths.commands_path(version)}"))
    if settings.is_emsp:
        commands.append(("commands", "SENDER", f"{base}{paths.emsp_commands_path(version)}"))
    if call.caller.party.role.value == "CPO":
        commands.reverse()  # 2.1.1 lists one per module: the one this partner talks to
    endpoints = [
        # The credentials role means nothing; the 2.2.1-d2 / 2.3.0 advice is SENDER for one's own.
        ("credentials", "SENDER", f"{base}{paths.credentials_path(version)}"),
        *commands,
        *((name, role, url) for name, (role, url) in settings.hosted_modules(version).items()),
    ]
    return transport.ocpi_response(StatusCode.SUCCESS, dialect.version_details(endpoints), timestamp=dialect.timestamp)


_VERSION = r"(?P<version>\d+\.\d+(?:\.\d+)?)"
_COMMAND_PATH = re.compile(rf"^/ocpi/cpo/{_VERSION}/commands/(?P<command>[^/]+)/?$")

# (method, path pattern, route); the first match wins.
ROUTES: tuple[tuple[str, re.Pattern[str], Route], ...] = (
    ("GET", re.compile(rf"^{re.escape(paths.VERSIONS_PATH)}/?$"), versions),
    ("GET", re.compile(rf"^/ocpi/{_VERSION}/?$"), version_details),
    ("POST", _COMMAND_PATH, command),
)


def is_ocpi_path(path: str) -> bool:
    """Paths under /ocpi/ (everything else is answered 404 before the credentials are looked at)."""
    return path == "/ocpi" or path.startswith("/ocpi/")


def functional_version(path: str) -> str | None:
    """The OCPI version of a functional-module path (commands: routing headers apply, TOKEN_A does not)."""
    match = re.match(rf"^/ocpi/cpo/{_VERSION}/commands(/|$)", path)
    return match.group("version") if match else None


def version_of(path: str) -> str | None:
    """The OCPI version a path belongs to, when it names one this module speaks."""
    match = re.match(rf"^/ocpi/(?:cpo/|emsp/)?{_VERSION}(/|$)", path)
    version = match.group("version") if match else None
    return version if version in dialects.SUPPORTED_VERSIONS else None


def route(request: HttpRequest) -> tuple[Route, dict[str, str]]:
    """The route for ``request``, or the OCPI error that answers it (404, 405)."""
    for method, pattern, found in ROUTES:
        match = pattern.match(request.path)
        if match and method == request.method:
            return found, match.groupdict()
    if _COMMAND_PATH.match(request.path):
        raise MethodNotAllowed(f"{request.method} is not allowed; commands are POSTed")
    raise NotFound(f"No OCPI endpoint at {request.path[:128]}")
