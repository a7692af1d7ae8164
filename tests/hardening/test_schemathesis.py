"""Schema-driven fuzzing: schemathesis generates requests from the OpenAPI document the models produce,
positive (valid by the schema) and negative (violating it), sent to the API function in-process."""

import json

import pytest
import schemathesis
from hypothesis import given
from ocpi_checks import assert_ocpi_answer
from schemathesis.generation import GenerationMode

from helpers import DEMO_TOKEN, auth
from ocpi_commands_dev.emulation.apigw import build_event
from ocpi_commands_dev.openapi import openapi_document

SCHEMA = schemathesis.openapi.from_dict(openapi_document())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def send(api, case):
    if type(case.body).__name__ == "NotSet":
        body = None
    elif isinstance(case.body, bytes):
        body = case.body  # sent as a binary (base64-encoded) body, as API Gateway would
    else:
        body = json.dumps(case.body)
    headers = {"Content-Type": "application/json", "Authorization": auth(DEMO_TOKEN)}
    headers.update({k: str(v) for k, v in (case.headers or {}).items()})
    response = api.module.handler(build_event(case.method, case.formatted_path, headers, body), None)
    return assert_ocpi_answer(response, case.formatted_path), response["statusCode"]


# Negative cases violate the schema of the body: the operations that have one (the five commands).
CASES = [(op, GenerationMode.POSITIVE) for op in OPERATIONS] + [
    (op, GenerationMode.NEGATIVE) for op in OPERATIONS if len(op.body)
]


@pytest.mark.parametrize(
    ("operation", "mode"), CASES, ids=lambda v: f"{v.method.upper()} {v.path}" if hasattr(v, "path") else v.value
)
def test_generated_requests_get_ocpi_answers(api, operation, mode):
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        answer, status = send(api, case)
        if mode == GenerationMode.POSITIVE and "/commands/" in case.formatted_path:
            assert status == 200, answer

    check()
