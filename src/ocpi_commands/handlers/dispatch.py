"""State machine task: keep the task token with the command and publish "Command Dispatched".

Invoked with ``lambda:invoke.waitForTaskToken``: the execution then waits until the charge point's
answer sends the token back, or until the announced timeout ends.
"""

import json
from typing import Any

from ocpi_commands import aws
from ocpi_commands.config import get_settings
from ocpi_commands.domain.lifecycle import EVENT_COMMAND_DISPATCHED, dispatch_detail
from ocpi_commands.domain.models import CommandStatus
from ocpi_commands.handlers.runtime import is_dependency_error, lifecycle, repository
from ocpi_commands.handlers.tracing import traced
from ocpi_commands.observability import bind, logger, metric, start_invocation
from ocpi_commands.ocpi.commands import CommandType
from ocpi_commands.ocpi.types import utc_now


class DispatchRetryable(Exception):
    """Publishing the dispatch event failed; the state machine retries this task."""


def dispatch(command_id: str, task_token: str, execution_arn: str | None) -> dict[str, Any]:
    settings = get_settings()
    repo = repository()
    transition = repo.record_dispatch(command_id, task_token, execution_arn, utc_now(), None)
    command = transition.command
    if command is None:
        raise ValueError(f"unknown command {command_id}")
    bind(
        command_id=command_id,
        party=command.party.key,
        command_type=command.command_type.value,
        correlation_id=command.correlation_id,
    )
    if not transition.won:
        # Already resolved (a result for an earlier dispatch attempt won): end this wait at once.
        logger.info("Command already resolved; not dispatching again", extra={"status": command.status.value})
        lifecycle().task_tokens.succeed(task_token, {"resolved_by": "earlier_attempt"})
        return {"dispatched": False}
    if command.command_type == CommandType.RESERVE_NOW and command.cp_reservation_id is None:
        cp_id = repo.next_cp_reservation_id()
        transition = repo.record_dispatch(command_id, task_token, execution_arn, utc_now(), cp_id)
        if transition.command is None or transition.command.status != CommandStatus.PENDING:
            lifecycle().task_tokens.succeed(task_token, {"resolved_by": "earlier_attempt"})
            return {"dispatched": False}
        command = transition.command
    detail = dispatch_detail(command)
    response = aws.client("events").put_events(
        Entries=[
            {
                "EventBusName": settings.event_bus_name,
                "Source": settings.event_source,
                "DetailType": EVENT_COMMAND_DISPATCHED,
                "Detail": json.dumps(detail),
                "Resources": [execution_arn] if execution_arn else [],
            }
        ]
    )
    if response.get("FailedEntryCount"):
        entry = response.get("Entries", [{}])[0]
        raise DispatchRetryable(f"PutEvents failed: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}")
    metric("CommandsDispatched", CommandType=command.command_type.value)
    logger.info(
        "Command dispatched",
        extra={
            "location_id": command.location_id,
            "evse_uid": command.evse_uid,
            "cp_reservation_id": command.cp_reservation_id,
        },
    )
    return {"dispatched": True}


@traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start_invocation(context)
    try:
        return dispatch(event["command_id"], event["task_token"], event.get("execution_arn"))
    except DispatchRetryable:
        logger.exception("Dispatch failed; the state machine retries")
        metric("DispatchFailures")
        raise
    except Exception as exc:
        if is_dependency_error(exc):
            logger.exception("Dispatch failed; the state machine retries")
            metric("DispatchFailures")
            raise DispatchRetryable(str(exc)) from exc
        raise
