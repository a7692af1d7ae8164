"""The functions' dependencies are declared: every runtime module imports in a virtualenv built from
src/runtime/requirements.txt alone (no moto, no tooling), with the Lambda runtime's Python."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "src" / "runtime"
REQUIREMENTS = RUNTIME / "requirements.txt"

IMPORT_ALL = """
import importlib, json, pkgutil, sys
sys.path.insert(0, sys.argv[1])
import ocpi_commands
names = sorted(m.name for m in pkgutil.walk_packages(ocpi_commands.__path__, "ocpi_commands."))
for name in names:
    importlib.import_module(name)
dev = sorted(m for m in sys.modules if m.split(".")[0] in ("moto", "ocpi_commands_dev", "yaml", "pytest"))
print(json.dumps({"imported": names, "dev_modules": dev}))
"""


def _runtime_python() -> str:
    found = subprocess.run([str(ROOT / "scripts" / "find-python")], capture_output=True, text=True, check=True)
    return found.stdout.strip() or sys.executable


@pytest.fixture(scope="module")
def runtime_venv() -> Path:
    python = _runtime_python()
    version = subprocess.run([python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True).stdout
    key = hashlib.sha256((REQUIREMENTS.read_text() + version).encode()).hexdigest()[:12]
    target = ROOT / ".cache" / f"runtime-venv-{key}"
    marker = target / ".installed"
    if not marker.exists():
        subprocess.run([python, "-m", "venv", "--clear", str(target)], check=True)
        pip = [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        done = subprocess.run([*pip, "-r", str(REQUIREMENTS)], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        marker.write_text(key)
    return target


def test_every_runtime_module_imports_with_the_runtime_requirements_alone(runtime_venv):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "1"})
    done = subprocess.run(
        [str(runtime_venv / "bin" / "python"), "-I", "-c", IMPORT_ALL, str(RUNTIME)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "ocpi_commands.handlers.api" in result["imported"] and len(result["imported"]) > 30
    assert result["dev_modules"] == []
