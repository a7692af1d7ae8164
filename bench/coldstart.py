"""Cold start of each function: import + init time over fresh processes, and the first invocation.

Every run is a new ``python -X frozen_modules=on -P bench/child.py`` (the bench's interpreter, pyc
caches warm as in a deployed package) with the environment Lambda would give the function: the
template's variables, the Lambda runtime's, and Active tracing (so Powertools' Tracer is enabled in
the lifecycle functions, as in Lambda). Targets run round-robin, so that noise spreads evenly.

``-X importtime`` then attributes the import time of the API function, module by module, against
the floor's.
"""

import contextlib
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import common

FLOORS = ("floor", "floor_tracer", "floor_tracer_disabled")
TARGETS = (*FLOORS, *common.FUNCTIONS)
# This interpreter; the frozen stdlib modules (CPython's default); no site-packages (-S: the path is the
# package directory only, see common.lambda_package); no script directory on the path (-P).
PYTHON = (sys.executable, "-X", "frozen_modules=on", "-S", "-P")
TRACE_ID = "Root=1-6740a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
FLOOR_SOURCE = (
    "import boto3\n"
    "from pydantic import BaseModel\n"
    "from aws_lambda_powertools.event_handler import APIGatewayRestResolver\n"
)


def child_environment(template: dict[str, Any], target: str, package: Path) -> dict[str, str]:
    env = common.lambda_environment(template, common.FUNCTIONS.get(target, "ApiFunction"), package)
    env["_X_AMZN_TRACE_ID"] = TRACE_ID
    if target == "floor_tracer_disabled":
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    if target in ("resolve", "charge_point_events"):
        # Their first invocation POSTs the CommandResult to the bench's local eMSP endpoint (http, loopback).
        env["RESPONSE_URL_POLICY"] = "local"
    return env


def run_child(args: list[str], env: dict[str, str], workdir: Path, timeout: float = 120) -> dict[str, Any]:
    out = workdir / "child-result.json"
    out.unlink(missing_ok=True)
    command = [*PYTHON, str(common.BENCH / "child.py"), *args[:2]]
    command += [args[2], str(out), *args[3:]]
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        command, env=env, cwd=common.ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"child {args[:2]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(out.read_text(encoding="utf-8"))


# The X-Ray SDK marks a Lambda sandbox as initialised with this file (a fixed path); removed afterwards.
XRAY_MARKER = Path("/tmp/.aws-xray/initialized")  # noqa: S108 - the SDK's own path


def run(
    spec_path: Path, workdir: Path, runs: int, package: Path, per_round: Callable[[], None] | None = None
) -> dict[str, Any]:
    """``per_round``: another cold start measured in each round (the peer's), beside ours."""
    marker_existed = XRAY_MARKER.exists()
    try:
        return _run(spec_path, workdir, runs, package, per_round)
    finally:
        if not marker_existed:
            XRAY_MARKER.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                XRAY_MARKER.parent.rmdir()


def _run(
    spec_path: Path, workdir: Path, runs: int, package: Path, per_round: Callable[[], None] | None
) -> dict[str, Any]:
    template = common.load_template()
    environments = {t: child_environment(template, t, package) for t in TARGETS}
    samples: dict[str, list[dict[str, Any]]] = {t: [] for t in TARGETS}
    for target in TARGETS:  # one unmeasured run each: pyc caches written, files in the page cache
        run_child(["coldstart", target, str(spec_path)], environments[target], workdir)
    for index in range(runs):
        common.log(f"  cold start: round {index + 1}/{runs}")
        for target in TARGETS:
            samples[target].append(run_child(["coldstart", target, str(spec_path)], environments[target], workdir))
        if per_round is not None:
            per_round()
    results: dict[str, Any] = {"runs_per_target": runs, "targets": {}}
    for target, found in samples.items():
        entry: dict[str, Any] = {
            "import_ms": common.summary([s["import_ms"] for s in found]),
            "import_cpu_ms": common.summary([s["import_cpu_ms"] for s in found]),
            "modules_loaded": found[-1]["modules"],
            "peak_rss_mb": statistics.median(s["peak_rss_mb"] for s in found),
            "peak_rss_vmhwm_mb": _median_or_none([s["peak_rss_vmhwm_mb"] for s in found]),
        }
        if "first_invoke_ms" in found[0]:
            entry["first_invoke_ms"] = common.summary([s["first_invoke_ms"] for s in found])
            entry["first_answer"] = found[-1]["answer"]
            if "client_creation_ms" in found[0]:
                entry["first_invoke_client_creation_ms"] = common.summary([s["client_creation_ms"] for s in found])
            entry["replay_misses"] = sorted({m for s in found for m in s["replay_misses"]})
            if entry["replay_misses"]:
                raise RuntimeError(f"{target}: AWS requests without a recorded answer: {entry['replay_misses']}")
        results["targets"][target] = entry
    floor = results["targets"]["floor"]["import_ms"]["median"]
    floor_cpu = results["targets"]["floor"]["import_cpu_ms"]["median"]
    for entry in results["targets"].values():
        entry["ratio_to_floor"] = entry["import_ms"]["median"] / floor
        entry["cpu_ratio_to_floor"] = entry["import_cpu_ms"]["median"] / floor_cpu
    with_tracer = results["targets"]["floor_tracer"]["import_ms"]["median"]
    without = results["targets"]["floor_tracer_disabled"]["import_ms"]["median"]
    results["xray_sdk_import_ms"] = {"tracing_enabled": with_tracer - floor, "tracing_disabled": without - floor}
    results["attribution"] = attribution(template, package)
    return results


def _median_or_none(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


# ------------------------------------------------------------------------------ -X importtime

_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def _importtime(source: str, env: dict[str, str]) -> dict[str, tuple[int, int, int]]:
    """{module: (self µs, cumulative µs, depth)} of one fresh import of ``source``."""
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [*PYTHON, "-X", "importtime", "-c", source],
        env=env,
        cwd=common.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = {}
    for line in done.stderr.splitlines():
        match = _LINE.match(line)
        if match:
            found[match.group(4)] = (int(match.group(1)), int(match.group(2)), len(match.group(3)) // 2)
    return found


def _median_profile(source: str, env: dict[str, str], runs: int) -> dict[str, tuple[float, float, int]]:
    profiles = [_importtime(source, env) for _ in range(runs)]
    modules = set().union(*profiles)
    return {
        m: (
            statistics.median(p[m][0] for p in profiles if m in p),
            statistics.median(p[m][1] for p in profiles if m in p),
            profiles[0].get(m, (0, 0, 0))[2],
        )
        for m in modules
    }


def attribution(template: dict[str, Any], package: Path, runs: int = 5) -> dict[str, Any]:
    """Where the API function's import time goes, beyond the floor (medians of ``runs`` runs)."""
    env = child_environment(template, "api", package)
    api = _median_profile("import ocpi_commands.handlers.api", env, runs)
    floor = _median_profile(FLOOR_SOURCE, env, runs)
    extra = {m: v for m, v in api.items() if m not in floor}

    def by_package(profile: dict[str, tuple[float, float, int]]) -> dict[str, float]:
        totals: dict[str, float] = {}
        for module, (self_us, _, _) in profile.items():
            package = module.split(".")[0]
            if package == "ocpi_commands":
                package = ".".join(module.split(".")[:3])
            totals[package] = totals.get(package, 0.0) + self_us / 1000
        return totals

    extra_packages = sorted(by_package(extra).items(), key=lambda kv: -kv[1])
    top_modules = sorted(extra.items(), key=lambda kv: -kv[1][0])[:15]
    return {
        "method": f"python -X importtime, median of {runs} runs per module (its own overhead included)",
        "api_total_self_ms": sum(v[0] for v in api.values()) / 1000,
        "floor_total_self_ms": sum(v[0] for v in floor.values()) / 1000,
        "modules_beyond_floor": len(extra),
        "beyond_floor_self_ms": sum(v[0] for v in extra.values()) / 1000,
        "beyond_floor_by_package_ms": dict(extra_packages[:15]),
        "beyond_floor_top_modules": [
            {"module": m, "self_ms": v[0] / 1000, "cumulative_ms": v[1] / 1000} for m, v in top_modules
        ],
        "api_direct_imports": _direct_imports(api, "ocpi_commands.handlers.api"),
    }


def _direct_imports(profile: dict[str, tuple[float, float, int]], root: str) -> list[dict[str, Any]]:
    """Cumulative import time of the modules imported at the first levels under ``root``."""
    depth = profile.get(root, (0, 0, 0))[2]
    rows = [{"module": m, "cumulative_ms": v[1] / 1000} for m, v in profile.items() if v[2] == depth + 1 and m != root]
    return sorted(rows, key=lambda r: -r["cumulative_ms"])[:12]


class LocalEndpoint:
    """A minimal eMSP endpoint on loopback (standard library only, so the parent stays small).

    The first invocations of resolve and charge_point_events POST their CommandResult here; every POST
    is answered with an OCPI success envelope. Stopped when the block ends: nothing stays listening.
    """

    def __enter__(self) -> "LocalEndpoint":
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = b'{"status_code":1000,"timestamp":"2026-01-01T00:00:00Z"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="bench-emsp", daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *_: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def temp_workdir() -> tempfile.TemporaryDirectory:  # type: ignore[type-arg]
    return tempfile.TemporaryDirectory(prefix="ocpi-bench-")
