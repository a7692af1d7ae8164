"""OCPI 2.2.1, the baseline: CommandResponse{result, timeout, message}, CommandResult{result, message},
Base64 credentials tokens, routing headers, CiString ids, version details with roles."""

from collections.abc import Sequence
from typing import Any

from ocpi_commands.domain.model import CommandRecord, PartyRef
from ocpi_commands.domain.receiving import Answer
from ocpi_commands.ocpi.dialects import Dialect
from ocpi_commands.ocpi.types import display_text
from ocpi_commands.ocpi.v2_2_1 import commands
from ocpi_commands.ocpi.vocabulary import CommandResponseType, CommandType


def command_response(answer: Answer) -> dict[str, Any]:
    message = [display_text(answer.message)] if answer.message else None
    return commands.CommandResponse(result=answer.result, timeout=answer.timeout, message=message).to_json_dict()


def command_result(command: CommandRecord) -> dict[str, Any] | None:
    assert command.result is not None
    return commands.CommandResult(result=command.result, message=command.result_message).to_json_dict()


def version_details_for(version: str) -> Any:
    def details(endpoints: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
        return {
            "version": version,
            "endpoints": [{"identifier": name, "role": role, "url": url} for name, role, url in endpoints],
        }

    return details


def _to_domain(body: commands.CommandRequest, owner: PartyRef) -> Any:
    return body.to_domain()


DIALECT = Dialect(
    version="2.2.1",
    command_types=frozenset(CommandType),
    request_models=commands.REQUEST_MODELS,
    to_domain=_to_domain,
    command_response=command_response,
    command_result=command_result,
    version_details=version_details_for("2.2.1"),
    response_values=frozenset(r.value for r in CommandResponseType),
    result_model=commands.CommandResult,
)
