"""Scheduled work of the live data (EventBridge Scheduler):

* ``{"task": "pull"}``: pull Locations (and Sessions) from the CPO platform's Sender interface
  (FeedPullIntervalMinutes; off by default);
* ``{"task": "watch"}``: every minute, the minutes since the feed was last heard from, as the metric the
  silence alarm watches.
"""

from typing import Any

from ocpi_commands import composition
from ocpi_commands.observability import logger, start_invocation
from ocpi_commands.tracing import traced


@traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start_invocation(context)
    task = event.get("task") if isinstance(event, dict) else None
    if task == "watch":
        return {"minutes_since_feed_update": composition.feed_service().watch()}
    if task == "pull":
        return {"pulls": [report._asdict() for report in composition.puller().pull_all()]}
    logger.warning("Unexpected scheduled task ignored", extra={"task": task})
    return {"ignored": f"unexpected task {task!r}"}
