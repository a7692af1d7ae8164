"""Structured logs and CloudWatch metrics (EMF), shared by every function.

* One Powertools ``Logger`` (JSON lines). Every line about a command carries ``command_id``,
  ``party``, ``command_type`` and the ``correlation_id`` (the X-Correlation-ID), so one Logs
  Insights query follows a command from request to CommandResult.
* Metrics go to one namespace with low-cardinality dimensions only (command type, outcome):
  never ids or parties.
* Credentials tokens are never logged; a driver Token is logged only through :func:`mask_token`.
"""

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric

__all__ = ["MetricUnit", "bind", "logger", "mask", "mask_token", "metric", "start_invocation"]
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "ocpi-commands"))

NAMESPACE_DEFAULT = "OcpiCommands"


def _namespace() -> str:
    return os.environ.get("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE_DEFAULT)


def metric(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count, **dimensions: str) -> None:
    """Emit one EMF metric with its own dimensions (kept to command type / outcome)."""
    if is_metrics_disabled():
        return
    with single_metric(name=name, unit=unit, value=value, namespace=_namespace()) as m:
        for key, val in dimensions.items():
            m.add_dimension(name=key, value=str(val))


def mask(value: str | None, keep: int = 4) -> str | None:
    """``"12345678905880"`` -> ``"**********5880"``: enough to correlate, not enough to reuse."""
    if value is None:
        return None
    if len(value) <= keep:
        return "*" * len(value)
    return "*" * (len(value) - keep) + value[-keep:]


def mask_token(token: dict[str, Any] | None) -> dict[str, Any] | None:
    """A driver Token for logs: uid partially masked, contract ids and card numbers hidden."""
    if not token:
        return None
    return {
        "country_code": token.get("country_code"),
        "party_id": token.get("party_id"),
        "type": token.get("type"),
        "uid": mask(token.get("uid")),
        "contract_id": mask(token.get("contract_id")),
    }


_cold = {"start": True}


def start_invocation(context: Any, **keys: Any) -> bool:
    """Reset this thread's log keys and bind the Lambda context. Returns whether this is a cold start.

    Keys are thread-local so that functions sharing one process (the local emulation) never mix
    each other's fields; in Lambda there is one invocation per process at a time.
    """
    cold = _cold["start"]
    _cold["start"] = False
    logger.thread_safe_clear_keys()
    context_keys = {
        "function_name": getattr(context, "function_name", None),
        "function_request_id": getattr(context, "aws_request_id", None),
        "cold_start": cold,
    }
    logger.thread_safe_append_keys(**{k: v for k, v in {**context_keys, **keys}.items() if v is not None})
    if cold:
        metric("ColdStart", function=str(getattr(context, "function_name", None) or "local"))
    return cold


def bind(**keys: Any) -> None:
    """Add keys to every following log line of this invocation (this thread)."""
    logger.thread_safe_append_keys(**{k: v for k, v in keys.items() if v is not None})
