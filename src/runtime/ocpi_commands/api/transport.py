"""OCPI transport rules (Transport and format chapter): ids, routing headers, bodies, the envelope.

* X-Request-ID / X-Correlation-ID are echoed exactly (generated, and logged, when missing); one longer
  than :data:`MAX_ID_LENGTH` or not printable ASCII is refused (HTTP 400, 2001), never cut.
* On functional modules (commands) the routing headers of the answer are the request's, reversed.
* A command body must be one JSON object; a body that is not JSON is HTTP 400.
* Every answer is the OCPI envelope; :func:`error_response` is the one mapping from an error to it.
"""

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ocpi_commands.api.http import HttpResponse
from ocpi_commands.domain.errors import (
    InvalidHeader,
    InvalidParameters,
    MethodNotAllowed,
    NotAddressedToUs,
    NotJson,
    OcpiError,
    Unauthorized,
)
from ocpi_commands.domain.model import PartyRef
from ocpi_commands.domain.receiving import RequestMeta
from ocpi_commands.ocpi.envelope import Header, envelope
from ocpi_commands.ocpi.types import format_datetime

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
    status_code: int,
    data: Any = None,
    message: str | None = None,
    http_status: int = 200,
    timestamp: Callable[[datetime], str] = format_datetime,
) -> HttpResponse:
    """The envelope, its ``timestamp`` written as the answer's OCPI version writes DateTimes."""
    return HttpResponse(http_status, envelope(status_code, data, message, timestamp))


def error_response(exc: OcpiError, timestamp: Callable[[datetime], str] = format_datetime) -> HttpResponse:
    """The one mapping from an error to its OCPI answer (HTTP status, status_code, message, data)."""
    response = ocpi_response(exc.status_code, exc.data, exc.message, exc.http_status, timestamp)
    if isinstance(exc, MethodNotAllowed):
        response.headers["Allow"] = exc.allow
    if isinstance(exc, Unauthorized):
        response.headers["WWW-Authenticate"] = "Token"
    return response


def recipient(request_headers: Mapping[str, str], ours: tuple[PartyRef, ...]) -> PartyRef:
    """Which of our parties a functional-module request is addressed to (OCPI-to-*; absent: the default).

    A request addressed to a party this platform is not is refused, before anything else."""
    country = (request_headers.get(Header.TO_COUNTRY_CODE.lower()) or "").strip()
    party = (request_headers.get(Header.TO_PARTY_ID.lower()) or "").strip()
    if not country and not party:
        return ours[0]
    if not country or not party:
        raise NotAddressedToUs("OCPI-to-country-code and OCPI-to-party-id must be given together")
    for candidate in ours:
        if candidate.same_as(country, party):
            return candidate
    names = ", ".join(p.key for p in ours)
    raise NotAddressedToUs(f"This is {names}: the request is addressed to {country[:2]}*{party[:3]}")


def routing_headers(ours: PartyRef | None, caller: PartyRef | None) -> dict[str, str]:
    """The answer's routing headers on a functional module: FROM = this CPO party, TO = the requesting eMSP."""
    found: dict[str, str] = {}
    if ours is not None:
        found[Header.FROM_COUNTRY_CODE] = ours.country_code
        found[Header.FROM_PARTY_ID] = ours.party_id
    if caller is not None:
        found[Header.TO_COUNTRY_CODE] = caller.country_code
        found[Header.TO_PARTY_ID] = caller.party_id
    return found


def with_ids(response: HttpResponse, meta: RequestMeta, extra: Mapping[str, str] | None = None) -> HttpResponse:
    response.headers[Header.REQUEST_ID] = meta.request_id
    response.headers[Header.CORRELATION_ID] = meta.correlation_id
    response.headers.update(extra or {})
    return response
