"""Which stack the CLI operates on, and the helpers every command group shares."""

import argparse
import getpass
import json
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocpi_commands.ocpi.vocabulary import CommandType

LOCAL_TABLE = "ocpi-local-commands"
LOCAL_BUS = "ocpi-local-commands"
LOCAL_STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:ocpi-local-command-lifecycle"


def default_credentials_ttl() -> str:
    from ocpi_commands.config import Settings

    return f"{Settings.model_fields['credentials_cache_ttl_seconds'].default:g}"


class CliError(Exception):
    """A problem the operator can fix; printed without a traceback."""


@dataclass
class Target:
    table: str
    event_bus: str | None
    state_machine_arn: str | None
    region: str | None
    endpoint_url: str | None
    # The stack's CredentialsCacheTtlSeconds, when known: how long a revoked token keeps working.
    credentials_cache_ttl: str | None = None
    # What partners are told: our versions URL, and the stack's parameters (parties, versions, ...).
    versions_url: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    local: bool = False
    # The eMSP backend's API (POST {url}/{command}, GET {url}/{command_id}); IAM (SigV4) on AWS.
    emsp_api_url: str | None = None

    def settings(self) -> Any:
        """The stack's settings as its functions see them (from its parameters)."""
        from ocpi_commands.config import Settings

        p = self.parameters
        fields = {
            "table_name": self.table,
            "cpo_country_code": p.get("CpoCountryCode", "NL"),
            "cpo_party_id": p.get("CpoPartyId", "CPO"),
            "cpo_parties": p.get("CpoParties") or (),
            "roles": p.get("Roles") or "CPO,EMSP",
            "emsp_parties": p.get("EmspParties") or "NL*EMS",
            "ocpi_versions": p.get("OcpiVersions") or "2.1.1,2.2.1,2.3.0",
            "business_name": p.get("BusinessName") or "OCPI Commands",
            "token_a_validity_days": p.get("TokenAValidityDays") or 7,
            "stage": p.get("Stage", "dev"),
            # make run's policy (loopback and http) for --local; a deployed stack is always strict.
            "response_url_policy": "local" if self.local else "strict",
        }
        return Settings.model_validate({k: v for k, v in fields.items() if v not in (None, "")})

    def revocation_delay(self) -> str:
        """When `party disable` / `party rotate` take effect, as the operator should be told."""
        if self.credentials_cache_ttl is not None:
            return f"within {self.credentials_cache_ttl} s (the credentials cache TTL, CredentialsCacheTtlSeconds)"
        return (
            f"within the stack's credentials cache TTL (template parameter CredentialsCacheTtlSeconds, "
            f"{default_credentials_ttl()} s by default)"
        )

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint_url)

    def repository(self) -> Any:
        from ocpi_commands.adapters.dynamodb.repository import DynamoRepository

        return DynamoRepository(self.table, client=self.client("dynamodb"))


def _samconfig(env: str, path: Path) -> dict[str, Any]:
    if not path.exists():
        raise CliError(f"{path} not found (give --stack or --local instead of --config-env)")
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    params: dict[str, Any] = {}
    for section in ("global", "deploy"):
        params.update(config.get(env, {}).get(section, {}).get("parameters", {}))
    if "stack_name" not in params:
        raise CliError(f"samconfig.toml has no stack_name for environment '{env}'")
    return params


def resolve_target(args: argparse.Namespace) -> Target:
    if args.local:
        import os

        for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
            os.environ.setdefault(key, value)
        from ocpi_commands_dev.emulation import template as tpl

        defaults = {k: str(v.get("Default", "")) for k, v in tpl.load_template().get("Parameters", {}).items()}
        api_url = (args.api_url or os.environ.get("OCPI_LOCAL_API_URL") or "http://127.0.0.1:3000").rstrip("/")
        return Target(
            args.table or LOCAL_TABLE,
            args.event_bus or LOCAL_BUS,
            LOCAL_STATE_MACHINE,
            "us-east-1",
            args.endpoint_url or f"http://127.0.0.1:{args.aws_port}",
            default_credentials_ttl(),  # `make run` keeps the template's default
            versions_url=f"{api_url}/ocpi/versions",
            parameters=defaults,
            local=True,
            emsp_api_url=f"{api_url}/emsp/v1/commands",
        )
    stack, region = args.stack, args.region
    if args.config_env:
        params = _samconfig(args.config_env, Path(args.samconfig))
        stack, region = params["stack_name"], region or params.get("region")
    if args.table and not stack:
        api = args.api_url.rstrip("/") if args.api_url else None
        return Target(
            args.table,
            args.event_bus,
            None,
            region,
            args.endpoint_url,
            versions_url=f"{api}/ocpi/versions" if api else None,
            emsp_api_url=f"{api}/emsp/v1/commands" if api else None,
        )
    if not stack:
        raise CliError("say which stack: --local, --stack NAME, --config-env ENV (samconfig.toml) or --table NAME")
    import boto3

    cloudformation = boto3.client("cloudformation", region_name=region, endpoint_url=args.endpoint_url)
    try:
        described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    except Exception as exc:  # noqa: BLE001 - reported as one line
        raise CliError(f"cannot read stack {stack}: {exc}") from None
    values = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}
    if "TableName" not in values:
        raise CliError(f"stack {stack} has no TableName output: is it this product's stack?")
    return Target(
        args.table or values["TableName"],
        args.event_bus or values.get("EventBusName"),
        values.get("StateMachineArn"),
        region,
        args.endpoint_url,
        parameters.get("CredentialsCacheTtlSeconds"),
        versions_url=values.get("VersionsUrl"),
        parameters=parameters,
        emsp_api_url=values.get("EmspCommandsApi"),
    )


def out(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text)


def party_ref(country_code: str, party_id: str) -> Any:
    from ocpi_commands.domain.model import PartyRef

    if len(country_code) != 2 or len(party_id) != 3:
        raise CliError("a party is a 2-letter country_code and a 3-character party_id, e.g. DE TNM")
    return PartyRef(country_code=country_code.upper(), party_id=party_id.upper())


def command_types(value: str) -> list[CommandType]:
    try:
        return [CommandType(p.strip().upper()) for p in value.split(",") if p.strip()]
    except ValueError:
        raise CliError(f"permissions are command types ({', '.join(c.value for c in CommandType)})") from None


def read_secret(prompt: str) -> str:
    value = sys.stdin.readline().strip() if not sys.stdin.isatty() else getpass.getpass(prompt)
    if not value:
        raise CliError("no token given on standard input")
    return value
