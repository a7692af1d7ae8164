"""template.yaml: cfn-lint clean, handlers importable, substitutions complete, read with its CloudFormation tags."""

import importlib
import json
import re

import pytest

from ocpi_commands_dev.emulation import template as tpl


@pytest.fixture(scope="module")
def template():
    return tpl.load_template()


def test_cfn_lint_is_clean():
    from cfnlint.api import lint_all

    matches = lint_all(tpl.TEMPLATE_PATH.read_text())
    # Errors and warnings, as the cfn-lint command line reports them (informational rules aside).
    assert [str(m) for m in matches if m.rule.id[0] in "EW"] == []


def test_every_function_handler_is_importable(template):
    for spec in tpl.functions(template).values():
        module, _, attr = spec.handler.rpartition(".")
        assert callable(getattr(importlib.import_module(module), attr)), spec.handler


def test_state_machine_substitutions_are_complete(template):
    definition, substitutions = tpl.state_machine(template)
    placeholders = set(re.findall(r"\$\{(\w+)\}", json.dumps(definition)))
    assert placeholders == set(substitutions)
    assert "JSONata" not in json.dumps(definition)
    assert "http:invoke" not in json.dumps(definition)


def test_the_api_routes_every_ocpi_path_to_the_api_function_and_credentials_to_theirs(template):
    assert sorted(tpl.api_routes(template)) == [
        ("ANY", "/ocpi/{proxy+}", "ApiFunction"),
        ("ANY", "/ocpi/{version}/credentials", "CredentialsFunction"),
    ]
    from ocpi_commands_dev.emulation.apigw import Routes

    routes = Routes(template)
    assert routes.match("POST", "/ocpi/2.2.1/credentials")[0] == "CredentialsFunction"
    assert routes.match("POST", "/ocpi/cpo/2.2.1/commands/START_SESSION")[0] == "ApiFunction"


def test_table_definition_is_the_one_tests_use(template):
    kwargs = tpl.create_table_kwargs(template, "CommandsTable", "t")
    assert kwargs["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert kwargs["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    [index] = kwargs["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "gsi1" and index["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    props = tpl.resource(template, "CommandsTable")["Properties"]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_every_function_has_a_log_group_with_retention(template):
    groups = tpl.resources_of_type(template, "AWS::Logs::LogGroup")
    for logical_id, res in tpl.resources_of_type(template, "AWS::Serverless::Function").items():
        group = res["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert group in groups, logical_id
        assert groups[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
