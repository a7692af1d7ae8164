"""DynamoDB stream -> Step Functions and EventBridge: the relay of the table's outbox.

* a newly accepted command (CPO side, ``COMMAND`` PENDING): one command lifecycle execution;
* a newly recorded command we send (eMSP side, ``SENT_COMMAND``): one eMSP command execution;
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


def _relay(kind: str, item: dict[str, Any]) -> None:
    keys = {k: item.get(k) for k in ("command_id", "command_type", "correlation_id")}
    if kind == "EMSP_EVENT":
        detail = json.loads(item["detail"])
        composition.publisher().publish(item["detail_type"], detail)
        metric("EventsPublished", DetailType=str(item["detail_type"]))
        logger.info(
            "Event published", extra={"detail_type": item["detail_type"], "command_id": detail.get("command_id")}
        )
        return
    if kind == "COMMAND":
        answer_by = item.get("answer_by_epoch", item["deadline_epoch"])  # records from before answer_by
        started = composition.lifecycle().start(item["command_id"], float(answer_by))
        name, party = "ExecutionsStarted", item.get("party_key")
    else:
        started = composition.emsp_executions().start(item["command_id"], {"command_id": item["command_id"]})
        name, party = "EmspExecutionsStarted", item.get("cpo_key")
    if started:
        metric(name, CommandType=str(item.get("command_type")))
    logger.info(
        "Execution started" if started else "Execution already started", extra={**keys, "party": party, "type": kind}
    )


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
        kind = str(item.get("type"))
        if not (kind in ("COMMAND", "SENT_COMMAND") and item.get("status") == "PENDING" or kind == "EMSP_EVENT"):
            continue
        try:
            _relay(kind, item)
        except Exception:
            logger.exception("Could not relay the record; will retry", extra={"type": kind, "pk": item.get("pk")})
            metric("EventPublishFailures" if kind == "EMSP_EVENT" else "ExecutionStartFailures")
            failures.append({"itemIdentifier": dynamodb.get("SequenceNumber")})
    return {"batchItemFailures": failures}
