"""What one accepted command costs after the answer, per path, on the whole stack emulated in-process.

``LocalAws`` runs the real ASL on moto's Step Functions interpreter and the real handlers; a local
eMSP endpoint (``EmspReceiver``) takes the CommandResults. The bench plays the charge point backend
(CSMS): when a command is dispatched it publishes "Command Result Reported" on the bus, as a CSMS
would (the dev-only simulator is not deployed in production, so it is not part of the figures).

Paths (one command at a time, so that everything seen belongs to it):

* ``answered``: the charge point answers ACCEPTED; the CommandResult is delivered at once.
* ``timeout``: no answer; the state machine's wait ends and ResolveWithoutAnswer delivers TIMEOUT.
* ``delivery_retry``: answered, but the eMSP answers the first POST with HTTP 503, the second with 200.
* ``dispatch_failure``: PutEvents fails on every attempt; the task is retried, then resolved FAILED.

Per run: state transitions (``*StateEntered`` events plus task retries, from the execution history),
Lambda invocations and their durations, AWS calls by operation, DynamoDB capacity units (computed
from the sizes of the items involved), EventBridge entries, POSTs to the eMSP, and log bytes.
"""

import importlib
import json
import statistics
import threading
import time
from collections import Counter
from typing import Any

import common
from recorder import Recorder, count_by_operation

TIMEOUT_SECONDS = 3
PATHS = ("answered", "timeout", "delivery_retry", "dispatch_failure")


class Deadline(RuntimeError):
    pass


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Deadline(f"gave up waiting for {what} after {timeout} s")
        time.sleep(interval)


def transitions(history: list[dict[str, Any]]) -> dict[str, Any]:
    """State transitions as billed: every state entered, plus every retry of a task."""
    entered: list[str] = []
    scheduled: Counter[str] = Counter()
    for event in history:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            entered.append(event["stateEnteredEventDetails"]["name"])
        elif kind in ("TaskScheduled", "LambdaFunctionScheduled") and entered:
            scheduled[entered[-1]] += 1
    retries = sum(max(0, n - 1) for n in scheduled.values())
    return {"transitions": len(entered) + retries, "states_entered": entered, "task_retries": retries}


class Harness:
    def __init__(self, local: Any, receiver: Any, recorder: Recorder, sink: common.CountingSink):
        self.local = local
        self.receiver = receiver
        self.recorder = recorder
        self.sink = sink
        self.invocations: list[dict[str, Any]] = []
        self.in_flight = 0
        self.commands: dict[str, str] = {}  # response_url -> command_id, from the table's stream
        self._lock = threading.Lock()
        # Every invocation goes through the emulation's Lambda runtime: the API's (LocalAws.invoke) and
        # the ones moto makes (the state machine's tasks, EventBridge targets, the stream mapping).
        self._original_invoke = local.runtime.invoke
        local.runtime.invoke = self._invoke
        local.stream_listeners.append(self._on_stream)
        self.serial = 0

    def _on_stream(self, record: dict[str, Any]) -> None:
        image = record.get("dynamodb", {}).get("NewImage") or {}
        if image.get("type", {}).get("S") == "COMMAND" and "response_url" in image:
            with self._lock:
                self.commands[image["response_url"]["S"]] = image["command_id"]["S"]

    def _invoke(self, logical_id: str, event: dict[str, Any], asynchronous: bool = False) -> Any:
        name = common.LOGICAL_TO_NAME[logical_id]
        with self._lock:
            self.in_flight += 1
        mark = self.recorder.mark()
        record: dict[str, Any] = {"function": name, "event": event, "thread": threading.get_ident()}
        started = time.perf_counter()
        try:
            with self.recorder.running(name):
                record["result"] = self._original_invoke(logical_id, event, asynchronous)
            return record["result"]
        except BaseException as exc:
            record["error"] = repr(exc)
            raise
        finally:
            record["ms"] = (time.perf_counter() - started) * 1000
            record["calls"] = [
                c for c in self.recorder.since(mark) if c.thread == record["thread"] and c.function == name
            ]
            with self._lock:
                self.invocations.append(record)
                self.in_flight -= 1

    def idle(self) -> bool:
        with self._lock:
            busy = self.in_flight
        return busy == 0 and self.local.wait_stream_idle(timeout=0.01)

    def execution(self, command_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        sfn = self.local.client("stepfunctions")
        arn = f"{self.local.state_machine_arn.replace(':stateMachine:', ':execution:')}:{command_id}"
        history: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": arn}
        while True:
            page = sfn.get_execution_history(**kwargs)
            history.extend(page["events"])
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        return sfn.describe_execution(executionArn=arn), history

    def publish_result(self, command_id: str) -> None:
        """The CSMS's answer, on the stack's bus (its PutEvents entry is part of the path's cost)."""
        from ocpi_commands.adapters import aws

        with self.recorder.running("csms"):
            response = aws.client("events").put_events(
                Entries=[
                    {
                        "EventBusName": self.local.bus_name,
                        "Source": "cpo.csms",
                        "DetailType": "Command Result Reported",
                        "Detail": json.dumps({"command_id": command_id, "result": "ACCEPTED"}),
                    }
                ]
            )
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"publishing the result failed: {response}")

    def run_path(self, path: str) -> dict[str, Any]:
        from ocpi_commands.adapters.dynamodb.repository import DynamoRepository as Repository
        from ocpi_commands_dev.emulation.receiver import Reply

        self.serial += 1
        url = f"{self.receiver.url}/ocpi/emsp/2.2.1/commands/START_SESSION/{path}-{self.serial}"
        wait_for(self.idle, 10, "a quiet stack")
        call_mark, invocation_mark = self.recorder.mark(), len(self.invocations)
        bytes_before, lines_before = self.sink.snapshot()
        if path == "dispatch_failure":
            self.local.inject_fault("events", "PutEvents", "InternalException", times=3)
        try:
            event = common.fresh_event("api-start-session", f"{path}-{self.serial}", response_url=url)
            answer = json.loads(self.local.invoke("ApiFunction", event)["body"])
            if (answer.get("data") or {}).get("result") != "ACCEPTED":
                raise RuntimeError(f"{path}: the command was not accepted: {answer}")
            command_id = wait_for(lambda: self.commands.get(url), 10, "the PENDING record on the stream")
            if path in ("answered", "delivery_retry"):
                wait_for(lambda: self._dispatched(command_id), 10, "the dispatch")
                if path == "delivery_retry":
                    self.receiver.script.append(Reply(503))
                self.publish_result(command_id)
            repository = Repository(self.local.table_name)

            def settled() -> Any:
                command = repository.get_command(command_id)
                if not command or not command.delivery_status or command.delivery_status.value == "DELIVERING":
                    return None
                description, history = self.execution(command_id)
                if description["status"] == "RUNNING" or not self.idle():
                    return None
                return command, description, history

            command, description, history = wait_for(settled, TIMEOUT_SECONDS + 20, f"the end of {path}", 0.05)
        finally:
            self.local.clear_faults()
        bytes_after, lines_after = self.sink.snapshot()
        calls = self.recorder.since(call_mark)
        invocations = self.invocations[invocation_mark:]
        posts = self.receiver.for_path(url.removeprefix(self.receiver.url))
        entries = sum(
            len(c.request.get("Entries", [])) - int(json.loads(c.response_body or "{}").get("FailedEntryCount", 0))
            for c in calls
            if c.operation == "PutEvents" and c.status == 200
        )
        dynamodb = [c for c in calls if c.service == "dynamodb"]
        by_operation: dict[str, dict[str, float]] = {}
        for c in dynamodb:
            entry = by_operation.setdefault(c.operation, {"calls": 0, "wru": 0, "gsi_wru": 0, "rru": 0.0})
            entry["calls"] += 1
            entry["wru"] += c.wru
            entry["gsi_wru"] += c.gsi_wru
            entry["rru"] += c.rru
        return {
            "command_id": command_id,
            "execution_status": description["status"],
            "result": command.result.value if command.result else None,
            "delivery_status": command.delivery_status.value,
            **transitions(history),
            "lambda_invocations": dict(sorted(Counter(i["function"] for i in invocations).items())),
            "lambda_ms": [(i["function"], i["ms"]) for i in invocations],
            "lambda_errors": [(i["function"], i["error"]) for i in invocations if "error" in i],
            "aws_calls": count_by_operation(calls),
            "aws_calls_by_function": {
                f: count_by_operation([c for c in calls if c.function == f])
                for f in sorted({c.function for c in calls})
            },
            "dynamodb": {
                "wru": sum(c.wru for c in dynamodb),
                "gsi_wru": sum(c.gsi_wru for c in dynamodb),
                "rru": sum(c.rru for c in dynamodb),
                "by_operation": by_operation,
                "items_written_bytes": [s for c in dynamodb for s in c.items_written],
                "items_read_bytes": [s for c in dynamodb for s in c.items_read],
            },
            "eventbridge_entries": entries,
            "outbound_posts": len(posts),
            "posted_results": [p.json.get("result") for p in posts],
            "post_statuses": [a.http_status for a in command.delivery_attempts],
            "log_bytes": bytes_after - bytes_before,
            "log_lines": lines_after - lines_before,
            "_invocations": invocations,
        }

    def _dispatched(self, command_id: str) -> bool:
        with self._lock:
            return any(
                i["function"] == "dispatch"
                and i["event"].get("command_id") == command_id
                and (i.get("result") or {}).get("dispatched")
                for i in self.invocations
            )


def _stable(runs: list[dict[str, Any]], key: str) -> bool:
    return all(json.dumps(r[key], sort_keys=True) == json.dumps(runs[0][key], sort_keys=True) for r in runs)


def _summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    last = runs[-1]
    per_function: dict[str, list[float]] = {}
    per_run_ms: list[dict[str, list[float]]] = []
    for run in runs:
        mine: dict[str, list[float]] = {}
        for function, ms in run["lambda_ms"]:
            mine.setdefault(function, []).append(ms)
            per_function.setdefault(function, []).append(ms)
        per_run_ms.append(mine)
    summary = {k: v for k, v in last.items() if not k.startswith("_") and k not in ("lambda_ms", "command_id")}
    summary.update(
        {
            "runs": len(runs),
            "counts_stable_across_runs": all(
                _stable(runs, k)
                for k in ("transitions", "lambda_invocations", "aws_calls", "eventbridge_entries", "outbound_posts")
            ),
            "lambda_ms_median": {f: statistics.median(v) for f, v in sorted(per_function.items())},
            "lambda_ms_runs": per_run_ms,
            "log_bytes": statistics.median(r["log_bytes"] for r in runs),
            "log_lines": statistics.median(r["log_lines"] for r in runs),
        }
    )
    return summary


def run(repeats: dict[str, int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(results per path, replay fixtures for the lifecycle functions' first invocations)."""
    import boto3
    from moto.dynamodb.models import dynamodb_backends

    from ocpi_commands.adapters import aws
    from ocpi_commands.adapters.dynamodb.repository import DynamoRepository as Repository
    from ocpi_commands_dev.emulation.receiver import EmspReceiver
    from ocpi_commands_dev.emulation.stack import LocalAws
    from ocpi_commands_dev.loading import load_seed

    timeouts = ",".join(
        f"{c}={TIMEOUT_SECONDS}"
        for c in ("START_SESSION", "STOP_SESSION", "RESERVE_NOW", "CANCEL_RESERVATION", "UNLOCK_CONNECTOR")
    )
    environment = {
        "COMMAND_TIMEOUTS": timeouts,
        "DELIVERY_RETRY_WINDOW_SECONDS": "4",
        "DELIVERY_READ_TIMEOUT_SECONDS": "2",
        "RESPONSE_URL_POLICY": "local",  # the eMSP is the bench's receiver on 127.0.0.1
    }
    results: dict[str, Any] = {
        "setup": {
            "timeouts_seconds": TIMEOUT_SECONDS,
            "delivery_retry_window_seconds": 4,
            "csms": "played by the bench (publishes Command Result Reported when dispatched)",
        }
    }
    with EmspReceiver() as receiver, LocalAws(environment=environment, simulator=False) as local:
        recorder = Recorder(dynamodb_backends[common.ACCOUNT][common.REGION])
        session = boto3.session.Session()
        recorder.install(session.events)
        aws._session.append(session)  # LocalAws reset the clients: every one created from now on is hooked
        sink = common.CountingSink(lambda: recorder.current)
        with common.captured_stdout(sink):
            load_seed(Repository(local.table_name), json.loads(common.SEED.read_text(encoding="utf-8")))
            for name in ("api", "starter", "dispatch", "charge_point_events", "resolve"):
                importlib.import_module(f"ocpi_commands.handlers.{name}")  # not during a measured run
            harness = Harness(local, receiver, recorder, sink)
            harness.run_path("answered")  # warm-up: first invocations of every function, not counted
            runs: dict[str, list[dict[str, Any]]] = {}
            for path in PATHS:
                runs[path] = []
                for index in range(repeats.get(path, 1)):
                    common.log(f"  lifecycle: {path} run {index + 1}/{repeats.get(path, 1)}")
                    runs[path].append(harness.run_path(path))
        for path in PATHS:
            results[path] = _summarise(runs[path])
        replay = _replay(runs, receiver.url)
    return results, replay


def _replay(runs: dict[str, list[dict[str, Any]]], receiver_url: str) -> dict[str, Any]:
    """The last recorded invocation of each lifecycle function: its event and the answers it got."""
    functions: dict[str, Any] = {}
    for path, names in (("answered", ("starter", "dispatch", "charge_point_events")), ("timeout", ("resolve",))):
        for invocation in runs[path][-1]["_invocations"]:
            if invocation["function"] in names and "error" not in invocation:
                functions[invocation["function"]] = {
                    "event": invocation["event"],
                    "sequence": [c.replay() for c in invocation["calls"]],
                }
    return {"functions": functions, "receiver_url": receiver_url}
