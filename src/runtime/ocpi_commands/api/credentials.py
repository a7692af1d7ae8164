"""The Credentials module's routes: ``{version}/credentials`` GET, POST, PUT and DELETE.

A partner invited with ``ocpi-commands party invite`` POSTs its Credentials with its
CREDENTIALS_TOKEN_A; PUT rotates (with the token we gave it), DELETE unregisters. No routing headers
(a configuration module). POST when registered, PUT or DELETE when not: 405.
"""

import re
from typing import Any

from ocpi_commands import composition
from ocpi_commands.api import routes, transport
from ocpi_commands.api.http import HttpRequest, HttpResponse
from ocpi_commands.api.routes import Call, Route
from ocpi_commands.domain.auth import presented_token
from ocpi_commands.domain.errors import InvalidParameters, MethodNotAllowed, NotFound
from ocpi_commands.ocpi import dialects
from ocpi_commands.ocpi.envelope import StatusCode

_PATH = re.compile(r"^/ocpi/(?P<version>\d+\.\d+(?:\.\d+)?)/credentials/?$")
_ALLOWED = "GET, POST, PUT, DELETE"


def _ours(call: Call, version: str, token: str) -> Any:
    ours = composition.our_side(routes.base_url(call.request), call.caller.party.role.value)
    return composition.credentials_wire().credentials_body(version, token, ours.versions_url, ours.roles)


def _theirs(call: Call, version: str) -> Any:
    raw = transport.json_object(call.request.body)
    try:
        return composition.credentials_wire().parse_credentials(version, raw)
    except ValueError as exc:
        raise InvalidParameters(f"Invalid or missing parameters: {exc}") from None


def credentials(call: Call) -> HttpResponse:
    dialect = routes.offered(call.params["version"])
    version = dialect.version
    service = composition.credentials_service()
    party, status = call.caller.party, call.caller.credentials_status
    method = call.request.method
    if method == "GET":
        data = _ours(call, version, presented_token(call.request.headers, party))
    elif method == "POST":
        data = _ours(call, version, service.register(party, status, version, _theirs(call, version)))
    elif method == "PUT":
        data = _ours(call, version, service.update(party, status, version, _theirs(call, version)))
    else:
        service.unregister(party, status)
        data = None
    composition.credentials_cache().clear()  # this invocation sees its own change at once
    return transport.ocpi_response(StatusCode.SUCCESS, data, timestamp=dialect.timestamp)


def route(request: HttpRequest) -> tuple[Route, dict[str, str]]:
    match = _PATH.match(request.path)
    if match is None:
        raise NotFound(f"No OCPI endpoint at {request.path[:128]}")
    if request.method not in ("GET", "POST", "PUT", "DELETE"):
        raise MethodNotAllowed(f"{request.method} is not allowed on credentials ({_ALLOWED})", allow=_ALLOWED)
    return credentials, match.groupdict()


def functional_version(path: str) -> str | None:
    return None  # a configuration module: no routing headers, TOKEN_A allowed


def version_of(path: str) -> str | None:
    match = _PATH.match(path)
    version = match.group("version") if match else None
    return version if version in dialects.SUPPORTED_VERSIONS else None
