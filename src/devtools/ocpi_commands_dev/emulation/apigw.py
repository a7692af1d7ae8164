"""API Gateway (REST API, proxy integration) events, shaped as API Gateway and ``sam local`` build them."""

import base64
import re
import time
import uuid
from collections.abc import Iterable
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
    # As API Gateway: the most specific resource wins: a path without a greedy {proxy+} first
    # (/ocpi/{version}/credentials), then the longest literal prefix (/ocpi/{proxy+} before /{proxy+}).
    return sorted(routes, key=lambda r: ("+}" in r[1], -len(r[1].split("{", 1)[0])))


def gateway_template(template: dict[str, Any]) -> dict[str, Any]:
    """The part of the template ``gateway.render`` reads (the API's GatewayResponses), small enough
    to hand to a worker process."""
    properties = template.get("Resources", {}).get("OcpiApi", {}).get("Properties", {})
    return {"Resources": {"OcpiApi": {"Properties": {"GatewayResponses": properties.get("GatewayResponses", {})}}}}


class Routes:
    """The template's ``Api`` events: which function serves a method and path."""

    def __init__(self, template: dict[str, Any] | None = None):
        template = template or tpl.load_template()
        self.table = tpl.api_routes(template)
        self.routes = _ordered(self.table)
        self.template = gateway_template(template)  # what gateway.render needs: the GatewayResponses
        self.iam_resources = tpl.iam_resources(template)

    @classmethod
    def of(
        cls,
        table: list[tuple[str, str, str]],
        gateway: dict[str, Any] | None = None,
        iam_resources: Iterable[str] = (),
    ) -> "Routes":
        """Routes from ``(method, path, function)`` rows (``tpl.api_routes``), the template's gateway
        responses (``gateway_template``) and its AWS_IAM resources, without reading a template."""
        routes = cls.__new__(cls)
        routes.table = list(table)
        routes.routes = _ordered(routes.table)
        routes.template = gateway or gateway_template({})
        routes.iam_resources = set(iam_resources)
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
