"""`make run`: the OCPI API on 127.0.0.1, served by the real handlers, with embedded AWS emulation.

Like ``sam local start-api``, HTTP requests become API Gateway (REST, proxy) events for the routes
read from template.yaml. Behind the API: moto in server mode (DynamoDB, EventBridge, Step Functions
executing the real ASL), the lifecycle functions in-process, the charge point simulator, and a
small eMSP endpoint showing the CommandResults that arrive.
"""

import base64
import ipaddress
import json
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ocpi_commands_dev.emulation import gateway
from ocpi_commands_dev.emulation import template as tpl
from ocpi_commands_dev.emulation.apigw import Routes, build_event, gateway_template
from ocpi_commands_dev.emulation.http_server import HttpServer, Request, Response
from ocpi_commands_dev.emulation.receiver import EmspReceiver, Received
from ocpi_commands_dev.emulation.stack import LocalAws, free_port
from ocpi_commands_dev.emulation.workers import WorkerApi

API_GATEWAY_MAX_BODY = 10 * 1024 * 1024


class ApiServer:
    """The local API Gateway: HTTP (``http.HttpServer``) -> API Gateway event -> the function's handler."""

    def __init__(
        self,
        host: str,
        port: int,
        routes: Routes,
        invoke: Callable[[str, dict[str, Any]], Any],
        stage: str,
        workers: int = 32,
    ):
        self.routes = routes
        self.invoke = invoke
        self.stage = stage
        self.httpd = HttpServer(
            host, port, self._handle, workers=workers, max_body=API_GATEWAY_MAX_BODY, name="api", refused=self._refused
        )
        self.port = self.httpd.port

    def _gateway(self, response_type: str, headers: list[tuple[str, str]]) -> Response:
        """What API Gateway answers itself: the template's gateway response for this type."""
        rendered = gateway.render(self.routes.template, response_type, dict(headers))
        return Response(rendered.status, rendered.headers, rendered.body.encode())

    def _refused(self, status: int, headers: list[tuple[str, str]]) -> Response | None:
        """The HTTP server's own refusals that API Gateway answers with a gateway response."""
        if status == 413:
            return self._gateway("REQUEST_TOO_LARGE", headers)
        if status == 502:  # the handler itself failed
            return self._gateway("INTEGRATION_FAILURE", headers)
        return None

    def _handle(self, request: Request) -> Response:
        path, _, query = request.target.partition("?")
        match = self.routes.match(request.method, path)
        if match is None:  # a route API Gateway does not have
            return self._gateway("MISSING_AUTHENTICATION_TOKEN", request.headers)
        function, resource, params = match
        if resource in self.routes.iam_resources and not ipaddress.ip_address(request.client[0]).is_loopback:
            # On AWS these routes need a SigV4 signature (AWS_IAM); locally only loopback clients.
            return self._gateway("MISSING_AUTHENTICATION_TOKEN", request.headers)
        headers = dict(request.headers)
        event = build_event(
            request.method,
            path,
            headers,
            request.body or None,
            resource=resource,
            path_parameters=params,
            query=query,
            stage=self.stage,
            domain_name=request.header("Host") or "localhost",
            source_ip=request.client[0],
        )
        try:
            answer = self.invoke(function, event)
        except Exception:  # noqa: BLE001 - the integration failed (the function raised or could not run)
            return self._gateway("INTEGRATION_FAILURE", request.headers)
        out_headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
        for name, values in (answer.get("multiValueHeaders") or {}).items():
            out_headers[name] = values[-1]
        payload = answer.get("body") or ""
        data = base64.b64decode(payload) if answer.get("isBase64Encoded") else payload.encode()
        return Response(int(answer.get("statusCode", 200)), out_headers, data)

    def start(self) -> "ApiServer":
        self.httpd.start()
        return self

    def stop(self) -> None:
        self.httpd.stop()


class Narrator:
    """Tells each command's life, readably, from the table's stream (the same records the product writes)."""

    def __init__(self, out: TextIO):
        self.out = out
        self._seen: dict[str, dict[str, Any]] = {}
        self._statuses: dict[str, str] = {}  # the EVSE statuses told so far
        self._lock = threading.Lock()

    def say(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S") + f".{int(time.time() * 1000) % 1000:03d}"
        with self._lock:
            print(f"{stamp}  {text}", file=self.out, flush=True)

    def on_record(self, record: dict[str, Any]) -> None:
        from ocpi_commands.adapters.dynamodb.codec import deserialize

        image = record.get("dynamodb", {}).get("NewImage")
        if not image:
            return
        item = deserialize(image)
        kind = item.get("type")
        if kind == "COMMAND":
            self._command(item)
        elif kind == "SENT_COMMAND":
            self._sent(item)
        elif kind == "EMSP_EVENT" and record.get("eventName") == "INSERT":
            self.say(f"eMSP event  {item.get('detail_type')}  {item.get('detail')}")
        elif kind == "RESERVATION":
            self.say(
                f"reservation {item.get('reservation_id')} of {item.get('owner', {}).get('country_code')}*"
                f"{item.get('owner', {}).get('party_id')}: {item.get('status')} "
                f"(charge point id {item.get('cp_reservation_id')}, until {item.get('expiry_date')})"
            )
        elif kind == "SESSION":
            self.say(
                f"session {item.get('session_id')} at {item.get('location_id')}/{item.get('evse_uid')}: "
                f"{item.get('status')}"
            )
        elif kind == "LOCATION" and record.get("eventName") == "MODIFY":
            self._location(item)

    def _location(self, item: dict[str, Any]) -> None:
        """The EVSEs this write received (pushed, pulled or loaded) whose status is new: what decides next."""
        for evse in (item.get("evse_map") or {}).values():
            key = f"{item.get('location_id')}:{evse.get('uid')}"
            received_now = evse.get("updated_at") == item.get("updated_at")
            if received_now and self._statuses.get(key) != evse.get("status"):
                self._statuses[key] = str(evse.get("status"))
                self.say(
                    f"location {item.get('location_id')}: EVSE {evse.get('uid')} {evse.get('status')}"
                    f" (from {evse.get('update_source') or '?'}, last_updated {evse.get('last_updated')})"
                )

    def _sent(self, item: dict[str, Any]) -> None:
        """The eMSP side's commands: sent, the CPO's answer, the outcome."""
        command_id = item["command_id"]
        key = f"sent:{command_id}"
        before = self._seen.get(key, {})
        self._seen[key] = item
        label = f"eMSP {item.get('command_type')} {command_id[:8]} -> {item.get('cpo_key')}"
        if not before:
            self.say(f"{label}  sending to {item.get('commands_url')} (result expected at {item.get('response_url')})")
        answer = item.get("answer") or {}
        if answer and not before.get("answer"):
            response = (answer.get("response") or {}).get("result") or f"status_code {answer.get('ocpi_status_code')}"
            self.say(
                f"{label}  CPO answered {response} (HTTP {answer.get('http_status')}, timeout {item.get('timeout')} s)"
            )
        if item.get("status") != "PENDING" and before.get("status") != item.get("status"):
            result = (item.get("result") or {}).get("result")
            why = f"CommandResult {result}" if result else (item.get("reason") or "")
            self.say(f"{label}  {item.get('status')}  {why}")

    def _command(self, item: dict[str, Any]) -> None:
        command_id = item["command_id"]
        short = command_id[:8]
        label = f"{item.get('command_type')} {short} {item.get('party_key')}"
        before = self._seen.get(command_id, {})
        self._seen[command_id] = item
        if not before and item.get("status") == "PENDING":
            target = "/".join(str(item[k]) for k in ("location_id", "evse_uid", "connector_id") if item.get(k))
            target = target or item.get("session_id") or ""
            self.say(
                f"{item.get('command_type')} {command_id} {item.get('party_key')}  accepted  {target} "
                f"(timeout {item.get('timeout')} s)"
            )
        if item.get("dispatched_at") and not before.get("dispatched_at"):
            self.say(f"{label}  dispatched to the charge point")
        if item.get("status") == "RESOLVED" and before.get("status") != "RESOLVED":
            source = {
                "CHARGE_POINT": "charge point",
                "TIMEOUT": "no answer in time",
                "DISPATCH_FAILURE": "dispatch failed",
                "CPO": "decided by the CPO",
            }.get(str(item.get("result_source")), "")
            self.say(f"{label}  result {item.get('result')} ({source})")
        status = item.get("delivery_status")
        if status in ("DELIVERED", "FAILED") and before.get("delivery_status") != status:
            attempts = item.get("delivery_attempts") or []
            last = attempts[-1] if attempts else {}
            detail = f"HTTP {last.get('http_status')}" if last.get("http_status") else (last.get("error") or "")
            word = "delivered" if status == "DELIVERED" else "NOT delivered"
            self.say(f"{label}  {word} to {item.get('response_url')} ({detail}, {len(attempts)} attempt(s))")


class Overload:
    """Says so when the local runtime falls behind: records waiting on the stream, asynchronous
    invocations waiting for a worker, commands reaching the charge point late, or commands past
    their timeout without a result.

    The first two are queues; under load the lag is also spread thinly over every step (no queue
    holds anything for long, yet a command reaches the charge point seconds after it was accepted,
    and a charger that answers in time is TIMEOUT): the time from acceptance to dispatch, which the
    command's record carries, shows that."""

    LAG = 2.0  # seconds behind that count as falling behind
    DISPATCH_LAG = 1.0  # seconds from accepted to dispatched that count as falling behind (idle: ~0.1 s)
    EVERY = 5.0  # seconds between two warnings

    def __init__(self, narrator: "Narrator", local: LocalAws, capacity: str):
        self.narrator = narrator
        self.local = local
        self.capacity = capacity
        self._deadlines: dict[str, float] = {}  # pending command id -> deadline (epoch)
        self._undispatched: set[str] = set()  # pending command ids not yet dispatched
        self._dispatch_lags: deque[tuple[float, float]] = deque(maxlen=2000)  # (seen at, monotonic; lag)
        self._lock = threading.Lock()
        self._warned_at = 0.0
        self._behind = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="overload", daemon=True)

    def start(self) -> "Overload":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def on_record(self, record: dict[str, Any]) -> None:
        image = record.get("dynamodb", {}).get("NewImage") or {}
        if image.get("type", {}).get("S") != "COMMAND" or "command_id" not in image:
            return
        command_id, status = image["command_id"].get("S", ""), image.get("status", {}).get("S")
        with self._lock:
            if status == "PENDING" and "deadline_epoch" in image:
                self._deadlines.setdefault(command_id, float(image["deadline_epoch"]["N"]))
            else:
                self._deadlines.pop(command_id, None)
            if status != "PENDING":
                self._undispatched.discard(command_id)
            elif "dispatched_at" not in image:
                self._undispatched.add(command_id)
            elif command_id in self._undispatched:
                self._undispatched.discard(command_id)
                lag = _seconds_between(image.get("accepted_at", {}).get("S"), image["dispatched_at"].get("S"))
                if lag is not None:
                    self._dispatch_lags.append((time.monotonic(), lag))

    def check(self) -> str | None:
        """The warning to print now, if the runtime is behind."""
        now = time.time()
        stream, stream_age = self.local.stream.lag()
        queued, queued_age = self.local.runtime.queued()
        recent_since = time.monotonic() - self.EVERY
        with self._lock:
            late = [now - deadline for deadline in self._deadlines.values() if now - deadline > self.LAG]
            recent = [lag for seen, lag in self._dispatch_lags if seen >= recent_since]
        parts = []
        if stream_age > self.LAG:
            parts.append(f"{stream} stream records waiting (oldest {stream_age:.1f} s)")
        if queued_age > self.LAG:
            parts.append(f"{queued} invocations waiting for a function worker (oldest {queued_age:.1f} s)")
        slow = [lag for lag in recent if lag > self.DISPATCH_LAG]
        if slow:
            parts.append(
                f"{len(slow)} of the last {len(recent)} commands reached the charge point more than"
                f" {self.DISPATCH_LAG:.0f} s after they were accepted (up to {max(slow):.1f} s)"
            )
        if late:
            parts.append(f"{len(late)} commands past their timeout without a result (by up to {max(late):.1f} s)")
        if not parts:
            return None
        return (
            "WARNING the local runtime is falling behind: " + "; ".join(parts) + ". Results will be late "
            f"and may be TIMEOUT. {self.capacity} AWS scales beyond it."
        )

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            warning = self.check()
            now = time.monotonic()
            if warning and now - self._warned_at >= self.EVERY:
                self._warned_at, self._behind = now, True
                self.narrator.say(warning)
            elif not warning and self._behind:
                self._behind = False
                self.narrator.say("the local runtime has caught up")


def _seconds_between(start: str | None, end: str | None) -> float | None:
    from datetime import datetime

    if not start or not end:
        return None
    try:
        began, ended = (datetime.fromisoformat(v.replace("Z", "+00:00")) for v in (start, end))
    except ValueError:
        return None
    return (ended - began).total_seconds()


LOCAL_CAPACITY = (
    "The local runtime keeps OCPI's timing up to about 15 START_SESSION/s on 2 cores (README, the local capacity);"
)


@dataclass
class RunOptions:
    host: str = "127.0.0.1"
    port: int = 3000
    aws_port: int = 5500
    receiver_port: int | None = 3001
    seed: Path | None = None
    timeouts: str | None = None
    verbose: bool = False
    # The deployed response_url policy (https, public addresses only) instead of the local one.
    strict_response_urls: bool = False


DEMO_TOKEN_NOTE = "the seed's first party"


def _demo_party(seed: dict[str, Any]) -> dict[str, Any]:
    for party in seed.get("parties", []):
        if party.get("credentials_status", "REGISTERED") == "REGISTERED" and party.get("role", "EMSP") == "EMSP":
            return party
    raise SystemExit("the seed file has no registered eMSP party to demonstrate with")


def banner(options: RunOptions, api_port: int, seed: dict[str, Any], receiver_url: str | None) -> str:
    party = _demo_party(seed)
    token = party["token"]
    encoded = base64.b64encode(token.encode()).decode()
    base = f"http://{options.host}:{api_port}"
    callback = (receiver_url or "http://127.0.0.1:3001") + "/ocpi/emsp/2.2.1/commands/START_SESSION/demo-1"
    location = (seed.get("locations") or [{}])[0]
    capable = [e for e in location.get("evses", []) if "REMOTE_START_STOP_CAPABLE" in e.get("capabilities", [])]
    evse: dict[str, Any] = capable[0] if capable else {}
    body = {
        "response_url": callback,
        "token": {
            "country_code": party["country_code"],
            "party_id": party["party_id"],
            "uid": "DEMO-UID-1",
            "type": "APP_USER",
            "contract_id": f"{party['country_code']}-{party['party_id']}-C1",
            "issuer": "Demo",
            "valid": True,
            "whitelist": "ALLOWED",
            "last_updated": "2026-01-01T00:00:00Z",
        },
        "location_id": location.get("id", "LOC1"),
        "evse_uid": evse.get("uid", "1"),
    }
    curl = (
        f"curl -s -X POST {base}/ocpi/cpo/2.2.1/commands/START_SESSION \\\n"
        f"  -H 'Authorization: Token {encoded}' -H 'Content-Type: application/json' \\\n"
        f"  -H 'X-Request-ID: demo-1' -H 'X-Correlation-ID: demo-corr-1' \\\n"
        f"  -d '{json.dumps(body)}'"
    )
    lines = [
        "",
        "OCPI Commands module, running locally (no AWS account, no Docker)",
        f"  OCPI API          {base}/ocpi/versions",
        f"  commands endpoint {base}/ocpi/cpo/2.2.1/commands/{{command}}",
        f"  demo token        {token}   (party {party['country_code']}*{party['party_id']}; "
        f"header: Authorization: Token {encoded})",
    ]
    if receiver_url:
        lines.append(f"  eMSP receiver     {receiver_url}   (CommandResults sent there are shown below)")
    if options.strict_response_urls:
        lines.append(
            "  response_url      strict, as deployed: https and public addresses only "
            "(the local receiver and the curl below are refused, 2001)"
        )
    else:
        lines.append(
            "  response_url      local policy: http and loopback allowed (--strict-response-urls: as deployed)"
        )
    lines += [
        f"  AWS emulation     http://127.0.0.1:{options.aws_port}   (CLI: ocpi-commands --local ...)",
        f"  eMSP API          {base}/emsp/v1/commands/{{command}}   (loopback only; on AWS: IAM)",
        "",
        "Try the CPO side (as an eMSP partner would):",
        curl,
        "",
        *emsp_tour(base, evse.get("uid", "1"), location.get("id", "LOC1")),
        "Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)


def emsp_tour(base: str, evse_uid: str, location_id: str) -> list[str]:
    """The eMSP side's part of the banner: our eMSP (NL*EMS) sends a command to our CPO side (NL*CPO)."""
    token = {
        "country_code": "NL",
        "party_id": "EMS",
        "uid": "EMS-UID-1",
        "type": "APP_USER",
        "contract_id": "NL-EMS-C00001-X",
        "issuer": "Local eMSP",
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": "2026-01-01T00:00:00Z",
    }
    body = {
        "cpo": {"country_code": "NL", "party_id": "CPO"},
        "request": {"token": token, "location_id": location_id, "evse_uid": evse_uid},
    }
    return [
        "Try the eMSP side (it sends START_SESSION to the CPO side above; the CommandResult and the",
        "Command Completed event are shown below, and GET shows the command's history):",
        f"curl -s -X POST {base}/emsp/v1/commands/START_SESSION -H 'Content-Type: application/json' \\",
        f"  -d '{json.dumps(body, separators=(',', ':'))}'",
        f"curl -s {base}/emsp/v1/commands/<command_id>",
        "",
    ]


def run(
    options: RunOptions,
    out: TextIO = sys.stdout,
    ready: threading.Event | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run until Ctrl-C (or ``stop`` is set). Everything started here is stopped on the way out."""
    import logging
    import os

    # The response_url policy is an explicit setting (never derived from the stage name): local here,
    # strict (what every deployed stack enforces) with --strict-response-urls.
    environment = {"STAGE": "local", "RESPONSE_URL_POLICY": "strict" if options.strict_response_urls else "local"}
    if not options.verbose:
        # The readable narration replaces the functions' JSON logs and EMF metric lines (--verbose shows them).
        environment.update(POWERTOOLS_LOG_LEVEL="WARNING", POWERTOOLS_METRICS_DISABLED="true")
        os.environ.update(environment)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if options.timeouts:
        environment["COMMAND_TIMEOUTS"] = options.timeouts

    from ocpi_commands.adapters.dynamodb.repository import DynamoRepository as Repository
    from ocpi_commands.observability import logger
    from ocpi_commands_dev.loading import load_seed, read_json

    logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"))
    seed_path = options.seed or Path(__file__).resolve().parents[4] / "seed" / "sample.json"
    seed = read_json(seed_path)
    narrator = Narrator(out)
    stop = stop or threading.Event()
    receiver: EmspReceiver | None = None
    # The schedules run as on AWS (the feed's watch every minute; the pull when its parameters are set).
    local = LocalAws(
        server=True, server_port=options.aws_port, environment=environment, processes=True, run_schedules=True
    )
    api_port = options.port or free_port()
    local.worker_api = WorkerApi(
        options.host,
        api_port,
        "local",
        tpl.api_routes(local.template),
        gateway_template(local.template),
        sorted(tpl.iam_resources(local.template)),
    )
    local.extra_environment["PUBLIC_BASE_URL"] = f"http://{options.host}:{api_port}"
    overload = Overload(narrator, local, LOCAL_CAPACITY)
    main = threading.current_thread() is threading.main_thread()
    previous = {}
    if main:
        # SIGTERM (process managers, test harnesses) stops as Ctrl-C does. The handler only raises:
        # it must not take a lock the interrupted code may hold.
        previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, _interrupt)
    try:
        try:
            if options.receiver_port is not None:

                def show(received: Received) -> None:
                    narrator.say(
                        f"eMSP received  {received.body.decode(errors='replace')}  at {received.path} "
                        f"(X-Correlation-ID {received.header('X-Correlation-ID')})"
                    )

                receiver = EmspReceiver(port=options.receiver_port, on_receive=show).start()
            local.start()
            counts = load_seed(Repository(local.table_name), seed, f"http://{options.host}:{api_port}")
            local.wait_stream_idle()
            local.stream_listeners.extend([narrator.on_record, overload.on_record])
            for worker in local.workers:
                worker.on_exit = lambda code, name=worker.name: narrator.say(
                    f"the {name} worker stopped unexpectedly (exit code {code})"
                )
            overload.start()
            print(banner(options, api_port, seed, receiver.url if receiver else None), file=out, flush=True)
            narrator.say(f"seeded from {seed_path.name}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
            if ready is not None:
                ready.set()
            while not stop.is_set():  # no lock here: the signal handler interrupts a plain sleep
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            if main:  # a second Ctrl-C does not interrupt the stop
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            print("\nStopping...", file=out, flush=True)
            overload.stop()
            local.stop()
            if receiver is not None:
                receiver.stop()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print("Stopped: nothing is left listening.", file=out, flush=True)


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt
