"""What differs per OCPI version on the wire, with one ``Dialect`` per version.

The domain's commands, answers and results are version-free; a dialect reads a version's request
bodies into them and writes the version's answers and results. Each version's differences are in
its own package (``ocpi/v2_1_1``, ``ocpi/v2_2_1``, ``ocpi/v2_3_0``); a version's package is imported
the first time a request of that version arrives.
"""

import importlib
import json
from collections.abc import Callable, Mapping, Sequence
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
    # The version's Version details object for these endpoints ((identifier, role, url), in order).
    version_details: Callable[[Sequence[tuple[str, str, str]]], dict[str, Any]]
    # The eMSP side: the CommandResponse results a CPO may answer, and the model of the body it POSTs
    # to our response_url (2.1.1: the CommandResponse again; 2.2+: CommandResult).
    response_values: frozenset[str]
    result_model: Any
    # Transport differences: the raw credentials token in Authorization (no Base64), routing headers.
    raw_token: bool = False
    routing_headers: bool = True
    # location_id / evse_uid compared case-sensitively (2.1.1 string(39)) instead of as CiString.
    exact_ids: bool = False
    timestamp: Callable[[datetime], str] = field(default=format_datetime)

    def result_body(self, command: CommandRecord) -> bytes | None:
        body = self.command_result(command)
        return None if body is None else json.dumps(body, separators=(",", ":")).encode()

    def read_command_response(self, data: Any) -> dict[str, Any] | None:
        """A CPO's CommandResponse, read leniently: the object, a one-element list of it (seen in the
        field), or a bare CommandResponseType (the 2.1.1 errata's form). None when it is none of these."""
        if isinstance(data, list) and len(data) == 1:
            data = data[0]
        if isinstance(data, str):
            data = {"result": data}
        if not isinstance(data, dict) or data.get("result") not in self.response_values:
            return None
        found: dict[str, Any] = {"result": data["result"]}
        timeout = data.get("timeout")
        if isinstance(timeout, float) and timeout.is_integer():
            timeout = int(timeout)
        if isinstance(timeout, int) and not isinstance(timeout, bool):
            found["timeout"] = timeout
        message = data.get("message")
        if isinstance(message, list):
            found["message"] = [m for m in message if isinstance(m, dict)][:10]
        return found

    def read_command_result(self, body: Any) -> dict[str, Any]:
        """The CommandResult POSTed to our response_url, validated (raises pydantic's ValidationError)."""
        result: dict[str, Any] = self.result_model.model_validate(body).to_json_dict()
        return result


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


def describe_errors(errors: list[Any]) -> str:
    """pydantic validation errors in a few words: ``field: problem; ...`` (the first five)."""
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ())) or "body"
        parts.append(f"{where}: {str(error.get('msg', 'invalid')).removeprefix('Value error, ')}")
    return "; ".join(parts)


class _SendWire:
    """The eMSP side's ``SendWire`` port: commands written, and answers read, in the CPO's version."""

    def has_command(self, version: str, command_type: CommandType) -> bool:
        return command_type in for_version(version).command_types

    def request_body(
        self, version: str, command_type: CommandType, request: dict[str, Any], response_url: str
    ) -> dict[str, Any]:
        from pydantic import ValidationError

        model = for_version(version).request_models[command_type]
        unknown = sorted(set(request) - set(model.model_fields))
        if unknown:  # a typo would otherwise be dropped silently
            raise ValueError(f"{', '.join(unknown[:5])}: not a field of this command in OCPI {version}")
        try:
            body: dict[str, Any] = model.model_validate({**request, "response_url": response_url}).to_json_dict()
        except ValidationError as exc:
            raise ValueError(describe_errors(exc.errors())) from None
        return body

    def read_response(self, version: str, data: Any) -> dict[str, Any] | None:
        return for_version(version).read_command_response(data)

    def read_result(self, version: str, body: Any) -> dict[str, Any]:
        from pydantic import ValidationError

        from ocpi_commands.domain.sending import InvalidResult

        try:
            return for_version(version).read_command_result(body)
        except ValidationError as exc:
            raise InvalidResult(describe_errors(exc.errors())) from None

    def raw_token(self, version: str) -> bool:
        return for_version(version).raw_token

    def routing_headers(self, version: str) -> bool:
        return for_version(version).routing_headers


SEND_WIRE = _SendWire()
