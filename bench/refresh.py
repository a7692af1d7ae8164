"""Live data at scale: a CPO platform with 50,000 EVSEs pushes a full refresh (10,000 "Location Updated").

On ``LocalAws`` the events take the deployed path: PutEvents on the stack's bus, the template's rule, the
feed queue (batches of 10, partial batch failures, redrive after 5 receives) and LocationFeedFunction,
whose conditional writes go to moto's DynamoDB. The bench plays the platform: it publishes as fast as
PutEvents takes the events (10 per call) while the queue's workers apply them. Phases, one after the other:

* ``first_refresh``: every Location is new (a read that misses, then a conditional PutItem);
* ``refresh_10pct_changed``: the same 10,000 again, one EVSE in ten changed (its status and
  ``last_updated``); the unchanged Locations cost a read and no write;
* ``status_changes``: ``EVSE Status Changed`` events (one conditional UpdateItem each, no read);
* ``status_latency``: then single status events, one at a time: from PutEvents until applied.

Per phase: events/s from the first PutEvents until the queue is drained, the DynamoDB calls and capacity
units of the feed function per event (computed from the items' sizes, as bench/lifecycle.py does),
batches, batch item failures, dead letters, handler errors, and a check that every stored EVSE is the
last one published (no update lost).
"""

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402 - after the path set-up above
from recorder import Recorder, count_by_operation  # noqa: E402

LOCATIONS = 10_000
EVSES_PER_LOCATION = 5
STATUS_CHANGES = 2_000
STATUSES = ("AVAILABLE", "CHARGING", "AVAILABLE", "BLOCKED", "AVAILABLE", "OUTOFORDER", "AVAILABLE", "INOPERATIVE")
BASE_MS = 1_790_000_000_000  # the platform's clock for last_updated: fixed, so that runs compare


def stamp(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def location(n: int, changed: set[int], generation: int) -> dict[str, Any]:
    """An OCPI 2.2.1 Location as a platform publishes it (address, coordinates, connectors, ...)."""
    evses = []
    for e in range(EVSES_PER_LOCATION):
        uid = f"{n:05d}-{e}"
        moved = (n * EVSES_PER_LOCATION + e) in changed
        at = BASE_MS + (generation * 60_000 if moved else 0)
        evses.append(
            {
                "uid": uid,
                "evse_id": f"NL*CPO*E{n:05d}{e}",
                "status": STATUSES[(n + e + (generation if moved else 0)) % len(STATUSES)],
                "capabilities": ["REMOTE_START_STOP_CAPABLE", "RESERVABLE", "RFID_READER"],
                "connectors": [
                    {
                        "id": "1",
                        "standard": "IEC_62196_T2",
                        "format": "SOCKET",
                        "power_type": "AC_3_PHASE",
                        "max_voltage": 230,
                        "max_amperage": 32,
                        "last_updated": stamp(BASE_MS),
                    }
                ],
                "last_updated": stamp(at),
            }
        )
    return {
        "country_code": "NL",
        "party_id": "CPO",
        "id": f"LOC-{n:05d}",
        "publish": True,
        "name": f"Hub {n}",
        "address": f"Stationsplein {n}",
        "city": "Utrecht",
        "postal_code": "3511 ED",
        "country": "NLD",
        "coordinates": {"latitude": "52.089444", "longitude": "5.110278"},
        "time_zone": "Europe/Amsterdam",
        "evses": evses,
        # A Location changes when one of its EVSEs does: the unchanged ones come again as they were.
        "last_updated": max(e["last_updated"] for e in evses),
    }


class Refresh:
    def __init__(self, local: Any, recorder: Recorder):
        self.local = local
        self.recorder = recorder
        self.batches = 0
        self.failures = 0
        for mapping in local.queues.mappings.values():
            mapping.invoke = self._wrap(mapping.invoke)

    def _wrap(self, invoke: Any) -> Any:
        def measured(function: str, event: dict[str, Any]) -> Any:
            with self.recorder.running("location_feed"):
                result = invoke(function, event)
            self.batches += 1
            if isinstance(result, dict):
                self.failures += len(result.get("batchItemFailures") or [])
            return result

        return measured

    def publish(self, detail_type: str, details: list[dict[str, Any]]) -> int:
        events = self.local.client("events")
        calls = 0
        for start in range(0, len(details), 10):
            entries = [
                {
                    "EventBusName": self.local.bus_name,
                    "Source": "cpo.platform",
                    "DetailType": detail_type,
                    "Detail": json.dumps(d, separators=(",", ":")),
                }
                for d in details[start : start + 10]
            ]
            response = events.put_events(Entries=entries)
            if response.get("FailedEntryCount"):
                raise RuntimeError(f"PutEvents refused {response['FailedEntryCount']} entries")
            calls += 1
        return calls

    def phase(self, name: str, detail_type: str, details: list[dict[str, Any]]) -> dict[str, Any]:
        common.log(f"  live data: {name} ({len(details)} {detail_type} events)")
        mark, batches, failures = self.recorder.mark(), self.batches, self.failures
        dead, errors = len(self.local.queues.dead_letters), len(self.local.errors)
        started = time.perf_counter()
        put_calls = self.publish(detail_type, details)
        published = time.perf_counter() - started
        if not self.local.wait_queues_idle(timeout=1200):
            raise RuntimeError(f"{name}: the feed queue did not drain")
        elapsed = time.perf_counter() - started
        calls = self.recorder.since(mark)
        events = len(details)
        wru = sum(c.wru for c in calls)
        rru = sum(c.rru for c in calls)
        writes = [c for c in calls if c.operation in ("PutItem", "UpdateItem") and c.status == 200]
        items = [size for c in writes for size in c.items_written]
        return {
            "events": events,
            "put_events_calls": put_calls,
            "seconds": elapsed,
            "events_per_second": events / elapsed,
            "publish_seconds": published,
            "batches": self.batches - batches,
            "batch_item_failures": self.failures - failures,
            "dead_letters": len(self.local.queues.dead_letters) - dead,
            "handler_errors": len(self.local.errors) - errors,
            "dynamodb_calls": count_by_operation([c for c in calls if c.service == "dynamodb"]),
            # Refused conditions: a heartbeat already later (harmless), or a merge redone (a revision moved).
            "conditional_check_failures": count_by_operation([c for c in calls if c.status == 400]),
            "wcu_total": wru,
            "wcu_per_event": wru / events,
            "rcu_total": rru,
            "rcu_per_event": rru / events,
            "item_bytes_written_median": sorted(items)[len(items) // 2] if items else 0,
        }

    def latency(
        self, samples: int, location_id: str, evse_uid: str, statuses: list[str], base_ms: int
    ) -> dict[str, Any]:
        """One "EVSE Status Changed" at a time on a quiet stack: PutEvents until the queue has applied it."""
        common.log(f"  live data: status latency ({samples} single events)")
        times = []
        for k in range(samples):
            detail = {
                "location_id": location_id,
                "evse_uid": evse_uid,
                "status": statuses[k % len(statuses)],
                "last_updated": stamp(base_ms + k),
            }
            started = time.perf_counter()
            self.publish("EVSE Status Changed", [detail])
            if not self.local.wait_queues_idle(timeout=30):
                raise RuntimeError("status latency: the feed queue did not drain")
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        return {"samples": samples, "median_ms": times[len(times) // 2], "max_ms": times[-1]}


def expected_statuses(locations: list[dict[str, Any]]) -> dict[str, str]:
    return {e["uid"]: e["status"] for loc in locations for e in loc["evses"]}


def stored_statuses(local: Any) -> dict[str, str]:
    from ocpi_commands.adapters.dynamodb.locations import location_of
    from ocpi_commands.adapters.dynamodb.repository import DynamoRepository

    found = {}
    for item in DynamoRepository(local.table_name)._scan_type("LOCATION"):
        if str(item.get("location_id", "")).startswith("LOC-"):
            for evse in location_of(item).evses:
                found[evse.uid] = evse.status.value
    return found


def run(locations: int = LOCATIONS, status_changes: int = STATUS_CHANGES) -> dict[str, Any]:
    import boto3
    from moto.dynamodb.models import dynamodb_backends

    from ocpi_commands.adapters import aws
    from ocpi_commands_dev.emulation.stack import LocalAws

    environment = {"POWERTOOLS_TRACE_DISABLED": "1"}
    results: dict[str, Any] = {
        "setup": {
            "locations": locations,
            "evses": locations * EVSES_PER_LOCATION,
            "status_changes": status_changes,
            "path": "PutEvents (10 per call) > rule > feed queue (batches of 10) > LocationFeedFunction > DynamoDB",
            "queue_workers": None,
        }
    }
    with LocalAws(environment=environment, simulator=False) as local:
        recorder = Recorder(dynamodb_backends[common.ACCOUNT][common.REGION])
        session = boto3.session.Session()
        recorder.install(session.events)
        aws._session.append(session)  # every client created from now on is hooked
        workers = sum(len(m.threads) for m in local.queues.mappings.values())
        results["setup"]["queue_workers"] = workers
        sink = common.CountingSink(lambda: recorder.current)
        refresh = Refresh(local, recorder)
        with common.captured_stdout(sink):
            import ocpi_commands.handlers.location_feed  # noqa: F401 - imported before the measured phases

            n_evses = locations * EVSES_PER_LOCATION
            first = [location(n, set(), 0) for n in range(locations)]
            results["first_refresh"] = refresh.phase("first_refresh", "Location Updated", first)
            changed = set(range(0, n_evses, 10))  # one EVSE in ten
            second = [location(n, changed, 1) for n in range(locations)]
            results["refresh_10pct_changed"] = refresh.phase("refresh_10pct_changed", "Location Updated", second)
            expected = expected_statuses(second)
            statuses = []
            for k in range(status_changes):
                n, e = (k * 7919) % locations, k % EVSES_PER_LOCATION  # spread over the network
                uid = f"{n:05d}-{e}"
                value = STATUSES[(k + 3) % len(STATUSES)]
                statuses.append(
                    {
                        "location_id": f"LOC-{n:05d}",
                        "evse_uid": uid,
                        "status": value,
                        "last_updated": stamp(BASE_MS + 3_600_000 + k),
                    }
                )
                expected[uid] = value
            results["status_changes"] = refresh.phase("status_changes", "EVSE Status Changed", statuses)
            last = ["AVAILABLE", "OUTOFORDER"] * 10
            results["status_latency"] = refresh.latency(len(last), "LOC-00001", "00001-1", last, BASE_MS + 7_200_000)
            expected["00001-1"] = last[-1]
            results["log_bytes_per_event"] = sink.bytes / (2 * locations + status_changes + len(last))
        stored = stored_statuses(local)
        lost = sum(1 for uid, value in expected.items() if stored.get(uid) != value)
        results["check"] = {"evses_stored": len(stored), "evses_expected": len(expected), "lost_updates": lost}
        if lost or len(stored) != len(expected):
            raise RuntimeError(f"live data: {lost} updates lost, {len(stored)} of {len(expected)} EVSEs stored")
    return results


def main() -> int:
    """``refresh.py OUT.json [--locations N] [--status-changes N]``: run in its own process by bench/run.py."""
    import argparse
    import os

    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--locations", type=int, default=LOCATIONS)
    parser.add_argument("--status-changes", type=int, default=STATUS_CHANGES)
    args = parser.parse_args()
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "POWERTOOLS_DEV", "POWERTOOLS_METRICS_DISABLED"):
        os.environ.pop(key, None)
    os.environ.update(common.FAKE_CREDENTIALS)
    Path(args.out).write_text(json.dumps(run(args.locations, args.status_changes)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
