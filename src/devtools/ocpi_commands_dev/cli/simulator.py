"""``ocpi-commands simulator ...``: how the simulated charge points answer (``set``), and an EVSE status
published as the CPO platform would (``status``)."""

import argparse
from typing import Any

from ocpi_commands_dev.cli.target import CliError, Target

PLATFORM_SIMULATOR_SOURCE = "ocpi.platform.simulator"


def cmd_simulator_set(args: argparse.Namespace, target: Target) -> None:
    from ocpi_commands.simulator import Behaviour

    behaviour = Behaviour(mode=args.mode, delay_seconds=args.delay).model_dump(mode="json", exclude_defaults=True)
    target.repository().put_simulator_behaviour(args.location_id, args.evse_uid, behaviour)
    print(
        f"Simulated charge point {args.location_id}/{args.evse_uid or '*'}: {args.mode}"
        + (f" after {args.delay} s" if args.delay else "")
    )


def cmd_simulator_status(args: argparse.Namespace, target: Target) -> None:
    import json

    from ocpi_commands.domain.events import EVSE_STATUS_CHANGED, EvseStatusReport
    from ocpi_commands.ocpi.types import utc_now

    if not target.event_bus:
        raise CliError("no event bus: give --event-bus, --stack or --config-env")
    detail: dict[str, Any] = {
        "location_id": args.location_id,
        "evse_uid": args.evse_uid,
        "status": args.status,
        "last_updated": utc_now(),
    }
    if args.capabilities is not None:
        detail["capabilities"] = [c.strip() for c in args.capabilities.split(",") if c.strip()]
    report = EvseStatusReport.model_validate(detail)
    response = target.client("events").put_events(
        Entries=[
            {
                "EventBusName": target.event_bus,
                "Source": PLATFORM_SIMULATOR_SOURCE,
                "DetailType": EVSE_STATUS_CHANGED,
                "Detail": json.dumps(report.model_dump(mode="json", exclude_none=True)),
            }
        ]
    )
    if response.get("FailedEntryCount"):
        raise CliError(f"the bus refused the event: {response['Entries'][0].get('ErrorMessage')}")
    print(
        f"Published {EVSE_STATUS_CHANGED}: {args.location_id}/{args.evse_uid} {args.status}, as the CPO platform would"
    )


def register(sub: Any) -> None:
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

    from ocpi_commands.ocpi.vocabulary import EvseStatus

    status = simulator.add_parser("status", help="publish an EVSE's new status, as the CPO platform would")
    status.add_argument("location_id")
    status.add_argument("evse_uid")
    status.add_argument("status", choices=[s.value for s in EvseStatus], metavar="STATUS", help="an OCPI EVSE Status")
    status.add_argument("--capabilities", help="the EVSE's capabilities, comma-separated (default: unchanged)")
    status.set_defaults(func=cmd_simulator_status)
