"""API Gateway (REST API, proxy integration) events, shaped as API Gateway and ``sam local`` build them."""

import base64
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

from ocpi_commands_dev.emulation import template as tpl


def _route_regex(path: str) -> re.Pattern[str]:
    pattern = re.escape(path)
    pattern = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", pattern)
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
    return re.compile(f"^{pattern}/?$")


def _ordered(table: list[tuple[str, str, str]]) -> list[tuple[str, str, str, re.Pattern[str]]]:
    routes = [(m, p, f, _route_regex(p)) for m, p, f in table]
    # As API Gateway: a path without a greedy {proxy+} is more specific, and matched first.
    return sorted(routes, key=lambda r: ("+}" in r[1], -r[1].count("/")))


class Routes:
    """The template's ``Api`` events: which function serves a method and path."""

    def __init__(self, template: dict[str, Any] | None = None):
        self.table = tpl.api_routes(template or tpl.load_template())
        self.routes = _ordered(self.table)

    @classmethod
    def of(cls, table: list[tuple[str, str, str]]) -> "Routes":
        """Routes from ``(method, path, function)`` rows (``tpl.api_routes``), without reading a template."""
        routes = cls.__new__(cls)
        routes.table = list(table)
        routes.routes = _ordered(routes.table)
        return routes

    def match(self, method: str, path: str) -> tuple[str, str, dict[str, str]] | None:
        """``(function logical id, resource path, path parameters)`` or ``None``."""
        for route_method, resource, function, regex in self.routes:
            found = regex.match(path)
            if found and route_method in ("ANY", method.upper()):
                return function, resource, found.groupdict()
        return None


def build_event(
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: str | bytes | None = None,
    *,
    resource: str = "/ocpi/{proxy+}",
    path_parameters: dict[str, str] | None = None,
    query: str = "",
    stage: str = "local",
    domain_name: str = "localhost",
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    headers = dict(headers or {})
    is_binary = isinstance(body, bytes)
    if is_binary:
        try:
            body = body.decode("utf-8")  # type: ignore[union-attr]
            is_binary = False
        except UnicodeDecodeError:
            body = base64.b64encode(body).decode("ascii")  # type: ignore[arg-type]
    multi_query = parse_qs(query, keep_blank_values=True) if query else None
    now = time.time()
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method.upper(),
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} if multi_query else None,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method.upper(),
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "extendedRequestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(now * 1000),
            "domainName": domain_name,
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent")},
            "accountId": "123456789012",
            "apiId": "local",
        },
        "body": body,
        "isBase64Encoded": is_binary,
    }
