"""Benchmarks and cost model (``make bench``): measure, compare with the floors, price, write the results.

    make bench                                   # the full run (a few minutes)
    .venv/bin/python bench/run.py --quick        # fewer runs, to try changes to the bench itself
    .venv/bin/python bench/run.py --no-write     # print the table only

Sections:
  1. AWS round trips of the synchronous path per command type and outcome (moto in-process)
  2. the lifecycle per path: state transitions, Lambda invocations, DynamoDB capacity, EventBridge
     entries, POSTs, log bytes (LocalAws + a local eMSP endpoint)
     -- 1 and 2 run in their own process (bench/inprocess.py), so that this one stays small --
  3. cold start of every function vs the floor, and the first invocation (fresh processes)
  4. warm invocations of the API handler vs the floor handler, and peak RSS (fresh processes)
     -- 3 and 4 also measure the peer, extrawest-ocpi's CPO commands app under Mangum (bench/peer.py) --
  5. the cost model, the targets, and the outputs: bench/results.json, bench/results.md, docs/cost.md,
     with the local runtime's sustained rate from the last make load (bench/load.json)
  6. live data: a full refresh of 10,000 "Location Updated" (50,000 EVSEs) through the feed queue, then
     a refresh with one EVSE in ten changed, then "EVSE Status Changed" events (bench/refresh.py, its
     own process): events/s through the emulation, DynamoDB capacity per update, no update lost

    .venv/bin/python bench/run.py --only-refresh  # section 6 alone, merged into the committed results
"""

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402 - after the path set-up above
import report  # noqa: E402

TARGETS = {
    "cold_start_ratio": 1.2,
    "warm_ratio": 1.5,
    "round_trips": 2,
    "transitions_answered": 3,
    "transitions_timeout": 4,
    "dollars_per_million": 60.0,
}


class HardStop(Exception):
    pass


def _hard_stop(*_: Any) -> None:
    raise HardStop("the bench exceeded its time limit (--limit)")


def _git(*args: str) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - fixed git command
            ["git", *args],  # noqa: S607
            cwd=common.ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target: what was measured, the limit, and whether it is met."""
    accepted = next(c for c in results["round_trips"]["cases"] if c["case"] == "START_SESSION accepted")
    cold = results["cold_start"]["targets"]["api"]["ratio_to_floor"]
    warm = results["warm"]["ratio_p50"]
    trips = accepted["warm"]["round_trips"]
    answered = results["lifecycle"]["answered"]["transitions"]
    timeout = results["lifecycle"]["timeout"]["transitions"]
    dollars = results["cost"]["mix"]["total_per_million"]
    rows = [
        ("API cold start (import+init) vs floor", cold, f"{cold:.2f}x", "cold_start_ratio", "{}x"),
        ("warm accepted START_SESSION p50 vs floor handler", warm, f"{warm:.1f}x", "warm_ratio", "{}x"),
        ("AWS round trips, accepted START_SESSION, warm", trips, str(trips), "round_trips", "{}"),
        ("state transitions, answered", answered, str(answered), "transitions_answered", "{}"),
        ("state transitions, timeout", timeout, str(timeout), "transitions_timeout", "{}"),
        ("$ per 1M accepted commands (95/5 mix)", dollars, f"${dollars:.2f}", "dollars_per_million", "${}"),
    ]
    return [
        {"target": name, "measured": shown, "limit": "<= " + unit.format(TARGETS[key]), "pass": value <= TARGETS[key]}
        for name, value, shown, key, unit in rows
    ]


def local_runtime() -> dict[str, Any] | None:
    """make run's sustained rate, from the last make load (bench/load.json), if there is one."""
    path = common.BENCH / "load.json"
    if not path.exists():
        return None
    load = json.loads(path.read_text(encoding="utf-8"))
    sending, answered = load["sending"], load["results"].get("answering -> ACCEPTED", {})
    return {
        "generated_at": load.get("generated_at"),
        "verdict": load.get("verdict"),
        "rate_target_per_s": sending["rate_target_per_s"],
        "rate_achieved_per_s": sending["rate_achieved_per_s"],
        "commands": sending["commands"],
        "concurrency": load.get("settings", {}).get("concurrency"),
        "api_p99_s": load["api"]["latency_s"].get("p99"),
        "answered_delivery_p99_s": answered.get("since_request_s", {}).get("p99"),
        "cpu_ms_per_command": load["make_run"].get("cpu_ms_per_command"),
        "load_average": load.get("load_average"),
        "failures": load.get("failures"),
    }


def scrub(text: str) -> str:
    """No path of this machine in the committed files."""
    for path in sorted({str(common.ROOT), str(Path.home()), sys.prefix}, key=len, reverse=True):
        if path and path != "/":
            text = text.replace(path, "<local>")
    return text


def live_data(workdir: Path, locations: int, status_changes: int, limit: int) -> dict[str, Any]:
    """Section 6, in its own process (moto and a 10,000-Location table stay out of this one)."""
    recorded = workdir / "refresh.json"
    command = [sys.executable, str(common.BENCH / "refresh.py"), str(recorded)]
    command += ["--locations", str(locations), "--status-changes", str(status_changes)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(common.SRC), str(common.DEVTOOLS)])}
    common.log(f"live data: a full refresh of {locations} Locations, through the feed queue")
    subprocess.run(command, env=env, cwd=common.ROOT, check=True, timeout=max(60, limit))  # noqa: S603
    result: dict[str, Any] = json.loads(recorded.read_text(encoding="utf-8"))
    return result


def only_refresh(args: argparse.Namespace) -> int:
    """Run section 6 alone and merge it into the committed bench/results.json (and results.md)."""
    import coldstart

    path = common.BENCH / "results.json"
    results = json.loads(path.read_text(encoding="utf-8"))
    load_before = os.getloadavg()
    started = time.monotonic()
    with coldstart.temp_workdir() as tmp:
        live = live_data(Path(tmp), args.refresh_locations, args.refresh_status_changes, args.limit)
    live["run"] = _live_run(started, load_before)
    results["live_data"] = live
    print(report.text({**results, "only": "live_data"}))
    if not args.no_write:
        path.write_text(scrub(json.dumps(common.rounded(results), indent=1, sort_keys=True)) + "\n", encoding="utf-8")
        markdown = common.BENCH / "results.md"
        markdown.write_text(scrub(report.with_live_data(markdown.read_text(encoding="utf-8"), live)), encoding="utf-8")
        common.log("wrote bench/results.json, bench/results.md (section 6)")
    return 0


def _live_run(started: float, load_before: tuple[float, float, float]) -> dict[str, Any]:
    return {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_seconds": time.monotonic() - started,
        "commit": _git("rev-parse", "--short", "HEAD") or "unknown",
        "src_modified": bool(_git("status", "--porcelain", "--", "src/runtime")),
        "machine": _machine(),
        "load_average_1min": {"start": load_before[0], "end": os.getloadavg()[0]},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold-runs", type=int, default=20, help="fresh processes per function (>= 15)")
    parser.add_argument("--warm-invocations", type=int, default=3000, help="timed invocations (>= 2000)")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--answered-runs", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="fewer runs (not for committed results)")
    parser.add_argument("--no-write", action="store_true", help="print the table, write nothing")
    parser.add_argument("--refresh-locations", type=int, default=10_000, help="Locations in the full refresh")
    parser.add_argument("--refresh-status-changes", type=int, default=2_000, help="EVSE Status Changed events")
    parser.add_argument("--only-refresh", action="store_true", help="section 6 alone, merged into the results")
    parser.add_argument("--limit", type=int, default=2400, help="hard stop, seconds")
    args = parser.parse_args()
    if args.quick:
        args.cold_runs, args.warm_invocations, args.warmup, args.answered_runs = 3, 300, 50, 2
        args.refresh_locations, args.refresh_status_changes = 500, 200
    if args.only_refresh:
        signal.signal(signal.SIGALRM, _hard_stop)
        signal.alarm(args.limit)
        return only_refresh(args)

    signal.signal(signal.SIGALRM, _hard_stop)
    signal.alarm(args.limit)
    started = time.monotonic()
    load_before = os.getloadavg()

    import coldstart
    import cost
    import peer
    import warm

    template = common.load_template()
    results: dict[str, Any] = {"schema": 1}
    with coldstart.temp_workdir() as tmp:
        workdir = Path(tmp)
        recorded = workdir / "inprocess.json"
        command = [sys.executable, str(common.BENCH / "inprocess.py"), str(recorded)]
        command += ["--answered-runs", str(args.answered_runs)] + (["--quick"] if args.quick else [])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(common.SRC), str(common.DEVTOOLS)])}
        subprocess.run(command, env=env, cwd=common.ROOT, check=True, timeout=max(60, args.limit - 60))  # noqa: S603
        inprocess = json.loads(recorded.read_text(encoding="utf-8"))
        results["round_trips"], results["lifecycle"] = inprocess["round_trips"], inprocess["lifecycle"]
        spec = inprocess["replay"]
        package = common.lambda_package(workdir / "package")
        with coldstart.LocalEndpoint() as endpoint:  # the first invocations of resolve and charge_point_events
            spec["receiver_url_now"] = endpoint.url
            spec_path = workdir / "replay.json"
            spec_path.write_text(json.dumps(spec), encoding="utf-8")
            common.log(f"3/5 cold starts ({args.cold_runs} fresh processes per target, the peer's beside)")
            peer_cold = peer.ColdStarts(workdir)
            results["cold_start"] = coldstart.run(spec_path, workdir, args.cold_runs, package, peer_cold.round)
            common.log("4/5 warm invocations and memory (fresh processes), the peer's beside")
            results["warm"] = warm.run(spec_path, workdir, args.warm_invocations, args.warmup, package)
            peer_warm = peer.warm(workdir, args.warm_invocations, args.warmup)
            results["peer"] = peer.compare(results, peer_cold.results(), peer_warm)
        live_started, live_load = time.monotonic(), os.getloadavg()
        results["live_data"] = live_data(
            workdir, args.refresh_locations, args.refresh_status_changes, max(60, args.limit - 300)
        )
        results["live_data"]["run"] = _live_run(live_started, live_load)
    common.log("5/5 cost model and report")
    results["memory"] = {
        "api_after_warm_benchmark_mb": results["warm"]["api"]["peak_rss_mb"],
        "floor_after_warm_benchmark_mb": results["warm"]["floor"]["peak_rss_mb"],
        "ratio": results["warm"]["api"]["peak_rss_mb"] / results["warm"]["floor"]["peak_rss_mb"],
        "api_vmhwm_mb": results["warm"]["api"]["peak_rss_vmhwm_mb"],
        "floor_vmhwm_mb": results["warm"]["floor"]["peak_rss_vmhwm_mb"],
        "method": "resource.getrusage(RUSAGE_SELF).ru_maxrss of each warm process after its timed loop "
        "(VmHWM from /proc/self/status as a check)",
    }
    results["cost"] = cost.model(results["lifecycle"], template)
    results["local_runtime"] = local_runtime()
    results["targets"] = evaluate(results)
    signal.alarm(0)
    results["run"] = {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_seconds": time.monotonic() - started,
        "commit": _git("rev-parse", "--short", "HEAD") or "unknown",
        "src_modified": bool(_git("status", "--porcelain", "--", "src/runtime")),
        "machine": _machine(),
        "load_average_1min": {"start": load_before[0], "end": os.getloadavg()[0]},
        "quick": args.quick,
        "settings": {
            "cold_runs": args.cold_runs,
            "warm_invocations": args.warm_invocations,
            "warmup": args.warmup,
            "lifecycle_runs": results["lifecycle"]["setup"]["runs"],
            "refresh_locations": args.refresh_locations,
            "refresh_status_changes": args.refresh_status_changes,
        },
    }
    print(report.text(results))
    if not args.no_write:
        (common.BENCH / "results.json").write_text(
            scrub(json.dumps(common.rounded(results), indent=1, sort_keys=True)) + "\n", encoding="utf-8"
        )
        (common.BENCH / "results.md").write_text(scrub(report.markdown(results)), encoding="utf-8")
        (common.ROOT / "docs" / "cost.md").write_text(scrub(report.cost_doc(results)), encoding="utf-8")
        common.log("wrote bench/results.json, bench/results.md, docs/cost.md")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HardStop as exc:
        common.log(str(exc))
        sys.exit(2)
