"""Helpers shared by the tests: OCPI payloads, the sample seed, and an API Gateway-shaped caller."""

import base64
import json
import os
from pathlib import Path
from typing import Any

# No real AWS, ever: fake credentials before anything creates a boto3 session.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_DEV": "0",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_SEED = ROOT / "seed" / "sample.json"

DEMO_TOKEN = "demo-emsp-token-c"
OTHER_TOKEN = "other-emsp-token-c"
HUB_TOKEN = "demo-hub-token-c"
LEGACY_TOKEN = "legacy-emsp-token"
TOKEN_A = "registration-token-a"
OLD_TOKEN = "old-emsp-token-211"  # NL*OLD, on OCPI 2.1.1 (raw token)
NEO_TOKEN = "neo-emsp-token-230"  # BR*NEO, on OCPI 2.3.0
COMMANDS = "/ocpi/cpo/2.2.1/commands"


def commands_path(version: str) -> str:
    return f"/ocpi/cpo/{version}/commands"


def token_211(**overrides: Any) -> dict[str, Any]:
    """An OCPI 2.1.1 Token: ``auth_id``, and no owner (the credentials name it)."""
    token = {
        "uid": "OLD-UID-1",
        "type": "RFID",
        "auth_id": "NL-OLD-C1",
        "issuer": "Old eMSP",
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": "2018-12-10T17:16:15Z",
    }
    token.update(overrides)
    return token


def auth(token: str) -> str:
    return "Token " + base64.b64encode(token.encode()).decode()


def ocpi_token(country_code: str = "DE", party_id: str = "TNM", **overrides: Any) -> dict[str, Any]:
    token = {
        "country_code": country_code,
        "party_id": party_id,
        "uid": "bdf21bce-fc97-11e8-8eb2-f2801f1b9fd1",
        "type": "APP_USER",
        "contract_id": "DE8ACC12E46L89",
        "issuer": "TheNewMotion",
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": "2018-12-10T17:16:15Z",
    }
    token.update(overrides)
    return token


def seed() -> dict[str, Any]:
    return json.loads(SAMPLE_SEED.read_text())


class Api:
    """Calls the API function's handler with API Gateway events, as API Gateway would.

    ``function="credentials"`` calls the Credentials function instead (its route in template.yaml)."""

    def __init__(self, function: str = "api") -> None:
        import importlib

        self.module = importlib.import_module(f"ocpi_commands.handlers.{function}")

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = DEMO_TOKEN,
        headers: dict[str, str] | None = None,
        raw_body: str | None = None,
        raw_token: bool = False,
    ) -> "ApiAnswer":
        from ocpi_commands_dev.emulation.apigw import build_event

        all_headers = {"Content-Type": "application/json"}
        if token is not None:
            all_headers["Authorization"] = f"Token {token}" if raw_token else auth(token)
        all_headers.update(headers or {})
        payload = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
        from ocpi_commands_dev.emulation.lambda_runtime import FunctionContext

        context = FunctionContext(function_name="ocpi-local-ApiFunction")
        response = self.module.handler(build_event(method, path, all_headers, payload), context)
        return ApiAnswer(response)

    def command(self, command_type: str, body: Any, **kwargs: Any) -> "ApiAnswer":
        return self.call("POST", f"{COMMANDS}/{command_type}", body, **kwargs)


class ApiAnswer:
    def __init__(self, response: dict[str, Any]):
        self.raw = response
        self.status = response["statusCode"]
        self.body = json.loads(response["body"])
        headers = {k: v for k, v in (response.get("headers") or {}).items()}
        for k, v in (response.get("multiValueHeaders") or {}).items():
            headers[k] = v[-1]
        self.headers = {k.lower(): v for k, v in headers.items()}

    @property
    def status_code(self) -> int:
        return self.body["status_code"]

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def result(self) -> str | None:
        return (self.data or {}).get("result")

    def __repr__(self) -> str:
        return f"<{self.status} {self.body}>"
