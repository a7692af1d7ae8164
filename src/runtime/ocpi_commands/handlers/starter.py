"""DynamoDB stream -> one Step Functions execution per newly accepted command (the outbox's relay).

The execution is named after the command id, so a retried start is idempotent. Records that cannot
be started are reported as batch item failures and retried by Lambda.
"""

from typing import Any

from ocpi_commands import composition
from ocpi_commands.adapters.dynamodb.codec import deserialize
from ocpi_commands.observability import logger, metric, start_invocation
from ocpi_commands.tracing import traced


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
            answer_by = item.get("answer_by_epoch", item["deadline_epoch"])  # records from before answer_by
            started = composition.lifecycle().start(item["command_id"], float(answer_by))
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
