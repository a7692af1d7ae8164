"""The OCPI response envelope, status codes and the transport headers (Transport and format chapter)."""

from collections.abc import Callable
from datetime import datetime
from enum import IntEnum
from typing import Any

from ocpi_commands.ocpi.types import format_datetime, utc_now


class StatusCode(IntEnum):
    SUCCESS = 1000
    CLIENT_ERROR = 2000
    INVALID_PARAMETERS = 2001
    NOT_ENOUGH_INFORMATION = 2002
    UNKNOWN_LOCATION = 2003
    SERVER_ERROR = 3000
    UNABLE_TO_USE_CLIENT_API = 3001
    UNSUPPORTED_VERSION = 3002
    NO_MATCHING_ENDPOINTS = 3003


class Header:
    """HTTP header names used by OCPI (matched case-insensitively)."""

    AUTHORIZATION = "Authorization"
    REQUEST_ID = "X-Request-ID"
    CORRELATION_ID = "X-Correlation-ID"
    FROM_COUNTRY_CODE = "OCPI-from-country-code"
    FROM_PARTY_ID = "OCPI-from-party-id"
    TO_COUNTRY_CODE = "OCPI-to-country-code"
    TO_PARTY_ID = "OCPI-to-party-id"


def envelope(
    status_code: int,
    data: Any = None,
    status_message: str | None = None,
    timestamp: Callable[[datetime], str] = format_datetime,
) -> dict[str, Any]:
    """Build the OCPI response envelope. ``data`` is omitted when ``None``; ``timestamp`` writes the
    DateTime as the answer's OCPI version does."""
    body: dict[str, Any] = {}
    if data is not None:
        body["data"] = data
    body["status_code"] = int(status_code)
    if status_message:
        body["status_message"] = status_message
    body["timestamp"] = timestamp(utc_now())
    return body
