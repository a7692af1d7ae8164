"""Step Functions: start one execution per command, and resume a waiting one with its task token."""

import json
from collections.abc import Callable, Mapping
from typing import Any

from ocpi_commands.adapters import aws


class StepFunctionsTaskTokens:
    """Resume a waiting execution; a token that is already closed means "already resolved".

    A late SendTaskSuccess answers ``TaskTimedOut`` on AWS and ``InvalidToken`` in the emulation.
    """

    ALREADY_CLOSED = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})

    def __init__(self, client: Callable[[], Any] = lambda: aws.client("stepfunctions")):
        self._client = client

    def succeed(self, token: str | None, output: Mapping[str, Any]) -> bool:
        if not token:
            return False
        try:
            self._client().send_task_success(taskToken=token, output=json.dumps(dict(output)))
            return True
        except Exception as exc:
            if aws.error_code(exc) in self.ALREADY_CLOSED:
                return False
            raise


class StepFunctionsExecutions:
    """StartExecution named after the command: a repeated start is a no-op (idempotent outbox)."""

    def __init__(self, state_machine_arn: str | None, client: Callable[[], Any] = lambda: aws.client("stepfunctions")):
        self.state_machine_arn = state_machine_arn
        self._client = client

    def start(self, name: str, payload: Mapping[str, Any]) -> bool:
        if not self.state_machine_arn:
            raise RuntimeError("STATE_MACHINE_ARN is not configured")
        try:
            self._client().start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(dict(payload))
            )
        except Exception as exc:
            if aws.error_code(exc) == "ExecutionAlreadyExists":
                return False
            raise
        return True
