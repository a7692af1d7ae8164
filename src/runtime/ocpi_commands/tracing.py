"""X-Ray tracing for the lifecycle functions (not the API function), and the dependency-error test.

Powertools' ``Tracer`` imports the X-Ray SDK and patches the libraries it finds: ~14 ms of cold start
in the deployment package with tracing on (3 ms disabled), and ~150 ms in a development virtualenv
where ``patch_all`` also imports ``requests`` and the like (bench/README.md). The lifecycle functions
are asynchronous, so they pay it once per cold start and get subsegments for every AWS call and for
the POST to the eMSP. The synchronous API function does not import it (it would take its cold start
from 1.17x to about 1.22x the floor): its traces come from API Gateway and Lambda's Active tracing.

The tracer is built on the first invocation, not at import, so importing a handler module never
needs the X-Ray SDK (tools and tests import them).
"""

import functools
from collections.abc import Callable
from typing import Any

_tracer: list[Any] = []

Handler = Callable[[dict[str, Any], Any], Any]


def _get_tracer() -> Any:
    if not _tracer:
        from aws_lambda_powertools import Tracer

        _tracer.append(Tracer())
    return _tracer[0]


def traced(handler: Handler) -> Handler:
    """Trace each invocation (no response capture: results may carry command details)."""
    wrapped: list[Handler] = []

    @functools.wraps(handler)
    def invoke(event: dict[str, Any], context: Any) -> Any:
        if not wrapped:
            wrapped.append(_get_tracer().capture_lambda_handler(handler, capture_response=False))
        return wrapped[0](event, context)

    return invoke


def is_dependency_error(exc: BaseException) -> bool:
    """An AWS SDK error (botocore), which the callers' retry policies cover."""
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(exc, (BotoCoreError, ClientError))
