"""The whole stack on moto, in this process, wired exactly as ``template.yaml`` wires the real one.

moto provides DynamoDB, EventBridge and Step Functions (executing the real ASL file); the functions
run in this process (``lambda_runtime``); ``moto_patches`` lists what is changed in moto and why.
Fault injection for tests: :meth:`LocalAws.inject_fault`.
"""

import io
import json
import os
import socket
import threading
import urllib.request
import zipfile
from collections.abc import Callable
from typing import Any

from ocpi_commands_dev.emulation import ipc
from ocpi_commands_dev.emulation import template as tpl
from ocpi_commands_dev.emulation.dynamodb_service import DynamoDBService, forward_dynamodb
from ocpi_commands_dev.emulation.lambda_runtime import ACCOUNT, REGION, InProcessLambda, Invocation, StreamMapping
from ocpi_commands_dev.emulation.moto_patches import MotoPatches, check_moto_version
from ocpi_commands_dev.emulation.queues import Queues, queue_sources
from ocpi_commands_dev.emulation.schedules import Schedules, schedules
from ocpi_commands_dev.emulation.workers import FunctionWorker, WorkerApi

STACK = "ocpi-local"

BASE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "OcpiCommands",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reset_product_caches() -> None:
    """The product's process-wide caches (settings, clients, services): one call, ``composition.reset``."""
    from ocpi_commands import composition

    composition.reset()


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
        run_schedules: bool = False,
        processes: bool = False,
        worker_api: WorkerApi | None = None,
    ):
        self.template = tpl.load_template()
        defaults = {k: str(v.get("Default", "")) for k, v in self.template.get("Parameters", {}).items()}
        self.parameters = {**defaults, "Stage": "local", **(parameters or {})}
        if simulator:
            self.parameters["EnableChargePointSimulator"] = "true"
        self.extra_environment = environment or {}
        self.environment: dict[str, str] = {}
        self.server = server
        self.server_port = server_port
        self.table_name = f"{STACK}-commands"
        self.bus_name = f"{STACK}-commands"
        self.state_machine_arn = ""  # the CPO side's command lifecycle
        self.state_machine_arns: dict[str, str] = {}  # every state machine of the template, by logical id
        self.functions = tpl.functions(self.template)
        self.runtime = InProcessLambda(self.functions, STACK, on_invocation)
        self.stream = StreamMapping(self.runtime)
        # SQS event sources and EventBridge Scheduler schedules (`make run` runs the schedules; tests fire them).
        self.queues = Queues(self.runtime.invoke, REGION, ACCOUNT, STACK)
        self.schedules = Schedules(
            schedules(self.template, self.parameters), self.runtime.invoke, self.runtime.invoke_async
        )
        self.run_schedules = run_schedules
        self.patches = MotoPatches(self)
        self._faults: dict[tuple[str, str], list[str]] = {}
        self._faults_lock = threading.Lock()
        self._mock: Any = None
        self._moto_server: Any = None
        self._arn_to_function: dict[str, str] = {}
        self.endpoint_url: str | None = None
        self._saved_environ: dict[str, str | None] = {}
        self._clients: dict[str, Any] = {}
        # make run: DynamoDB and the functions (with the API) in processes of their own (``workers``).
        self.processes = processes
        self.worker_api = worker_api
        self.worker: FunctionWorker | None = None  # the one the Lambda service invokes
        self.workers: list[FunctionWorker] = []
        self.dynamodb: DynamoDBService | None = None
        self._hub: ipc.Hub | None = None
        self._undo_forward: Callable[[], None] | None = None
        self.deployed: list[str] = []

    # ------------------------------------------------------------------ what tests read

    @property
    def invocations(self) -> list[Invocation]:
        return self.runtime.invocations

    @property
    def errors(self) -> list[Invocation]:
        return self.runtime.errors

    @property
    def stream_listeners(self) -> list[Callable[[dict[str, Any]], None]]:
        return self.stream.listeners

    def invoke(self, logical_id: str, event: dict[str, Any], asynchronous: bool = False) -> Any:
        return self.runtime.invoke(logical_id, event, asynchronous)

    def wait_stream_idle(self, timeout: float = 10.0) -> bool:
        if self.dynamodb is not None and not self.dynamodb.sync(timeout):
            return False
        return self.stream.wait_idle(timeout)

    def wait_queues_idle(self, timeout: float = 10.0) -> bool:
        return self.queues.wait_idle(timeout)

    def client(self, service: str) -> Any:
        """A client of this process's moto (created once per service: clients are thread-safe)."""
        found = self._clients.get(service)
        if found is None:
            import boto3

            found = self._clients.setdefault(service, boto3.client(service, region_name=REGION))
        return found

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> "LocalAws":
        self.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop()

    def start(self) -> "LocalAws":
        check_moto_version()
        self._set_environ(dict(BASE_ENVIRONMENT))
        os.environ.pop("AWS_ENDPOINT_URL", None)
        from moto import mock_aws

        # The functions of this process reach moto in-process (botocore's calls are dispatched to
        # moto's backends without HTTP); other processes (the operator CLI) reach the same backends
        # through moto's server, when there is one.
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        if self.server:
            from moto.server import ThreadedMotoServer

            port = self.server_port or free_port()
            self._moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            self._moto_server.start()
            self.endpoint_url = f"http://127.0.0.1:{port}"
        self.patches.install()
        try:
            if self.processes:
                ipc.tune_threads()
                ipc.lighten_botocore()
                self._hub = ipc.Hub()
                self.dynamodb = DynamoDBService(self._hub, self.stream.put).start()
                self._undo_forward = forward_dynamodb(self.dynamodb)
            self._create_stack()
            self.stream.start()
            reset_product_caches()
            if self.processes:
                self._start_worker()
            # After the worker: the queues' and schedules' invocations go where the functions run.
            self.queues.start()
            if self.run_schedules:
                self.schedules.start()
        except BaseException:
            self.stop()  # nothing half-started stays behind (moto patched, a server or a child process)
            raise
        return self

    def _start_worker(self) -> None:
        """The API (with its function) in a worker of its own, so the lifecycle's work never makes an
        eMSP wait; the other functions in another, where the Lambda service invokes them."""
        assert self._hub is not None and self.dynamodb is not None and self.dynamodb.address is not None
        self._hub.serve("aws", ipc.answer_aws)
        specs = {
            logical_id: {"handler": self.functions[logical_id].handler, "timeout": self.functions[logical_id].timeout}
            for logical_id in self.deployed
        }
        api_functions = {function for _, _, function in self.worker_api.routes} if self.worker_api else set()
        common = {"log_level": os.environ.get("POWERTOOLS_LOG_LEVEL"), "routes": {"dynamodb": self.dynamodb.address}}
        lifecycle = {k: v for k, v in specs.items() if k not in api_functions}
        self.workers = [FunctionWorker(self._hub, "functions", lifecycle, **common).start()]  # type: ignore[arg-type]
        if self.worker_api is not None:
            api = {k: v for k, v in specs.items() if k in api_functions}
            self.workers.append(
                FunctionWorker(self._hub, "api", api, self.worker_api, concurrency=0, **common).start()  # type: ignore[arg-type]
            )
        self.worker = self.workers[0]
        self.runtime.remote = self.worker.invoke
        self.runtime.record = False

    @property
    def api_port(self) -> int | None:
        return next((w.api_port for w in self.workers if w.api_port), None)

    def stop(self) -> None:
        self.schedules.stop()
        self.queues.stop()
        self.runtime.stop()
        for worker in reversed(self.workers):  # first: the API stops listening, pending invocations end
            worker.stop()
        self.workers.clear()
        self.worker = None
        self.stream.stop()
        if not self.processes:  # in one process, the executions' threads would go on calling handlers
            self._stop_executions()
        if self._undo_forward is not None:
            self._undo_forward()
            self._undo_forward = None
        if self.dynamodb is not None:
            self.dynamodb.stop()
            self.dynamodb = None
        if self._hub is not None:
            self._hub.close()
            self._hub = None
        self.patches.remove()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        if self._moto_server is not None:
            self._reset_moto_server()
            self._moto_server.stop()
            self._moto_server = None
        self._restore_environ()
        self._clients.clear()
        reset_product_caches()

    def _reset_moto_server(self) -> None:
        """moto's server keeps its backends in the process after it stops: the next stack starts empty."""
        try:
            request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
            urllib.request.urlopen(request, timeout=10).read()  # noqa: S310 - loopback moto server
        except OSError:  # noqa: S110 - best effort at shutdown
            pass

    def _stop_executions(self) -> None:
        try:
            sfn = self.client("stepfunctions")
            for arn in self.state_machine_arns.values():
                running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")
                for execution in running.get("executions", []):
                    sfn.stop_execution(executionArn=execution["executionArn"])
        except Exception:  # noqa: S110 - best effort at shutdown
            pass

    def configure(self, **environment: str) -> None:
        """Change settings for the following invocations (every function reads them lazily); restored
        with the rest of the stack's environment when it stops."""
        self._set_environ(environment)
        reset_product_caches()

    def _set_environ(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_environ.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _restore_environ(self) -> None:
        for key, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_environ.clear()

    # ------------------------------------------------------------------ moto calls these (moto_patches.Hooks)

    def invoke_lambda(self, function_name: str, event: dict[str, Any], asynchronous: bool) -> Any:
        logical_id = self._arn_to_function[function_name]
        if asynchronous:
            self.runtime.invoke_async(logical_id, event)
            return None
        return self.runtime.invoke(logical_id, event)

    def stream_record(self, record: dict[str, Any]) -> None:
        self.stream.put(record)

    def queue_handles(self, queue_arn: str) -> bool:
        return self.queues.handles(queue_arn)

    def queue_message(self, queue_arn: str, body: str) -> None:
        self.queues.put(queue_arn, body)

    def take_fault(self, service: str, action: str) -> str | None:
        if not self._faults:
            return None
        with self._faults_lock:
            pending = self._faults.get((service, action))
            return pending.pop(0) if pending else None

    # ------------------------------------------------------------------ faults (tests)

    def inject_fault(self, service: str, action: str, error_code: str, times: int = 1) -> None:
        """Make the next ``times`` calls of ``service``/``action`` fail with ``error_code``."""
        with self._faults_lock:
            self._faults.setdefault((service, action), []).extend([error_code] * times)

    def clear_faults(self) -> None:
        with self._faults_lock:
            self._faults.clear()

    # ------------------------------------------------------------------ resources from the template

    def _create_stack(self) -> None:
        iam = self.client("iam")
        role = iam.create_role(RoleName=f"{STACK}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        self.client("dynamodb").create_table(**tpl.create_table_kwargs(self.template, "CommandsTable", self.table_name))
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
            arns[logical_id] = lam.create_function(
                FunctionName=name,
                Runtime="python3.13",
                Role=role,
                Handler="index.handler",
                Code={"ZipFile": code.getvalue()},
                Timeout=min(spec.timeout, 900),
            )["FunctionArn"]
            self._arn_to_function[name] = logical_id
        self.deployed = list(arns)
        sfn = self.client("stepfunctions")
        for logical_id, machine in tpl.resources_of_type(self.template, "AWS::Serverless::StateMachine").items():
            definition, substitutions = tpl.state_machine(self.template, logical_id)
            values = {k: arns[v["Fn::GetAtt"][0]] for k, v in substitutions.items()}
            name = tpl.resolve_intrinsics(machine["Properties"]["Name"], {"AWS::StackName": STACK})
            self.state_machine_arns[logical_id] = sfn.create_state_machine(
                name=name, definition=tpl.substitute(definition, values), roleArn=role
            )["stateMachineArn"]
        self.state_machine_arn = self.state_machine_arns["CommandLifecycle"]
        refs: dict[str, Any] = {
            **self.parameters,
            **self.state_machine_arns,
            "CommandsTable": self.table_name,
            "CommandsBus": self.bus_name,
            "AWS::NoValue": None,
            "Condition:HasPublicBaseUrl": bool(self.parameters.get("PublicBaseUrl")),
        }
        environment: dict[str, str] = {}
        for logical_id in arns:
            for key, value in self.functions[logical_id].environment.items():
                resolved = tpl.resolve_intrinsics(value, refs)
                if resolved is not None:
                    environment[key] = str(resolved)
        self.environment = {**environment, **self.extra_environment}
        self._set_environ(self.environment)
        for logical_id, arn in arns.items():
            for event_name, event in self.functions[logical_id].events.items():
                props = event.get("Properties", {})
                if event.get("Type") == "EventBridgeRule":
                    rule = f"{logical_id}-{event_name}"
                    events.put_rule(Name=rule, EventBusName=self.bus_name, EventPattern=json.dumps(props["Pattern"]))
                    events.put_targets(Rule=rule, EventBusName=self.bus_name, Targets=[{"Id": "fn", "Arn": arn}])
                elif event.get("Type") == "DynamoDB":
                    filters = [json.loads(f["Pattern"]) for f in props.get("FilterCriteria", {}).get("Filters", [])]
                    self.stream.add(logical_id, filters, int(props.get("BatchSize", 100)))
        self._create_queues_and_rules(arns)

    def _create_queues_and_rules(self, arns: dict[str, str]) -> None:
        """The SQS event sources, and the template's own ``AWS::Events::Rule`` resources (to queues, functions)."""
        for source in queue_sources(self.template, self.functions, self.parameters):
            if source.function in arns:
                self.queues.add(source)
        events = self.client("events")
        for logical_id, res in tpl.resources_of_type(self.template, "AWS::Events::Rule").items():
            props = res["Properties"]
            targets = []
            for target in props.get("Targets", []):
                ref = target["Arn"]["Fn::GetAtt"][0]
                arn = arns.get(ref) or self.queues.arn(ref)
                targets.append({"Id": target["Id"], "Arn": arn})
            events.put_rule(Name=logical_id, EventBusName=self.bus_name, EventPattern=json.dumps(props["EventPattern"]))
            events.put_targets(Rule=logical_id, EventBusName=self.bus_name, Targets=targets)
