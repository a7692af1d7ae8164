"""The CPO platform's push feed: "Location Updated" and "EVSE Status Changed", EventBridge -> SQS -> here.

Each SQS message is one EventBridge event. An invalid one is logged with its reason and counted, and
not retried (a retry cannot fix it); one that fails for another reason (DynamoDB) is reported as a
batch item failure, so only it returns to the queue (and to the dead-letter queue after 5 receives).
"""

import json
from typing import Any

from ocpi_commands import composition
from ocpi_commands.domain.feed import InvalidFeedEvent
from ocpi_commands.domain.model import UpdateSource
from ocpi_commands.observability import bind, logger, start_invocation
from ocpi_commands.tracing import traced


@traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start_invocation(context)
    feed = composition.feed_service()
    failures, heard = [], False
    for record in event.get("Records", []):
        message_id = record.get("messageId")
        try:
            body = json.loads(record.get("body") or "")
        except ValueError:
            body = None
        envelope = body if isinstance(body, dict) else {}
        bind(message_id=message_id, event_id=envelope.get("id"), detail_type=envelope.get("detail-type"))
        try:
            feed.handle(envelope.get("detail-type"), envelope.get("detail"), UpdateSource.PUSH)
            heard = True
        except InvalidFeedEvent as exc:
            logger.error("Invalid feed event refused", extra={"problems": str(exc)})
        except Exception:
            logger.exception("Feed event failed; it returns to the queue")
            failures.append({"itemIdentifier": message_id})
    if heard:
        feed.heard(UpdateSource.PUSH)
    return {"batchItemFailures": failures}
