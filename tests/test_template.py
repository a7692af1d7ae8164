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


def test_the_api_routes_every_path_to_the_api_function_and_credentials_to_theirs(template):
    """Paths outside /ocpi/ too: the function answers them with an OCPI 404 envelope, as locally."""
    assert sorted(tpl.api_routes(template)) == [
        ("ANY", "/", "ApiFunction"),
        ("ANY", "/emsp/v1/commands/{command}", "EmspApiFunction"),
        ("ANY", "/ocpi/emsp/{version}/commands/{command}/{uid}", "EmspResultsFunction"),
        ("ANY", "/ocpi/{proxy+}", "ApiFunction"),
        ("ANY", "/ocpi/{version}/credentials", "CredentialsFunction"),
        ("ANY", "/{proxy+}", "ApiFunction"),
    ]
    from ocpi_commands_dev.emulation.apigw import Routes

    routes = Routes(template)
    assert routes.match("POST", "/ocpi/2.2.1/credentials")[0] == "CredentialsFunction"
    assert routes.match("POST", "/ocpi/cpo/2.2.1/commands/START_SESSION")[0] == "ApiFunction"
    assert routes.match("POST", "/ocpi/emsp/2.2.1/commands/START_SESSION/abc")[0] == "EmspResultsFunction"
    assert routes.match("POST", "/ocpi/emsp/2.2.1/commands/START_SESSION")[0] == "ApiFunction"  # no uid: 404
    assert routes.match("POST", "/emsp/v1/commands/START_SESSION")[0] == "EmspApiFunction"
    assert routes.match("GET", "/elsewhere")[1] == "/{proxy+}"


def test_only_the_emsp_backend_api_needs_iam_and_api_gateway_invokes_it_itself(template):
    assert tpl.iam_resources(template) == {"/emsp/v1/commands/{command}"}
    auth = tpl.functions(template)["EmspApiFunction"].events["Commands"]["Properties"]["Auth"]
    assert auth == {"Authorizer": "AWS_IAM", "InvokeRole": "NONE"}


def test_every_state_machine_has_complete_substitutions_and_runs_in_moto(template):
    for logical_id in tpl.resources_of_type(template, "AWS::Serverless::StateMachine"):
        definition, substitutions = tpl.state_machine(template, logical_id)
        assert set(re.findall(r"\$\{(\w+)\}", json.dumps(definition))) == set(substitutions), logical_id
        assert "JSONata" not in json.dumps(definition) and "http:invoke" not in json.dumps(definition)


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


def test_the_credentials_cache_ttl_is_a_parameter_of_at_most_ten_seconds_by_default(template):
    """`party disable` / `party rotate` take effect within this delay (SECURITY.md, "Revocation")."""
    from ocpi_commands.config import Settings

    parameter = template["Parameters"]["CredentialsCacheTtlSeconds"]
    assert parameter["Default"] <= 10 and parameter["MaxValue"] <= 60
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["CREDENTIALS_CACHE_TTL_SECONDS"] == {"Ref": "CredentialsCacheTtlSeconds"}
    assert Settings(table_name="t").credentials_cache_ttl_seconds == parameter["Default"]


def test_no_deployed_function_can_get_the_local_response_url_policy(template):
    """The local policy (http, loopback) is set only by `make run` and tests, never through the template,
    whatever the stage: a deployed stack always enforces the strict one."""
    from ocpi_commands.config import Settings

    assert "RESPONSE_URL_POLICY" not in json.dumps(template)
    for stage in ("test", "local", "dev", "prod"):
        assert Settings(table_name="t", stage=stage).response_url_policy == "strict"


def test_every_checkov_skip_says_why(template):
    """`make checkov` fails on any finding; what does not fit is skipped in the resource, with its reason."""
    skips = [
        (logical_id, skip)
        for logical_id, res in template["Resources"].items()
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for logical_id, skip in skips:
        assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]), (logical_id, skip)
        assert 20 <= len(skip.get("comment", "")) <= 160, (logical_id, skip)


def test_every_function_has_reserved_concurrency(template):
    default = template["Globals"]["Function"]["ReservedConcurrentExecutions"]
    assert default == {"Ref": "LifecycleReservedConcurrency"}
    api = tpl.resource(template, "ApiFunction")["Properties"]
    assert api["ReservedConcurrentExecutions"] == {"Ref": "ApiReservedConcurrency"}  # also protects DynamoDB
