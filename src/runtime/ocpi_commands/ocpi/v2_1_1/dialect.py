"""OCPI 2.1.1: CommandResponse{result} as both the answer and the result, raw credentials tokens, no
routing headers, case-sensitive ids, DateTimes without fractions, version details without roles."""

from collections.abc import Sequence
from typing import Any

from ocpi_commands.domain.model import CommandRecord, PartyRef
from ocpi_commands.domain.receiving import Answer
from ocpi_commands.ocpi.dialects import Dialect
from ocpi_commands.ocpi.types import format_datetime_seconds
from ocpi_commands.ocpi.v2_1_1 import commands


def command_response(answer: Answer) -> dict[str, Any]:
    # The 2.1.1 errata difference (data as a bare CommandResponseType) is never written.
    return {"result": commands.CommandResponseType(answer.result.value).value}


def command_result(command: CommandRecord) -> dict[str, Any] | None:
    assert command.result is not None
    result = commands.RESULTS.get(command.result)
    return None if result is None else {"result": result.value}


def version_details(endpoints: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    # No roles in 2.1.1: one endpoint per module (the first given, which the caller orders).
    listed: dict[str, str] = {}
    for name, _, url in endpoints:
        listed.setdefault(name, url)
    return {"version": commands.VERSION, "endpoints": [{"identifier": n, "url": u} for n, u in listed.items()]}


def _to_domain(body: commands.CommandRequest, owner: PartyRef) -> Any:
    return body.to_domain(owner)


DIALECT = Dialect(
    version=commands.VERSION,
    command_types=commands.COMMAND_TYPES,
    request_models=commands.REQUEST_MODELS,
    to_domain=_to_domain,
    command_response=command_response,
    command_result=command_result,
    version_details=version_details,
    response_values=frozenset(r.value for r in commands.CommandResponseType),
    result_model=commands.CommandResponse,
    raw_token=True,
    routing_headers=False,
    exact_ids=True,
    timestamp=format_datetime_seconds,
)
