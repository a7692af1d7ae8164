"""DynamoDB stream -> one Step Functions execution per newly accepted command.

The execution is named after the command id, so a retried start is idempotent (StartExecution with
the same name and input returns the running execution; ExecutionAlreadyExists means it ran).
Records that cannot be started are reported as batch item failures and retried by Lambda.
"""

import json
import math
import time
from typing import Any

from ocpi_commands import aws
from ocpi_commands.config import get_settings
from ocpi_commands.dal.repository import deserialize
from ocpi_commands.handlers.tracing import traced
from ocpi_commands.observability import logger, metric, start_invocation


def wait_seconds(deadline_epoch: int, now: float) -> int:
    """Seconds left until the announced deadline (at least 1: TimeoutSecondsPath needs a positive int)."""
    return max(1, math.ceil(deadline_epoch - now))


def start(item: dict[str, Any]) -> bool:
    """Start the command's execution; False if it already exists."""
    settings = get_settings()
    command_id = item["command_id"]
    payload = {"command_id": command_id, "wait_seconds": wait_seconds(int(item["deadline_epoch"]), time.time())}
    try:
        aws.client("stepfunctions").start_execution(
            stateMachineArn=settings.state_machine_arn, name=command_id, input=json.dumps(payload)
        )
    except Exception as exc:
        if aws.error_code(exc) == "ExecutionAlreadyExists":
            return False
        raise
    return True


@traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start_invocation(context)
    failures = []
    for record in event.get("Records", []):
        dynamodb = record.get("dynamodb", {})
        image = dynamodb.get("NewImage")
        if record.get("eventName") != "INSERT" or not image:
            continue
        item = deserialize(image)
        if item.get("type") != "COMMAND" or item.get("status") != "PENDING":
            continue
        keys = {
            "command_id": item.get("command_id"),
            "party": item.get("party_key"),
            "command_type": item.get("command_type"),
        }
        try:
            started = start(item)
        except Exception:
            logger.exception("Could not start the command's execution; will retry", extra=keys)
            metric("ExecutionStartFailures")
            failures.append({"itemIdentifier": dynamodb.get("SequenceNumber")})
            continue
        if started:
            metric("ExecutionsStarted", CommandType=str(item.get("command_type")))
            logger.info("Execution started", extra={**keys, "correlation_id": item.get("correlation_id")})
        else:
            logger.info("Execution already started", extra=keys)
    return {"batchItemFailures": failures}
