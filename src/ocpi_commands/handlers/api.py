"""The OCPI API function (API Gateway REST API -> Lambda): the Commands receiver and the Versions module.

The handler is a doorway: read the transport headers, authenticate, let the Powertools resolver
route, validate the body with the OCPI models, call the domain, and answer in the OCPI envelope.
Every failure, including framework ones, becomes an envelope here; no stack trace reaches a client.

Answers, in order of precedence (README, "Answers"):
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

import base64
import json
import re
import uuid
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from ocpi_commands.config import Settings, get_settings
from ocpi_commands.dal.repository import Repository
from ocpi_commands.domain.auth import Caller, CredentialsCache, authenticate, identify_caller
from ocpi_commands.domain.commands import Answer, CommandService, RequestMeta
from ocpi_commands.domain.errors import (
    BodyTooLarge,
    InvalidParameters,
    MethodNotAllowed,
    NotFound,
    NotJson,
    OcpiError,
    TemporarilyUnavailable,
)
from ocpi_commands.observability import bind, logger, mask_token, metric, start_invocation
from ocpi_commands.ocpi.commands import REQUEST_MODELS, CommandResponse, CommandResponseType, CommandType
from ocpi_commands.ocpi.envelope import Header, StatusCode, envelope
from ocpi_commands.ocpi.types import OcpiModel, display_text
from ocpi_commands.ocpi.versions import COMMANDS_PATH, VERSION_DETAILS_PATH, VERSIONS_PATH

# Requests are validated by the OCPI models directly (``REQUEST_MODELS``); the OpenAPI document is
# generated from the same models by ``ocpi_commands.handlers.openapi`` (not imported here: the
# framework's validation machinery would cost cold-start time on the path eMSPs wait for).
app = APIGatewayRestResolver()

_COMMAND_PATH_RE = re.compile(rf"^{re.escape(COMMANDS_PATH)}/[^/]+/?$")


class _State:
    """Lazily built, cached per process: settings, repository, domain service, credentials cache."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.repository = Repository(settings.table_name)
        self.service = CommandService(self.repository, settings)
        self.credentials = CredentialsCache(settings.credentials_cache_ttl_seconds)


_state: _State | None = None


def state() -> _State:
    global _state
    settings = get_settings()
    if _state is None or _state.settings is not settings:
        _state = _State(settings)
    return _state


def reset_state() -> None:
    """Forget settings-derived state and cached credentials (tests, configuration changes)."""
    global _state
    _state = None


# ---------------------------------------------------------------------------------------- helpers


def _json(http_status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=http_status,
        content_type="application/json",
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        headers=headers,
    )


def _error(exc: OcpiError, data: Any = None) -> Response:
    headers = {"Allow": "POST"} if isinstance(exc, MethodNotAllowed) else None
    return _json(exc.http_status, envelope(exc.status_code, data, exc.message), headers)


def _rejected_data(message: str) -> dict[str, Any]:
    return CommandResponse(
        result=CommandResponseType.REJECTED, timeout=0, message=[display_text(message)]
    ).to_json_dict()


def _caller() -> Caller:
    return app.context["caller"]


def _receive(command_type: CommandType, body: OcpiModel) -> Response:
    meta: RequestMeta = app.context["meta"]
    caller = _caller()
    bind(command_type=command_type.value, party=caller.acting_as.key)
    answer: Answer = state().service.receive(caller, command_type, body, meta)
    bind(command_id=answer.command_id)
    metric("CommandsReceived", CommandType=command_type.value, Response=answer.response.result.value)
    logger.info(
        "Command answered",
        extra={
            "response": answer.response.result.value,
            "status_code": int(answer.status_code),
            "reason": answer.status_message,
            "duplicate": answer.duplicate,
            "location_id": getattr(body, "location_id", None),
            "evse_uid": getattr(body, "evse_uid", None),
            "token": mask_token(body.token.to_json_dict()) if hasattr(body, "token") else None,
        },
    )
    return _json(200, envelope(answer.status_code, answer.response.to_json_dict(), answer.status_message))


def _field_errors(errors: list[dict[str, Any]]) -> str:
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ())) or "body"
        parts.append(f"{where}: {str(error.get('msg', 'invalid')).removeprefix('Value error, ')}")
    return "Invalid or missing parameters: " + "; ".join(parts)


def _base_url() -> str:
    settings = state().settings
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    ctx = app.current_event.request_context
    domain = ctx.domain_name or app.current_event.headers.get("Host") or "localhost"
    if ".execute-api." in domain and ctx.stage:
        return f"https://{domain}/{ctx.stage}"
    return f"https://{domain}"


# ---------------------------------------------------------------------------------------- routes


@app.post(f"{COMMANDS_PATH}/<command>")
def command(command: str) -> Response:
    raw = _command_body(app.current_event.body)
    try:
        command_type = CommandType(command)
    except ValueError:
        return _unknown_command(command)
    try:
        body = REQUEST_MODELS[command_type].model_validate(raw)
    except ValidationError as exc:
        raise InvalidParameters(_field_errors(exc.errors())) from None
    return _receive(command_type, body)


def _unknown_command(command: str) -> Response:
    # CommandType is a closed enum in 2.2.1 (an OpenEnum in 2.3.0): a command we do not know is a
    # command we do not support. Enum values are case-sensitive, so "start_session" lands here too.
    message = f"Unknown command {command[:64]}"
    data = CommandResponse(
        result=CommandResponseType.NOT_SUPPORTED, timeout=0, message=[display_text(message)]
    ).to_json_dict()
    metric("CommandsReceived", CommandType="UNKNOWN", Response=CommandResponseType.NOT_SUPPORTED.value)
    logger.info("Unknown command", extra={"command": command[:64]})
    return _json(200, envelope(StatusCode.SUCCESS, data, message))


@app.get(VERSIONS_PATH)
def versions() -> Response:
    from ocpi_commands.ocpi.version_objects import version_list  # rare requests: kept off the cold path

    data = [v.to_json_dict() for v in version_list(_base_url())]
    return _json(200, envelope(StatusCode.SUCCESS, data))


@app.get(VERSION_DETAILS_PATH)
def details() -> Response:
    from ocpi_commands.ocpi.version_objects import version_details

    return _json(200, envelope(StatusCode.SUCCESS, version_details(_base_url()).to_json_dict()))


@app.not_found
def not_found(_: Exception) -> Response:
    path = app.current_event.path
    if _COMMAND_PATH_RE.match(path) and app.current_event.http_method != "POST":
        return _error(MethodNotAllowed(f"{app.current_event.http_method} is not allowed; commands are POSTed"))
    return _error(NotFound(f"No OCPI endpoint at {path[:128]}"))


@app.exception_handler(OcpiError)
def ocpi_error(exc: OcpiError) -> Response:
    # A command that reached the OCPI layer but is invalid still gets a CommandResponse (REJECTED).
    return _error(exc, _rejected_data(exc.message) if isinstance(exc, InvalidParameters) else None)


def _command_body(raw: str | None) -> dict[str, Any]:
    """A command body must be one JSON object."""
    if raw is None or raw.strip() == "":
        raise InvalidParameters("Invalid or missing parameters: the body is empty; a JSON object is expected")
    try:
        parsed = json.loads(raw)
    except (ValueError, TypeError):
        raise NotJson("The body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise InvalidParameters("Invalid or missing parameters: the body must be a JSON object")
    return parsed


# ---------------------------------------------------------------------------------------- doorway


def _headers(event: dict[str, Any]) -> dict[str, str]:
    """Request headers, lower-cased (single- and multi-value forms)."""
    found: dict[str, str] = {}
    for name, values in (event.get("multiValueHeaders") or {}).items():
        if values:
            found[name.lower()] = values[-1]
    for name, value in (event.get("headers") or {}).items():
        if value is not None:
            found[name.lower()] = value
    return found


def _request_meta(headers: dict[str, str]) -> RequestMeta:
    client_request_id = headers.get(Header.REQUEST_ID.lower()) or None
    if client_request_id is not None:
        client_request_id = client_request_id.strip()[:100] or None
    correlation_id = (headers.get(Header.CORRELATION_ID.lower()) or "").strip()[:100]
    return RequestMeta(
        request_id=client_request_id or str(uuid.uuid4()),
        correlation_id=correlation_id or str(uuid.uuid4()),
        client_request_id=client_request_id,
    )


def _body_size(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4
    return len(body.encode("utf-8")) if isinstance(body, str) else len(body)


def _decode_base64_body(event: dict[str, Any]) -> dict[str, Any]:
    if not event.get("isBase64Encoded") or not event.get("body"):
        return event
    try:
        decoded = base64.b64decode(event["body"]).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise NotJson("The body is not valid JSON") from None
    return {**event, "body": decoded, "isBase64Encoded": False}


def _response_headers(
    response: dict[str, Any], meta: RequestMeta, headers: dict[str, str], caller: Caller | None, path: str
) -> dict[str, Any]:
    extra = {Header.REQUEST_ID: meta.request_id, Header.CORRELATION_ID: meta.correlation_id}
    if path.startswith(COMMANDS_PATH):
        # Routing headers, reversed from the request: FROM = this CPO, TO = the requesting eMSP.
        try:
            settings = state().settings
            ours = (settings.cpo_country_code, settings.cpo_party_id)
        except Exception:  # noqa: BLE001 - a broken configuration still gets its 3000 envelope
            ours = ("", "")
        to_country = headers.get(Header.TO_COUNTRY_CODE.lower()) or ours[0]
        to_party = headers.get(Header.TO_PARTY_ID.lower()) or ours[1]
        from_country = headers.get(Header.FROM_COUNTRY_CODE.lower())
        from_party = headers.get(Header.FROM_PARTY_ID.lower())
        if caller is not None:
            from_country, from_party = caller.acting_as.country_code, caller.acting_as.party_id
        if to_country and to_party:
            extra[Header.FROM_COUNTRY_CODE] = to_country[:2]
            extra[Header.FROM_PARTY_ID] = to_party[:3]
        if from_country and from_party:
            extra[Header.TO_COUNTRY_CODE] = from_country[:2]
            extra[Header.TO_PARTY_ID] = from_party[:3]
    if "multiValueHeaders" in response:
        multi = response.setdefault("multiValueHeaders", {}) or {}
        for name, value in extra.items():
            multi[name] = [value]
        response["multiValueHeaders"] = multi
    else:
        single = response.setdefault("headers", {}) or {}
        single.update(extra)
        response["headers"] = single
    return response


def _plain_response(exc: OcpiError) -> dict[str, Any]:
    body = json.dumps(envelope(exc.status_code, None, exc.message), separators=(",", ":"))
    headers = {"Content-Type": "application/json"}
    if isinstance(exc, MethodNotAllowed):
        headers["Allow"] = "POST"
    return {"statusCode": exc.http_status, "headers": headers, "body": body, "isBase64Encoded": False}


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    headers = _headers(event)
    meta = _request_meta(headers)
    path = event.get("path") or ""
    start_invocation(context, correlation_id=meta.correlation_id, request_id=meta.request_id, path=path[:256])
    if meta.client_request_id is None:
        logger.warning("Request without X-Request-ID: one was generated", extra={"generated": meta.request_id})
    caller: Caller | None = None
    try:
        current = state()
        if _body_size(event) > current.settings.max_body_bytes:
            raise BodyTooLarge(f"The body exceeds {current.settings.max_body_bytes} bytes")
        party, status = authenticate(headers, current.repository.get_party_by_token_sha256, current.credentials)
        caller = identify_caller(party, status, headers, functional_module=path.startswith(COMMANDS_PATH))
        bind(party=caller.acting_as.key)
        event = _decode_base64_body(event)
        app.append_context(caller=caller, meta=meta)
        response = app.resolve(event, context)
    except OcpiError as exc:
        if exc.http_status == 401:
            logger.warning("Unauthorized", extra={"reason": exc.message})
            metric("Unauthorized")
        response = _plain_response(exc)
    except (ClientError, BotoCoreError) as exc:
        logger.exception("AWS dependency failed; nothing was accepted")
        metric("DependencyFailures", Stage="api")
        response = _plain_response(
            TemporarilyUnavailable(f"Temporarily unable to process the request ({type(exc).__name__})")
        )
    except Exception:  # noqa: BLE001 - the one place every failure becomes an envelope
        logger.exception("Unexpected failure; nothing was accepted")
        metric("DependencyFailures", Stage="api")
        response = _plain_response(TemporarilyUnavailable("Internal error; the request was not processed"))
    finally:
        app.clear_context()
    return _response_headers(response, meta, headers, caller, path)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point."""
    return handle(event, context)
