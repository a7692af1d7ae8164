"""Shared by the bench sections: paths, the Lambda-like environment, statistics, DynamoDB sizes.

Imported by the parent processes (``run.py``, ``inprocess.py``) and their sections; never by ``child.py``,
so that the cold start a child measures is the handler's alone.
"""

import json
import math
import os
import re
import statistics
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SRC = ROOT / "src" / "runtime"  # the functions' CodeUri: what the deployment package holds
DEVTOOLS = ROOT / "src" / "devtools"  # the local emulation the bench drives
EVENTS = ROOT / "events"
SEED = ROOT / "seed" / "sample.json"

# The code measured is this checkout's (not whatever the virtualenv's editable install points at).
for _path in (DEVTOOLS, SRC):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

REGION = "us-east-1"
ACCOUNT = "123456789012"
TABLE_NAME = "ocpi-local-commands"  # the emulation's name, so recorded requests replay byte for byte
BUS_NAME = "ocpi-local-commands"
STATE_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:ocpi-local-command-lifecycle"

FUNCTIONS = {
    # bench name -> template logical id
    "api": "ApiFunction",
    "starter": "StarterFunction",
    "dispatch": "DispatchFunction",
    "charge_point_events": "ChargePointEventsFunction",
    "resolve": "ResolveFunction",
    "simulator": "ChargePointSimulatorFunction",
}
LOGICAL_TO_NAME = {v: k for k, v in FUNCTIONS.items()}

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


def log(message: str) -> None:
    """Progress on stderr (stdout carries the table)."""
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ template


def load_template() -> dict[str, Any]:
    from ocpi_commands_dev.emulation import template as tpl

    return tpl.load_template()


def function_settings(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """Memory (MB), architecture and timeout of a function, Globals first, as SAM merges them."""
    globals_ = template.get("Globals", {}).get("Function", {})
    props = template["Resources"][logical_id].get("Properties", {})
    merged = {**globals_, **props}
    return {
        "memory_mb": int(merged.get("MemorySize", 128)),
        "architecture": (merged.get("Architectures") or ["x86_64"])[0],
        "timeout_s": int(merged.get("Timeout", 3)),
        "handler": merged["Handler"],
    }


def template_environment(template: dict[str, Any], logical_id: str, stage: str = "dev") -> dict[str, str]:
    """The function's environment variables as the template sets them (parameters at their defaults)."""
    params = {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}
    refs: dict[str, Any] = {
        **params,
        "Stage": stage,
        "CommandsTable": TABLE_NAME,
        "CommandsBus": BUS_NAME,
        "CommandLifecycle": STATE_MACHINE_ARN,
        "AWS::NoValue": None,
        "Condition:HasPublicBaseUrl": bool(params.get("PublicBaseUrl")),
    }
    globals_ = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own = template["Resources"][logical_id].get("Properties", {}).get("Environment", {}).get("Variables", {})
    env = {}
    from ocpi_commands_dev.emulation.template import resolve_intrinsics

    for key, value in {**globals_, **own}.items():
        resolved = resolve_intrinsics(value, refs)
        if resolved is not None:
            env[key] = str(resolved)
    return env


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def package_requirements() -> list[str]:
    """Distributions the deployment package holds: src/runtime/requirements.txt and their dependencies."""
    import importlib.metadata as metadata

    from packaging.requirements import Requirement

    wanted = []
    for line in (SRC / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            wanted.append(Requirement(line).name)
    seen: set[str] = set()
    while wanted:
        name = _canonical(wanted.pop())
        if name in seen:
            continue
        seen.add(name)
        for raw in metadata.distribution(name).requires or []:
            requirement = Requirement(raw)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                wanted.append(requirement.name)
    return sorted(seen)


def lambda_package(directory: Path) -> Path:
    """A directory laid out like the function's deployment package (what ``sam build`` puts in /var/task).

    Symbolic links to this checkout's ``ocpi_commands`` and to the installed files of the package's
    distributions only. The children run with ``-S`` and this directory as their path: they cannot
    import what the virtualenv holds for development only (moto, requests, ...), which matters
    because the X-Ray SDK's ``patch_all`` imports every supported library it can find.
    """
    import importlib.metadata as metadata

    directory.mkdir(parents=True, exist_ok=True)
    links = {"ocpi_commands": SRC / "ocpi_commands"}
    for name in package_requirements():
        distribution = metadata.distribution(name)
        for file in distribution.files or []:
            top = file.parts[0]
            if top != "..":
                links.setdefault(top, Path(distribution.locate_file(top)))
    for top, target in links.items():
        (directory / top).symlink_to(target)
    return directory


def lambda_environment(template: dict[str, Any], logical_id: str, package: Path) -> dict[str, str]:
    """A fresh process's environment as Lambda builds it: runtime variables, tracing on, the template's."""
    settings = function_settings(template, logical_id)
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(FAKE_CREDENTIALS)
    env.update(
        {
            "PYTHONPATH": str(package),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_LAMBDA_FUNCTION_NAME": f"ocpi-commands-dev-{logical_id}",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(settings["memory_mb"]),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "_HANDLER": settings["handler"],
            "LAMBDA_TASK_ROOT": str(package),
            # Active tracing: Lambda sets these; Powertools' Tracer is then enabled (and patches botocore).
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "_AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1",
            "_AWS_XRAY_DAEMON_PORT": "2000",
        }
    )
    env.update(template_environment(template, logical_id))
    return env


# ------------------------------------------------------------------------------ statistics


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (fraction in 0..1)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "stdev": statistics.stdev(values) if len(values) > 1 else 0.0,
        "n": len(values),
    }


def rounded(value: Any, digits: int = 3) -> Any:
    """Floats rounded, recursively (results.json stays readable and diffable)."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, digits) for v in value]
    return value


# ------------------------------------------------------------------------------ DynamoDB sizes

KB = 1024


def attribute_size(value: dict[str, Any]) -> int:
    """Bytes of one AttributeValue (wire format), by DynamoDB's item size rules.

    Strings and binaries: their length; numbers: about one byte per two significant digits plus one;
    booleans and null: one byte; lists and maps: 3 bytes plus one byte per element, plus the elements
    (and, for maps, the names).
    """
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        digits = len(inner.lstrip("-").replace(".", "").strip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return len(inner) * 3 // 4 if isinstance(inner, str) else len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + attribute_size(v) + 1 for k, v in inner.items())
    if kind == "SS":
        return sum(len(v.encode("utf-8")) for v in inner)
    if kind == "NS":
        return sum(attribute_size({"N": v}) for v in inner)
    if kind == "BS":
        return sum(len(v) for v in inner)
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + attribute_size(value) for name, value in item.items())


def write_units(before: dict[str, Any] | None, after: dict[str, Any] | None) -> int:
    """WRU of one standard write: 1 per KB of the larger of the item before and after (at least 1)."""
    return max(1, math.ceil(max(item_size(before), item_size(after)) / KB))


def read_units(size: int, consistent: bool) -> float:
    """RRU of one read of ``size`` bytes: 1 per 4 KB strongly consistent, half that eventually consistent."""
    units = max(1, math.ceil(size / (4 * KB)))
    return float(units) if consistent else units / 2


GSI_KEYS = ("gsi1pk", "gsi1sk")


def gsi_writes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> int:
    """Writes to the keys-only index gsi1 caused by one item write.

    An item enters the index (1 write), leaves it (1), or changes its index key (2: delete + put).
    Other attribute changes are not projected into a keys-only index: no index write.
    """

    def key(item: dict[str, Any] | None) -> tuple[Any, ...] | None:
        if not item or any(k not in item for k in GSI_KEYS):
            return None
        return tuple(json.dumps(item[k], sort_keys=True) for k in GSI_KEYS)

    old, new = key(before), key(after)
    if old == new:
        return 0
    if old is None or new is None:
        return 1
    return 2


# ------------------------------------------------------------------------------ log capture


class CountingSink:
    """A text stream that counts what the functions log (bytes and lines, per function) and drops it."""

    def __init__(self, who: Any = None):
        import threading

        self.who = who or (lambda: None)
        self.bytes = 0
        self.lines = 0
        self.by_function: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        size = len(text.encode("utf-8"))
        lines = text.count("\n")
        function = self.who() or "bench"
        with self._lock:
            self.bytes += size
            self.lines += lines
            entry = self.by_function.setdefault(function, [0, 0])
            entry[0] += size
            entry[1] += lines
        return len(text)

    def flush(self) -> None:
        pass

    def snapshot(self) -> tuple[int, int]:
        with self._lock:
            return self.bytes, self.lines


class captured_stdout:  # noqa: N801 - used as a context manager, like contextlib's
    """Route the functions' JSON logs (Powertools Logger) and EMF metrics (print) into ``sink``."""

    def __init__(self, sink: CountingSink):
        self.sink = sink

    def __enter__(self) -> CountingSink:
        from ocpi_commands.observability import logger

        self._handler = logger.registered_handler
        self._old_stream = self._handler.setStream(self.sink)
        self._old_stdout = sys.stdout
        sys.stdout = self.sink  # type: ignore[assignment]
        return self.sink

    def __exit__(self, *_: Any) -> None:
        sys.stdout = self._old_stdout
        self._handler.setStream(self._old_stream)


def fresh_event(name: str, serial: str, response_url: str | None = None) -> dict[str, Any]:
    """An ``events/`` API Gateway event made a distinct command: its own X-Request-ID, X-Correlation-ID,
    response_url (and reservation_id), so that no idempotency guard answers it as a duplicate."""
    event = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    ids = {"X-Request-ID": f"bench-req-{serial}", "X-Correlation-ID": f"bench-corr-{serial}"}
    for header, value in ids.items():
        if header in (event.get("headers") or {}):
            event["headers"][header] = value
            event["multiValueHeaders"][header] = [value]
    try:
        body = json.loads(event.get("body") or "")
    except ValueError:
        return event
    if isinstance(body, dict) and "response_url" in body:
        body["response_url"] = response_url or f"https://emsp.example.com/ocpi/emsp/2.2.1/commands/cb/{serial}"
        if "reservation_id" in body and "expiry_date" in body:
            body["reservation_id"] = f"BENCH-{serial}"[:36]
        event["body"] = json.dumps(body)
    return event
