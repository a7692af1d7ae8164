"""Warm invocations of the API function (accepted START_SESSION) against the floor handler, and memory.

Each side runs in its own fresh process (``child.py warm``): warm-up, then the timed invocations,
each a distinct command; then the process's peak RSS, its log bytes per invocation and a cProfile
breakdown (after the timed loop, so neither disturbs it). AWS is answered in-process by the replay
hook; stdout (JSON logs, EMF metrics) goes to /dev/null, the work of producing it is kept.
"""

from pathlib import Path
from typing import Any

import common
from coldstart import child_environment, run_child


def run(spec_path: Path, workdir: Path, invocations: int, warmup: int, package: Path) -> dict[str, Any]:
    template = common.load_template()
    env = child_environment(template, "api", package)
    results: dict[str, Any] = {"invocations": invocations, "warmup": warmup}
    for kind in ("api", "floor", "floor_sdk"):
        common.log(f"  warm: {kind} handler, {warmup} + {invocations} invocations")
        raw = run_child(["warm", kind, str(spec_path), str(invocations), str(warmup)], env, workdir, timeout=600)
        durations_us = [ns / 1000 for ns in raw.pop("durations_ns")]
        results[kind] = {
            "p50_us": common.percentile(durations_us, 0.50),
            "p90_us": common.percentile(durations_us, 0.90),
            "p99_us": common.percentile(durations_us, 0.99),
            "mean_us": sum(durations_us) / len(durations_us),
            "invocations_per_second": len(durations_us) / (sum(durations_us) / 1e6),
            **raw,
        }
        if raw["not_accepted"] or raw["replay_misses"]:
            raise RuntimeError(
                f"warm {kind}: {raw['not_accepted']} answers not ACCEPTED, misses {raw['replay_misses']}"
            )
    results["ratio_p50"] = results["api"]["p50_us"] / results["floor"]["p50_us"]
    results["ratio_p99"] = results["api"]["p99_us"] / results["floor"]["p99_us"]
    results["ratio_throughput"] = results["floor"]["invocations_per_second"] / results["api"]["invocations_per_second"]
    # Informational: against a floor that also makes the same two DynamoDB calls through the SDK.
    results["ratio_p50_vs_floor_sdk"] = results["api"]["p50_us"] / results["floor_sdk"]["p50_us"]
    return results
