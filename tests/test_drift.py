"""Values spelled in more than one place agree: template, samconfig.toml, Makefile, requirements and code."""

import re
import tomllib
from pathlib import Path

import pytest

from ocpi_commands.config import DEFAULT_COMMAND_TIMEOUTS, Settings
from ocpi_commands_dev.emulation import template as tpl

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def template():
    return tpl.load_template()


def samconfig_parameters() -> dict[str, dict[str, str]]:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    found = {}
    for env, sections in config.items():
        if isinstance(sections, dict) and "global" in sections:
            overrides = sections["global"]["parameters"]["parameter_overrides"]
            found[env] = dict(item.split("=", 1) for item in overrides)
    return found


def test_command_timeouts_agree_between_code_template_and_samconfig(template):
    code = {command.value: seconds for command, seconds in DEFAULT_COMMAND_TIMEOUTS.items()}
    default = template["Parameters"]["CommandTimeouts"]["Default"]
    assert Settings(table_name="t", command_timeouts=default).command_timeouts == DEFAULT_COMMAND_TIMEOUTS
    assert dict(pair.split("=") for pair in default.split(",")) == {k: str(v) for k, v in code.items()}
    environments = samconfig_parameters()
    assert {"default", "dev", "prod"} <= set(environments)
    for env, parameters in environments.items():
        assert parameters["CommandTimeouts"] == default, env


def test_every_samconfig_parameter_is_a_template_parameter(template):
    for env, parameters in samconfig_parameters().items():
        assert set(parameters) <= set(template["Parameters"]), env


def test_every_error_the_state_machine_catches_or_retries_is_raised_by_a_function():
    source = "\n".join(p.read_text() for p in (ROOT / "src" / "runtime").rglob("*.py"))
    for path in (ROOT / "statemachine").glob("*.asl.json"):
        names = set(re.findall(r'"ErrorEquals":\s*\[([^\]]*)\]', path.read_text()))
        errors = {e.strip().strip('"') for group in names for e in group.split(",")}
        ours = {e for e in errors if not e.startswith(("States.", "Lambda."))}
        assert ours, path
        for name in ours:
            assert re.search(rf"^class {name}\((\w+\.)?\w*(Exception|Error)\w*\)", source, re.M), name
            assert re.search(rf"raise {name}\(", source), name


def test_the_lambda_runtime_is_the_python_the_makefile_and_pyproject_prefer(template):
    runtime = template["Globals"]["Function"]["Runtime"].removeprefix("python")
    makefile = (ROOT / "Makefile").read_text()
    preferred = re.search(r"scripts/find-python ([\d. ]+)\)", makefile).group(1).split()
    assert preferred[0] == runtime
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == f">={preferred[-1]}"


def test_the_moto_the_emulation_is_written_for_is_the_pinned_one():
    from ocpi_commands_dev.emulation.moto_patches import PINNED_MOTO

    pins = re.findall(r"^moto(?:\[server\])?==([\d.]+)$", (ROOT / "requirements" / "dev.txt").read_text(), re.M)
    assert pins == [PINNED_MOTO]
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["local"]
    assert f"moto[server]=={PINNED_MOTO}" in extra


def test_events_md_documents_every_event_the_code_names():
    from ocpi_commands.domain import events

    text = (ROOT / "docs" / "events.md").read_text()
    names = [v for k, v in vars(events).items() if k.isupper() and isinstance(v, str) and " " in v]
    assert names and all(f"`{name}`" in text or f'"{name}"' in text for name in names), names
