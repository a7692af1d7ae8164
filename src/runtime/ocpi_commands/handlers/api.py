"""The OCPI API function (API Gateway REST API -> Lambda): the Commands receiver and the Versions module.

A doorway: decode the request, authenticate, route, let the route validate and call the domain, and
answer in the OCPI envelope. Every failure becomes an envelope through one mapping
(``api.transport.error_response``); no stack trace reaches a client.

Answers, in order of precedence (README, "Answers"):
  X-Request-ID / X-Correlation-ID
  too long or not printable ASCII  400, 2001
  path outside /ocpi/              404, 2000
  body above the size limit        413, 2001
  bad or missing credentials       401, 2000
  unknown path                     404, 2000
  other method on a command path   405, 2000 (Allow: POST)
  body not JSON                    400, 2001
  schema error                     200, 2001, data CommandResponse{REJECTED}, message naming the field
  unknown {command}                200, 1000, data CommandResponse{NOT_SUPPORTED, timeout 0}
  the decision table               200, 1000/2001/2003, data CommandResponse
  dependency failure               200, 3000 (nothing was accepted)
"""

from typing import Any

from ocpi_commands import composition
from ocpi_commands.api import routes, transport
from ocpi_commands.api.http import HttpRequest, HttpResponse
from ocpi_commands.domain.auth import Caller, authenticate, identify_caller
from ocpi_commands.domain.errors import BodyTooLarge, NotFound, OcpiError, TemporarilyUnavailable
from ocpi_commands.domain.model import PartyRef
from ocpi_commands.observability import bind, logger, metric, start_invocation
from ocpi_commands.tracing import is_dependency_error


def _authenticate(request: HttpRequest) -> Caller:
    settings = composition.settings()
    if request.body_size > settings.max_body_bytes:
        raise BodyTooLarge(f"The body exceeds {settings.max_body_bytes} bytes")
    repository = composition.repository()
    party, status = authenticate(request.headers, repository.get_party_by_token_sha256, composition.credentials_cache())
    caller = identify_caller(
        party, status, request.headers, functional_module=routes.is_functional_module(request.path)
    )
    bind(party=caller.acting_as.key)
    return caller


def _failure(exc: Exception) -> HttpResponse:
    """An answer for every failure: the OCPI error's own, else 3000 (nothing was accepted)."""
    if isinstance(exc, OcpiError):
        if exc.http_status == 401:
            logger.warning("Unauthorized", extra={"reason": exc.message})
            metric("Unauthorized")
        return transport.error_response(exc)
    if is_dependency_error(exc):
        logger.exception("AWS dependency failed; nothing was accepted")
        problem = TemporarilyUnavailable(f"Temporarily unable to process the request ({type(exc).__name__})")
    else:
        logger.exception("Unexpected failure; nothing was accepted")
        problem = TemporarilyUnavailable("Internal error; the request was not processed")
    metric("DependencyFailures", Stage="api")
    return transport.error_response(problem)


def _ours() -> PartyRef | None:
    try:
        settings = composition.settings()
    except Exception:  # noqa: BLE001 - a broken configuration still gets its 3000 envelope with headers
        return None
    return PartyRef(country_code=settings.cpo_country_code, party_id=settings.cpo_party_id)


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = HttpRequest.from_apigw(event)
    meta = transport.request_meta(request.headers)
    start_invocation(context, correlation_id=meta.correlation_id, request_id=meta.request_id, path=request.path[:256])
    if meta.client_request_id is None:
        logger.warning("Request without X-Request-ID: one was generated", extra={"generated": meta.request_id})
    caller: Caller | None = None
    try:
        transport.check_request_ids(request.headers)
        if not routes.is_ocpi_path(request.path):
            raise NotFound(f"No OCPI endpoint at {request.path[:128]}")
        caller = _authenticate(request)
        found, params = routes.route(request)
        response = found(routes.Call(request, caller, meta, params))
    except Exception as exc:  # noqa: BLE001 - the one place every failure becomes an envelope
        response = _failure(exc)
    routing = None
    if routes.is_functional_module(request.path):
        routing = transport.routing_headers(request.headers, _ours(), caller.acting_as if caller else None)
    return transport.with_ids(response, meta, routing).to_apigw()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point."""
    return handle(event, context)
