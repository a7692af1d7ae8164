"""The one doorway of the OCPI functions: decode the request, authenticate, route, and answer in the
OCPI envelope. Every failure becomes an envelope through one mapping (``transport.error_response``);
no stack trace reaches a client. Each function (API, Credentials) is this doorway with its routes.
"""

from collections.abc import Callable
from typing import Any

from ocpi_commands import composition
from ocpi_commands.api import routes, transport
from ocpi_commands.api.http import HttpRequest, HttpResponse
from ocpi_commands.api.routes import Call, Route
from ocpi_commands.domain.auth import Caller, authenticate, identify_caller
from ocpi_commands.domain.errors import BodyTooLarge, NotFound, OcpiError, TemporarilyUnavailable
from ocpi_commands.domain.model import PartyRef
from ocpi_commands.observability import bind, logger, metric, start_invocation
from ocpi_commands.ocpi import dialects
from ocpi_commands.ocpi.dialects import Dialect
from ocpi_commands.ocpi.types import format_datetime
from ocpi_commands.tracing import is_dependency_error

Router = Callable[[HttpRequest], tuple[Route, dict[str, str]]]


def _authenticate(request: HttpRequest, functional: bool) -> Caller:
    settings = composition.settings()
    if request.body_size > settings.max_body_bytes:
        raise BodyTooLarge(f"The body exceeds {settings.max_body_bytes} bytes")
    repository = composition.repository()
    party, status = authenticate(request.headers, repository.get_party_by_token_sha256, composition.credentials_cache())
    caller = identify_caller(party, status, request.headers, functional_module=functional)
    bind(party=caller.acting_as.key)
    return caller


def _failure(exc: Exception, dialect: Dialect | None) -> HttpResponse:
    """An answer for every failure: the OCPI error's own, else 3000 (nothing was accepted)."""
    timestamp = dialect.timestamp if dialect else format_datetime
    if isinstance(exc, OcpiError):
        if exc.http_status == 401:
            logger.warning("Unauthorized", extra={"reason": exc.message})
            metric("Unauthorized")
        return transport.error_response(exc, timestamp)
    if is_dependency_error(exc):
        logger.exception("AWS dependency failed; nothing was accepted")
        problem = TemporarilyUnavailable(f"Temporarily unable to process the request ({type(exc).__name__})")
    else:
        logger.exception("Unexpected failure; nothing was accepted")
        problem = TemporarilyUnavailable("Internal error; the request was not processed")
    metric("DependencyFailures", Stage="api")
    return transport.error_response(problem, timestamp)


def cpo_parties() -> tuple[PartyRef, ...]:
    return composition.settings().our_parties


def _default_party(ours: Callable[[], tuple[PartyRef, ...]]) -> PartyRef | None:
    try:
        return ours()[0]
    except Exception:  # noqa: BLE001 - a broken configuration still gets its 3000 envelope with headers
        return None


def serve(
    event: dict[str, Any],
    context: Any,
    route: Router,
    functional_version: Callable[[str], str | None],
    version_of: Callable[[str], str | None],
    ours: Callable[[], tuple[PartyRef, ...]] = cpo_parties,
) -> dict[str, Any]:
    """Answer one API Gateway event; ``ours`` are the parties a functional request may be addressed to
    (OCPI-to-*): the CPO parties for the Commands receiver, the eMSP parties for CommandResults."""
    request = HttpRequest.from_apigw(event)
    meta = transport.request_meta(request.headers)
    start_invocation(context, correlation_id=meta.correlation_id, request_id=meta.request_id, path=request.path[:256])
    if meta.client_request_id is None:
        logger.warning("Request without X-Request-ID: one was generated", extra={"generated": meta.request_id})
    caller: Caller | None = None
    version = version_of(request.path)
    dialect = dialects.for_version(version) if version else None
    functional = functional_version(request.path) is not None
    try:
        transport.check_request_ids(request.headers)
        if not routes.is_ocpi_path(request.path):
            raise NotFound(f"No OCPI endpoint at {request.path[:128]}")
        caller = _authenticate(request, functional)
        if functional:
            meta = meta._replace(recipient=transport.recipient(request.headers, ours()))
        found, params = route(request)
        response = found(Call(request, caller, meta, params))
    except Exception as exc:  # noqa: BLE001 - the one place every failure becomes an envelope
        response = _failure(exc, dialect)
    routing = None
    if functional and (dialect is None or dialect.routing_headers):
        sender = meta.recipient or _default_party(ours)
        routing = transport.routing_headers(sender, caller.acting_as if caller else None)
    return transport.with_ids(response, meta, routing).to_apigw()
