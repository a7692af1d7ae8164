"""$ per million accepted commands, per path, from the counted calls and the measured durations.

Lambda: the local durations measured in the lifecycle run (handlers in-process, AWS answered by
moto in-process, the eMSP on loopback) stand in for Lambda's billed durations, each rounded up to
the next millisecond, times the memory configured in template.yaml, at the price of its
architecture. A pessimistic variant scales the local time to the CPU share Lambda gives the
configured memory (1,769 MB = one vCPU) and adds a network latency per AWS call and per POST.
"""

import math
from typing import Any

import common

PRICES: dict[str, Any] = {
    "region": "us-east-1",
    "as_of": "as last checked in 2025 (DynamoDB on-demand after its November 2024 price reduction); not "
    "re-checked by the bench: check them on the AWS pricing pages before relying on the figures",
    "sources": [
        "https://aws.amazon.com/api-gateway/pricing/",
        "https://aws.amazon.com/lambda/pricing/",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
        "https://aws.amazon.com/step-functions/pricing/",
        "https://aws.amazon.com/eventbridge/pricing/",
        "https://aws.amazon.com/cloudwatch/pricing/",
    ],
    "api_gateway_rest_per_million_requests": 3.50,
    "lambda_per_gb_second": {"arm64": 0.0000133334, "x86_64": 0.0000166667},
    "lambda_per_million_requests": 0.20,
    "dynamodb_per_million_write_request_units": 0.625,
    "dynamodb_per_million_read_request_units": 0.125,
    "step_functions_standard_per_thousand_transitions": 0.025,
    "eventbridge_per_million_custom_events": 1.00,
    "cloudwatch_logs_ingestion_per_gb": 0.50,
}

# Log bytes that are not the functions' own output (estimates, stated in bench/README.md).
LAMBDA_PLATFORM_LOG_BYTES = 350  # START, END and REPORT lines (with the XRAY line) per invocation
LAMBDA_PLATFORM_LOG_EVENTS = 3
LOG_EVENT_OVERHEAD_BYTES = 26  # per log event, as CloudWatch Logs counts an event's size
GB = 1024**3

# Pessimistic conversion of local durations to Lambda durations.
VCPU_MB = 1769
AWS_CALL_LATENCY_MS = 10
POST_LATENCY_MS = 100

MIX = {"answered": 0.95, "timeout": 0.05}


def access_log_bytes(template: dict[str, Any]) -> int:
    """One API Gateway access log line: the template's format with typical values."""
    api = template["Resources"]["OcpiApi"]["Properties"]
    line = api["AccessLogSetting"]["Format"]
    values = {
        "$context.requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "$context.identity.sourceIp": "203.0.113.10",
        "$context.httpMethod": "POST",
        "$context.path": "/dev/ocpi/cpo/2.2.1/commands/START_SESSION",
        "$context.status": "200",
        "$context.responseLatency": "45",
        "$context.integration.latency": "42",
        "$context.xrayTraceId": "1-6740a1b2-0123456789abcdef01234567",
        "$context.error.message": "",
    }
    for key in sorted(values, key=len, reverse=True):
        line = line.replace(key, values[key])
    return len(line.encode("utf-8")) + LOG_EVENT_OVERHEAD_BYTES


def path_cost(path: dict[str, Any], template: dict[str, Any], pessimistic: bool = False) -> dict[str, Any]:
    """Dollars per million commands that take this path, by service, plus the quantities behind them."""
    invocations = path["lambda_invocations"]
    lambda_requests = sum(invocations.values())
    gb_seconds = 0.0
    lambda_dollars = 0.0
    calls_by_function = path.get("aws_calls_by_function", {})
    for run_ms in path["lambda_ms_runs_median"]:
        function, ms = run_ms
        settings = common.function_settings(template, common.FUNCTIONS[function])
        if pessimistic:
            calls = sum(calls_by_function.get(function, {}).values()) / max(1, invocations.get(function, 1))
            posts = path["outbound_posts"] if function in ("charge_point_events", "resolve") else 0
            ms = ms * VCPU_MB / settings["memory_mb"] + calls * AWS_CALL_LATENCY_MS + posts * POST_LATENCY_MS
        seconds = math.ceil(ms) / 1000
        gb = seconds * settings["memory_mb"] / 1024
        gb_seconds += gb
        lambda_dollars += gb * PRICES["lambda_per_gb_second"][settings["architecture"]]
    ddb = path["dynamodb"]
    wru = ddb["wru"] + ddb["gsi_wru"]
    rru = ddb["rru"]
    log_bytes = (
        path["log_bytes"]
        + path["log_lines"] * LOG_EVENT_OVERHEAD_BYTES
        + lambda_requests * (LAMBDA_PLATFORM_LOG_BYTES + LAMBDA_PLATFORM_LOG_EVENTS * LOG_EVENT_OVERHEAD_BYTES)
        + access_log_bytes(template)
    )
    million = 1_000_000
    dollars = {
        "api_gateway": 1 * PRICES["api_gateway_rest_per_million_requests"],
        "lambda_requests": lambda_requests * PRICES["lambda_per_million_requests"],
        "lambda_duration": lambda_dollars * million,
        "dynamodb": wru * PRICES["dynamodb_per_million_write_request_units"]
        + rru * PRICES["dynamodb_per_million_read_request_units"],
        "step_functions": path["transitions"] * PRICES["step_functions_standard_per_thousand_transitions"] * 1000,
        "eventbridge": path["eventbridge_entries"] * PRICES["eventbridge_per_million_custom_events"],
        "cloudwatch_logs": log_bytes / GB * PRICES["cloudwatch_logs_ingestion_per_gb"] * million,
    }
    return {
        "per_million_commands": dollars,
        "total_per_million": sum(dollars.values()),
        "quantities_per_command": {
            "api_gateway_requests": 1,
            "lambda_requests": lambda_requests,
            "lambda_gb_seconds": gb_seconds,
            "dynamodb_wru": wru,
            "dynamodb_rru": rru,
            "state_transitions": path["transitions"],
            "eventbridge_entries": path["eventbridge_entries"],
            "log_bytes": log_bytes,
        },
    }


def model(lifecycle: dict[str, Any], template: dict[str, Any]) -> dict[str, Any]:
    paths = {}
    for name in ("answered", "timeout", "delivery_retry", "dispatch_failure"):
        path = _with_median_durations(lifecycle[name])
        paths[name] = path_cost(path, template)
        paths[name]["pessimistic_total_per_million"] = path_cost(path, template, pessimistic=True)["total_per_million"]
    mix = {
        "weights": MIX,
        "total_per_million": sum(w * paths[p]["total_per_million"] for p, w in MIX.items()),
        "pessimistic_total_per_million": sum(w * paths[p]["pessimistic_total_per_million"] for p, w in MIX.items()),
        "per_million_commands": {
            service: sum(w * paths[p]["per_million_commands"][service] for p, w in MIX.items())
            for service in paths["answered"]["per_million_commands"]
        },
    }
    functions = {
        name: common.function_settings(template, logical)
        for name, logical in common.FUNCTIONS.items()
        if logical in template["Resources"]
    }
    return {
        "prices": PRICES,
        "lambda_configuration": functions,
        "assumptions": {
            "lambda_duration": "local duration of each invocation in the lifecycle run (median run of the path), "
            "rounded up to 1 ms, x configured memory; pessimistic: x "
            f"{VCPU_MB}/memory MB (CPU share) + {AWS_CALL_LATENCY_MS} ms per AWS call + "
            f"{POST_LATENCY_MS} ms per POST to the eMSP",
            "dynamodb": "on-demand; 1 WRU per KB of the larger item image (x2 in TransactWriteItems), 1 WRU per "
            "write to the keys-only gsi1, 1 RRU per 4 KB strongly consistent read (half for eventually consistent)",
            "step_functions": "Standard workflow; billed transitions = states entered + task retries",
            "eventbridge": "custom events put on the stack's bus (the dispatch event and the CSMS's answer); "
            "delivery to rule targets is not billed",
            "cloudwatch_logs": f"the functions' stdout bytes as measured + {LOG_EVENT_OVERHEAD_BYTES} bytes per "
            f"log event + ~{LAMBDA_PLATFORM_LOG_BYTES} bytes of Lambda platform lines per invocation + one API "
            "Gateway access log line; 1 GB = 2^30 bytes",
            "not_included": "free tiers; X-Ray traces; CloudWatch custom metrics (per metric-month, not per "
            "command), alarms and dashboard; DynamoDB storage, PITR and streams (Lambda stream reads are free); "
            "data transfer; the CSMS's own costs; Session Updated events",
        },
        "paths": paths,
        "mix": mix,
    }


def _with_median_durations(path: dict[str, Any]) -> dict[str, Any]:
    """The path with ``lambda_ms_runs_median``: the invocations of its median run (by total duration)."""
    runs = path["lambda_ms_runs"]
    totals = sorted(range(len(runs)), key=lambda i: sum(sum(v) for v in runs[i].values()))
    median_run = runs[totals[len(totals) // 2]]
    flat = [(function, ms) for function, values in median_run.items() for ms in values]
    return {**path, "lambda_ms_runs_median": flat}
