"""The peer, measured as our API function is: extrawest-ocpi's CPO commands app as a Lambda handler.

Runs in the peer's own virtualenv (Python 3.11; FastAPI 0.101, pydantic 1.10), started by
``bench/peer.py`` in a fresh process per measurement:

    child.py coldstart OUT            import + init (py_ocpi, the app, Mangum), then the first invocation
    child.py warm OUT INVOCATIONS WARMUP [response-only]

The app is what a py_ocpi user writes: ``py_ocpi.get_application`` for the CPO role, OCPI 2.2.1,
the Commands module, with an in-memory Crud and Authenticator, wrapped with ``mangum.Mangum`` as a
Lambda handler, invoked with API Gateway (REST, proxy) events of an accepted START_SESSION, as our
API function is. Every request is a distinct command (its own X-Request-ID and response_url).

Under Mangum the invocation returns when the whole ASGI cycle ends, background tasks included, and
extrawest's CPO app posts the CommandResult from a background task that polls ``Crud.get`` (every
2 s when there is no result yet). The in-memory Crud answers ACCEPTED and has the result at once, so
the background task does not wait; its POST to response_url is answered in-process (an httpx mock
transport: no network), as AWS is answered in-process for our function. So each peer invocation
includes what our product does asynchronously: building and posting the CommandResult. With
``response-only`` the background task is replaced by one that does nothing: the CommandResponse
alone, like for like with our API function.
"""

import base64
import json
import os
import sys
import time

TOKEN_C = "bench-token-c"  # the token the eMSP calls the CPO with
TOKEN_B = "bench-token-b"  # the token the CPO calls the eMSP back with


def configure() -> None:
    """py_ocpi reads its settings from the environment when it is first imported."""
    os.environ.update(
        {
            "PROTOCOL": "https",
            "OCPI_HOST": "cpo.example.com",
            "OCPI_PREFIX": "ocpi",
            "COMMAND_AWAIT_TIME": "1",
            "ENVIRONMENT": "production",
            "NO_AUTH": "false",
            "CI_STRING_LOWERCASE_PREFERENCE": "false",
        }
    )


def build():  # type: ignore[no-untyped-def]
    """Import py_ocpi and build the Lambda handler: what a cold start runs."""
    import httpx
    from mangum import Mangum
    from py_ocpi import get_application
    from py_ocpi.core.authentication.authenticator import Authenticator
    from py_ocpi.core.crud import Crud
    from py_ocpi.core.enums import Action, ModuleID, RoleEnum
    from py_ocpi.modules.versions.enums import VersionNumber

    locations = {"LOC1": {"id": "LOC1"}}
    commands: dict[str, dict] = {}

    class BenchAuthenticator(Authenticator):
        @classmethod
        async def get_valid_token_c(cls) -> list[str]:
            return [TOKEN_C]

        @classmethod
        async def get_valid_token_a(cls) -> list[str]:
            return []

    class BenchCrud(Crud):
        @classmethod
        async def get(cls, module, role, id, *args, **kwargs):  # type: ignore[no-untyped-def]
            if module == ModuleID.locations:
                return locations.get(str(id))
            if module == ModuleID.commands:
                # The background task's poll: the charge point's result is there at once.
                command = commands.pop(kwargs["command_data"].response_url, None)
                return {"result": "ACCEPTED"} if command is not None else None
            return None

        @classmethod
        async def do(cls, module, role, action, *args, data=None, **kwargs):  # type: ignore[no-untyped-def]
            if module == ModuleID.commands and action == Action.send_command:
                body = args[0] if args else data
                commands[body["response_url"]] = body
                return {"result": "ACCEPTED", "timeout": 30}
            if module == ModuleID.commands and action == Action.get_client_token:
                return TOKEN_B
            return None

        @classmethod
        async def list(cls, module, role, filters, *args, **kwargs):  # type: ignore[no-untyped-def]
            return [], 0, True

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"})

    real_client = httpx.AsyncClient

    class InProcessClient(real_client):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            kwargs["transport"] = httpx.MockTransport(answer)
            super().__init__(*args, **kwargs)

    httpx.AsyncClient = InProcessClient  # py_ocpi creates its client when it posts
    app = get_application(
        version_numbers=[VersionNumber.v_2_2_1],
        roles=[RoleEnum.cpo],
        modules=[ModuleID.commands],
        authenticator=BenchAuthenticator,
        crud=BenchCrud,
    )
    return Mangum(app, lifespan="off"), commands


def event(serial: int) -> dict:
    """An accepted START_SESSION, as API Gateway (REST, proxy integration) hands it to Lambda."""
    url = f"https://emsp.example.com/ocpi/emsp/2.2.1/commands/START_SESSION/peer-{serial}"
    body = {
        "response_url": url,
        "token": {
            "country_code": "DE",
            "party_id": "TNM",
            "uid": "DEMO-UID-1",
            "type": "APP_USER",
            "contract_id": "DE-TNM-C1",
            "issuer": "Demo",
            "valid": True,
            "whitelist": "ALLOWED",
            "last_updated": "2026-01-01T00:00:00Z",
        },
        "location_id": "LOC1",
        "evse_uid": "3256",
    }
    headers = {
        "Authorization": "Token " + base64.b64encode(TOKEN_C.encode()).decode(),
        "Content-Type": "application/json",
        "Host": "cpo.example.com",
        "X-Request-ID": f"peer-req-{serial}",
        "X-Correlation-ID": f"peer-corr-{serial}",
    }
    return {
        "resource": "/{proxy+}",
        "path": "/ocpi/cpo/2.2.1/commands/START_SESSION",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": "ocpi/cpo/2.2.1/commands/START_SESSION"},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": "POST",
            "path": "/prod/ocpi/cpo/2.2.1/commands/START_SESSION",
            "stage": "prod",
            "requestId": f"peer-{serial}",
            "identity": {"sourceIp": "192.0.2.10", "userAgent": "bench"},
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "cpo.example.com",
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": 1767225600000,
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


class Context:
    function_name = "peer"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:peer"
    aws_request_id = "00000000-0000-4000-8000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def accepted(answer: dict) -> bool:
    if answer.get("statusCode") != 200:
        return False
    body = json.loads(answer.get("body") or "{}")
    return body.get("status_code") == 1000 and (body.get("data") or [{}])[0].get("result") == "ACCEPTED"


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss_vmhwm_mb() -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def quiet() -> None:
    """extrawest logs to stderr at INFO; Lambda would ingest it: the work is kept, the output dropped."""
    fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(fd, 2)
    os.close(fd)


def coldstart() -> dict:
    configure()
    started, cpu_started = time.perf_counter(), time.process_time()
    handler, _ = build()
    import_ms = (time.perf_counter() - started) * 1000
    import_cpu_ms = (time.process_time() - cpu_started) * 1000
    quiet()
    started = time.perf_counter()
    answer = handler(event(0), Context())
    first_ms = (time.perf_counter() - started) * 1000
    if not accepted(answer):
        raise SystemExit(f"the peer's first START_SESSION was not accepted: {answer}")
    return {
        "import_ms": import_ms,
        "import_cpu_ms": import_cpu_ms,
        "first_invoke_ms": first_ms,
        "modules": len(sys.modules),
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_vmhwm_mb": peak_rss_vmhwm_mb(),
        "python": sys.version.split()[0],
    }


def warm(invocations: int, warmup: int, response_only: bool) -> dict:
    configure()
    handler, pending = build()
    if response_only:
        from py_ocpi.modules.commands.v_2_2_1.api import cpo

        async def no_result(**_: object) -> None:
            return None

        cpo.send_command_result = no_result  # what the route schedules, looked up when it runs
    quiet()
    context = Context()
    for serial in range(warmup):
        handler(event(serial), context)
    durations, rejected = [], 0
    perf = time.perf_counter_ns
    for serial in range(warmup, warmup + invocations):
        request = event(serial)
        started = perf()
        answer = handler(request, context)
        durations.append(perf() - started)
        if not accepted(answer):
            rejected += 1
    return {
        "durations_ns": durations,
        "not_accepted": rejected,
        # As shipped, every command's CommandResult went out in its own invocation.
        "results_not_posted": len(pending) if not response_only else None,
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_vmhwm_mb": peak_rss_vmhwm_mb(),
        "python": sys.version.split()[0],
    }


def main() -> int:
    mode, out = sys.argv[1], sys.argv[2]
    if mode == "coldstart":
        result = coldstart()
    else:
        result = warm(int(sys.argv[3]), int(sys.argv[4]), response_only="response-only" in sys.argv[5:])
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
