"""What every answer of the OCPI API must look like, whatever was sent."""

import json
import re

DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$")
EXPECTED_STATUS_CODES = {
    200: {1000, 2000, 2001, 2003},  # 2000: another version's endpoint; 3000 never for bad input
    400: {2001},
    401: {2000},
    404: {2000},
    405: {2000},
    413: {2001},
}
RESPONSE_TYPES = {"ACCEPTED", "REJECTED", "NOT_SUPPORTED", "UNKNOWN_SESSION"}


def assert_ocpi_answer(response: dict, path: str = "") -> dict:
    status = response["statusCode"]
    assert status in EXPECTED_STATUS_CODES, response
    body = json.loads(response["body"])
    assert isinstance(body, dict), response
    assert body["status_code"] in EXPECTED_STATUS_CODES[status], response
    assert isinstance(body["timestamp"], str) and DATETIME.match(body["timestamp"]), response
    assert len(body["timestamp"]) <= 25
    assert "Traceback" not in response["body"]
    headers = {k.lower() for k in (response.get("headers") or {})} | {
        k.lower() for k in (response.get("multiValueHeaders") or {})
    }
    assert {"x-request-id", "x-correlation-id", "content-type"} <= headers, response
    if status == 200 and "/commands/" in path and "data" in body and isinstance(body["data"], dict):
        assert body["data"]["result"] in RESPONSE_TYPES, body
        assert isinstance(body["data"]["timeout"], int) and body["data"]["timeout"] >= 0
    return body
