"""API Gateway (REST API, proxy integration) events in and out, as plain request/response objects."""

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ocpi_commands.domain.errors import NotJson

_EMPTY_SEGMENTS = re.compile(r"/{2,}")


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # names lower-cased
    raw_body: str | None
    base64_body: bool = False
    domain_name: str | None = None
    stage: str | None = None

    @classmethod
    def from_apigw(cls, event: Mapping[str, Any]) -> "HttpRequest":
        headers: dict[str, str] = {}
        for name, values in (event.get("multiValueHeaders") or {}).items():
            if values:
                headers[name.lower()] = values[-1]
        for name, value in (event.get("headers") or {}).items():
            if value is not None:
                headers[name.lower()] = value
        context = event.get("requestContext") or {}
        return cls(
            method=str(event.get("httpMethod") or "GET").upper(),
            # An empty segment (".../commands//START_SESSION") is no segment: it routes as a single slash.
            path=_EMPTY_SEGMENTS.sub("/", str(event.get("path") or "")),
            headers=headers,
            raw_body=event.get("body"),
            base64_body=bool(event.get("isBase64Encoded")),
            domain_name=context.get("domainName"),
            stage=context.get("stage"),
        )

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def body_size(self) -> int:
        body = self.raw_body or ""
        return len(body) * 3 // 4 if self.base64_body else len(body.encode("utf-8"))

    @property
    def body(self) -> str | None:
        """The body as text (a Base64-encoded body decoded; invalid encodings are not JSON)."""
        if not self.base64_body or not self.raw_body:
            return self.raw_body
        try:
            return base64.b64decode(self.raw_body).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise NotJson("The body is not valid JSON") from None


@dataclass
class HttpResponse:
    status: int
    body: Mapping[str, Any] | list[Any] | None
    headers: dict[str, str] = field(default_factory=dict)

    def to_apigw(self) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", **self.headers}
        payload = "" if self.body is None else json.dumps(self.body, separators=(",", ":"), ensure_ascii=False)
        return {"statusCode": self.status, "headers": headers, "body": payload, "isBase64Encoded": False}
