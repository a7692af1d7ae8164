"""What differs per OCPI version on the wire, in one place: how answers and results are written.

The domain's answers and results are version-free; this module picks the version's wire objects
to write them. (2.2.1 today; each further version adds its row here.)
"""

import json
from typing import Any

from ocpi_commands.domain.model import CommandRecord
from ocpi_commands.domain.receiving import Answer
from ocpi_commands.ocpi.types import display_text
from ocpi_commands.ocpi.v2_2_1 import commands as v2_2_1


def command_response(answer: Answer) -> dict[str, Any]:
    """``data`` of the synchronous answer: the CommandResponse."""
    message = [display_text(answer.message)] if answer.message else None
    return v2_2_1.CommandResponse(result=answer.result, timeout=answer.timeout, message=message).to_json_dict()


def command_result(command: CommandRecord) -> bytes:
    """The body POSTed to ``response_url``: the bare CommandResult (no envelope)."""
    assert command.result is not None
    result = v2_2_1.CommandResult(result=command.result, message=command.result_message)
    return json.dumps(result.to_json_dict(), separators=(",", ":")).encode()
