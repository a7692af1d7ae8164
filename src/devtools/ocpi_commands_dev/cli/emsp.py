"""``ocpi-commands emsp ...``: the eMSP side - send a command to a CPO, show a sent command.

    ocpi-commands --local emsp send START_SESSION --cpo NL*CPO --request-file start.json --wait
    ocpi-commands --stack ocpi-commands-prod emsp show 0f1e2d3c4b5a69788796a5b4c3d2e1f0

``send`` calls the stack's eMSP API as the eMSP's backend would (on AWS signed with SigV4 by the
caller's AWS credentials, which need execute-api:Invoke on it); ``show`` reads the command's record.
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ocpi_commands_dev.cli.target import CliError, Target, out

FINAL = ("NOT_ACCEPTED", "SEND_FAILED", "RESULT_RECEIVED", "TIMED_OUT")


def _party(value: str) -> dict[str, str]:
    country, _, party = value.upper().partition("*")
    if len(country) != 2 or len(party) != 3:
        raise CliError(f"{value!r}: a party is written CC*PID, e.g. NL*CPO")
    return {"country_code": country, "party_id": party}


def _call(target: Target, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", **headers}
    if not target.local:  # IAM: sign the request (SigV4) with the caller's AWS credentials
        import boto3
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        session = boto3.Session(region_name=target.region)
        credentials = session.get_credentials()
        if credentials is None:
            raise CliError("no AWS credentials to sign the request with")
        signed = AWSRequest(method=method, url=url, data=body, headers=headers)
        SigV4Auth(credentials, "execute-api", session.region_name or "us-east-1").add_auth(signed)
        headers = dict(signed.headers.items())
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - the stack's API
    try:
        with urllib.request.urlopen(request, timeout=40) as response:  # noqa: S310 - the stack's API
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            return exc.code, {"error": "not_json", "message": raw[:200].decode(errors="replace")}
    except OSError as exc:
        hint = " Is `make run` running?" if target.local else ""
        raise CliError(f"cannot reach {url}: {exc}.{hint}") from None


def _request(args: argparse.Namespace) -> Any:
    text = args.request
    if args.request_file:
        text = sys.stdin.read() if args.request_file == "-" else Path(args.request_file).read_text(encoding="utf-8")
    if not text:
        raise CliError("give the OCPI command object with --request JSON or --request-file FILE")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CliError(f"the request is not JSON: {exc}") from None


def cmd_emsp_send(args: argparse.Namespace, target: Target) -> None:
    if not target.emsp_api_url:
        raise CliError("this stack has no EmspCommandsApi output (deploy this version of the template)")
    body: dict[str, Any] = {"cpo": _party(args.cpo), "request": _request(args)}
    if args.emsp:
        body["emsp"] = _party(args.emsp)
    headers = {"Idempotency-Key": args.idempotency_key} if args.idempotency_key else {}
    url = f"{target.emsp_api_url}/{args.command.upper()}"
    status, answer = _call(target, "POST", url, json.dumps(body).encode(), headers)
    if status >= 400 and not (isinstance(answer, dict) and answer.get("command_id")):
        raise CliError(
            f"HTTP {status}: {answer.get('error') if isinstance(answer, dict) else ''}: "
            f"{answer.get('message') if isinstance(answer, dict) else answer}"
        )
    command_id = answer["command_id"]
    if args.wait and answer.get("status") == "PENDING":
        deadline = time.monotonic() + (answer.get("timeout") or 60) + 30
        while time.monotonic() < deadline and answer.get("status") == "PENDING":
            time.sleep(0.5)
            status, answer = _call(target, "GET", f"{target.emsp_api_url}/{command_id}", None, {})
    text = f"{command_id}  {answer.get('status')}  {answer.get('outcome') or ''}  {answer.get('reason') or ''}".rstrip()
    out(args, answer, text)
    if answer.get("status") == "SEND_FAILED":
        raise CliError(f"the command could not be sent: {answer.get('reason') or answer.get('message')}")


def cmd_emsp_show(args: argparse.Namespace, target: Target) -> None:
    from ocpi_commands.adapters.dynamodb.sent_commands import DynamoSentCommands
    from ocpi_commands.api.emsp_api import view

    command = DynamoSentCommands(target.table, client=target.client("dynamodb")).get(args.command_id)
    if command is None:
        raise CliError(f"no sent command {args.command_id}")
    shown = view(command)
    lines = [
        f"{command.command_id}  {command.command_type.value} -> {command.cpo.key} (OCPI {command.ocpi_version})",
        f"  status   {command.status.value}  outcome {command.outcome or '-'}  {command.reason or ''}".rstrip(),
        f"  sent to  {command.commands_url}",
        f"  results  {command.response_url}",
    ]
    lines += [
        f"  {h.at:%H:%M:%S}  {h.event}  {json.dumps(h.detail) if h.detail else ''}".rstrip() for h in command.history
    ]
    lines += [f"  late     {json.dumps(entry)}" for entry in command.late_results]
    out(args, shown, "\n".join(lines))


def register(sub: Any) -> None:
    emsp = sub.add_parser("emsp", help="the eMSP side: send commands to CPOs, show them").add_subparsers(
        dest="action", required=True
    )
    send = emsp.add_parser("send", help="send a command to a CPO through the stack's eMSP API")
    send.add_argument("command", help="START_SESSION, STOP_SESSION, RESERVE_NOW, CANCEL_RESERVATION, UNLOCK_CONNECTOR")
    send.add_argument("--cpo", required=True, help="the CPO party, e.g. NL*CPO")
    send.add_argument("--emsp", help="our eMSP party to send as (default: the first of EmspParties)")
    send.add_argument("--request", help="the OCPI command object, JSON, without response_url")
    send.add_argument("--request-file", help="the same from a file ('-': standard input)")
    send.add_argument("--idempotency-key", help="the same key and body never send twice")
    send.add_argument("--wait", action="store_true", help="wait for the outcome (result or timeout)")
    send.set_defaults(func=cmd_emsp_send)
    show = emsp.add_parser("show", help="a sent command: state, the CPO's answers, history, late results")
    show.add_argument("command_id")
    show.set_defaults(func=cmd_emsp_show)
