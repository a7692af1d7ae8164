"""DynamoDB stream -> Step Functions and EventBridge: the relay of the table's outbox.

* a newly accepted command (CPO side, ``COMMAND`` PENDING): one command lifecycle execution;
* a newly recorded command we send (eMSP side, ``SENT_COMMAND``): one eMSP command execution, which
  enforces the CPO's timeout;
* an eMSP-side event written with a transition (``EMSP_EVENT``): put on the bus.

Executions are named after the command id, so a retried start is idempotent. Records that cannot be
relayed are reported as batch item failures and retried by Lambda (then the dead-letter queue).
"""

import json
from typing import Any

from ocpi_commands import composition
from ocpi_commands.adapters.dynamodb.codec import deserialize
from ocpi_commands.observability import logger, metric, start_invocation
from ocpi_commands.tracing import traced


def _start_cpo_execution(item: dict[str, Any]) -> None:
    keys = {
        "command_id": item.get("command_id"),
        "party": item.get("party_key"),
        "command_type": item.get("command_type"),
    }
    answer_by = item.get("answer_by_epoch", item["deadline_epoch"])  # records from before answer_by
    if composition.lifecycle().start(item["command_id"], float(answer_by)):
        metric("ExecutionsStarted", CommandType=str(item.get("command_type")))
        logger.info("Execution started", extra={**keys, "correlation_id": item.get("correlation_id")})
    else:
        logger.info("Execution already started", extra=keys)


def _start_emsp_execution(item: dict[str, Any]) -> None:
    keys = {
        "command_id": item.get("command_id"),
        "party": item.get("cpo_key"),
        "command_type": item.get("command_type"),
    }
    if composition.emsp_executions().start(item["command_id"], {"command_id": item["command_id"]}):
        metric("EmspExecutionsStarted", CommandType=str(item.get("command_type")))
        logger.info("eMSP execution started", extra={**keys, "correlation_id": item.get("correlation_id")})
    else:
        logger.info("eMSP execution already started", extra=keys)


def _publish(item: dict[str, Any]) -> None:
    detail = json.loads(item["detail"])
    composition.publisher().publish(item["detail_type"], detail)
    metric("EventsPublished", DetailType=str(item["detail_type"]))
    logger.info("Event published", extra={"detail_type": item["detail_type"], "command_id": detail.get("command_id")})


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
        kind = item.get("type")
        if kind == "COMMAND" and item.get("status") == "PENDING":
            relay = _start_cpo_execution
        elif kind == "SENT_COMMAND" and item.get("status") == "PENDING":
            relay = _start_emsp_execution
        elif kind == "EMSP_EVENT":
            relay = _publish
        else:
            continue
        try:
            relay(item)
        except Exception:
            logger.exception("Could not relay the record; will retry", extra={"type": kind, "pk": item.get("pk")})
            metric("ExecutionStartFailures" if kind != "EMSP_EVENT" else "EventPublishFailures")
            failures.append({"itemIdentifier": dynamodb.get("SequenceNumber")})
    return {"batchItemFailures": failures}
