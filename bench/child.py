"""One fresh process of the bench, started by ``bench/run.py`` with the environment Lambda would set.

    child.py coldstart TARGET SPEC OUT   time the import of TARGET; for a function, then its first invocation
    child.py warm KIND SPEC OUT          warm loop of the API handler (KIND=api) or of the floor handler

AWS is answered in-process: a botocore ``before-send`` hook returns the answers moto gave during the
bench's recorded runs (SPEC), so the SDK still serialises every request and parses every answer, but
no network or emulator runs. The result is written as JSON to OUT.

Nothing is imported before the timed import but what the interpreter loads at start-up (this
module's imports: ``os``, ``sys``, ``time``).
"""

import os
import sys
import time

MODULES = {
    "api": "ocpi_commands.handlers.api",
    "starter": "ocpi_commands.handlers.starter",
    "dispatch": "ocpi_commands.handlers.dispatch",
    "charge_point_events": "ocpi_commands.handlers.charge_point_events",
    "resolve": "ocpi_commands.handlers.resolve",
    "simulator": "ocpi_commands.handlers.simulator",
}


def import_floor(tracer: bool) -> None:
    """The floor: what any Python Lambda function of this kind imports before its own code."""
    import boto3  # noqa: F401
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver  # noqa: F401
    from pydantic import BaseModel  # noqa: F401

    if tracer:
        from aws_lambda_powertools import Tracer

        Tracer()


class Context:
    """The Lambda context object the handlers read."""

    memory_limit_in_mb = 512
    function_version = "$LATEST"

    def __init__(self, function_name: str):
        self.function_name = function_name
        self.aws_request_id = "00000000-0000-4000-8000-000000000000"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_):  # type: ignore[no-untyped-def]
        yield self.body


class Replayer:
    """``before-send`` hook: answer each AWS request with the answer recorded for it.

    Reads are matched by their exact request body; TransactWriteItems is answered ``{}`` (success);
    anything else takes the next recorded answer of the same operation for this function, else the
    first recorded answer of that operation. A request without any answer gets an error response
    (never the network), and is listed in ``misses``.
    """

    def __init__(self, spec: dict, function: str):
        import zlib

        from botocore.awsrequest import AWSResponse

        self._response_class = AWSResponse
        self._crc32 = zlib.crc32
        old, new = spec.get("receiver_url"), spec.get("receiver_url_now")

        def canned(recorded: dict) -> tuple[int, dict, bytes]:
            body = recorded.get("body") or ""
            if old and new:
                body = body.replace(old, new)
            data = body.encode("utf-8")
            headers = {
                k: v
                for k, v in (recorded.get("headers") or {}).items()
                if k not in ("content-length", "x-amz-crc32", "date", "server")
            }
            headers["content-length"] = str(len(data))
            headers["x-amz-crc32"] = str(self._crc32(data) & 0xFFFFFFFF)
            return recorded.get("status") or 200, headers, data

        self.by_request = {k.encode("utf-8"): canned(v) for k, v in spec.get("by_request", {}).items()}
        self.by_operation = {tuple(k.split(":", 1)): canned(v) for k, v in spec.get("by_operation", {}).items()}
        fixture = spec.get("functions", {}).get(function, {})
        self.sequence = [((c["service"], c["operation"]), canned(c)) for c in fixture.get("sequence", [])]
        self.empty = canned({"body": "{}", "headers": {"content-type": "application/x-amz-json-1.0"}})
        self.misses: list[str] = []

    def __call__(self, request, event_name: str, **_):  # type: ignore[no-untyped-def]
        _, service, operation = event_name.split(".", 2)
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode("utf-8")
        found = self.by_request.get(body)
        if found is None and operation == "TransactWriteItems":
            found = self.empty
        if found is None:
            for index, (key, _) in enumerate(self.sequence):
                if key == (service, operation):
                    found = self.sequence.pop(index)[1]
                    break
        if found is None:
            found = self.by_operation.get((service, operation))
        if found is None:
            self.misses.append(f"{service}:{operation}")
            error = b'{"__type":"BenchReplayMiss","message":"no recorded answer"}'
            found = (400, {"content-type": "application/x-amz-json-1.0"}, error)
        status, headers, data = found
        return self._response_class(request.url, status, headers, _Raw(data))


def redirect_stdout(path: str = os.devnull) -> None:
    """The functions log JSON lines and EMF metrics to stdout, as in Lambda: send them to ``path``."""
    sys.stdout.flush()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.close(fd)


def peak_rss_mb() -> float:
    """resource.getrusage(RUSAGE_SELF).ru_maxrss, in MB.

    On Linux it also counts the memory the process had before its exec (its parent's, at fork): the
    bench's parent therefore stays small (the in-process sections run in their own process).
    """
    import resource

    kilobytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kilobytes / 1024 if sys.platform != "darwin" else kilobytes / 1024 / 1024


def peak_rss_vmhwm_mb() -> float | None:
    """The peak RSS of this address space alone (Linux VmHWM), to check ru_maxrss against."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def coldstart(target: str, spec_path: str) -> dict:
    started, cpu_started = time.perf_counter(), time.process_time()
    if target.startswith("floor"):
        import_floor(tracer=target.startswith("floor_tracer"))
    else:
        __import__(MODULES[target])
    import_ms = (time.perf_counter() - started) * 1000
    import_cpu_ms = (time.process_time() - cpu_started) * 1000
    result = {"target": target, "import_ms": import_ms, "import_cpu_ms": import_cpu_ms, "modules": len(sys.modules)}
    if target in MODULES:
        import json

        with open(spec_path, encoding="utf-8") as handle:
            spec = json.load(handle)
        handler = sys.modules[MODULES[target]].handler
        event = spec["functions"][target]["event"]
        replayer = Replayer(spec, target)
        context = Context(os.environ.get("AWS_LAMBDA_FUNCTION_NAME", target))
        redirect_stdout()
        started = time.perf_counter()
        import boto3

        from ocpi_commands.adapters import aws

        session = boto3.session.Session()  # what aws.client() creates on first use, with the hook
        session.events.register("before-send", replayer)
        aws._session.append(session)
        if target == "api":  # what its first request creates first (the handler then finds it cached)
            aws.client("dynamodb")
            result["client_creation_ms"] = (time.perf_counter() - started) * 1000
        answer = handler(event, context)
        result["first_invoke_ms"] = (time.perf_counter() - started) * 1000
        result["answer"] = json.dumps(answer, default=str)[:300]
        result["replay_misses"] = replayer.misses
    result["peak_rss_mb"] = peak_rss_mb()
    result["peak_rss_vmhwm_mb"] = peak_rss_vmhwm_mb()
    return result


# ------------------------------------------------------------------------------------------ warm


def _floor_handler(spec: dict | None = None):  # type: ignore[no-untyped-def]
    """The FLOOR handler: parse the body, validate it with the same model, answer a constant.

    With ``spec`` (informational ``floor_sdk``), it also makes the accepted path's two DynamoDB calls
    (the recorded GetItem and TransactWriteItems, through the same client and replay hook as the API).
    """
    import json

    from ocpi_commands.ocpi.v2_2_1.commands import StartSession

    constant = {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": '{"data":{"result":"ACCEPTED","timeout":60},"status_code":1000,"timestamp":"2026-01-01T00:00:00Z"}',
        "isBase64Encoded": False,
    }
    calls = []
    if spec is not None:
        from ocpi_commands.adapters import aws

        client = aws.client("dynamodb")
        client.meta.events.register("before-send.dynamodb", Replayer(spec, "api"))
        for call in spec["functions"]["api"]["sequence"]:
            method = {"GetItem": client.get_item, "TransactWriteItems": client.transact_write_items}
            calls.append((method[call["operation"]], json.loads(call["request_body"])))

    def handler(event, context):  # type: ignore[no-untyped-def]
        StartSession.model_validate(json.loads(event["body"]))
        for method, params in calls:
            method(**params)
        return constant

    return handler


def _events(base: dict):  # type: ignore[no-untyped-def]
    """A distinct START_SESSION per call: its own X-Request-ID, X-Correlation-ID and response_url."""
    import json

    body = json.loads(base["body"])
    body["response_url"] = "__URL__"
    template = json.dumps(body)
    headers, multi = base["headers"], base["multiValueHeaders"]

    def make(serial: int) -> dict:
        request_id, correlation_id = f"warm-req-{serial}", f"warm-corr-{serial}"
        url = f"https://emsp.example.com/ocpi/emsp/2.2.1/commands/START_SESSION/warm-{serial}"
        return {
            **base,
            "headers": {**headers, "X-Request-ID": request_id, "X-Correlation-ID": correlation_id},
            "multiValueHeaders": {**multi, "X-Request-ID": [request_id], "X-Correlation-ID": [correlation_id]},
            "body": template.replace("__URL__", url),
        }

    return make


def _accepted(answer: dict) -> bool:
    return answer.get("statusCode") == 200 and '"result":"ACCEPTED"' in answer.get("body", "")


def _owner(filename: str, name: str, package: str, detail: bool) -> str:
    """Who owns a profiled function: a distribution or this project's code (``detail``: which module),
    the standard library, or C code."""
    if filename in ("~", "") or filename.startswith("<"):
        return "pydantic_core (C)" if "pydantic_core" in name else "builtins (C)"
    if package and filename.startswith(package):
        parts = filename[len(package) :].strip("/").split("/")
        depth = (3 if detail else 2) if parts[0] == "ocpi_commands" else (2 if detail else 1)
        return ".".join(p.removesuffix(".py") for p in parts[:depth])
    stdlib = os.path.dirname(os.__file__)
    if filename.startswith(stdlib):
        return "stdlib " + filename[len(stdlib) :].strip("/").split("/")[0].removesuffix(".py")
    return os.path.basename(filename)


# Cumulative time of these functions, as a share of the handler's (they overlap: read each on its own).
PHASES = {
    "AWS SDK calls (botocore BaseClient._make_api_call)": ("botocore/client.py", "_make_api_call"),
    "of which parameter validation (botocore ParamValidator.validate)": ("botocore/validate.py", "validate"),
    "of which user agent (botocore UserAgentString.to_string)": ("botocore/useragent.py", "to_string"),
    "of which endpoint resolution (botocore EndpointRulesetResolver)": ("botocore/regions.py", "construct_endpoint"),
    "of which request signing (botocore SigV4Auth.add_auth)": ("botocore/auth.py", "add_auth"),
    "of which request serialisation (botocore Serializer.serialize_to_request)": (
        "botocore/serialize.py",
        "serialize_to_request",
    ),
    "of which response parsing (botocore ResponseParser.parse)": ("botocore/parsers.py", "parse"),
    "JSON log lines (logging.Logger._log)": ("logging/__init__.py", "_log"),
    "EMF metrics (observability.metric)": ("ocpi_commands/observability.py", "metric"),
    "Powertools routing (ApiGatewayResolver.resolve)": ("event_handler/api_gateway.py", "resolve"),
    "decision + record (domain CommandService.receive)": ("ocpi_commands/domain/commands.py", "receive"),
}


def _profile(handler, make, start: int, count: int, context: Context) -> dict:  # type: ignore[no-untyped-def]
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for serial in range(start, start + count):
        handler(make(serial), context)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    package_dir = os.environ.get("LAMBDA_TASK_ROOT", "")
    packages: dict[str, float] = {}
    modules: dict[str, float] = {}
    for (filename, _, name), (_, _, tottime, _, _) in stats.items():
        package, module = _owner(filename, name, package_dir, False), _owner(filename, name, package_dir, True)
        packages[package] = packages.get(package, 0.0) + tottime
        modules[module] = modules.get(module, 0.0) + tottime
    total = sum(packages.values()) or 1.0
    handler_total = max(
        (cum for (filename, _, name), (_, _, _, cum, _) in stats.items() if name in ("handler", "floor_handler")),
        default=total,
    )
    phases = {}
    for title, (suffix, function) in PHASES.items():
        cumulative = sum(
            cum
            for (filename, _, name), (_, _, _, cum, _) in stats.items()
            if name == function and filename.replace("\\", "/").endswith(suffix)
        )
        if cumulative:
            phases[title] = 100 * cumulative / handler_total

    def top(found: dict[str, float], n: int) -> dict[str, float]:
        return {k: 100 * v / total for k, v in sorted(found.items(), key=lambda kv: -kv[1])[:n]}

    return {
        "invocations": count,
        "share_percent": top(packages, 12),
        "module_share_percent": top(modules, 12),
        "phases_percent_of_handler": phases,
    }


def _timed_phases(handler, make, start: int, count: int, context: Context) -> dict:  # type: ignore[no-untyped-def]
    """Wall time spent inside the AWS SDK and inside logging, per invocation (wrappers, no profiler)."""
    import logging

    from botocore.client import BaseClient

    spent = {"aws_sdk_us": 0.0, "logging_us": 0.0}
    perf = time.perf_counter

    def timed(owner: type, name: str, key: str) -> object:
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            started = perf()
            try:
                return original(*args, **kwargs)
            finally:
                spent[key] += (perf() - started) * 1e6

        setattr(owner, name, wrapper)
        return original

    originals = [
        (BaseClient, "_make_api_call", timed(BaseClient, "_make_api_call", "aws_sdk_us")),
        (logging.Logger, "_log", timed(logging.Logger, "_log", "logging_us")),
    ]
    started = perf()
    for serial in range(start, start + count):
        handler(make(serial), context)
    total_us = (perf() - started) * 1e6
    for owner, name, original in originals:
        setattr(owner, name, original)
    per_invocation = {k: v / count for k, v in spent.items()}
    return {
        "invocations": count,
        "handler_us": total_us / count,
        **per_invocation,
        "aws_sdk_percent": 100 * spent["aws_sdk_us"] / total_us,
        "logging_percent": 100 * spent["logging_us"] / total_us,
        "rest_us": (total_us - spent["aws_sdk_us"] - spent["logging_us"]) / count,
    }


def warm(kind: str, spec_path: str, invocations: int, warmup: int) -> dict:
    import json

    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    make = _events(spec["functions"]["api"]["event"])
    context = Context(os.environ.get("AWS_LAMBDA_FUNCTION_NAME", kind))
    replayer = None
    if kind == "api":
        from ocpi_commands.adapters import aws
        from ocpi_commands.handlers import api

        replayer = Replayer(spec, "api")
        aws.client("dynamodb").meta.events.register("before-send.dynamodb", replayer)
        handler = api.handler
    else:
        import_floor(tracer=False)
        handler = _floor_handler(spec if kind == "floor_sdk" else None)
    redirect_stdout()
    for serial in range(warmup):
        handler(make(serial), context)
    durations = []
    rejected = 0
    perf = time.perf_counter_ns
    for serial in range(warmup, warmup + invocations):
        event = make(serial)
        context.aws_request_id = f"00000000-0000-4000-8000-{serial:012d}"
        started = perf()
        answer = handler(event, context)
        durations.append(perf() - started)
        if not _accepted(answer):
            rejected += 1
    rss, vmhwm = peak_rss_mb(), peak_rss_vmhwm_mb()
    next_serial = warmup + invocations
    result = {
        "kind": kind,
        "invocations": invocations,
        "warmup": warmup,
        "durations_ns": durations,
        "not_accepted": rejected,
        "peak_rss_mb": rss,
        "peak_rss_vmhwm_mb": vmhwm,
        "replay_misses": replayer.misses if replayer else [],
    }
    # What the invocations write to stdout (CloudWatch Logs ingests it): measured after the timed loop.
    log_path = spec_path + f".{kind}.stdout"
    redirect_stdout(log_path)
    sample = 200
    for serial in range(next_serial, next_serial + sample):
        handler(make(serial), context)
    sys.stdout.flush()
    with open(log_path, "rb") as handle:
        logged = handle.read()
    os.remove(log_path)
    redirect_stdout()
    result["log_bytes_per_invocation"] = len(logged) / sample
    result["log_lines_per_invocation"] = logged.count(b"\n") / sample
    result["profile"] = _profile(handler, make, next_serial + sample, 300, context)
    if kind == "api":
        result["timed_phases"] = _timed_phases(handler, make, next_serial + sample + 300, 500, context)
    return result


def main() -> int:
    mode, target, spec_path, out_path = sys.argv[1:5]
    if mode == "coldstart":
        result = coldstart(target, spec_path)
    elif mode == "warm":
        result = warm(target, spec_path, int(sys.argv[5]), int(sys.argv[6]))
    else:
        raise SystemExit(f"unknown mode {mode}")
    import json

    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
