"""State machine tasks of the eMSP command execution (``statemachine/emsp_command.asl.json``).

``answer``: is the CPO's answer recorded? (else ``AnswerNotYetRecorded``, retried by the state
machine; when the retries run out the send was interrupted: ``lost``). ``wait``: keep the task token
with the command (``.waitForTaskToken``; the CommandResult sends it back). ``timeout``: no result
within the CPO's timeout plus the grace. ``lost``: SEND_FAILED. A dependency failure is
``DependencyUnavailable``, retried by the state machine.
"""

from typing import Any

from ocpi_commands import composition
from ocpi_commands.domain.sending import AnswerNotYetRecorded
from ocpi_commands.observability import bind, logger, start_invocation
from ocpi_commands.tracing import is_dependency_error, traced

__all__ = ["AnswerNotYetRecorded", "DependencyUnavailable", "handler"]


class DependencyUnavailable(Exception):
    """An AWS dependency failed; Step Functions retries the task (see the ASL Retry)."""


def _error_name(event: dict[str, Any]) -> str | None:
    error = event.get("error") or {}
    return error.get("Error") if isinstance(error, dict) else None


@traced
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start_invocation(context)
    step = event.get("step")
    command_id = str(event["command_id"])
    bind(command_id=command_id, step=step)
    service = composition.sent_lifecycle()
    try:
        if step == "answer":
            return service.await_answer(command_id)
        if step == "wait":
            kept = service.keep_task_token(command_id, event["task_token"], event.get("execution_arn"))
            return {"command_id": command_id, "waiting": kept}
        if step == "timeout":
            return {"command_id": command_id, "timed_out": service.time_out(command_id, _error_name(event))}
        if step == "lost":
            return {"command_id": command_id, "send_failed": service.give_up_send(command_id, _error_name(event))}
    except AnswerNotYetRecorded:
        raise
    except Exception as exc:
        if is_dependency_error(exc):
            logger.exception("The step failed on a dependency; the state machine retries")
            raise DependencyUnavailable(str(exc)) from exc
        raise
    raise ValueError(f"unknown step {step!r}")
