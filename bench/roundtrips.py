"""AWS round trips of the synchronous path, per command type and outcome (moto, in-process).

The API handler answers the ``events/api-*.json`` requests (each made a distinct command) against
a table created from ``template.yaml`` and seeded with ``seed/sample.json``. A ``before-call`` hook
counts the botocore API calls of each invocation. Every case runs twice: ``first`` (the first time
this case is seen; the credentials are already cached by a warm-up request) and ``warm``.

The raw answers moto gave to the reads are kept: the child processes replay them (``replay.json``).
"""

import json
import os
from typing import Any

import common
from recorder import Recorder, count_by_operation

# (name, event file, expected HTTP status, OCPI status_code, CommandResponse result)
CASES = [
    ("START_SESSION accepted", "api-start-session", 200, 1000, "ACCEPTED"),
    ("STOP_SESSION accepted", "api-stop-session", 200, 1000, "ACCEPTED"),
    ("RESERVE_NOW accepted", "api-reserve-now", 200, 1000, "ACCEPTED"),
    ("CANCEL_RESERVATION accepted", "api-cancel-reservation", 200, 1000, "ACCEPTED"),
    ("UNLOCK_CONNECTOR accepted", "api-unlock-connector", 200, 1000, "ACCEPTED"),
    ("unknown location", "api-start-session-unknown-location", 200, 2003, "REJECTED"),
    ("unknown session", "api-stop-session-unknown-session", 200, 1000, "UNKNOWN_SESSION"),
    ("not supported", "api-start-session-not-supported", 200, 1000, "NOT_SUPPORTED"),
    ("bad token", "api-start-session-unknown-token", 401, 2000, None),
    ("schema error", "api-start-session-invalid-body", 200, 2001, "REJECTED"),
]


class Context:
    function_name = "ocpi-commands-dev-ApiFunction"
    memory_limit_in_mb = 512
    aws_request_id = "bench"
    invoked_function_arn = f"arn:aws:lambda:{common.REGION}:{common.ACCOUNT}:function:{function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def _outcome(response: dict[str, Any]) -> tuple[int, int | None, str | None]:
    body = json.loads(response["body"])
    return response["statusCode"], body.get("status_code"), (body.get("data") or {}).get("result")


def run() -> tuple[dict[str, Any], dict[str, Any]]:
    """(results, replay fixtures)."""
    from moto import mock_aws  # before any boto3 session: moto's stub joins every emitter created after

    template = common.load_template()
    saved = dict(os.environ)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(common.FAKE_CREDENTIALS)
    os.environ.update(common.template_environment(template, "ApiFunction"))
    try:
        with mock_aws():
            return _run(template)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        _reset()


def _reset() -> None:
    from ocpi_commands import composition

    composition.reset()


def _run(template: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    import boto3
    from moto.dynamodb.models import dynamodb_backends

    from ocpi_commands.adapters import aws
    from ocpi_commands.adapters.dynamodb.repository import DynamoRepository as Repository
    from ocpi_commands.handlers import api
    from ocpi_commands_dev.emulation import template as tpl
    from ocpi_commands_dev.loading import load_seed

    _reset()
    recorder = Recorder(dynamodb_backends[common.ACCOUNT][common.REGION])
    session = boto3.session.Session()
    recorder.install(session.events)
    aws._session.append(session)  # every client the handlers create carries the hooks

    aws.client("dynamodb").create_table(**tpl.create_table_kwargs(template, "CommandsTable", common.TABLE_NAME))
    repository = Repository(common.TABLE_NAME)
    load_seed(repository, json.loads(common.SEED.read_text(encoding="utf-8")))
    # The simulator's behaviour without its demo delay (the cold start replays this read).
    repository.put_simulator_behaviour("LOC1", None, {"mode": "accept"})

    context = Context()
    sink = common.CountingSink(lambda: recorder.current)

    def invoke(event: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        mark = recorder.mark()
        with recorder.running("api"):
            response = api.handler(event, context)
        return response, recorder.since(mark)

    results: dict[str, Any] = {"cases": []}
    with common.captured_stdout(sink):
        warmup, warmup_calls = invoke(common.fresh_event("api-versions", "warmup"))
        results["credentials_cache_miss"] = {
            "request": "GET /ocpi/versions (first request of the process)",
            "calls": count_by_operation(warmup_calls),
        }
        serial = 0
        for name, event_name, http, status_code, result in CASES:
            row: dict[str, Any] = {"case": name, "event": f"events/{event_name}.json"}
            for phase in ("first", "warm"):
                serial += 1
                response, calls = invoke(common.fresh_event(event_name, f"rt{serial}"))
                got = _outcome(response)
                row[phase] = {
                    "round_trips": len(calls),
                    "calls": count_by_operation(calls),
                    "wru": sum(c.wru for c in calls),
                    "gsi_wru": sum(c.gsi_wru for c in calls),
                    "rru": sum(c.rru for c in calls),
                }
                row["answer"] = {"http": got[0], "status_code": got[1], "result": got[2]}
                row["as_expected"] = row.get("as_expected", True) and got == (http, status_code, result)
                if name == "START_SESSION accepted" and phase == "warm":
                    api_sequence = [c.replay() for c in calls]
            results["cases"].append(row)
        # Reads the simulator makes (replayed by its cold start).
        with recorder.running("simulator"):
            repository.get_simulator_behaviour("LOC1", "3256")

    unexpected = [row["case"] for row in results["cases"] if not row["as_expected"]]
    if unexpected:
        raise RuntimeError(f"unexpected answers (the counts would mean nothing): {unexpected}")

    replay = {
        "by_request": _reads(recorder.calls),
        "functions": {"api": {"event": common.fresh_event("api-start-session", "cold"), "sequence": api_sequence}},
    }
    return results, replay


def _reads(calls: list[Any]) -> dict[str, Any]:
    """Answers to reads, by exact request body: a replayed read gets the very answer moto gave."""
    found = {}
    for call in calls:
        if call.operation in ("GetItem", "BatchGetItem") and call.request_body and call.status == 200:
            found[call.request_body] = call.replay()
    return found
