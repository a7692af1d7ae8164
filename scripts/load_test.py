"""Load test of `make run` as users run it: OCPI's timing under a sustained rate of commands.

It starts `ocpi-commands run` (the same runtime as `make run`) in a subprocess on free ports, plays
the eMSP over HTTP on 127.0.0.1 (its own receiver for the CommandResults), sends START_SESSION at a
paced rate with a bounded number of requests in flight, then checks, command by command:

* every command got exactly one CommandResult, the one recorded, and its record is final;
* the charger that answers in 1 s (the seed's LOC1): ACCEPTED, none TIMEOUT, delivered within
  `--delivery-p99` seconds of the request (p99);
* no result arrives after the timeout announced in the CommandResponse; TIMEOUT from the silent
  charger arrives within it;
* chargers that answer at the very end of the wait (racing the TIMEOUT): exactly one result either way;
* the API answered within `--api-p99-ms` (p99).

It reports, per result value, the distribution of (result delivered - command accepted), then PASS
or FAIL with the reasons. Everything stops by itself (`--limit`), every wait has a deadline, and the
runtime is stopped with SIGTERM at the end (the time it takes is reported):

    make load                                           # 20/s for 60 s, up to 16 at once: 1,200 commands
    make load LOAD_ARGS="--rate 10 --duration 30"
    make load LOAD_ARGS="--api-url http://127.0.0.1:3000 --aws-port 5500"   # a make run already running

The report is printed and written to bench/load.json (make bench shows it beside its own figures).
"""

import argparse
import base64
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "demo-emsp-token-c"  # the seed's DE*TNM
ANSWERING = "3256"  # LOC1's behaviour in the seed: accept after 1 s
RACING = "3257"  # configured here: accepts at the very end of the charge point's wait (needs a connector)
SILENT = "SILENT"  # never answers: TIMEOUT


@dataclass
class Sent:
    index: int
    kind: str
    url: str
    sent_at: float = 0.0
    answered_at: float = 0.0
    http_status: int = 0
    result: str | None = None
    timeout: int | None = None
    error: str | None = None
    message: str | None = None
    posts: list[tuple[float, str]] = field(default_factory=list)  # (arrived at, result)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def quantiles(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {"n": len(ordered), "p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1], 3)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and of its children, from /proc (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(p) for p in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


def process_name(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return str(pid)
    for index, part in enumerate(argv):
        if part.startswith(b"ocpi_commands_dev.emulation."):  # a child of make run, labelled after its module
            label = argv[index + 1] if index + 1 < len(argv) and argv[index + 1] else part.rsplit(b".", 1)[1]
            return label.decode()
    return "service"


class Runtime:
    """`ocpi-commands run` in a subprocess, or one already running (`--api-url`)."""

    def __init__(self, args: argparse.Namespace, workdir: Path):
        self.args = args
        self.log = workdir / "make-run.log"
        self.process: subprocess.Popen[bytes] | None = None
        if args.api_url:
            self.api_url, self.aws_port = args.api_url.rstrip("/"), args.aws_port
        else:
            self.port, self.aws_port = free_port(), free_port()
            self.api_url = f"http://127.0.0.1:{self.port}"

    def start(self, deadline: float) -> None:
        if self.args.api_url:
            return
        with self.log.open("w") as out:
            self.process = subprocess.Popen(  # noqa: S603 - this repository's own command
                [str(ROOT / ".venv" / "bin" / "ocpi-commands"), "run", "--no-receiver"]
                + ["--port", str(self.port), "--aws-port", str(self.aws_port), "--timeout", str(self.args.timeout)],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        while "Ctrl-C stops everything" not in self.log.read_text() or not port_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"make run did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def pids(self) -> list[int]:
        return [self.process.pid, *children(self.process.pid)] if self.process else []

    def warnings(self) -> list[str]:
        if not self.log.exists():
            return []
        return [line for line in self.log.read_text(errors="replace").splitlines() if "WARNING the local" in line]

    def stop(self) -> dict[str, Any]:
        if self.process is None:
            return {}
        started, pids = time.monotonic(), self.pids()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        stopped = round(time.monotonic() - started, 2)
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{p}").exists() for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        return {
            "stop_after_sigterm_s": stopped,
            "exit_code": self.process.returncode,
            "processes_left": [p for p in pids if Path(f"/proc/{p}").exists()],
            "ports_left_open": [p for p in (self.port, self.aws_port) if port_open(p)],
        }


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - this repository's git
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def repository(aws_port: int) -> Any:
    import boto3

    from ocpi_commands.adapters.dynamodb.repository import DynamoRepository

    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{aws_port}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the local emulation's fake credentials
    )
    return DynamoRepository("ocpi-local-commands", client=client)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=20.0, help="START_SESSION per second (default 20)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of sending (default 60)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight at most (default 16)")
    parser.add_argument("--timeout", type=int, default=10, help="seconds announced for every command")
    parser.add_argument("--racing", type=float, default=0.05, help="share of commands to the racing charger")
    parser.add_argument("--silent", type=float, default=0.05, help="share of commands to the silent charger")
    parser.add_argument("--api-p99-ms", type=float, default=250.0)
    parser.add_argument("--delivery-p99", type=float, default=3.0, help="seconds, answering charger, from request")
    parser.add_argument("--limit", type=int, default=900, help="hard stop, seconds")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--api-url", help="a make run already running (then give --aws-port too)")
    parser.add_argument("--aws-port", type=int)
    parser.add_argument("--json", default=str(ROOT / "bench" / "load.json"), help="where the report goes")
    parser.add_argument("--no-write", action="store_true", help="print the report only")
    args = parser.parse_args()
    if args.api_url and not args.aws_port:
        parser.error("--api-url needs --aws-port")
    random.seed(args.seed)
    started = time.monotonic()
    hard_stop = started + args.limit
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers import ocpi_token
    from ocpi_commands.config import Settings
    from ocpi_commands_dev.emulation.receiver import EmspReceiver

    wait = Settings(table_name="t").charge_point_wait(args.timeout)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ocpi-load-") as workdir, EmspReceiver() as receiver:
        runtime = Runtime(args, Path(workdir))
        try:
            runtime.start(min(hard_stop, time.monotonic() + 120))
            repo = repository(runtime.aws_port)
            # The racing charger answers as the state machine's wait for it ends: the announced timeout
            # less the delivery margin, in whole seconds rounded down from the execution's start (so
            # one second less, in practice). Its answer and the TIMEOUT race.
            repo.put_simulator_behaviour("LOC1", RACING, {"mode": "accept", "delay_seconds": max(0, wait - 1)})
            report = run_load(args, runtime, receiver, ocpi_token, hard_stop, wait)
            report["records"] = check_records(repo, report.pop("_sent"))
        finally:
            report_stop = runtime.stop()
        report["make_run"] = {**report.get("make_run", {}), **report_stop, "warnings": len(runtime.warnings())}
        if runtime.warnings():
            report["make_run"]["first_warning"] = runtime.warnings()[0][:300]
    report["generated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    report["commit"] = _commit()
    report["settings"] = {
        k: getattr(args, k) for k in ("rate", "duration", "concurrency", "timeout", "racing", "silent", "seed")
    }
    report["load_average"] = {
        "before": [round(x, 2) for x in load_before],
        "after": [round(x, 2) for x in os.getloadavg()],
    }
    failures = verdict(report, args)
    report["verdict"] = "PASS" if not failures else "FAIL"
    report["failures"] = failures
    text = json.dumps(report, indent=2)
    print(text)
    if args.json and not args.no_write:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    print("PASS" if not failures else "FAIL:\n  " + "\n  ".join(failures))
    return 0 if not failures else 1


def run_load(
    args: argparse.Namespace, runtime: Runtime, receiver: Any, ocpi_token: Any, hard_stop: float, wait: int
) -> dict[str, Any]:
    host, _, port = runtime.api_url.removeprefix("http://").partition(":")
    auth = "Token " + base64.b64encode(TOKEN.encode()).decode()
    count = int(args.rate * args.duration)
    kinds = []
    for _ in range(count):
        draw = random.random()
        kinds.append("silent" if draw < args.silent else "racing" if draw < args.silent + args.racing else "answering")
    sent = [Sent(i, kinds[i], f"{receiver.url}/load/{i}") for i in range(count)]
    by_path = {s.url.removeprefix(receiver.url): s for s in sent}
    local = threading.local()
    in_flight = [0, 0]  # now, most
    lock = threading.Lock()
    run_id = f"{int(time.time())}"

    def on_receive(received: Any) -> None:
        found = by_path.get(received.path)
        if found is not None:
            try:
                result = json.loads(received.body).get("result")
            except ValueError:
                result = "<not JSON>"
            found.posts.append((received.at, str(result)))

    receiver.on_receive = on_receive

    def send(item: Sent) -> None:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight[1], in_flight[0])
        try:
            evse = {"silent": SILENT, "racing": RACING}.get(item.kind, ANSWERING)
            command = {"response_url": item.url, "token": ocpi_token(), "location_id": "LOC1", "evse_uid": evse}
            if item.kind == "racing":
                command["connector_id"] = "1"
            body = json.dumps(command)
            headers = {
                "Authorization": auth,
                "Content-Type": "application/json",
                "X-Request-ID": f"load-{run_id}-{item.index}",
                "X-Correlation-ID": f"load-corr-{item.index}",
            }
            for attempt in range(2):  # a keep-alive connection the server closed is opened again once
                connection = getattr(local, "connection", None)
                if connection is None:
                    connection = local.connection = http.client.HTTPConnection(host, int(port), timeout=30)
                try:
                    item.sent_at = time.time()
                    connection.request("POST", "/ocpi/cpo/2.2.1/commands/START_SESSION", body, headers)
                    response = connection.getresponse()
                    payload = json.loads(response.read())
                    item.answered_at = time.time()
                    item.http_status = response.status
                    data = payload.get("data") or {}
                    item.result, item.timeout = data.get("result"), data.get("timeout")
                    item.message = payload.get("status_message")
                    return
                except (OSError, http.client.HTTPException, ValueError) as error:
                    local.connection = None
                    connection.close()
                    item.error = repr(error)[:200]
                    if attempt:
                        return
        finally:
            with lock:
                in_flight[0] -= 1

    print(f"sending {count} START_SESSION at {args.rate}/s, up to {args.concurrency} at once, to {runtime.api_url}")
    cpu_before = {pid: cpu_seconds(pid) for pid in runtime.pids()}
    begin = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.concurrency, thread_name_prefix="emsp") as pool:
        for index, item in enumerate(sent):
            due = begin + index / args.rate
            while True:
                now = time.monotonic()
                if now >= due or now > hard_stop:
                    break
                time.sleep(min(0.05, due - now))
            if time.monotonic() > hard_stop:
                break
            pool.submit(send, item)
    sending = time.monotonic() - begin
    print(f"sent in {sending:.1f} s; waiting for the results", flush=True)
    # Every result is due within its announced timeout; then a little more to see duplicates.
    results_due = time.monotonic() + args.timeout + 15
    while time.monotonic() < min(results_due, hard_stop):
        missing = sum(1 for s in sent if s.result == "ACCEPTED" and not s.posts)
        if not missing:
            break
        time.sleep(0.5)
    time.sleep(min(3.0, max(0.0, hard_stop - time.monotonic())))  # anything that would deliver twice has had time to
    cpu_after = {pid: cpu_seconds(pid) for pid in runtime.pids()}
    cpu = round(sum(cpu_after.get(p, 0.0) - cpu_before.get(p, 0.0) for p in cpu_before), 2)
    by_process = {
        process_name(pid): round(1000 * (cpu_after.get(pid, 0.0) - cpu_before[pid]) / max(1, count), 1)
        for pid in cpu_before
    }
    accepted = [s for s in sent if s.result == "ACCEPTED"]
    return {
        "_sent": sent,
        "sending": {
            "commands": count,
            "sent": sum(1 for s in sent if s.sent_at),
            "rate_target_per_s": args.rate,
            "rate_achieved_per_s": round(count / sending, 1) if sending else None,
            "seconds": round(sending, 1),
            "most_in_flight": in_flight[1],
            "timeout_s": args.timeout,
            "charge_point_wait_s": wait,
        },
        "api": {
            "latency_s": quantiles([s.answered_at - s.sent_at for s in sent if s.answered_at]),
            "answers": dict(Counter(f"{s.http_status} {s.result}" for s in sent if s.answered_at)),
            "refusals": Counter(s.message for s in sent if s.answered_at and s.result != "ACCEPTED").most_common(3),
            "errors": Counter(s.error for s in sent if s.error and not s.answered_at).most_common(3),
        },
        "results": results_by_kind(accepted),
        "make_run": {
            "cpu_s": cpu,
            "cpu_ms_per_command": round(1000 * cpu / max(1, len(accepted)), 1),
            "cpu_ms_per_command_by_process": by_process,
        },
    }


def results_by_kind(accepted: list[Sent]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    groups: dict[tuple[str, str], list[Sent]] = defaultdict(list)
    for item in accepted:
        groups[(item.kind, item.posts[0][1] if item.posts else "NONE")].append(item)
    for (kind, result), items in sorted(groups.items()):
        delivered = [i for i in items if i.posts]
        table[f"{kind} -> {result}"] = {
            "since_accepted_s": quantiles([i.posts[0][0] - i.answered_at for i in delivered]),
            "since_request_s": quantiles([i.posts[0][0] - i.sent_at for i in delivered]),
            "after_announced_timeout": sum(1 for i in delivered if i.posts[0][0] - i.answered_at > (i.timeout or 0)),
        }
    table["_counts"] = {
        "lost": sum(1 for i in accepted if not i.posts),
        "duplicated": sum(1 for i in accepted if len(i.posts) > 1),
        "answering_not_accepted": sum(
            1 for i in accepted if i.kind == "answering" and i.posts and i.posts[0][1] != "ACCEPTED"
        ),
        "answering_timeout": sum(
            1 for i in accepted if i.kind == "answering" and i.posts and i.posts[0][1] == "TIMEOUT"
        ),
        "silent_not_timeout": sum(1 for i in accepted if i.kind == "silent" and i.posts and i.posts[0][1] != "TIMEOUT"),
        "after_announced_timeout": sum(
            1 for i in accepted if i.posts and i.posts[0][0] - i.answered_at > (i.timeout or 0)
        ),
    }
    return table


def check_records(repo: Any, sent: list[Sent]) -> dict[str, Any]:
    """The table's view: every accepted command RESOLVED and DELIVERED, with the result the eMSP got."""
    by_url = {s.url: s for s in sent if s.result == "ACCEPTED"}
    records = {item["response_url"]: item for item in repo._scan_type("COMMAND") if item.get("response_url") in by_url}
    not_final = mismatched = late_results = 0
    stages: dict[str, list[float]] = defaultdict(list)
    for url, item in by_url.items():
        record = records.get(url)
        if record is None or record.get("status") != "RESOLVED" or record.get("delivery_status") != "DELIVERED":
            not_final += 1
        elif item.posts and item.posts[0][1] != record.get("result"):
            mismatched += 1
        late_results += int(record.get("late_results") or 0) if record else 0
        if record is not None and item.kind == "answering":
            for stage, seconds in _stages(record).items():
                stages[stage].append(seconds)
    return {
        "found": len(records),
        "not_final": not_final,
        "posted_result_differs_from_record": mismatched,
        "late_charge_point_answers_ignored": late_results,
        # Where the time goes, from the record's own timestamps (the charger that answers in 1 s).
        "answering_stages_s": {stage: quantiles(values) for stage, values in stages.items()},
    }


STAGES = (
    # accepted -> the stream, the starter, StartExecution, the state machine, the dispatch function
    ("accepted_to_dispatched", "accepted_at", "dispatched_at"),
    # dispatched -> EventBridge, the charge point (1 s), EventBridge, charge_point_events
    ("dispatched_to_resolved", "dispatched_at", "resolved_at"),
    # resolved -> SendTaskSuccess, the state machine, the delivery function's POST
    ("resolved_to_delivered", "resolved_at", "delivered_at"),
)


def _stages(record: dict[str, Any]) -> dict[str, float]:
    from datetime import datetime

    found = {}
    for stage, start, end in STAGES:
        if record.get(start) and record.get(end):
            began, ended = (datetime.fromisoformat(str(record[k]).replace("Z", "+00:00")) for k in (start, end))
            found[stage] = (ended - began).total_seconds()
    return found


def verdict(report: dict[str, Any], args: argparse.Namespace) -> list[str]:
    failures = []
    sending, api, counts = report["sending"], report["api"], report["results"]["_counts"]
    accepted = sum(n for answer, n in api["answers"].items() if answer.endswith(" ACCEPTED"))
    if accepted != sending["commands"]:
        failures.append(
            f"{sending['commands'] - accepted} of {sending['commands']} commands not ACCEPTED: {api['answers']}"
        )
    if (api["latency_s"].get("p99") or 0) * 1000 > args.api_p99_ms:
        failures.append(f"API p99 {api['latency_s']['p99'] * 1000:.0f} ms > {args.api_p99_ms:.0f} ms")
    if sending["rate_achieved_per_s"] and sending["rate_achieved_per_s"] < 0.95 * args.rate:
        failures.append(f"sent at {sending['rate_achieved_per_s']}/s, below the {args.rate}/s asked")
    for name in ("lost", "duplicated", "answering_not_accepted", "silent_not_timeout", "after_announced_timeout"):
        if counts[name]:
            failures.append(f"{counts[name]} results {name.replace('_', ' ')}")
    answered = report["results"].get("answering -> ACCEPTED", {}).get("since_request_s", {})
    if (answered.get("p99") or 0) > args.delivery_p99:
        failures.append(
            f"answering charger: delivered p99 {answered['p99']} s after the request > {args.delivery_p99} s"
        )
    records = report["records"]
    for name in ("not_final", "posted_result_differs_from_record"):
        if records[name]:
            failures.append(f"{records[name]} records {name.replace('_', ' ')}")
    stop = report["make_run"]
    if stop.get("processes_left") or stop.get("ports_left_open"):
        failures.append(f"after SIGTERM: processes {stop['processes_left']}, ports {stop['ports_left_open']}")
    return failures


if __name__ == "__main__":
    sys.exit(main())
