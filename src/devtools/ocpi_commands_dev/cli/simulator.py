"""``ocpi-commands simulator ...``: how the simulated charge points answer."""

import argparse
from typing import Any

from ocpi_commands_dev.cli.target import Target


def cmd_simulator_set(args: argparse.Namespace, target: Target) -> None:
    from ocpi_commands.simulator import Behaviour

    behaviour = Behaviour(mode=args.mode, delay_seconds=args.delay).model_dump(mode="json", exclude_defaults=True)
    target.repository().put_simulator_behaviour(args.location_id, args.evse_uid, behaviour)
    print(
        f"Simulated charge point {args.location_id}/{args.evse_uid or '*'}: {args.mode}"
        + (f" after {args.delay} s" if args.delay else "")
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
