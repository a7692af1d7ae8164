"""Bounded local load test: thousands of commands whose results race their timeouts.

Everything runs on loopback, in this process: the API handler, the lifecycle on the emulation
(Step Functions executing the real ASL), a local eMSP receiver. Charge point answers are published
by this script: some at once, some within +-RACE_MS of the deadline, some never (TIMEOUT), some
twice (duplicates). It stops by itself (a hard time limit) and checks that every command ends in
exactly one recorded result, delivered exactly once:

    make load                               # 2000 commands
    make load LOAD_ARGS="--commands 5000 --timeout 8"
"""

import argparse
import json
import random
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--timeout", type=int, default=6, help="seconds announced for every command")
    parser.add_argument("--race-ms", type=int, default=50, help="results arrive within +-this of the deadline")
    parser.add_argument("--senders", type=int, default=8, help="concurrent eMSP clients")
    parser.add_argument("--limit", type=int, default=900, help="hard stop, seconds")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    random.seed(args.seed)

    import os

    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers import Api, ocpi_token, seed
    from ocpi_commands.adapters.dynamodb.repository import DynamoRepository as Repository
    from ocpi_commands.config import uniform_timeouts
    from ocpi_commands.observability import logger
    from ocpi_commands_dev.emulation.receiver import EmspReceiver
    from ocpi_commands_dev.emulation.stack import LocalAws
    from ocpi_commands_dev.loading import load_seed

    logger.setLevel("ERROR")
    environment = {
        "COMMAND_TIMEOUTS": uniform_timeouts(args.timeout),
        "DELIVERY_RETRY_WINDOW_SECONDS": "10",
        "RESPONSE_URL_POLICY": "local",  # the eMSP is the local receiver on 127.0.0.1
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    hard_stop = time.monotonic() + args.limit
    with EmspReceiver() as receiver, LocalAws(environment=environment, simulator=False) as local:
        repository = Repository(local.table_name)
        load_seed(repository, seed())
        api = Api()
        events = local.client("events")
        plan: dict[str, str] = {}  # response_url -> "early" | "race" | "silent"
        accepted: dict[str, float] = {}
        lock = threading.Lock()
        kinds = ["early", "race", "race", "silent"]

        def publish(command_id: str, result: str) -> None:
            events.put_events(
                Entries=[
                    {
                        "EventBusName": local.bus_name,
                        "Source": "load.csms",
                        "DetailType": "Command Result Reported",
                        "Detail": json.dumps({"command_id": command_id, "result": result}),
                    }
                ]
            )

        def answer_later(url: str, kind: str, sent_at: float) -> None:
            if kind == "silent":
                return
            while url not in by_url and time.monotonic() < hard_stop:  # the stream tells id and deadline
                time.sleep(0.02)
            command_id = by_url.get(url)
            if command_id is None:
                return
            if kind == "early":
                time.sleep(random.uniform(0.1, 1.0))
            else:
                # The state machine's wait ends between the deadline and the next whole second (it never
                # ends early): aim anywhere in that window, +-race_ms, so answers and timeouts really race.
                deadline = deadlines[url]
                target = deadline + random.uniform(-args.race_ms / 1000, 1.0 + args.race_ms / 1000)
                time.sleep(max(0.0, target - time.time()))
            publish(command_id, "ACCEPTED")
            if random.random() < 0.1:  # a CSMS that repeats itself
                publish(command_id, "ACCEPTED")

        by_url: dict[str, str] = {}
        deadlines: dict[str, float] = {}

        def repository_command(url: str):
            command_id = by_url.get(url)
            return repository.get_command(command_id) if command_id else None

        scheduler = ThreadPoolExecutor(max_workers=256, thread_name_prefix="csms")

        def send(index: int) -> None:
            url = f"{receiver.url}/load/{index}"
            kind = kinds[index % len(kinds)]
            body = {"response_url": url, "token": ocpi_token(), "location_id": "LOC1", "evse_uid": "SILENT"}
            sent_at = time.monotonic()
            response = api.command("START_SESSION", body, headers={"X-Request-ID": f"load-{index}"})
            if response.result != "ACCEPTED":
                raise SystemExit(f"command {index} was not accepted: {response}")
            with lock:
                plan[url], accepted[url] = kind, sent_at
            # The command id is in the table; the scheduler finds it through the response_url guard.
            scheduler.submit(answer_later, url, kind, sent_at)

        started = time.monotonic()

        # Index response_url -> command id from the stream, as the records are inserted.
        def index_record(record: dict) -> None:
            image = record.get("dynamodb", {}).get("NewImage", {})
            if image.get("type", {}).get("S") == "COMMAND" and record.get("eventName") == "INSERT":
                deadlines[image["response_url"]["S"]] = float(image["deadline_epoch"]["N"])
                by_url[image["response_url"]["S"]] = image["command_id"]["S"]

        local.stream_listeners.append(index_record)
        with ThreadPoolExecutor(max_workers=args.senders, thread_name_prefix="emsp") as senders:
            list(senders.map(send, range(args.commands)))
        sent = time.monotonic() - started
        print(f"sent {args.commands} commands in {sent:.1f} s ({args.commands / sent:.0f}/s)", flush=True)

        def all_final() -> bool:
            done = 0
            for url in plan:
                command = repository_command(url)
                if command and command.delivery_status and command.delivery_status.value in ("DELIVERED", "FAILED"):
                    done += 1
            return done

        while time.monotonic() < hard_stop:
            done = all_final()
            if done == len(plan):
                break
            print(f"  {done}/{len(plan)} commands final", flush=True)
            time.sleep(5)
        time.sleep(2)  # anything that would deliver twice has had time to
        scheduler.shutdown(wait=False, cancel_futures=True)
        duration = time.monotonic() - started

        posts = Counter(r.path for r in receiver.received)
        results, lost, duplicated, mismatched, not_terminal, late = Counter(), [], [], [], [], 0
        for url, kind in plan.items():
            path = url.removeprefix(receiver.url)
            command = repository_command(url)
            if (
                command is None
                or command.status.value != "RESOLVED"
                or command.delivery_status is None
                or command.delivery_status.value != "DELIVERED"
            ):
                not_terminal.append(url)
            if posts[path] == 0:
                lost.append(url)
            elif posts[path] > 1:
                duplicated.append(url)
            if command is not None and command.result is not None:
                results[(kind, command.result.value)] += 1
                late += command.late_results
                sent_results = [r.json["result"] for r in receiver.received if r.path == path]
                if sent_results and sent_results[0] != command.result.value:
                    mismatched.append(url)
        handler_errors = len(local.errors)

    report = {
        "commands": len(plan),
        "duration_s": round(duration, 1),
        "send_rate_per_s": round(args.commands / sent, 1),
        "timeout_s": args.timeout,
        "race_window_ms": args.race_ms,
        "lost": len(lost),
        "duplicated": len(duplicated),
        "not_terminal": len(not_terminal),
        "posted_result_differs_from_record": len(mismatched),
        "late_results_ignored": late,
        "handler_errors": handler_errors,
        "results": {f"{kind}->{result}": n for (kind, result), n in sorted(results.items())},
    }
    print(json.dumps(report, indent=2))
    ok = not lost and not duplicated and not not_terminal and not mismatched and len(plan) == args.commands
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
