"""Embedded AWS emulation, wired exactly as ``template.yaml`` wires the real stack.

moto provides DynamoDB, EventBridge and Step Functions (executing the real ASL file). What moto
cannot do without Docker is filled in here, in-process:

* Lambda: the functions the state machine invokes, the EventBridge rule targets and the DynamoDB
  stream mapping run the real handlers in this process (sync for ``RequestResponse``, on a thread
  pool for asynchronous ``Event`` invocations, with Lambda's two retries).
* The DynamoDB stream -> starter mapping (with the template's filter criteria).
* DynamoDB requests are serialised, so conditional writes are atomic as they are on AWS.
* Fault injection for tests (:meth:`LocalAws.inject_fault`).

These hooks touch moto internals: moto is pinned to one minor version in the requirements.
"""

import importlib
import io
import json
import queue
import socket
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ocpi_commands.local import template as tpl

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "ocpi-local"


@dataclass
class FunctionContext:
    """A Lambda context object for in-process invocations."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_seconds: int = 10
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    _deadline: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline + self.timeout_seconds - time.monotonic()) * 1000))


@dataclass
class Invocation:
    function: str
    event: dict[str, Any]
    result: Any = None
    error: BaseException | None = None
    asynchronous: bool = False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _matches(pattern: Any, value: Any) -> bool:
    """EventBridge-style pattern match (exact values and nested objects), used for ESM filters."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(_matches(p, value.get(k)) for k, p in pattern.items())
    if isinstance(pattern, list):
        return value in pattern
    return pattern == value


class LocalAws:
    """The whole stack on moto, in this process. Use as a context manager."""

    def __init__(
        self,
        *,
        parameters: dict[str, str] | None = None,
        environment: dict[str, str] | None = None,
        server: bool = False,
        server_port: int | None = None,
        simulator: bool = True,
        on_invocation: Callable[[Invocation], None] | None = None,
    ):
        self.template = tpl.load_template()
        defaults = {k: str(v.get("Default", "")) for k, v in self.template.get("Parameters", {}).items()}
        self.parameters = {**defaults, "Stage": "local", **(parameters or {})}
        if simulator:
            self.parameters["EnableChargePointSimulator"] = "true"
        self.extra_environment = environment or {}
        self.server = server
        self.server_port = server_port
        self.on_invocation = on_invocation
        self.table_name = f"{STACK}-commands"
        self.bus_name = f"{STACK}-commands"
        self.state_machine_arn = ""
        self.functions = tpl.functions(self.template)
        self.invocations: list[Invocation] = []
        self.errors: list[Invocation] = []
        self._faults: dict[tuple[str, str], list[str]] = {}
        self._lock = threading.RLock()
        self._executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="lambda-async")
        self._stream: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.stream_listeners: list[Callable[[dict[str, Any]], None]] = []
        self._stream_pending: list[dict[str, Any]] | None = None
        self._sequence = 0
        self._stream_thread: threading.Thread | None = None
        self._patches: list[tuple[Any, str, Any]] = []
        self._mock: Any = None
        self._moto_server: Any = None
        self._arn_to_function: dict[str, str] = {}
        self.endpoint_url: str | None = None
        self._saved_environ: dict[str, str | None] = {}
        self._stopping = threading.Event()

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> "LocalAws":
        self.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop()

    def start(self) -> "LocalAws":
        import os

        base_env = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "POWERTOOLS_TRACE_DISABLED": "1",
            "POWERTOOLS_METRICS_NAMESPACE": "OcpiCommands",
        }
        if self.server:
            from moto.server import ThreadedMotoServer

            port = self.server_port or free_port()
            self._moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            self._moto_server.start()
            self.endpoint_url = f"http://127.0.0.1:{port}"
            base_env["AWS_ENDPOINT_URL"] = self.endpoint_url
            base_env["MOTO_PORT"] = str(port)
            self._set_environ(base_env)
            import urllib.request

            request = urllib.request.Request(  # noqa: S310 - loopback moto server
                f"{self.endpoint_url}/moto-api/config",
                data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
                method="POST",
            )
            urllib.request.urlopen(request, timeout=10).read()  # noqa: S310 - loopback moto server
        else:
            from moto import mock_aws

            self._set_environ(base_env)
            os.environ.pop("AWS_ENDPOINT_URL", None)
            self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
            self._mock.start()
        self._install_patches()
        self._create_stack()
        self._stream_thread = threading.Thread(target=self._pump_stream, name="ddb-stream-esm", daemon=True)
        self._stream_thread.start()
        self._reset_caches()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._stream.put(None)
        if self._stream_thread:
            self._stream_thread.join(timeout=5)
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._stop_executions()
        for owner, name, original in reversed(self._patches):
            setattr(owner, name, original)
        self._patches.clear()
        if self._mock is not None:
            self._mock.stop()
        if self._moto_server is not None:
            self._moto_server.stop()
        self._restore_environ()
        self._reset_caches()

    def _stop_executions(self) -> None:
        try:
            sfn = self.client("stepfunctions")
            for execution in sfn.list_executions(stateMachineArn=self.state_machine_arn, statusFilter="RUNNING").get(
                "executions", []
            ):
                sfn.stop_execution(executionArn=execution["executionArn"])
        except Exception:  # noqa: S110 - best effort at shutdown
            pass

    def _set_environ(self, values: dict[str, str]) -> None:
        import os

        for key, value in values.items():
            self._saved_environ.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _restore_environ(self) -> None:
        import os

        for key, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_environ.clear()

    @staticmethod
    def _reset_caches() -> None:
        from ocpi_commands import aws
        from ocpi_commands.config import reset_settings
        from ocpi_commands.handlers import api, runtime

        aws.reset_clients()
        reset_settings()
        api.reset_state()
        runtime.reset()

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint_url)

    # ------------------------------------------------------------------ resources from the template

    def _create_stack(self) -> None:
        iam = self.client("iam")
        role = iam.create_role(RoleName=f"{STACK}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        ddb = self.client("dynamodb")
        ddb.create_table(**tpl.create_table_kwargs(self.template, "CommandsTable", self.table_name))
        events = self.client("events")
        events.create_event_bus(Name=self.bus_name)
        lam = self.client("lambda")
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("index.py", "def handler(event, context):\n    return None\n")
        conditions = {"SimulatorEnabled": self.parameters.get("EnableChargePointSimulator") == "true"}
        arns: dict[str, str] = {}
        for logical_id, spec in self.functions.items():
            if spec.condition and not conditions.get(spec.condition, False):
                continue
            name = f"{STACK}-{logical_id}"
            arn = lam.create_function(
                FunctionName=name,
                Runtime="python3.13",
                Role=role,
                Handler="index.handler",
                Code={"ZipFile": code.getvalue()},
                Timeout=min(spec.timeout, 900),
            )["FunctionArn"]
            arns[logical_id] = arn
            self._arn_to_function[name] = logical_id
        definition, substitutions = tpl.state_machine(self.template)
        values = {k: arns[v["Fn::GetAtt"][0]] for k, v in substitutions.items()}
        sfn = self.client("stepfunctions")
        self.state_machine_arn = sfn.create_state_machine(
            name=f"{STACK}-command-lifecycle", definition=tpl.substitute(definition, values), roleArn=role
        )["stateMachineArn"]
        refs: dict[str, Any] = {
            **self.parameters,
            "CommandsTable": self.table_name,
            "CommandsBus": self.bus_name,
            "CommandLifecycle": self.state_machine_arn,
            "AWS::NoValue": None,
            "Condition:HasPublicBaseUrl": bool(self.parameters.get("PublicBaseUrl")),
        }
        environment: dict[str, str] = {}
        for logical_id in arns:
            for key, value in self.functions[logical_id].environment.items():
                resolved = tpl.resolve_intrinsics(value, refs)
                if resolved is not None:
                    environment[key] = str(resolved)
        self._set_environ({**environment, **self.extra_environment})
        self.environment = {**environment, **self.extra_environment}
        self._esm: list[tuple[str, list[dict[str, Any]], int]] = []
        for logical_id, arn in arns.items():
            for event_name, event in self.functions[logical_id].events.items():
                props = event.get("Properties", {})
                if event.get("Type") == "EventBridgeRule":
                    rule = f"{logical_id}-{event_name}"
                    events.put_rule(Name=rule, EventBusName=self.bus_name, EventPattern=json.dumps(props["Pattern"]))
                    events.put_targets(Rule=rule, EventBusName=self.bus_name, Targets=[{"Id": "fn", "Arn": arn}])
                elif event.get("Type") == "DynamoDB":
                    filters = [json.loads(f["Pattern"]) for f in props.get("FilterCriteria", {}).get("Filters", [])]
                    self._esm.append((logical_id, filters, int(props.get("BatchSize", 100))))

    # ------------------------------------------------------------------ Lambda, in-process

    def _handler(self, logical_id: str) -> Callable[[dict[str, Any], Any], Any]:
        module_name, _, attr = self.functions[logical_id].handler.rpartition(".")
        return getattr(importlib.import_module(module_name), attr)

    def invoke(self, logical_id: str, event: dict[str, Any], asynchronous: bool = False) -> Any:
        """Run a function's real handler as Lambda would (raises what the handler raises)."""
        spec = self.functions[logical_id]
        context = FunctionContext(function_name=f"{STACK}-{logical_id}", timeout_seconds=spec.timeout)
        record = Invocation(logical_id, event, asynchronous=asynchronous)
        try:
            record.result = self._handler(logical_id)(event, context)
            return record.result
        except BaseException as exc:
            record.error = exc
            with self._lock:
                self.errors.append(record)
            raise
        finally:
            with self._lock:
                self.invocations.append(record)
            if self.on_invocation:
                self.on_invocation(record)

    def invoke_async(self, logical_id: str, event: dict[str, Any]) -> None:
        """Lambda's asynchronous invocation: queued, retried twice on error."""

        def run() -> None:
            for attempt in range(3):
                if self._stopping.is_set():
                    return
                try:
                    self.invoke(logical_id, event, asynchronous=True)
                    return
                except Exception:
                    time.sleep(0.2 * (attempt + 1))

        self._executor.submit(run)

    def _install_patches(self) -> None:
        from moto.awslambda.models import LambdaFunction
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.table import StreamShard
        from moto.dynamodb.responses import DynamoHandler
        from moto.events.models import Rule
        from moto.events.responses import EventsHandler
        from moto.stepfunctions.responses import StepFunctionResponse

        local = self

        def lambda_invoke(fn: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
            logical_id = local._arn_to_function.get(fn.function_name)
            event = json.loads(body) if body else {}
            invocation_type = (request_headers or {}).get("x-amz-invocation-type", "RequestResponse")
            if invocation_type == "Event":
                local.invoke_async(logical_id, event)
                return b""
            try:
                result = local.invoke(logical_id, event)
            except Exception as exc:
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)[:1000]}).encode()
            return json.dumps(result).encode()

        original_send = Rule.send_to_targets

        def send_to_targets(rule: Any, event: dict[str, Any], transform_input: bool = True) -> None:
            lambda_targets = [t for t in rule.targets if ":lambda:" in t["Arn"]]
            if not lambda_targets:
                return original_send(rule, event, transform_input)
            if not rule.event_pattern.matches_event(event):
                return None
            for target in lambda_targets:
                name = target["Arn"].rsplit(":", 1)[-1]
                local.invoke_async(local._arn_to_function[name], json.loads(json.dumps(event, default=str)))
            return None

        original_add = StreamShard.add

        def stream_add(shard: Any, old: Any, new: Any) -> None:
            original_add(shard, old, new)
            record = json.loads(json.dumps(shard.items.pop().to_json(), default=_json_default))
            # The records are handed over here, so moto does not keep them (nor copy them, see below).
            local._sequence += 1
            record["dynamodb"]["SequenceNumber"] = str(local._sequence)
            # Held until the request succeeds: a cancelled transaction emits no stream record on AWS,
            # while moto adds them before rolling the table back.
            if local._stream_pending is None:
                local._stream.put(record)
            else:
                local._stream_pending.append(record)

        def guarded(handler_cls: Any, service: str, serialize: bool) -> None:
            original = handler_cls.call_action

            def call_action(self: Any) -> Any:
                fault = local._take_fault(service, self._get_action())
                if fault is not None:
                    from moto.core.exceptions import JsonRESTError

                    raise JsonRESTError(fault, f"injected fault: {fault}")
                if serialize:
                    with local._lock:
                        local._stream_pending = []
                        response = original(self)
                        status = response[0] if isinstance(response, tuple) else 200
                        if isinstance(status, int) and status < 400:
                            for record in local._stream_pending:
                                local._stream.put(record)
                        local._stream_pending = None
                        return response
                return original(self)

            local._patch(handler_cls, "call_action", call_action)

        self._patch(DynamoDBBackend, "transact_write_items", _transact_write_items)
        self._patch(LambdaFunction, "invoke", lambda_invoke)
        self._patch(Rule, "send_to_targets", send_to_targets)
        self._patch(StreamShard, "add", stream_add)
        guarded(DynamoHandler, "dynamodb", serialize=True)
        guarded(EventsHandler, "events", serialize=False)
        guarded(StepFunctionResponse, "stepfunctions", serialize=False)

    def _patch(self, owner: Any, name: str, replacement: Any) -> None:
        self._patches.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)

    # ------------------------------------------------------------------ DynamoDB stream -> starter

    def _pump_stream(self) -> None:
        while not self._stopping.is_set():
            record = self._stream.get()
            if record is None:
                self._stream.task_done()
                return
            batch = [record]
            while len(batch) < 25:
                try:
                    more = self._stream.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._stream.task_done()
                    self._stopping.set()
                    break
                batch.append(more)
            try:
                self._process_stream_batch(batch)
            finally:
                for _ in batch:
                    self._stream.task_done()

    def _process_stream_batch(self, batch: list[dict[str, Any]]) -> None:
        for listener in list(self.stream_listeners):
            for item in batch:
                try:
                    listener(item)
                except Exception:  # noqa: S112 - an observer never stops the stream
                    continue
        for logical_id, filters, _ in self._esm:
            selected = [r for r in batch if not filters or any(_matches(f, r) for f in filters)]
            self._deliver_stream_batch(logical_id, selected)

    def wait_stream_idle(self, timeout: float = 10.0) -> bool:
        """Wait (with a deadline) until every stream record so far has been handed to its consumers."""
        deadline = time.monotonic() + timeout
        while self._stream.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._stream.unfinished_tasks

    def _deliver_stream_batch(self, logical_id: str, records: list[dict[str, Any]]) -> None:
        attempts = 0
        while records and not self._stopping.is_set():
            try:
                response = self.invoke(logical_id, {"Records": records}) or {}
                failed = [f["itemIdentifier"] for f in response.get("batchItemFailures", [])]
            except Exception:
                failed = [records[0]["dynamodb"]["SequenceNumber"]]
            if not failed:
                return
            attempts += 1
            if attempts > 20:
                return
            first = next(i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] in failed)
            records = records[first:]
            time.sleep(min(2.0, 0.1 * 2**attempts))

    # ------------------------------------------------------------------ faults (tests)

    def inject_fault(self, service: str, action: str, error_code: str, times: int = 1) -> None:
        """Make the next ``times`` calls of ``service``/``action`` fail with ``error_code``."""
        with self._lock:
            self._faults.setdefault((service, action), []).extend([error_code] * times)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, service: str, action: str) -> str | None:
        if not self._faults:
            return None
        with self._lock:
            pending = self._faults.get((service, action))
            if pending:
                return pending.pop(0)
        return None


def _transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
    """TransactWriteItems: every condition is checked, then every write applied (DynamoDB's semantics).

    moto's own version deep-copies every table of the transaction to roll back on failure, which makes
    a transaction cost O(table size). Requests are serialised by the emulation, so checking first and
    writing second is atomic here.
    """
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen: set[tuple[str, str]] = set()
    errors: list[tuple[Any, Any, Any]] = []
    operations = []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException()
        op_type, op = next(iter(item.items()))
        table = backend.get_table(op["TableName"])
        if op_type == "Put":
            key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = op["Item"][table.range_key_attr]
        else:
            key = op["Key"]
        identity = (op["TableName"], json.dumps(key, sort_keys=True))
        if identity in seen:
            raise MultipleTransactionsException()
        seen.add(identity)
        current = backend.get_item(op["TableName"], key)
        condition = op.get("ConditionExpression")
        failed = condition is not None and not get_filter_expression(
            condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        ).expr(current)
        if failed:
            old = (
                current.to_json()["Attributes"]
                if current and op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
                else None
            )
            errors.append(("ConditionalCheckFailed", "The conditional request failed", old))
        else:
            errors.append((None, None, None))
        operations.append((op_type, op, key))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    for op_type, op, key in operations:
        if op_type == "Put":
            backend.put_item(op["TableName"], op["Item"])
        elif op_type == "Delete":
            backend.delete_item(op["TableName"], key)
        elif op_type == "Update":
            backend.update_item(
                op["TableName"],
                key,
                update_expression=op["UpdateExpression"],
                expression_attribute_names=op.get("ExpressionAttributeNames"),
                expression_attribute_values=op.get("ExpressionAttributeValues"),
            )


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    return str(value)
