"""API Gateway's own answers: the template's ``GatewayResponses``, rendered the way API Gateway does.

API Gateway answers some requests itself, without invoking the function: throttling, a failed or
timed-out integration, a body above its 10 MB limit. A gateway response is a status code, header
mappings and a body template. The body template is *not* processed by VTL: API Gateway only
substitutes variables (``$context.*``, ``$stageVariables.*``), so there is no ``#if``, no ``$util``
and no date formatting. ``$context.error.messageString`` is the message already quoted as a JSON
string. Header mappings take ``method.request.header.NAME`` (left out when the request has no such
header), ``context.NAME``, ``stageVariables.NAME`` or a ``'literal'``.

The local server (``make run``) answers with these renderings, and the tests parse them, so what an
eMSP sees from API Gateway is checked as OCPI like the function's own answers.
"""

import json
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any, NamedTuple

# The response types this product meets, with API Gateway's own default status codes.
DEFAULT_STATUS = {
    "THROTTLED": 429,
    "QUOTA_EXCEEDED": 429,
    "REQUEST_TOO_LARGE": 413,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "ACCESS_DENIED": 403,
    "BAD_REQUEST_BODY": 400,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "INTEGRATION_FAILURE": 502,
    "INTEGRATION_TIMEOUT": 504,
    "API_CONFIGURATION_ERROR": 500,
}
# API Gateway's messages for them ($context.error.message).
MESSAGES = {
    "THROTTLED": "Too Many Requests",
    "QUOTA_EXCEEDED": "Limit Exceeded",
    "REQUEST_TOO_LARGE": "Request Too Long",
    "MISSING_AUTHENTICATION_TOKEN": "Missing Authentication Token",
    "ACCESS_DENIED": "Forbidden",
    "BAD_REQUEST_BODY": "Invalid request body",
    "UNSUPPORTED_MEDIA_TYPE": "Unsupported Media Type",
    "INTEGRATION_FAILURE": "Internal server error",
    "INTEGRATION_TIMEOUT": "Endpoint request timed out",
    "API_CONFIGURATION_ERROR": "Internal server error",
}

_VARIABLE = re.compile(r"\$(context|stageVariables)\.([A-Za-z0-9_.]+[A-Za-z0-9_])")


class Rendered(NamedTuple):
    status: int
    headers: dict[str, str]
    body: str


def context_variables(
    response_type: str, message: str, *, request_id: str | None = None, epoch_ms: int | None = None
) -> dict[str, str]:
    """The ``$context`` values a gateway response can use (``requestTime`` in API Gateway's CLF format)."""
    epoch_ms = int(time.time() * 1000) if epoch_ms is None else epoch_ms
    return {
        "error.message": message,
        "error.messageString": json.dumps(message),
        "error.responseType": response_type,
        "requestId": request_id or str(uuid.uuid4()),
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch_ms / 1000)),
        "requestTimeEpoch": str(epoch_ms),
    }


def gateway_response(template: Mapping[str, Any], response_type: str) -> tuple[str, Mapping[str, Any]]:
    """The gateway response API Gateway uses for ``response_type``: its own, else DEFAULT_4XX/5XX."""
    responses = template["Resources"]["OcpiApi"]["Properties"].get("GatewayResponses", {})
    if response_type in responses:
        return response_type, responses[response_type]
    default = "DEFAULT_5XX" if DEFAULT_STATUS[response_type] >= 500 else "DEFAULT_4XX"
    return default, responses.get(default, {})


def render(
    template: Mapping[str, Any],
    response_type: str,
    request_headers: Mapping[str, str],
    *,
    message: str | None = None,
    context: Mapping[str, str] | None = None,
    stage_variables: Mapping[str, str] | None = None,
) -> Rendered:
    """Render the answer API Gateway gives for ``response_type`` to a request with these headers.

    An unknown variable raises KeyError (API Gateway would substitute nothing): a typo in the template
    fails the tests instead of reaching an eMSP."""
    _, response = gateway_response(template, response_type)
    values = dict(context or context_variables(response_type, message or MESSAGES[response_type]))
    stage = dict(stage_variables or {})
    lowered = {k.lower(): v for k, v in request_headers.items()}

    def substitute(match: re.Match[str]) -> str:
        source = values if match[1] == "context" else stage
        return source[match[2]]

    body = _VARIABLE.sub(substitute, response.get("ResponseTemplates", {}).get("application/json", ""))
    headers = {"Content-Type": "application/json"}
    for name, expression in response.get("ResponseParameters", {}).get("Headers", {}).items():
        value = _mapped(str(expression), lowered, values, stage)
        if value is not None:
            headers[name] = value
    status = int(response.get("StatusCode", DEFAULT_STATUS[response_type]))
    return Rendered(status, headers, body)


def _mapped(
    expression: str, headers: Mapping[str, str], context: Mapping[str, str], stage: Mapping[str, str]
) -> str | None:
    if expression.startswith("'") and expression.endswith("'") and len(expression) >= 2:
        return expression[1:-1]
    for prefix, source in (("method.request.header.", headers), ("context.", context), ("stageVariables.", stage)):
        if expression.startswith(prefix):
            key = expression.removeprefix(prefix)
            return source.get(key.lower() if source is headers else key)
    raise KeyError(f"unsupported gateway response mapping: {expression}")
