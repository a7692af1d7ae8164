"""OCPI primitive types (Types chapter): CiString, string, URL, DateTime, DisplayText (2.2.1 baseline; 2.1.1 differs
in its ``ocpi/v2_1_1`` package: ASCII strings, DateTimes without fractions).

The spec's rules, as enforced here:

* ``CiString(n)``: printable ASCII (U+0020..U+007E), at most ``n`` characters, case-insensitive.
  The original spelling is kept; comparisons go through :func:`ci_key`.
* ``string(n)``: printable UTF-8, no control characters, at most ``n`` characters.
* ``URL``: ``string(255)``, an absolute ``http``/``https`` URI.
* ``DateTime``: RFC 3339, always UTC. Parsed leniently (``Z``, no designator, fractions and offsets
  are accepted and converted to UTC); always emitted as ``YYYY-MM-DDTHH:MM:SSZ`` (or with
  milliseconds), which never exceeds the spec's 25 characters. ``datetime.isoformat()`` is never
  used for output because it yields ``+00:00`` and six fractional digits.
"""

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

from ocpi_commands.domain.url_policy import ResponseUrlRefused, parse_response_url

_PRINTABLE_ASCII = r"^[\x20-\x7E]*$"
_NO_CONTROL_CHARS = r"^[^\x00-\x1F\x7F-\x9F]*$"


class OcpiModel(BaseModel):
    """Base of every OCPI object: unknown fields are ignored, never rejected (2.3.0 rule, applied to 2.2.1)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    def to_json_dict(self) -> dict[str, Any]:
        """The object as OCPI JSON: optional fields that are unset are omitted."""
        return self.model_dump(mode="json", exclude_none=True)


# For models the most frequent request (START_SESSION) never touches: pydantic builds their validators
# the first time they are used instead of when the API function is imported (bench/README.md).
BUILT_ON_FIRST_USE = ConfigDict(defer_build=True)


def CiString(max_length: int, min_length: int = 1) -> Any:  # noqa: N802 - named after the spec type
    """``CiString(n)``: case-insensitive printable ASCII of at most ``n`` characters."""
    return Annotated[
        str,
        StringConstraints(min_length=min_length, max_length=max_length, pattern=_PRINTABLE_ASCII),
    ]


def String(max_length: int, min_length: int = 0) -> Any:  # noqa: N802 - named after the spec type
    """``string(n)``: printable UTF-8 of at most ``n`` characters, no control characters."""
    return Annotated[
        str,
        StringConstraints(min_length=min_length, max_length=max_length, pattern=_NO_CONTROL_CHARS),
    ]


# The sizes the spec uses, as named types (a type checker cannot evaluate ``CiString(36)`` in an annotation).
def _ci(n: int) -> StringConstraints:
    return StringConstraints(min_length=1, max_length=n, pattern=_PRINTABLE_ASCII)


def _text(n: int) -> StringConstraints:
    return StringConstraints(min_length=0, max_length=n, pattern=_NO_CONTROL_CHARS)


# 2.3.0 ``OpenEnum``: the known values, or any other string (RFC 6648 style names): kept as sent.
OpenEnum = Annotated[str, _ci(255)]

CiString2 = Annotated[str, _ci(2)]
CiString3 = Annotated[str, _ci(3)]
CiString36 = Annotated[str, _ci(36)]
CiString48 = Annotated[str, _ci(48)]
String2 = Annotated[str, _text(2)]
String64 = Annotated[str, _text(64)]
String512 = Annotated[str, _text(512)]


def ci_key(value: str) -> str:
    """Normalised form of a CiString for lookups and keys (the stored value keeps its spelling)."""
    return value.upper()


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    if any(ch.isspace() for ch in value):
        raise ValueError("must not contain whitespace")
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise ValueError("has an invalid port") from exc
    return value


URL = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255, pattern=_PRINTABLE_ASCII),
    AfterValidator(_check_url),
    WithJsonSchema({"type": "string", "format": "uri", "maxLength": 255}),
]


def _check_response_url(value: str) -> str:
    try:
        parse_response_url(value)  # the one parser of response URLs (domain.url_policy)
    except ResponseUrlRefused as exc:
        raise ValueError(str(exc).removeprefix("response_url ")) from None
    return value


# A URL the CPO will POST to: read by the same parser the delivery connects with.
ResponseUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255, pattern=_PRINTABLE_ASCII),
    AfterValidator(_check_response_url),
    WithJsonSchema({"type": "string", "format": "uri", "maxLength": 255}),
]

# RFC 3339 date-time; the designator is optional because OCPI treats a missing one as UTC.
# ASCII digits only (``\d`` would also match other scripts' digits).
_DATETIME_RE = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?([Zz]|[+-][0-9]{2}:[0-9]{2})?$"
)


def parse_datetime(value: Any) -> datetime:
    """Parse an OCPI DateTime into an aware UTC ``datetime``."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 date-time string")
    match = _DATETIME_RE.match(value)
    if match is None:
        raise ValueError("must be an RFC 3339 date-time such as 2015-06-29T20:39:09Z")
    year, month, day, hour, minute, second, fraction, designator = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz = UTC
    if designator and designator not in ("Z", "z"):
        sign = 1 if designator[0] == "+" else -1
        hours, minutes = int(designator[1:3]), int(designator[4:6])
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        parsed = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz)
        return parsed.astimezone(UTC)
    except ValueError as exc:
        raise ValueError(f"is not a valid date-time: {exc}") from exc
    except OverflowError:  # an offset that moves it out of the years 1..9999
        raise ValueError("is out of the range of representable date-times") from None


def format_datetime_seconds(value: datetime) -> str:
    """DateTime without fractional seconds (OCPI 2.1.1's ISO 8601 form): ``YYYY-MM-DDTHH:MM:SSZ``."""
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def format_datetime(value: datetime) -> str:
    """Format as OCPI DateTime: UTC, ``Z``, at most millisecond precision (<= 25 characters)."""
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> datetime:
    return datetime.now(UTC)


DateTime = Annotated[
    datetime,
    BeforeValidator(parse_datetime),
    PlainSerializer(format_datetime, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "maxLength": 25}),
]


class DisplayText(OcpiModel):
    """DisplayText class: a text in one language."""

    language: Annotated[str, StringConstraints(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$")]
    text: String512


def display_text(text: str, language: str = "en") -> DisplayText:
    return DisplayText(language=language, text=text[:512])
