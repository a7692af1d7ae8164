"""Entry point of the charge point backend (CSMS), through EventBridge (docs/events.md):

* "Command Result Reported": the charge point's outcome of a dispatched command;
* "Reservation Canceled": a CPO-side cancellation, sent to the eMSP as CANCELED_RESERVATION;
* "Session Updated": a session and its owner, so STOP_SESSION can be checked.

An event that does not validate is logged and counted, not retried (a retry cannot fix it).
"""

from typing import Any

from pydantic import ValidationError

from ocpi_commands import composition
from ocpi_commands.domain.events import (
    RESERVATION_CANCELED,
    RESULT_REPORTED,
    SESSION_UPDATED,
    ReservationCanceledReport,
    ResultReport,
    SessionReport,
)
from ocpi_commands.observability import bind, logger, metric, start_invocation
from ocpi_commands.tracing import traced


@traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start_invocation(context)
    detail_type = event.get("detail-type")
    detail: dict[str, Any] = event["detail"] if isinstance(event.get("detail"), dict) else {}
    event_id = event.get("id") or ""
    bind(event_id=event_id, detail_type=detail_type)
    if detail_type == RESULT_REPORTED:
        bind(command_id=detail.get("command_id"))
    lifecycle = composition.lifecycle()
    try:
        if detail_type == RESULT_REPORTED:
            outcome = lifecycle.record_charge_point_result(ResultReport.model_validate(detail), event_id)
            return {"recorded": outcome.won, "delivery": outcome.delivery.value if outcome.delivery else None}
        if detail_type == RESERVATION_CANCELED:
            outcome = lifecycle.cancel_reservation_by_cpo(ReservationCanceledReport.model_validate(detail))
            return {"canceled": outcome.won, "delivery": outcome.delivery.value if outcome.delivery else None}
        if detail_type == SESSION_UPDATED:
            return {"updated": lifecycle.update_session(SessionReport.model_validate(detail))}
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        logger.error("Invalid charge point event ignored", extra={"problems": problems})
        metric("InvalidEvents")
        return {"ignored": problems}
    logger.warning("Unexpected event type ignored")
    metric("InvalidEvents")
    return {"ignored": f"unexpected detail-type {detail_type!r}"}
