"""The OpenAPI document is generated from the models that validate requests (one source of truth)."""

from ocpi_commands_dev.openapi import openapi_document

COMMANDS = "/ocpi/cpo/2.2.1/commands"


def _resolve(doc, ref):
    node = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_every_command_has_its_request_model():
    doc = openapi_document()
    expected = {
        "START_SESSION": "StartSession",
        "STOP_SESSION": "StopSession",
        "RESERVE_NOW": "ReserveNow",
        "CANCEL_RESERVATION": "CancelReservation",
        "UNLOCK_CONNECTOR": "UnlockConnector",
    }
    for command, model in expected.items():
        operation = doc["paths"][f"{COMMANDS}/{command}"]["post"]
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith(f"/{model}")
        assert "200" in operation["responses"]


def test_schema_carries_the_spec_constraints():
    doc = openapi_document()
    schemas = doc["components"]["schemas"]
    start = schemas["StartSession"]
    assert set(start["required"]) == {"response_url", "token", "location_id"}
    assert start["properties"]["location_id"]["maxLength"] == 36
    assert start["properties"]["response_url"]["maxLength"] == 255
    token = schemas["Token"]
    assert token["properties"]["country_code"]["maxLength"] == 2
    assert token["properties"]["issuer"]["maxLength"] == 64
    assert token["properties"]["last_updated"]["format"] == "date-time"
    whitelist = _resolve(doc, token["properties"]["whitelist"]["$ref"])
    assert whitelist["enum"] == ["ALWAYS", "ALLOWED", "ALLOWED_OFFLINE", "NEVER"]
    envelope = schemas["CommandResponseEnvelope_2_2_1"]
    assert {"status_code", "timestamp"} <= set(envelope["required"])


def test_one_document_per_version_with_that_versions_models():
    old = openapi_document("2.1.1")
    assert old["info"]["version"] == "2.1.1"
    assert "/ocpi/cpo/2.1.1/commands/CANCEL_RESERVATION" not in old["paths"]
    schemas = old["components"]["schemas"]
    assert "auth_id" in schemas["Token"]["properties"] and "country_code" not in schemas["Token"]["properties"]
    assert schemas["ReserveNow"]["properties"]["reservation_id"]["type"] == "integer"
    assert schemas["StartSession"]["properties"]["location_id"]["maxLength"] == 39
    assert "timeout" not in schemas["CommandResponse"]["properties"]
    new = openapi_document("2.3.0")
    token_type = new["components"]["schemas"]["Token"]["properties"]["type"]
    assert "enum" not in token_type and "$ref" not in token_type  # an OpenEnum: any string
    assert "/ocpi/cpo/2.3.0/commands/CANCEL_RESERVATION" in new["paths"]
