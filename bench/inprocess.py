"""The in-process sections of the bench, run in their own process by ``bench/run.py``.

    inprocess.py OUT.json [--answered-runs N] [--quick]

1. AWS round trips of the synchronous path (moto in-process), 2. the lifecycle per path (LocalAws).
They load moto, the emulation and every handler: in a separate process, the parent stays small, so
that the fresh processes it starts next measure their own peak RSS (Linux accounts a child's memory
from before its exec, i.e. the parent's, into ru_maxrss).

OUT receives ``{"round_trips": ..., "lifecycle": ..., "replay": ...}``; ``replay`` holds the answers
AWS (moto) gave, which the cold start and warm children replay.
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402 - after the path set-up above


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--answered-runs", type=int, default=8)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "POWERTOOLS_DEV", "POWERTOOLS_METRICS_DISABLED"):
        os.environ.pop(key, None)
    os.environ.update(common.FAKE_CREDENTIALS)
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "1"

    import roundtrips

    import lifecycle

    common.log("1/5 AWS round trips of the synchronous path (moto in-process)")
    round_trips, replay = roundtrips.run()
    common.log("2/5 lifecycle per path (LocalAws, local eMSP endpoint)")
    repeats = {"answered": args.answered_runs, "timeout": 3, "delivery_retry": 2, "dispatch_failure": 1}
    if args.quick:
        repeats.update(timeout=1, delivery_retry=1)
    results, lifecycle_replay = lifecycle.run(repeats)
    results["setup"]["runs"] = repeats
    spec = {
        "by_request": replay["by_request"],
        "functions": {**replay["functions"], **lifecycle_replay["functions"]},
        "receiver_url": lifecycle_replay["receiver_url"],
    }
    spec["functions"]["simulator"] = {
        "event": json.loads((common.EVENTS / "simulator-command-dispatched.json").read_text(encoding="utf-8")),
        "sequence": [],
    }
    spec["by_operation"] = {}
    for fixture in spec["functions"].values():
        for call in fixture["sequence"]:
            spec["by_operation"].setdefault(f"{call['service']}:{call['operation']}", call)
    Path(args.out).write_text(
        json.dumps({"round_trips": round_trips, "lifecycle": results, "replay": spec}), encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
