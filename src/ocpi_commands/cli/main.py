"""``ocpi-commands``: run the product locally, and operate a stack (local or deployed).

    ocpi-commands run                                  # what `make run` starts
    ocpi-commands --local party register --country-code DE --party-id TNM --outbound-token-stdin
    ocpi-commands --config-env prod commands pending
    ocpi-commands --stack ocpi-commands-dev --region eu-west-1 commands show <command_id>

The target stack comes from ``--local`` (the emulation of ``make run``), ``--stack`` (CloudFormation
outputs), ``--config-env`` (``samconfig.toml``) or explicit ``--table``/``--event-bus``/``--endpoint-url``.
Errors are printed as one line (exit status 2), never as a traceback.
"""

import argparse
import getpass
import json
import secrets
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocpi_commands.ocpi.commands import CommandType
from ocpi_commands.ocpi.types import format_datetime

LOCAL_TABLE = "ocpi-local-commands"
LOCAL_BUS = "ocpi-local-commands"
LOCAL_STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:ocpi-local-command-lifecycle"


class CliError(Exception):
    """A problem the operator can fix; printed without a traceback."""


@dataclass
class Target:
    table: str
    event_bus: str | None
    state_machine_arn: str | None
    region: str | None
    endpoint_url: str | None

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint_url)

    def repository(self) -> Any:
        from ocpi_commands.dal.repository import Repository

        return Repository(self.table, client=self.client("dynamodb"))


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
        return Target(
            args.table or LOCAL_TABLE,
            args.event_bus or LOCAL_BUS,
            LOCAL_STATE_MACHINE,
            "us-east-1",
            args.endpoint_url or f"http://127.0.0.1:{args.aws_port}",
        )
    stack, region = args.stack, args.region
    if args.config_env:
        params = _samconfig(args.config_env, Path(args.samconfig))
        stack, region = params["stack_name"], region or params.get("region")
    if args.table and not stack:
        return Target(args.table, args.event_bus, None, region, args.endpoint_url)
    if not stack:
        raise CliError("say which stack: --local, --stack NAME, --config-env ENV (samconfig.toml) or --table NAME")
    import boto3

    cloudformation = boto3.client("cloudformation", region_name=region, endpoint_url=args.endpoint_url)
    try:
        outputs = cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    except Exception as exc:  # noqa: BLE001 - reported as one line
        raise CliError(f"cannot read stack {stack}: {exc}") from None
    values = {o["OutputKey"]: o["OutputValue"] for o in outputs}
    if "TableName" not in values:
        raise CliError(f"stack {stack} has no TableName output: is it this product's stack?")
    return Target(
        args.table or values["TableName"],
        args.event_bus or values.get("EventBusName"),
        values.get("StateMachineArn"),
        region,
        args.endpoint_url,
    )


def _out(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text)


def _party_ref(country_code: str, party_id: str) -> Any:
    from ocpi_commands.domain.models import PartyRef

    if len(country_code) != 2 or len(party_id) != 3:
        raise CliError("a party is a 2-letter country_code and a 3-character party_id, e.g. DE TNM")
    return PartyRef(country_code=country_code.upper(), party_id=party_id.upper())


def _permissions(value: str) -> list[CommandType]:
    try:
        return [CommandType(p.strip().upper()) for p in value.split(",") if p.strip()]
    except ValueError:
        raise CliError(f"permissions are command types ({', '.join(c.value for c in CommandType)})") from None


def _read_secret(prompt: str) -> str:
    value = sys.stdin.readline().strip() if not sys.stdin.isatty() else getpass.getpass(prompt)
    if not value:
        raise CliError("no token given on standard input")
    return value


# ------------------------------------------------------------------------------------------ party


def cmd_party_register(args: argparse.Namespace, target: Target) -> None:
    from ocpi_commands.loading import PartySpec

    repo = target.repository()
    ref = _party_ref(args.country_code, args.party_id)
    if repo.get_party(ref) is not None:
        raise CliError(f"party {ref.key} already exists (use 'party rotate' or 'party set-permissions')")
    token = secrets.token_urlsafe(32)
    outbound = _read_secret("Token the party issued to us: ") if args.outbound_token_stdin else None
    spec = PartySpec(
        country_code=ref.country_code,
        party_id=ref.party_id,
        role=args.role,
        name=args.name,
        token=token,
        credentials_status="TOKEN_A" if args.token_a else "REGISTERED",
        outbound_token=outbound,
        legacy_token_encoding=args.legacy,
        permissions=_permissions(args.permissions) if args.permissions else None,
        allowed_response_url_hosts=args.allowed_host or [],
        hub_clients=args.hub_client or [],
    )
    repo.put_party(spec.to_party())
    print(f"Registered {ref.key} ({args.role}). Its credentials token, shown once (only its hash is stored):")
    print(token)


def cmd_party_rotate(args: argparse.Namespace, target: Target) -> None:
    from ocpi_commands.domain.auth import token_sha256

    repo = target.repository()
    ref = _party_ref(args.country_code, args.party_id)
    party = repo.get_party(ref)
    if party is None:
        raise CliError(f"party {ref.key} is not registered")
    token = secrets.token_urlsafe(32)
    repo.put_party(
        party.model_copy(update={"token_sha256": token_sha256(token)}), previous_token_sha256=party.token_sha256
    )
    print(
        f"New credentials token for {ref.key}, shown once (the previous one stops working within the "
        f"credentials cache TTL):"
    )
    print(token)


def _update_party(args: argparse.Namespace, target: Target, **changes: Any) -> Any:
    repo = target.repository()
    ref = _party_ref(args.country_code, args.party_id)
    party = repo.get_party(ref)
    if party is None:
        raise CliError(f"party {ref.key} is not registered")
    updated = party.model_copy(update=changes)
    repo.put_party(updated, previous_token_sha256=party.token_sha256)
    return updated


def cmd_party_set_permissions(args: argparse.Namespace, target: Target) -> None:
    party = _update_party(args, target, permissions=frozenset(_permissions(args.permissions)))
    print(f"{party.ref.key} may send: {', '.join(sorted(p.value for p in party.permissions)) or 'nothing'}")


def cmd_party_set_outbound_token(args: argparse.Namespace, target: Target) -> None:
    party = _update_party(args, target, outbound_token=_read_secret("Token the party issued to us: "))
    print(f"Stored the token {party.ref.key} issued to us (used to POST CommandResults to it).")


def cmd_party_enable(args: argparse.Namespace, target: Target, enabled: bool = True) -> None:
    party = _update_party(args, target, enabled=enabled)
    print(f"{party.ref.key} is {'enabled' if enabled else 'disabled'}.")


def cmd_party_list(args: argparse.Namespace, target: Target) -> None:
    parties = sorted(target.repository().list_parties(), key=lambda p: p.ref.key)
    rows = [
        {
            "party": p.ref.key,
            "role": p.role.value,
            "name": p.name,
            "enabled": p.enabled,
            "credentials": p.credentials_status.value,
            "legacy": p.legacy_token_encoding,
            "can_call_back": bool(p.outbound_token),
            "permissions": sorted(x.value for x in p.permissions),
        }
        for p in parties
    ]
    text = "\n".join(
        f"{r['party']:8} {r['role']:5} {'on ' if r['enabled'] else 'off'} {r['credentials']:10} "
        f"{'callback' if r['can_call_back'] else 'NO CALLBACK TOKEN':17} {','.join(r['permissions'])}"
        f"  {r['name'] or ''}"
        for r in rows
    )
    _out(args, rows, text or "(no parties)")


# ------------------------------------------------------------------------------------------ load


def cmd_load(args: argparse.Namespace, target: Target) -> None:
    from ocpi_commands.loading import as_list, load_seed, parse_locations, parse_sessions, read_json

    data = read_json(Path(args.file))
    repo = target.repository()
    if args.kind == "seed":
        counts = load_seed(repo, data)
        print("Loaded " + ", ".join(f"{v} {k}" for k, v in counts.items()))
        return
    if args.kind == "locations":
        records = parse_locations(as_list(data, "locations"))
        for record in records:
            repo.put_location(record)
    else:
        records = parse_sessions(as_list(data, "sessions"))
        for record in records:
            repo.put_session(record)
    print(f"Loaded {len(records)} {args.kind} from {args.file}")


# ------------------------------------------------------------------------------------------ commands


def cmd_commands_pending(args: argparse.Namespace, target: Target) -> None:
    pending = target.repository().list_pending_commands()
    rows = [
        {
            "command_id": c.command_id,
            "command_type": c.command_type.value,
            "party": c.party.key,
            "accepted_at": c.accepted_at,
            "deadline": c.deadline,
            "dispatched": bool(c.dispatched_at),
        }
        for c in pending
    ]
    text = "\n".join(
        f"{r['command_id']}  {r['command_type']:18} {r['party']:8} deadline {r['deadline']:%H:%M:%S} "
        f"{'dispatched' if r['dispatched'] else 'not dispatched yet'}"
        for r in rows
    )
    _out(args, rows, text or "(no pending commands)")


def cmd_commands_show(args: argparse.Namespace, target: Target) -> None:
    command = target.repository().get_command(args.command_id)
    if command is None:
        raise CliError(f"no command {args.command_id}")
    history = []
    if command.execution_arn or target.state_machine_arn:
        arn = command.execution_arn or (
            target.state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + command.command_id
        )
        try:
            events = target.client("stepfunctions").get_execution_history(executionArn=arn)["events"]
            history = [
                {
                    "at": e["timestamp"],
                    "type": e["type"],
                    "state": (e.get("stateEnteredEventDetails") or {}).get("name"),
                }
                for e in events
            ]
        except Exception as exc:  # noqa: BLE001 - the record is still worth showing
            history = [{"type": f"execution history unavailable: {type(exc).__name__}"}]
    record = command.model_dump(mode="json", exclude={"task_token", "request"})
    record["request"] = {k: v for k, v in command.request.items() if k != "token"}
    if "token" in command.request:
        from ocpi_commands.observability import mask_token

        record["request"]["token"] = mask_token(command.request["token"])

    def at(moment: Any) -> str:
        return format_datetime(moment) if moment else "-"

    lines = [
        f"{command.command_type.value} {command.command_id} from {command.party.key}",
        f"  response_url   {command.response_url}",
        f"  accepted       {at(command.accepted_at)}  (timeout {command.timeout} s, deadline {at(command.deadline)})",
        f"  dispatched     {at(command.dispatched_at)}",
        f"  status         {command.status.value}"
        + (
            f"  result {command.result.value} ({command.result_source.value}) at {command.resolved_at}"
            if command.result
            else ""
        ),
        f"  delivery       {command.delivery_status.value if command.delivery_status else '-'}"
        + (f"  at {at(command.delivered_at)}" if command.delivered_at else "")
        + (f"  ({command.delivery_error})" if command.delivery_error else ""),
    ]
    for attempt in command.delivery_attempts:
        lines.append(
            f"    attempt {attempt.number} at {attempt.started_at}: {attempt.outcome or 'in flight'}"
            f" http={attempt.http_status} ocpi={attempt.ocpi_status_code} {attempt.error or ''}".rstrip()
        )
    if command.late_results:
        lines.append(f"  late results   {command.late_results} (ignored)")
    lines.append(f"  correlation    X-Request-ID {command.request_id}, X-Correlation-ID {command.correlation_id}")
    if history:
        lines.append("  execution")
        lines += [
            f"    {at(h['at']) if h.get('at') else ''} {h['type']} {h.get('state') or ''}".rstrip() for h in history
        ]
    _out(args, {"command": record, "execution_history": history}, "\n".join(lines))


# ------------------------------------------------------------------------------------------ reservations


def cmd_reservation_cancel(args: argparse.Namespace, target: Target) -> None:
    from ocpi_commands.domain.lifecycle import EVENT_RESERVATION_CANCELED, ReservationCanceledReport

    detail: dict[str, Any] = {}
    if args.cp_reservation_id is not None:
        detail["cp_reservation_id"] = args.cp_reservation_id
    if args.party:
        country, _, party_id = args.party.partition("*")
        detail.update(country_code=country, party_id=party_id, reservation_id=args.reservation_id)
    if args.message:
        detail["message"] = [{"language": "en", "text": args.message}]
    try:
        ReservationCanceledReport.model_validate(detail)
    except Exception as exc:  # noqa: BLE001
        raise CliError(f"give --cp-reservation-id, or --party CC*PID with --reservation-id ({exc})") from None
    if not target.event_bus:
        raise CliError("no event bus known for this stack (give --event-bus)")
    response = target.client("events").put_events(
        Entries=[
            {
                "EventBusName": target.event_bus,
                "Source": "ocpi.commands.operator",
                "DetailType": EVENT_RESERVATION_CANCELED,
                "Detail": json.dumps(detail),
            }
        ]
    )
    if response.get("FailedEntryCount"):
        raise CliError(f"the event was not accepted: {response['Entries'][0].get('ErrorMessage')}")
    print("Cancellation sent: the eMSP receives CANCELED_RESERVATION if the reservation is still active.")


def cmd_simulator_set(args: argparse.Namespace, target: Target) -> None:
    from ocpi_commands.handlers.simulator import Behaviour

    behaviour = Behaviour(mode=args.mode, delay_seconds=args.delay).model_dump(mode="json", exclude_defaults=True)
    target.repository().put_simulator_behaviour(args.location_id, args.evse_uid, behaviour)
    print(
        f"Simulated charge point {args.location_id}/{args.evse_uid or '*'}: {args.mode}"
        + (f" after {args.delay} s" if args.delay else "")
    )


def cmd_openapi(args: argparse.Namespace, _: Target | None) -> None:
    from ocpi_commands.handlers.openapi import openapi_document

    text = json.dumps(openapi_document(), indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        print(f"Wrote {args.output}")
    else:
        print(text)


def cmd_run(args: argparse.Namespace, _: Target | None) -> None:
    from ocpi_commands.config import uniform_timeouts
    from ocpi_commands.local.server import RunOptions, run

    timeouts = uniform_timeouts(args.timeout) if args.timeout is not None else args.timeouts
    run(
        RunOptions(
            host=args.host,
            port=args.port,
            aws_port=args.aws_port,
            receiver_port=None if args.no_receiver else args.receiver_port,
            seed=Path(args.seed) if args.seed else None,
            timeouts=timeouts,
            verbose=args.verbose,
        )
    )


# ------------------------------------------------------------------------------------------ parser


def parser() -> argparse.ArgumentParser:
    import os

    root = argparse.ArgumentParser(prog="ocpi-commands", description=__doc__.split("\n\n")[0])
    where = root.add_argument_group("which stack")
    where.add_argument("--local", action="store_true", help="the emulation started by `make run`")
    where.add_argument(
        "--aws-port",
        type=int,
        default=int(os.environ.get("OCPI_LOCAL_AWS_PORT", "5500")),
        help="port of the local AWS emulation (default 5500)",
    )
    where.add_argument("--stack", help="a deployed stack's name (reads its outputs)")
    where.add_argument("--config-env", help="an environment of samconfig.toml (default, dev, prod)")
    where.add_argument("--samconfig", default="samconfig.toml", help="path of samconfig.toml")
    where.add_argument("--region")
    where.add_argument("--endpoint-url", help="AWS endpoint override")
    where.add_argument("--table", help="the DynamoDB table, if not read from the stack")
    where.add_argument("--event-bus", help="the EventBridge bus, if not read from the stack")
    root.add_argument("--json", action="store_true", help="machine-readable output")
    sub = root.add_subparsers(dest="group", required=True)

    run = sub.add_parser("run", help="run the product locally (what `make run` starts)")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=int(os.environ.get("OCPI_PORT", "3000")))
    run.add_argument(
        "--aws-port",
        type=int,
        default=int(os.environ.get("OCPI_LOCAL_AWS_PORT", "5500")),
        help="port of the embedded AWS emulation (default 5500)",
    )
    run.add_argument("--receiver-port", type=int, default=int(os.environ.get("OCPI_RECEIVER_PORT", "3001")))
    run.add_argument("--no-receiver", action="store_true", help="do not start the local eMSP receiver")
    run.add_argument("--seed", default=os.environ.get("OCPI_SEED"), help="seed file (default seed/sample.json)")
    run.add_argument("--timeout", type=int, help="one timeout (seconds) for every command type, for demos")
    run.add_argument(
        "--timeouts", default=os.environ.get("COMMAND_TIMEOUTS"), help="per type, e.g. START_SESSION=20,STOP_SESSION=20"
    )
    run.add_argument("--verbose", action="store_true", help="also print the functions' JSON logs")
    run.set_defaults(func=cmd_run, needs_target=False)

    party = sub.add_parser("party", help="eMSP partners").add_subparsers(dest="action", required=True)
    register = party.add_parser("register", help="register a party; prints its new credentials token once")
    register.add_argument("--country-code", required=True)
    register.add_argument("--party-id", required=True)
    register.add_argument("--role", choices=["EMSP", "HUB"], default="EMSP")
    register.add_argument("--name")
    register.add_argument(
        "--outbound-token-stdin", action="store_true", help="read the token the party issued to us from standard input"
    )
    register.add_argument("--permissions", help="comma-separated command types (default: all but UNLOCK_CONNECTOR)")
    register.add_argument("--legacy", action="store_true", help="accept its raw (un-encoded) token (2.1.1/2.2 peers)")
    register.add_argument("--allowed-host", action="append", help="allowed response_url host (repeatable, *.domain)")
    register.add_argument("--hub-client", action="append", help="for a hub: an eMSP it may act for, CC*PID")
    register.add_argument("--token-a", action="store_true", help="registration token only (CREDENTIALS_TOKEN_A)")
    register.set_defaults(func=cmd_party_register)
    for name, func, help_text in [
        ("rotate", cmd_party_rotate, "issue a new credentials token (printed once)"),
        ("set-outbound-token", cmd_party_set_outbound_token, "store the token it issued to us (from stdin)"),
        ("enable", cmd_party_enable, "accept its calls again"),
        ("disable", lambda a, t: cmd_party_enable(a, t, enabled=False), "refuse its calls (401)"),
    ]:
        action = party.add_parser(name, help=help_text)
        action.add_argument("country_code")
        action.add_argument("party_id")
        action.set_defaults(func=func)
    permissions = party.add_parser("set-permissions", help="which command types it may send")
    permissions.add_argument("country_code")
    permissions.add_argument("party_id")
    permissions.add_argument("permissions", help="e.g. START_SESSION,STOP_SESSION,UNLOCK_CONNECTOR")
    permissions.set_defaults(func=cmd_party_set_permissions)
    party.add_parser("list", help="registered parties").set_defaults(func=cmd_party_list)

    load = sub.add_parser("load", help="load OCPI Locations or Sessions (or a seed file) from JSON")
    load.add_argument("kind", choices=["locations", "sessions", "seed"])
    load.add_argument("file")
    load.set_defaults(func=cmd_load)

    commands = sub.add_parser("commands", help="pending commands and their history").add_subparsers(
        dest="action", required=True
    )
    commands.add_parser("pending", help="commands waiting for their result").set_defaults(func=cmd_commands_pending)
    show = commands.add_parser("show", help="one command with its full history")
    show.add_argument("command_id")
    show.set_defaults(func=cmd_commands_show)

    reservation = sub.add_parser("reservation", help="reservations").add_subparsers(dest="action", required=True)
    cancel = reservation.add_parser("cancel", help="cancel from the CPO side (the eMSP gets CANCELED_RESERVATION)")
    cancel.add_argument("--cp-reservation-id", type=int)
    cancel.add_argument("--party", help="CC*PID of the eMSP, with --reservation-id")
    cancel.add_argument("--reservation-id")
    cancel.add_argument("--message", help="reason shown to the driver")
    cancel.set_defaults(func=cmd_reservation_cancel)

    simulator = sub.add_parser("simulator", help="simulated charge points").add_subparsers(dest="action", required=True)
    behaviour = simulator.add_parser("set", help="how a simulated EVSE (or a whole location) answers")
    behaviour.add_argument("location_id")
    behaviour.add_argument("evse_uid", nargs="?")
    behaviour.add_argument(
        "mode",
        choices=[
            "accept",
            "reject",
            "fail",
            "occupied",
            "inoperative",
            "not_supported",
            "unknown_reservation",
            "silent",
        ],
    )
    behaviour.add_argument("--delay", type=float, default=0.0, help="seconds before answering")
    behaviour.set_defaults(func=cmd_simulator_set)

    openapi = sub.add_parser("openapi", help="print the OpenAPI document generated from the models")
    openapi.add_argument("--output")
    openapi.set_defaults(func=cmd_openapi, needs_target=False)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    from ocpi_commands.loading import LoadError

    try:
        target = resolve_target(args) if getattr(args, "needs_target", True) else None
        args.func(args, target)
    except (CliError, LoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except EndpointConnectionError as exc:
        hint = " Is `make run` running?" if args.local else ""
        print(f"error: cannot reach {exc.kwargs.get('endpoint_url')}.{hint}", file=sys.stderr)
        return 2
    except NoCredentialsError:
        print("error: no AWS credentials (configure a profile, or use --local)", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as exc:
        print(f"error: AWS: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
