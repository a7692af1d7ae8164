"""What differs per OCPI version on the wire, with one ``Dialect`` per version.

The domain's commands, answers and results are version-free; a dialect reads a version's request
bodies into them and writes the version's answers and results. Each version's differences are in
its own package (``ocpi/v2_1_1``, ``ocpi/v2_2_1``, ``ocpi/v2_3_0``); a version's package is imported
the first time a request of that version arrives.
"""

import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ocpi_commands.domain import commands as domain
from ocpi_commands.domain.model import CommandRecord, PartyRef
from ocpi_commands.domain.receiving import Answer
from ocpi_commands.ocpi.types import format_datetime
from ocpi_commands.ocpi.vocabulary import CommandType

SUPPORTED_VERSIONS = ("2.1.1", "2.2.1", "2.3.0")
DEFAULT_VERSION = "2.2.1"


@dataclass(frozen=True)
class Dialect:
    version: str
    # The commands the version has (an unknown or absent one is answered NOT_SUPPORTED).
    command_types: frozenset[CommandType]
    request_models: Mapping[CommandType, Any]
    # Reads a validated body into the domain's command; ``owner`` is the party the credentials name.
    to_domain: Callable[[Any, PartyRef], domain.Command]
    command_response: Callable[[Answer], dict[str, Any]]
    # The body POSTed to response_url, or None when the version has no way to say it.
    command_result: Callable[[CommandRecord], dict[str, Any] | None]
    # The version's Version details object for these endpoints ({identifier: (role, url)}).
    version_details: Callable[[Mapping[str, tuple[str, str]]], dict[str, Any]]
    # Transport differences: the raw credentials token in Authorization (no Base64), routing headers.
    raw_token: bool = False
    routing_headers: bool = True
    # location_id / evse_uid compared case-sensitively (2.1.1 string(39)) instead of as CiString.
    exact_ids: bool = False
    timestamp: Callable[[datetime], str] = field(default=format_datetime)

    def result_body(self, command: CommandRecord) -> bytes | None:
        body = self.command_result(command)
        return None if body is None else json.dumps(body, separators=(",", ":")).encode()


_MODULES = {
    "2.1.1": "ocpi_commands.ocpi.v2_1_1.dialect",
    "2.2.1": "ocpi_commands.ocpi.v2_2_1.dialect",
    "2.3.0": "ocpi_commands.ocpi.v2_3_0.dialect",
}
_loaded: dict[str, Dialect] = {}


def for_version(version: str) -> Dialect:
    """The dialect of ``version`` (one of ``SUPPORTED_VERSIONS``; KeyError otherwise)."""
    found = _loaded.get(version)
    if found is None:
        found = importlib.import_module(_MODULES[version]).DIALECT
        _loaded[version] = found
    return found


class _ResultWire:
    """The domain's ``ResultWire`` port: a CommandResult in the version of the command received."""

    def body(self, command: CommandRecord) -> bytes | None:
        return for_version(command.ocpi_version).result_body(command)

    def raw_token(self, ocpi_version: str) -> bool:
        return for_version(ocpi_version).raw_token

    def routing_headers(self, ocpi_version: str) -> bool:
        return for_version(ocpi_version).routing_headers


RESULT_WIRE = _ResultWire()
