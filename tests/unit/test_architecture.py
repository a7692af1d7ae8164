"""The layers and which way imports point (docs/architecture.md), and what the functions' package holds.

    ocpi/ (wire models per version)  ->  domain/ (rules, lifecycle, delivery, ports)  <-  adapters/ (AWS, HTTP)
                                    api/ + handlers/ (doorways)  ->  composition  ->  all of them

Checked on the source (every import statement, at any depth), so a lazy import inside a function
counts as much as one at the top of a module.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "src" / "runtime"
PACKAGE = RUNTIME / "ocpi_commands"

SDKS = ("boto3", "botocore", "urllib3", "aws_xray_sdk")
DEV_ONLY = ("ocpi_commands_dev", "moto", "yaml", "pytest", "werkzeug", "requests")


def module_name(path: Path) -> str:
    parts = path.relative_to(RUNTIME).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


MODULES = {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def violations(layer: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    found = []
    for module, imported in MODULES.items():
        if module != layer and not module.startswith(layer + "."):
            continue
        for name in sorted(imported):
            if name.startswith(allowed):
                continue
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{module} imports {name}")
    return found


def test_the_package_has_the_layers():
    layers = {m.split(".")[1] for m in MODULES if m.count(".") >= 1}
    assert {"ocpi", "domain", "adapters", "api", "handlers", "composition"} <= layers


def test_the_domain_imports_no_adapter_doorway_sdk_or_wire_version():
    forbidden = (
        "ocpi_commands.adapters",
        "ocpi_commands.handlers",
        "ocpi_commands.api",
        "ocpi_commands.composition",
        "ocpi_commands.ocpi.dialects",
        "ocpi_commands.ocpi.v2_2_1",
        "aws_lambda_powertools",
        *SDKS,
    )
    assert violations("ocpi_commands.domain", forbidden) == []


def test_wire_models_know_the_domain_but_no_adapter_or_sdk():
    forbidden = ("ocpi_commands.adapters", "ocpi_commands.handlers", "ocpi_commands.api", "ocpi_commands.composition")
    assert violations("ocpi_commands.ocpi", forbidden + SDKS) == []


def test_adapters_know_no_doorway():
    forbidden = ("ocpi_commands.handlers", "ocpi_commands.api", "ocpi_commands.composition")
    assert violations("ocpi_commands.adapters", forbidden) == []


def test_nothing_imports_a_doorway():
    for module, imported in MODULES.items():
        assert not [n for n in imported if n.startswith("ocpi_commands.handlers")], module


def test_the_runtime_package_imports_no_development_tooling():
    assert violations("ocpi_commands", DEV_ONLY) == []


def test_every_module_under_handlers_is_a_lambda_doorway():
    from ocpi_commands_dev.emulation import template as tpl

    handlers = {spec.handler.rsplit(".", 1)[0] for spec in tpl.functions(tpl.load_template()).values()}
    modules = {m for m in MODULES if m.startswith("ocpi_commands.handlers.")}
    assert modules == handlers


def test_the_functions_ship_only_the_runtime_package():
    """What ``sam build`` packages: each function's CodeUri is src/runtime/, which holds the runtime
    package and its requirements, none of them development tooling."""
    from ocpi_commands_dev.emulation import template as tpl

    template = tpl.load_template()
    default = template["Globals"]["Function"].get("CodeUri")
    for logical_id, res in tpl.resources_of_type(template, "AWS::Serverless::Function").items():
        assert res["Properties"].get("CodeUri", default) == "src/runtime/", logical_id
    assert sorted(p.name for p in RUNTIME.iterdir() if p.name != "__pycache__") == ["ocpi_commands", "requirements.txt"]
    requirements = (RUNTIME / "requirements.txt").read_text().lower()
    for tool in ("moto", "pyyaml", "pytest", "cfn-lint", "ruff", "mypy", "hypothesis"):
        assert f"\n{tool}" not in requirements and not requirements.startswith(tool), tool


@pytest.mark.parametrize("layer", ["handlers", "api", "domain", "adapters", "ocpi"])
def test_modules_stay_small_enough_to_read(layer):
    """Doorways stay thin; nothing grows into a second monolith."""
    limits = {"handlers": 150, "api": 250, "domain": 450, "adapters": 650, "ocpi": 250}
    for path in (PACKAGE / layer).rglob("*.py"):
        lines = len(path.read_text().splitlines())
        limit = 70 if layer == "handlers" and path.name != "api.py" else limits[layer]
        assert lines <= limit, f"{path.relative_to(ROOT)}: {lines} lines (limit {limit})"
