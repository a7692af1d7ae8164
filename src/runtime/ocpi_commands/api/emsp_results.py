"""The eMSP side's CommandResult receiver: ``POST /ocpi/emsp/{version}/commands/{command}/{uid}``.

Our response_urls. The CPO (or its hub) POSTs with the token we issued it; the uid must be a command
we sent to that partner, of that type and version (else 404, 2001); the body must be that version's
CommandResult (2.1.1: its CommandResponse; else 2001; not JSON: 400). The first valid result
resolves the command; a repeated one changes nothing; one after the outcome is recorded as late.
Every valid result is answered 1000 at once: OCPI does not retry it.
"""

import re

from ocpi_commands import composition
from ocpi_commands.api import routes, transport
from ocpi_commands.api.http import HttpRequest, HttpResponse
from ocpi_commands.api.routes import Call, Route
from ocpi_commands.domain.errors import InvalidParameters, MethodNotAllowed, NotFound, OcpiError
from ocpi_commands.domain.model import PartyRef
from ocpi_commands.domain.sending import InvalidResult, UnknownResponseUrl
from ocpi_commands.observability import logger, metric
from ocpi_commands.ocpi.envelope import StatusCode

_VERSION = r"(?P<version>\d+\.\d+(?:\.\d+)?)"
_PATH = re.compile(rf"^/ocpi/emsp/{_VERSION}/commands/(?P<command>[^/]+)/(?P<uid>[^/]+)/?$")


class UnknownResultUrl(OcpiError):
    """A CommandResult for a URL we did not give this partner (HTTP 404, 2001)."""

    http_status = 404
    status_code = 2001


def result(call: Call) -> HttpResponse:
    if not composition.settings().is_emsp:
        raise NotFound("This platform does not play the eMSP role: it receives no CommandResults")
    dialect = routes.offered(call.params["version"])
    # An invalid JSON body is a 400 before anything is looked up (nothing to record).
    body = transport.json_object(call.request.body)
    try:
        outcome = composition.sent_lifecycle().receive_result(
            call.caller.party,
            dialect.version,
            call.params["command"],
            call.params["uid"],
            body,
            call.meta.client_request_id,
        )
    except UnknownResponseUrl as exc:
        metric("UnknownResultUrls")
        logger.warning("CommandResult for an unknown response_url", extra={"reason": str(exc)})
        raise UnknownResultUrl(str(exc)) from None
    except InvalidResult as exc:
        raise InvalidParameters(f"Invalid or missing parameters: not a CommandResult: {exc}") from None
    metric("ResultsReceived", Outcome=outcome, OcpiVersion=dialect.version)
    return transport.ocpi_response(StatusCode.SUCCESS, None, timestamp=dialect.timestamp)


def route(request: HttpRequest) -> tuple[Route, dict[str, str]]:
    match = _PATH.match(request.path)
    if match is None:
        raise NotFound(f"No OCPI endpoint at {request.path[:128]}")
    if request.method != "POST":
        raise MethodNotAllowed(f"{request.method} is not allowed; CommandResults are POSTed")
    return result, match.groupdict()


def functional_version(path: str) -> str | None:
    """A functional module: routing headers apply (FROM = our eMSP party), TOKEN_A does not."""
    match = re.match(rf"^/ocpi/emsp/{_VERSION}/commands(/|$)", path)
    return match.group("version") if match else None


def emsp_parties() -> tuple[PartyRef, ...]:
    return composition.settings().our_emsp_parties
