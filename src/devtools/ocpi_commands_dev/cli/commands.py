"""``ocpi-commands commands ...``: pending commands and one command's whole history."""

import argparse
from typing import Any

from ocpi_commands.ocpi.types import format_datetime
from ocpi_commands_dev.cli.target import CliError, Target, out


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
    out(args, rows, text or "(no pending commands)")


def cmd_commands_show(args: argparse.Namespace, target: Target) -> None:
    command = target.repository().get_command(args.command_id)
    if command is None:
        raise CliError(f"no command {args.command_id}")
    history = []
    arn = command.execution_arn
    if arn is None and target.state_machine_arn:
        arn = target.state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + command.command_id
    if arn:
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
        f"  OCPI version   {command.ocpi_version}" + (f" (to {command.cpo.key})" if command.cpo else ""),
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
            f" http={attempt.http_status} ocpi={attempt.ocpi_status_code}"
            + (f" X-Request-ID {attempt.request_id}" if attempt.request_id else "")
            + f" {attempt.error or ''}".rstrip()
        )
    if command.late_results:
        lines.append(f"  late results   {command.late_results} (ignored)")
    lines.append(f"  correlation    X-Request-ID {command.request_id}, X-Correlation-ID {command.correlation_id}")
    if history:
        lines.append("  execution")
        lines += [
            f"    {at(h['at']) if h.get('at') else ''} {h['type']} {h.get('state') or ''}".rstrip() for h in history
        ]
    out(args, {"command": record, "execution_history": history}, "\n".join(lines))


def register(sub: Any) -> None:
    commands = sub.add_parser("commands", help="pending commands and their history").add_subparsers(
        dest="action", required=True
    )
    commands.add_parser("pending", help="commands waiting for their result").set_defaults(func=cmd_commands_pending)
    show = commands.add_parser("show", help="one command with its full history")
    show.add_argument("command_id")
    show.set_defaults(func=cmd_commands_show)
