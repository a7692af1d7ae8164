"""The peer beside us: extrawest-ocpi 2025.7.16 (PyPI), its CPO commands app as a Lambda handler.

It needs FastAPI 0.101 and pydantic 1.10, so it runs in a virtualenv of its own, made here once
under ``.cache/`` with Python 3.11 from ``bench/peer/requirements.txt`` (exact pins). Every
measurement is a fresh process of that interpreter running ``bench/peer/child.py``, as ours are:

* cold start: import + init (py_ocpi, the FastAPI app, Mangum), then the first invocation, in the
  same rounds as our cold starts (so that the machine's noise falls on both alike);
* warm: the same warm-up and timed invocations as our API function, of an accepted START_SESSION,
  as shipped (the invocation ends when extrawest has posted the CommandResult, answered in-process)
  and with the CommandResponse only (the background task replaced), then the peak RSS.
"""

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import common

PEER = common.BENCH / "peer"
REQUIREMENTS = PEER / "requirements.txt"
NAME = "extrawest-ocpi 2025.7.16"


def _python_3_11() -> str:
    found = subprocess.run(  # noqa: S603 - the repository's own script
        [str(common.ROOT / "scripts" / "find-python"), "3.11"], capture_output=True, text=True, check=False
    )
    python = found.stdout.strip() or "python3"
    version = subprocess.run(  # noqa: S603 - an interpreter found above
        [python, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True, check=False
    )
    if version.stdout.strip() != "(3, 11)":
        raise RuntimeError(f"the peer needs Python 3.11 (FastAPI 0.101, pydantic 1.10); found {python}")
    return python


def python() -> Path:
    """The peer's interpreter, its virtualenv made once per requirements file."""
    key = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    venv = common.ROOT / ".cache" / f"bench-peer-{key}"
    interpreter = venv / "bin" / "python"
    if not (venv / ".installed").exists():
        common.log(f"  peer: making its virtualenv under .cache/ ({NAME}, Python 3.11)")
        subprocess.run([_python_3_11(), "-m", "venv", "--clear", str(venv)], check=True, timeout=300)  # noqa: S603
        done = subprocess.run(  # noqa: S603 - pip of the virtualenv made above
            [
                str(interpreter),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                str(REQUIREMENTS),
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"could not install the peer:\n{done.stderr[-3000:]}")
        (venv / ".installed").write_text(key, encoding="utf-8")
    return interpreter


def _child(interpreter: Path, args: list[str], workdir: Path, timeout: float) -> dict[str, Any]:
    out = workdir / "peer-result.json"
    out.unlink(missing_ok=True)
    done = subprocess.run(  # noqa: S603 - the peer's interpreter, our script
        [str(interpreter), "-X", "frozen_modules=on", "-P", str(PEER / "child.py"), args[0], str(out), *args[1:]],
        cwd=common.ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"peer child {args[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


class ColdStarts:
    """The peer's cold starts, one per round of ours."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.interpreter = python()
        self.samples: list[dict[str, Any]] = []
        _child(self.interpreter, ["coldstart"], workdir, timeout=120)  # unmeasured: pyc caches written

    def round(self) -> None:
        self.samples.append(_child(self.interpreter, ["coldstart"], self.workdir, timeout=120))

    def results(self) -> dict[str, Any]:
        found = self.samples
        return {
            "import_ms": common.summary([s["import_ms"] for s in found]),
            "import_cpu_ms": common.summary([s["import_cpu_ms"] for s in found]),
            "first_invoke_ms": common.summary([s["first_invoke_ms"] for s in found]),
            "modules_loaded": found[-1]["modules"],
            "peak_rss_mb": sorted(s["peak_rss_mb"] for s in found)[len(found) // 2],
            "python": found[-1]["python"],
        }


def warm(workdir: Path, invocations: int, warmup: int) -> dict[str, Any]:
    interpreter = python()
    results: dict[str, Any] = {}
    for kind, extra in (("as_shipped", []), ("response_only", ["response-only"])):
        common.log(f"  warm: peer ({kind.replace('_', ' ')}), {warmup} + {invocations} invocations")
        raw = _child(interpreter, ["warm", str(invocations), str(warmup), *extra], workdir, timeout=900)
        durations_us = [ns / 1000 for ns in raw.pop("durations_ns")]
        if raw["not_accepted"] or raw.get("results_not_posted"):
            raise RuntimeError(f"peer warm {kind}: {raw}")
        results[kind] = {
            "p50_us": common.percentile(durations_us, 0.50),
            "p90_us": common.percentile(durations_us, 0.90),
            "p99_us": common.percentile(durations_us, 0.99),
            "mean_us": sum(durations_us) / len(durations_us),
            "invocations_per_second": len(durations_us) / (sum(durations_us) / 1e6),
            **raw,
        }
    return results


def compare(results: dict[str, Any], cold: dict[str, Any], warm_results: dict[str, Any]) -> dict[str, Any]:
    """Our figures, the floor's and the peer's, with our ratio to each."""
    ours_cold = results["cold_start"]["targets"]["api"]
    floor_cold = results["cold_start"]["targets"]["floor"]
    ours, floor = results["warm"]["api"], results["warm"]["floor"]
    shipped, response = warm_results["as_shipped"], warm_results["response_only"]
    return {
        "name": NAME,
        "stack": "FastAPI 0.101.1, pydantic 1.10.12, Starlette 0.27.0, Mangum 0.22.0, httpx 0.24.1",
        "python": cold["python"],
        "cold_start": cold,
        "warm": warm_results,
        "ratios": {
            "cold_start_import_init": {
                "to_floor": ours_cold["import_ms"]["median"] / floor_cold["import_ms"]["median"],
                "to_peer": ours_cold["import_ms"]["median"] / cold["import_ms"]["median"],
            },
            "cold_request": {  # import + init + first invocation: what a cold request waits for
                "to_peer": (ours_cold["import_ms"]["median"] + ours_cold["first_invoke_ms"]["median"])
                / (cold["import_ms"]["median"] + cold["first_invoke_ms"]["median"]),
            },
            "warm_p50": {
                "to_floor": ours["p50_us"] / floor["p50_us"],
                "to_peer_response_only": ours["p50_us"] / response["p50_us"],
                "to_peer_as_shipped": ours["p50_us"] / shipped["p50_us"],
            },
            "warm_p99": {
                "to_floor": ours["p99_us"] / floor["p99_us"],
                "to_peer_response_only": ours["p99_us"] / response["p99_us"],
                "to_peer_as_shipped": ours["p99_us"] / shipped["p99_us"],
            },
            "invocations_per_second": {
                "to_floor": ours["invocations_per_second"] / floor["invocations_per_second"],
                "to_peer_response_only": ours["invocations_per_second"] / response["invocations_per_second"],
                "to_peer_as_shipped": ours["invocations_per_second"] / shipped["invocations_per_second"],
            },
            "peak_rss": {
                "to_floor": ours["peak_rss_mb"] / floor["peak_rss_mb"],
                "to_peer": ours["peak_rss_mb"] / response["peak_rss_mb"],
            },
        },
    }
