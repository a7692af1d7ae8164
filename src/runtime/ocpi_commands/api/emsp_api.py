"""The eMSP backend's API: send a command to a CPO, and read a sent command's state.

    POST /emsp/v1/commands/{command}   {"cpo": {"country_code", "party_id"}, "request": {...},
                                        "emsp": {...} (optional: one of our eMSP parties)}
         headers: Idempotency-Key (optional), X-Correlation-ID (optional)
    GET  /emsp/v1/commands/{command_id}

Not an OCPI interface: the eMSP's own services call it (on AWS with IAM authorisation, SigV4; the
function also refuses a caller that is neither IAM-authenticated nor on the loopback interface).
Answers are plain JSON: ``{"error": code, "message": ...}`` on failure, never a stack trace.

    201  sent; the CPO answered in OCPI (status PENDING: ACCEPTED, a result will follow; NOT_ACCEPTED)
    200  the same Idempotency-Key and body: the command sent earlier, as it is now (nothing is sent)
    400  not JSON, unknown command type, not a valid command of the CPO's OCPI version
    403  neither IAM-authenticated nor from the loopback interface
    404  unknown CPO or command id; 405 another method; 413 body too large
    409  the CPO is not ready (not registered, no commands endpoint) or the Idempotency-Key was
         used for another body
    502  SEND_FAILED: no usable answer from the CPO (recorded, with the reason)
    503  a dependency failed: nothing was sent, or it was sent and its outcome follows (the body says)
"""

import ipaddress
import json
import re
from typing import Any

from ocpi_commands import composition
from ocpi_commands.api import routes
from ocpi_commands.api.http import HttpRequest, HttpResponse
from ocpi_commands.domain.errors import OcpiError
from ocpi_commands.domain.model import PartyRef, SentCommand, SentStatus
from ocpi_commands.domain.sending import SendRefused, SendRequest
from ocpi_commands.observability import bind, logger, metric, start_invocation
from ocpi_commands.ocpi.envelope import Header
from ocpi_commands.ocpi.vocabulary import CommandType
from ocpi_commands.tracing import is_dependency_error

PREFIX = "/emsp/v1/commands"
_PATH = re.compile(rf"^{PREFIX}/(?P<name>[^/]+)/?$")
_PARTY = re.compile(r"^[A-Za-z]{2}$"), re.compile(r"^[A-Za-z0-9]{3}$")
MAX_IDEMPOTENCY_KEY = 255


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status, body, {"Cache-Control": "no-store", **(headers or {})})


def _error(status: int, error: str, message: str, **extra: Any) -> HttpResponse:
    return _json(status, {"error": error, "message": message, **extra})


def view(command: SentCommand) -> dict[str, Any]:
    """A sent command as the API shows it (``GET``): its state, the CPO's answers, its history."""
    body = command.model_dump(mode="json", exclude_none=True, exclude={"task_token", "expires_at"})
    body["outcome"] = command.outcome
    return body


def _summary(command: SentCommand) -> dict[str, Any]:
    answer = command.answer
    found = {
        "command_id": command.command_id,
        "status": command.status.value,
        "outcome": command.outcome,
        "response": answer.response if answer else None,
        "http_status": answer.http_status if answer else None,
        "ocpi_status_code": answer.ocpi_status_code if answer else None,
        "timeout": command.timeout,
        "result_deadline": view(command).get("result_deadline"),
        "reason": command.reason,
        "result": command.result,
    }
    return {k: v for k, v in found.items() if v is not None or k in ("command_id", "status")}


def _caller_allowed(event: dict[str, Any]) -> bool:
    """IAM-authenticated (API Gateway checked the SigV4 signature), or a loopback client (local runs)."""
    identity = (event.get("requestContext") or {}).get("identity") or {}
    if identity.get("userArn") or identity.get("caller"):
        return True
    try:
        return ipaddress.ip_address(str(identity.get("sourceIp") or "")).is_loopback
    except ValueError:
        return False


def _party(value: Any, field: str) -> PartyRef:
    if not isinstance(value, dict):
        raise SendRefused(400, "invalid_request", f"{field} must be an object with country_code and party_id")
    country, party = value.get("country_code"), value.get("party_id")
    if not (
        isinstance(country, str) and _PARTY[0].match(country) and isinstance(party, str) and _PARTY[1].match(party)
    ):
        raise SendRefused(400, "invalid_request", f"{field}: country_code is 2 letters, party_id 3 letters or digits")
    return PartyRef(country_code=country.upper(), party_id=party.upper())


def _send_request(request: HttpRequest, name: str) -> SendRequest:
    try:
        command_type = CommandType(name)
    except ValueError:
        known = ", ".join(c.value for c in CommandType)
        raise SendRefused(400, "unknown_command", f"Unknown command {name[:64]}; one of {known}") from None
    try:
        body = json.loads(request.body or "", parse_constant=_no_constant)
    except (ValueError, TypeError, RecursionError, OcpiError):
        raise SendRefused(400, "not_json", "The body is not a JSON object") from None
    if not isinstance(body, dict):
        raise SendRefused(400, "not_json", "The body is not a JSON object")
    unknown = sorted(set(body) - {"cpo", "request", "emsp"})
    if unknown:
        raise SendRefused(400, "invalid_request", f"Unknown field(s): {', '.join(unknown[:5])}")
    if not isinstance(body.get("request"), dict):
        raise SendRefused(400, "invalid_request", "request must be the OCPI command object (without response_url)")
    key = request.header("Idempotency-Key")
    if key is not None and not (0 < len(key) <= MAX_IDEMPOTENCY_KEY and key.isprintable() and key.isascii()):
        raise SendRefused(
            400, "invalid_idempotency_key", f"Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII"
        )
    correlation = request.header(Header.CORRELATION_ID)
    if correlation is not None and not (
        0 < len(correlation) <= 255 and correlation.isprintable() and correlation.isascii()
    ):
        raise SendRefused(400, "invalid_correlation_id", "X-Correlation-ID: 1 to 255 printable ASCII characters")
    return SendRequest(
        command_type=command_type,
        cpo=_party(body.get("cpo"), "cpo"),
        request=body["request"],
        emsp=_party(body["emsp"], "emsp") if body.get("emsp") is not None else None,
        idempotency_key=key,
        correlation_id=correlation,
    )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _send(request: HttpRequest, name: str) -> HttpResponse:
    wanted = _send_request(request, name)
    bind(command_type=wanted.command_type.value, party=wanted.cpo.key)
    outcome = composition.emsp_service().send(wanted, routes.base_url(request))
    command = outcome.command
    headers = {Header.CORRELATION_ID: command.correlation_id, "Location": f"{PREFIX}/{command.command_id}"}
    if outcome.replayed:
        metric("IdempotentReplays")
        return _json(200, {**_summary(command), "replayed": True}, headers)
    if not outcome.recorded:
        return _error(
            503,
            "answer_not_recorded",
            "The command was sent to the CPO but its answer could not be recorded; the outcome will be "
            "published (Command Completed) and shown by GET",
            command_id=command.command_id,
        )
    if command.status == SentStatus.SEND_FAILED:
        return _json(502, {**_summary(command), "error": "send_failed", "message": command.reason}, headers)
    return _json(201, _summary(command), headers)


def _show(command_id: str) -> HttpResponse:
    command = composition.sent_commands().get(command_id) if re.fullmatch(r"[0-9a-f]{32}", command_id) else None
    if command is None:
        return _error(404, "unknown_command_id", f"No command {command_id[:64]} was sent from here")
    return _json(200, view(command), {Header.CORRELATION_ID: command.correlation_id})


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = HttpRequest.from_apigw(event)
    start_invocation(context, path=request.path[:256])
    try:
        response = _route(event, request)
    except SendRefused as exc:
        metric("SendsRefused", Reason=exc.error)
        logger.info("Send refused", extra={"error": exc.error, "reason": exc.message})
        response = _error(exc.http_status, exc.error, exc.message)
    except Exception as exc:  # noqa: BLE001 - the one place every failure becomes an answer
        if is_dependency_error(exc):
            logger.exception("AWS dependency failed; nothing was sent")
            message = f"Temporarily unable to process the request ({type(exc).__name__}); nothing was sent"
        else:
            logger.exception("Unexpected failure; nothing was sent")
            message = "Internal error; nothing was sent"
        metric("DependencyFailures", Stage="emsp_api")
        response = _error(503, "temporarily_unavailable", message)
        response.headers["Retry-After"] = "1"
    return response.to_apigw()


def _route(event: dict[str, Any], request: HttpRequest) -> HttpResponse:
    if not _caller_allowed(event):
        return _error(403, "forbidden", "Only this platform's own services may call this API (IAM or loopback)")
    match = _PATH.match(request.path)
    if match is None:
        return _error(404, "not_found", f"No endpoint at {request.path[:128]}")
    settings = composition.settings()
    if request.body_size > settings.max_body_bytes:
        return _error(413, "too_large", f"The body exceeds {settings.max_body_bytes} bytes")
    if request.method == "POST":
        return _send(request, match.group("name"))
    if request.method == "GET":
        return _show(match.group("name"))
    response = _error(405, "method_not_allowed", "POST a command, or GET a command id")
    response.headers["Allow"] = "GET, POST"
    return response
