"""Every API Gateway event in events/ (the ones `sam local invoke ApiFunction -e ...` takes) gets its answer.

A new file in events/ without an expectation here fails, so the events never rot.
"""

import json
from pathlib import Path

import pytest

from ocpi_commands_dev.emulation import template as tpl

EVENTS = Path(__file__).resolve().parents[1] / "events"

# file -> (HTTP status, OCPI status_code, CommandResponse.result or None)
EXPECTED = {
    "api-start-session.json": (200, 1000, "ACCEPTED"),
    "api-stop-session.json": (200, 1000, "ACCEPTED"),
    "api-reserve-now.json": (200, 1000, "ACCEPTED"),
    "api-cancel-reservation.json": (200, 1000, "ACCEPTED"),
    "api-unlock-connector.json": (200, 1000, "ACCEPTED"),
    "api-start-session-unknown-location.json": (200, 2003, "REJECTED"),
    "api-start-session-not-supported.json": (200, 1000, "NOT_SUPPORTED"),
    "api-start-session-connector-required.json": (200, 2001, "REJECTED"),
    "api-start-session-invalid-body.json": (200, 2001, "REJECTED"),
    "api-start-session-not-json.json": (400, 2001, None),
    "api-start-session-unknown-token.json": (401, 2000, None),
    "api-start-session-missing-authorization.json": (401, 2000, None),
    "api-stop-session-unknown-session.json": (200, 1000, "UNKNOWN_SESSION"),
    "api-stop-session-other-party.json": (200, 1000, "REJECTED"),
    "api-unlock-connector-not-permitted.json": (200, 1000, "REJECTED"),
    "api-unknown-command.json": (200, 1000, "NOT_SUPPORTED"),
    "api-get-command-not-allowed.json": (405, 2000, None),
    "api-versions.json": (200, 1000, None),
    "api-version-details.json": (200, 1000, None),
    "api-start-session-addressed-elsewhere.json": (200, 2001, None),
    # OCPI 2.1.1 (NL*OLD, raw token, no routing headers) and 2.3.0 (BR*NEO)
    "api-start-session-2.1.1.json": (200, 1000, "ACCEPTED"),
    "api-reserve-now-2.1.1.json": (200, 1000, "ACCEPTED"),
    "api-cancel-reservation-2.1.1.json": (200, 1000, "NOT_SUPPORTED"),  # 2.1.1 has no CANCEL_RESERVATION
    "api-version-details-2.1.1.json": (200, 1000, None),
    "api-version-details-2.3.0.json": (200, 1000, None),
    "api-start-session-2.3.0.json": (200, 1000, "ACCEPTED"),  # TokenType EMAID
    "api-unknown-command-2.3.0.json": (200, 1000, "NOT_SUPPORTED"),  # CommandType is an OpenEnum
    "api-start-session-other-version.json": (200, 2000, "REJECTED"),  # a 2.2.1 partner on the 2.1.1 endpoint
}
API_EVENTS = sorted(p.name for p in EVENTS.glob("api-*.json"))


def test_every_api_event_has_an_expectation():
    assert set(API_EVENTS) == set(EXPECTED)


def _handler():
    import importlib

    spec = tpl.functions(tpl.load_template())["ApiFunction"]
    module, _, attr = spec.handler.rpartition(".")
    return getattr(importlib.import_module(module), attr)


@pytest.mark.parametrize("name", API_EVENTS)
def test_api_event(ddb, name):
    event = json.loads((EVENTS / name).read_text())
    assert event["resource"] == "/ocpi/{proxy+}"  # the template's route
    response = _handler()(event, None)
    body = json.loads(response["body"])
    http, status_code, result = EXPECTED[name]
    assert (response["statusCode"], body["status_code"]) == (http, status_code), body
    if result is not None:
        assert body["data"]["result"] == result, body
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    headers.update({k.lower(): v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()})
    assert headers["x-request-id"] == event["headers"]["X-Request-ID"]
    assert headers["x-correlation-id"] == event["headers"]["X-Correlation-ID"]
