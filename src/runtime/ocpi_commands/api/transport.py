"""OCPI transport rules (Transport and format chapter): ids, routing headers, bodies, the envelope.

* X-Request-ID / X-Correlation-ID are echoed exactly (generated, and logged, when missing); one longer
  than :data:`MAX_ID_LENGTH` or not printable ASCII is refused (HTTP 400, 2001), never cut.
* On functional modules (commands) the routing headers of the answer are the request's, reversed.
* A command body must be one JSON object; a body that is not JSON is HTTP 400.
* Every answer is the OCPI envelope; :func:`error_response` is the one mapping from an error to it.
"""

import json
import uuid
from collections.abc import Mapping
from typing import Any

from ocpi_commands.api.http import HttpResponse
from ocpi_commands.domain.errors import (
    InvalidHeader,
    InvalidParameters,
    MethodNotAllowed,
    NotJson,
    OcpiError,
    Unauthorized,
)
from ocpi_commands.domain.model import PartyRef
from ocpi_commands.domain.receiving import RequestMeta
from ocpi_commands.ocpi.envelope import Header, envelope

MAX_ID_LENGTH = 255  # X-Request-ID and X-Correlation-ID: longer ones are refused (README, "Answers")


def _id_problem(value: str) -> str | None:
    if len(value) > MAX_ID_LENGTH:
        return f"is longer than {MAX_ID_LENGTH} characters"
    if not all(" " <= ch <= "~" for ch in value):
        return "must be printable ASCII"
    return None


def _usable_id(value: str | None) -> str | None:
    """The id exactly as sent, when it can be echoed; None when missing or refused."""
    return value if value and _id_problem(value) is None else None


def request_meta(headers: Mapping[str, str]) -> RequestMeta:
    client_request_id = _usable_id(headers.get(Header.REQUEST_ID.lower()))
    correlation_id = _usable_id(headers.get(Header.CORRELATION_ID.lower()))
    return RequestMeta(
        request_id=client_request_id or str(uuid.uuid4()),
        correlation_id=correlation_id or str(uuid.uuid4()),
        client_request_id=client_request_id,
    )


def check_request_ids(headers: Mapping[str, str]) -> None:
    """Refuse ids that cannot be echoed exactly (the answer then carries generated ones)."""
    for name in (Header.REQUEST_ID, Header.CORRELATION_ID):
        value = headers.get(name.lower())
        problem = _id_problem(value) if value else None
        if problem:
            raise InvalidHeader(f"Invalid or missing parameters: {name} {problem}")


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def json_object(raw: str | None) -> dict[str, Any]:
    """A command body: one JSON object (``NaN`` and ``Infinity`` are not JSON)."""
    if raw is None or raw.strip() == "":
        raise InvalidParameters("Invalid or missing parameters: the body is empty; a JSON object is expected")
    try:
        parsed = json.loads(raw, parse_constant=_not_json)
    except (ValueError, TypeError):
        raise NotJson("The body is not valid JSON") from None
    except RecursionError:
        raise InvalidParameters("Invalid or missing parameters: the body is nested too deeply") from None
    if not isinstance(parsed, dict):
        raise InvalidParameters("Invalid or missing parameters: the body must be a JSON object")
    return parsed


def ocpi_response(
    status_code: int, data: Any = None, message: str | None = None, http_status: int = 200
) -> HttpResponse:
    return HttpResponse(http_status, envelope(status_code, data, message))


def error_response(exc: OcpiError) -> HttpResponse:
    """The one mapping from an error to its OCPI answer (HTTP status, status_code, message, data)."""
    response = ocpi_response(exc.status_code, exc.data, exc.message, exc.http_status)
    if isinstance(exc, MethodNotAllowed):
        response.headers["Allow"] = "POST"
    if isinstance(exc, Unauthorized):
        response.headers["WWW-Authenticate"] = "Token"
    return response


def routing_headers(
    request_headers: Mapping[str, str], ours: PartyRef | None, caller: PartyRef | None
) -> dict[str, str]:
    """The answer's routing headers on a functional module: FROM = this CPO, TO = the requesting eMSP."""
    found: dict[str, str] = {}
    to_country = request_headers.get(Header.TO_COUNTRY_CODE.lower()) or (ours.country_code if ours else "")
    to_party = request_headers.get(Header.TO_PARTY_ID.lower()) or (ours.party_id if ours else "")
    from_country = request_headers.get(Header.FROM_COUNTRY_CODE.lower())
    from_party = request_headers.get(Header.FROM_PARTY_ID.lower())
    if caller is not None:
        from_country, from_party = caller.country_code, caller.party_id
    if to_country and to_party:
        found[Header.FROM_COUNTRY_CODE] = to_country[:2]
        found[Header.FROM_PARTY_ID] = to_party[:3]
    if from_country and from_party:
        found[Header.TO_COUNTRY_CODE] = from_country[:2]
        found[Header.TO_PARTY_ID] = from_party[:3]
    return found


def with_ids(response: HttpResponse, meta: RequestMeta, extra: Mapping[str, str] | None = None) -> HttpResponse:
    response.headers[Header.REQUEST_ID] = meta.request_id
    response.headers[Header.CORRELATION_ID] = meta.correlation_id
    response.headers.update(extra or {})
    return response
