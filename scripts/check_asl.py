#!/usr/bin/env python3
"""Check every state machine definition against template.yaml (part of `make validate`).

For each ``statemachine/*.asl.json`` and each state machine of the template:
  * the file is referenced by a state machine's ``DefinitionUri`` in template.yaml;
  * every ``${Name}`` placeholder in the ASL has a ``DefinitionSubstitutions`` entry, and every
    entry is used by the ASL (a missing one deploys a literal ``${Name}``, an unused one is a stale wire);
  * with the placeholders replaced by dummy values, the definition is valid JSON, loads into moto's
    ASL interpreter (the same grammar as Step Functions), and StartAt / Next / Default point at
    existing states (in Parallel branches and Map iterators too).

Usage: .venv/bin/python scripts/check_asl.py [template.yaml]
Exit 0 when everything holds, 1 with one line per problem otherwise.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from ocpi_commands_dev.emulation.template import load_template, resources_of_type

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
ACCOUNT, REGION = "123456789012", "us-east-1"

# Dummy ARNs by the type of the resource a substitution points at (!GetAtt X.Arn or !Ref X).
_ARN_BY_TYPE = {
    "AWS::Serverless::Function": "arn:aws:lambda:{r}:{a}:function:{n}",
    "AWS::Lambda::Function": "arn:aws:lambda:{r}:{a}:function:{n}",
    "AWS::SQS::Queue": "arn:aws:sqs:{r}:{a}:{n}",
    "AWS::SNS::Topic": "arn:aws:sns:{r}:{a}:{n}",
    "AWS::Events::EventBus": "arn:aws:events:{r}:{a}:event-bus/{n}",
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{r}:{a}:table/{n}",
    "AWS::Serverless::SimpleTable": "arn:aws:dynamodb:{r}:{a}:table/{n}",
    "AWS::Serverless::StateMachine": "arn:aws:states:{r}:{a}:stateMachine:{n}",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:{r}:{a}:stateMachine:{n}",
}


def dummy_value(name: str, value: Any, resources: dict[str, Any]) -> str:
    """A stand-in for a substitution value that CloudFormation resolves only at deploy time."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    target = None
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"][0]
    elif isinstance(value, dict) and "Ref" in value:
        target = value["Ref"]
    rtype = resources.get(target, {}).get("Type") if target else None
    pattern = _ARN_BY_TYPE.get(rtype, "arn:aws:lambda:{r}:{a}:function:{n}")
    return pattern.format(r=REGION, a=ACCOUNT, n=target or name)


def dangling_references(states_container: dict[str, Any], where: str) -> list[str]:
    """StartAt / Next / Default / Choices[].Next naming no state, recursively into branches and iterators."""
    problems = []
    states = states_container.get("States", {})
    start = states_container.get("StartAt")
    if start not in states:
        problems.append(f"{where}: StartAt {start!r} is not a state")
    for name, state in states.items():
        targets = [state.get("Next"), state.get("Default")]
        targets += [c.get("Next") for c in state.get("Choices", [])]
        targets += [c.get("Next") for c in state.get("Catch", [])]
        for target in targets:
            if target is not None and target not in states:
                problems.append(f"{where}: state {name!r} goes to {target!r}, which is not a state")
        for i, branch in enumerate(state.get("Branches", [])):
            problems += dangling_references(branch, f"{where} > {name}.Branches[{i}]")
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                problems += dangling_references(state[key], f"{where} > {name}.{key}")
    return problems


def check_definition(label: str, text: str, substitutions: dict[str, Any], resources: dict[str, Any]) -> list[str]:
    problems = []
    used = set(PLACEHOLDER.findall(text))
    for name in sorted(used - substitutions.keys()):
        problems.append(f"{label}: placeholder ${{{name}}} has no DefinitionSubstitutions entry in the template")
    for name in sorted(substitutions.keys() - used):
        problems.append(f"{label}: DefinitionSubstitutions entry {name!r} is not used by the definition")
    values = {name: dummy_value(name, substitutions.get(name), resources) for name in used}
    concrete = PLACEHOLDER.sub(lambda m: values[m.group(1)], text)
    try:
        definition = json.loads(concrete)
    except json.JSONDecodeError as exc:
        return [*problems, f"{label}: not valid JSON after substitution: {exc}"]
    try:
        AmazonStateLanguageParser.parse(concrete)
    except Exception as exc:  # noqa: BLE001 - any parser failure is a finding
        problems.append(f"{label}: rejected by the ASL interpreter: {exc}")
    problems += dangling_references(definition, label)
    return problems


def main(argv: list[str]) -> int:
    template_path = Path(argv[1]).resolve() if len(argv) > 1 else ROOT / "template.yaml"
    base = template_path.parent
    template = load_template(template_path)
    resources = template.get("Resources", {})
    problems: list[str] = []
    checked: set[Path] = set()

    machines = {}
    for stype in STATE_MACHINE_TYPES:
        machines.update(resources_of_type(template, stype))
    for logical_id, res in sorted(machines.items()):
        props = res.get("Properties", {})
        substitutions = props.get("DefinitionSubstitutions", {}) or {}
        uri = props.get("DefinitionUri") or props.get("DefinitionS3Location")
        if isinstance(uri, str):
            path = (base / uri).resolve()
            label = f"{logical_id} ({uri})"
            if not path.is_file():
                problems.append(f"{label}: DefinitionUri file does not exist")
                continue
            checked.add(path)
            problems += check_definition(label, path.read_text(encoding="utf-8"), substitutions, resources)
        elif "Definition" in props:
            text = json.dumps(props["Definition"])
            problems += check_definition(f"{logical_id} (inline Definition)", text, substitutions, resources)
        elif "DefinitionString" in props and isinstance(props["DefinitionString"], str):
            problems += check_definition(
                f"{logical_id} (DefinitionString)", props["DefinitionString"], substitutions, resources
            )
        else:
            print(f"note: {logical_id}: definition not stored in this repository, not checked")

    files = sorted((base / "statemachine").glob("*.asl.json"))
    for path in files:
        if path.resolve() not in checked:
            rel = path.relative_to(base)
            problems.append(f"{rel}: not referenced by any state machine's DefinitionUri in {template_path.name}")

    if problems:
        print(f"check_asl: {len(problems)} problem(s):", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"check_asl: {len(machines)} state machine(s), {len(files)} ASL file(s): OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
