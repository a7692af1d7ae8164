"""API Gateway's own answers (template GatewayResponses) are OCPI envelopes: rendered with API Gateway's
substitution rules (no VTL; ``$context.error.messageString`` already quoted), parsed, and checked as
OCPI; and the local server (`make run`) answers with the same renderings."""

import json
import re
import socket
import urllib.error
import urllib.request

import pytest

from ocpi_commands.ocpi.types import DateTime
from ocpi_commands_dev.emulation import gateway
from ocpi_commands_dev.emulation import template as tpl
from ocpi_commands_dev.emulation.apigw import Routes
from ocpi_commands_dev.emulation.server import ApiServer

RFC3339_UTC = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"


@pytest.fixture(scope="module")
def template():
    return tpl.load_template()


def parse_datetime(value: str):
    from pydantic import TypeAdapter

    return TypeAdapter(DateTime).validate_python(value)


@pytest.mark.parametrize("response_type", sorted(gateway.DEFAULT_STATUS))
@pytest.mark.parametrize(
    "ids", [{}, {"X-Request-ID": "r-1", "X-Correlation-ID": "c-1"}, {"x-request-id": "lower", "X-Correlation-ID": "c"}]
)
def test_every_gateway_response_is_a_valid_ocpi_envelope(template, response_type, ids):
    rendered = gateway.render(template, response_type, ids)
    body = json.loads(rendered.body)  # valid JSON: messageString is not quoted twice
    assert set(body) == {"data", "status_code", "status_message", "timestamp"}
    expected = 3000 if rendered.status >= 500 else 2000
    assert body["status_code"] == expected and body["status_message"] == gateway.MESSAGES[response_type]
    assert re.match(RFC3339_UTC, body["timestamp"]) and parse_datetime(body["timestamp"])  # OCPI DateTime
    assert body["data"]["gateway_response"] == response_type and body["data"]["request_id"]
    assert rendered.headers["Content-Type"] == "application/json"
    lowered = {k.lower(): v for k, v in ids.items()}
    for name in ("X-Request-ID", "X-Correlation-ID"):
        assert rendered.headers.get(name) == lowered.get(name.lower())  # echoed when sent


def test_throttling_keeps_its_429(template):
    assert gateway.render(template, "THROTTLED", {}).status == 429
    assert gateway.render(template, "INTEGRATION_TIMEOUT", {}).status == 504


def test_a_message_that_needs_escaping_stays_valid_json(template):
    rendered = gateway.render(template, "ACCESS_DENIED", {}, message='User "x" is not authorized \\ here')
    assert json.loads(rendered.body)["status_message"] == 'User "x" is not authorized \\ here'


def test_the_templates_use_only_what_gateway_responses_substitute(template):
    """No VTL (it is not run for gateway responses) and only $context variables API Gateway has there."""
    responses = template["Resources"]["OcpiApi"]["Properties"]["GatewayResponses"]
    assert {"THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    for name, response in responses.items():
        body = response["ResponseTemplates"]["application/json"]
        assert not any(vtl in body for vtl in ("#set", "#if", "#foreach", "$util", "$input")), name
        assert '"$context.error.messageString"' not in body, name  # it is quoted already
        assert '$context.requestTime",' not in body.replace('"request_time":"$context.requestTime",', ""), name


# ------------------------------------------------------------------------------ the local server


@pytest.fixture
def local_api(template):
    def failing(function, event):
        raise RuntimeError("the integration failed")

    server = ApiServer("127.0.0.1", 0, Routes(template), failing, "local").start()
    yield server
    server.stop()


def test_the_local_server_answers_a_failed_integration_with_the_gateway_response(local_api):
    request = urllib.request.Request(
        f"http://127.0.0.1:{local_api.port}/ocpi/versions", headers={"X-Request-ID": "r-502"}
    )
    with pytest.raises(urllib.error.HTTPError) as failure:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 - loopback
    assert failure.value.code == 502 and failure.value.headers["X-Request-ID"] == "r-502"
    body = json.loads(failure.value.read())
    assert (body["status_code"], body["status_message"]) == (3000, "Internal server error")


def test_the_local_server_answers_a_body_over_the_limit_with_the_gateway_response(local_api):
    with socket.create_connection(("127.0.0.1", local_api.port), timeout=10) as sock:
        sock.sendall(
            b"POST /ocpi/cpo/2.2.1/commands/START_SESSION HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"X-Correlation-ID: c-413\r\nContent-Length: 20000000\r\n\r\n"
        )
        answer = b""
        while b"}" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and b"X-Correlation-ID: c-413" in head
    assert json.loads(body)["status_code"] == 2000
