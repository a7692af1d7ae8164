"""``ocpi-commands reservation cancel``: a CPO-side cancellation (the eMSP gets CANCELED_RESERVATION)."""

import argparse
import json
from typing import Any

from ocpi_commands_dev.cli.target import CliError, Target


def cmd_reservation_cancel(args: argparse.Namespace, target: Target) -> None:
    from ocpi_commands.domain.events import RESERVATION_CANCELED, ReservationCanceledReport

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
                "DetailType": RESERVATION_CANCELED,
                "Detail": json.dumps(detail),
            }
        ]
    )
    if response.get("FailedEntryCount"):
        raise CliError(f"the event was not accepted: {response['Entries'][0].get('ErrorMessage')}")
    print("Cancellation sent: the eMSP receives CANCELED_RESERVATION if the reservation is still active.")


def register(sub: Any) -> None:
    reservation = sub.add_parser("reservation", help="reservations").add_subparsers(dest="action", required=True)
    cancel = reservation.add_parser("cancel", help="cancel from the CPO side (the eMSP gets CANCELED_RESERVATION)")
    cancel.add_argument("--cp-reservation-id", type=int)
    cancel.add_argument("--party", help="CC*PID of the eMSP, with --reservation-id")
    cancel.add_argument("--reservation-id")
    cancel.add_argument("--message", help="reason shown to the driver")
    cancel.set_defaults(func=cmd_reservation_cancel)
