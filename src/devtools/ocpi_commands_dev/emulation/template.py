"""Read ``template.yaml`` (CloudFormation tags included) so local runs and tests use its own definitions.

The table, the routes, the functions, the event rules, the stream mapping and the state machine
substitutions are all read from the template: what runs locally is what deploys.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[4]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that turns ``!Ref x`` into ``{"Ref": "x"}`` and ``!Sub s`` into ``{"Fn::Sub": s}``."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def resource(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v.get("Type") == resource_type}


def resolve_intrinsics(value: Any, refs: dict[str, Any]) -> Any:
    """Resolve the intrinsic functions the template uses in environment variables.

    ``refs`` maps logical ids and parameters (``Ref``), ``Resource.Attribute`` (``Fn::GetAtt``) and
    ``Condition:<name>`` (``Fn::If``) to values; ``Fn::Sub`` substitutes ``${name}`` from the same map.
    """
    if isinstance(value, dict) and len(value) == 1:
        ((name, arg),) = value.items()
        if name == "Ref":
            return refs.get(arg)
        if name == "Fn::GetAtt":
            return refs.get(".".join(arg) if isinstance(arg, list) else arg)
        if name == "Fn::If":
            return resolve_intrinsics(arg[1] if refs.get(f"Condition:{arg[0]}") else arg[2], refs)
        if name == "Fn::Sub":
            text = arg if isinstance(arg, str) else arg[0]
            for key, val in refs.items():
                text = text.replace("${" + key + "}", str(val))
            return text
    return value


def create_table_kwargs(template: dict[str, Any], logical_id: str, table_name: str) -> dict[str, Any]:
    """``CreateTable`` arguments from the template's ``AWS::DynamoDB::Table`` definition."""
    props = resource(template, logical_id)["Properties"]
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if props.get("StreamSpecification"):
        kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    return kwargs


@dataclass
class FunctionSpec:
    logical_id: str
    handler: str
    environment: dict[str, Any] = field(default_factory=dict)
    events: dict[str, Any] = field(default_factory=dict)
    condition: str | None = None
    timeout: int = 3


def functions(template: dict[str, Any]) -> dict[str, FunctionSpec]:
    """Every ``AWS::Serverless::Function`` with its handler, merged environment (Globals first) and events."""
    globals_ = template.get("Globals", {}).get("Function", {})
    global_env = globals_.get("Environment", {}).get("Variables", {})
    found = {}
    for logical_id, res in resources_of_type(template, "AWS::Serverless::Function").items():
        props = res.get("Properties", {})
        env = {**global_env, **props.get("Environment", {}).get("Variables", {})}
        found[logical_id] = FunctionSpec(
            logical_id=logical_id,
            handler=props.get("Handler") or globals_.get("Handler"),
            environment=env,
            events=props.get("Events", {}),
            condition=res.get("Condition"),
            timeout=int(props.get("Timeout", globals_.get("Timeout", 3))),
        )
    return found


def api_routes(template: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(method, path, function logical id)`` for every ``Api`` event, as ``sam local start-api`` reads them."""
    routes = []
    for spec in functions(template).values():
        for event in spec.events.values():
            if event.get("Type") == "Api":
                props = event["Properties"]
                routes.append((props["Method"].upper(), props["Path"], spec.logical_id))
    return routes


def iam_resources(template: dict[str, Any]) -> set[str]:
    """The resource paths whose ``Api`` events require IAM authorisation (``Auth.Authorizer: AWS_IAM``)."""
    found = set()
    for spec in functions(template).values():
        for event in spec.events.values():
            props = event.get("Properties", {})
            if event.get("Type") == "Api" and (props.get("Auth") or {}).get("Authorizer") == "AWS_IAM":
                found.add(props["Path"])
    return found


def state_machine(
    template: dict[str, Any], logical_id: str = "CommandLifecycle"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ASL definition (parsed) and the ``DefinitionSubstitutions`` of a state machine."""
    props = resource(template, logical_id)["Properties"]
    definition = json.loads((PROJECT_ROOT / props["DefinitionUri"]).read_text(encoding="utf-8"))
    return definition, props.get("DefinitionSubstitutions", {})


def substitute(definition: dict[str, Any], values: dict[str, str]) -> str:
    """Apply ``DefinitionSubstitutions`` (``${Name}`` placeholders) to an ASL definition."""
    text = json.dumps(definition)
    for name, value in values.items():
        text = text.replace("${" + name + "}", str(value))
    return text
