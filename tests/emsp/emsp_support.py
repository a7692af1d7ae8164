"""Support for the eMSP side's tests.

The whole stack on moto (the real ASL of both state machines, the real handlers in-process) behind
the local API server on 127.0.0.1, so that our eMSP side really POSTs over HTTP: to our own CPO side
(``NL*CPO``, as ``make run`` wires them) or to a scripted fake CPO (``fake_cpo``, an
``EmspReceiver`` whose replies the test sets) that speaks 2.2.1 (``DE*FAK``), 2.1.1 (``DE*OLD``) or
2.3.0 (``BR*FAK``). Every event the stack puts on its bus is copied to an SQS queue the tests read.
"""

import base64
import json
import time
import urllib.error
import urllib.request
from typing import Any

from helpers import ocpi_token
from ocpi_commands_dev.emulation.receiver import Reply

TIMEOUT = 3  # seconds our CPO side announces in these tests
GRACE = 1  # EMSP_RESULT_GRACE_SECONDS

# Fake CPOs: (country, party, version, the token they call us with, the token they gave us)
FAKE_CPOS = {
    "2.2.1": ("DE", "FAK", "fake-cpo-token-221", "emsp-token-for-fak"),
    "2.1.1": ("DE", "OLD", "fake-cpo-token-211", "emsp-token-for-old"),
    "2.3.0": ("BR", "FAK", "fake-cpo-token-230", "emsp-token-for-brfak"),
}
OUR_CPO_TOKEN = "local-cpo-to-emsp-token"  # what our CPO side posts results with (seed)


def envelope(data: Any = None, status_code: int = 1000, message: str | None = None) -> bytes:
    body: dict[str, Any] = {"status_code": status_code, "timestamp": "2026-12-01T00:00:00Z"}
    if data is not None:
        body["data"] = data
    if message:
        body["status_message"] = message
    return json.dumps(body).encode()


def accepted(timeout: int = TIMEOUT) -> Reply:
    return Reply(200, envelope({"result": "ACCEPTED", "timeout": timeout}))


def token_for(country: str = "NL", party: str = "EMS", **overrides: Any) -> dict[str, Any]:
    """A driver's Token of this platform's eMSP (helpers.ocpi_token with its own uid and contract)."""
    mine = {
        "uid": "EMS-UID-1",
        "contract_id": "NL-EMS-C00001-X",
        "issuer": "This platform's eMSP",
        "last_updated": "2026-01-01T00:00:00Z",
    }
    return ocpi_token(country, party, **(mine | overrides))


def start_request(evse_uid: str = "3256", location_id: str = "LOC1") -> dict[str, Any]:
    return {"token": token_for(), "location_id": location_id, "evse_uid": evse_uid}


class Answer:
    def __init__(self, status: int, body: bytes, headers: dict[str, str]):
        self.status = status
        self.raw = body
        self.headers = {k.lower(): v for k, v in headers.items()}

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None


def http(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None
) -> Answer:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=40) as response:  # noqa: S310 - loopback test server
            return Answer(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read(), dict(exc.headers))


def b64(token: str) -> str:
    return "Token " + base64.b64encode(token.encode()).decode()


class EmspStack:
    def __init__(self, local, api_url: str, fake_cpo, queue_url: str):
        self.local = local
        self.api_url = api_url
        self.fake_cpo = fake_cpo
        self.queue_url = queue_url
        self._events: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ the eMSP backend's API

    def send(
        self,
        command: str,
        request: dict[str, Any],
        cpo: tuple[str, str] = ("NL", "CPO"),
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> Answer:
        body = {"cpo": {"country_code": cpo[0], "party_id": cpo[1]}, "request": request, **extra}
        return http("POST", f"{self.api_url}/emsp/v1/commands/{command}", body, headers)

    def show(self, command_id: str) -> Answer:
        return http("GET", f"{self.api_url}/emsp/v1/commands/{command_id}")

    def record(self, command_id: str):
        from ocpi_commands import composition

        return composition.sent_commands().get(command_id)

    def wait_status(self, command_id: str, statuses: tuple[str, ...], timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            record = self.record(command_id)
            if record is not None and record.status.value in statuses:
                return record
            time.sleep(0.05)
        return self.record(command_id)

    # ------------------------------------------------------------------ a CPO posting its result

    def post_result(self, response_url: str, body: Any, token: str, raw_token: bool = False, **headers: str) -> Answer:
        authorization = f"Token {token}" if raw_token else b64(token)
        return http("POST", response_url, body, {"Authorization": authorization, **headers})

    def fake_posts(self, command: str, version: str = "2.2.1"):
        return self.fake_cpo.for_path(f"/ocpi/cpo/{version}/commands/{command}")

    # ------------------------------------------------------------------ the bus and the executions

    def events(self, detail_type: str | None = None, command_id: str | None = None) -> list[dict[str, Any]]:
        sqs = self.local.client("sqs")
        while True:
            messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                break
            for message in messages:
                self._events.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return [
            e
            for e in self._events
            if (detail_type is None or e["detail-type"] == detail_type)
            and (command_id is None or e["detail"].get("command_id") == command_id)
        ]

    def wait_events(self, detail_type: str, command_id: str, count: int = 1, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.events(detail_type, command_id)
            if len(found) >= count:
                return found
            self.local.wait_stream_idle(1.0)
            time.sleep(0.05)
        return self.events(detail_type, command_id)

    def execution(self, command_id: str):
        sfn = self.local.client("stepfunctions")
        arn = self.local.state_machine_arns["EmspCommandExecution"].replace(":stateMachine:", ":execution:")
        arn = f"{arn}:{command_id}"
        return sfn.describe_execution(executionArn=arn), sfn.get_execution_history(executionArn=arn)["events"]

    def wait_execution_done(self, command_id: str, timeout: float = 45.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                description, history = self.execution(command_id)
            except Exception:  # noqa: BLE001 - not started yet
                description, history = None, []
            if description is not None and description["status"] != "RUNNING":
                return description, history
            time.sleep(0.1)
        return self.execution(command_id)

    # ------------------------------------------------------------------ our CPO side's records (same table)

    def local_repository(self):
        from ocpi_commands.adapters.dynamodb.repository import DynamoRepository

        return DynamoRepository(self.local.table_name)

    def wait_for(self, predicate, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        return predicate()

    def sessions_of_command_response_url(self, command_id: str) -> list[str]:
        """The session ids our CPO side recorded for the command it received from this sent command."""
        repository = self.local_repository()
        record = self.record(command_id)
        commands = [repository.get_command(i["command_id"]) for i in repository._scan_type("COMMAND")]
        ids = {c.command_id for c in commands if c and record and c.response_url == record.response_url}
        return [s["session_id"] for s in repository._scan_type("SESSION") if s.get("command_id") in ids]

    @staticmethod
    def states_entered(history: list[dict[str, Any]]) -> list[str]:
        return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
