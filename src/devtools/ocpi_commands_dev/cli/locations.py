"""``ocpi-commands locations show LOC1``: a Location as the decisions see it, and how fresh each part is."""

import argparse
from datetime import datetime
from typing import Any

from ocpi_commands_dev.cli.target import CliError, Target, out


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def cmd_locations_show(args: argparse.Namespace, target: Target) -> None:
    from ocpi_commands.adapters.dynamodb.feed import DynamoFeedStore
    from ocpi_commands.ocpi.types import format_datetime, utc_now

    store = DynamoFeedStore(target.table, client=target.client("dynamodb"))
    location = store.get_location(args.location_id)
    if location is None:
        raise CliError(f"no location {args.location_id}")
    now = utc_now()
    max_age = int(target.parameters.get("EvseStatusMaxAgeMinutes") or target.settings().evse_status_max_age_minutes)
    heard = store.last_heartbeat()

    def at(moment: datetime | None) -> str:
        return format_datetime(moment) if moment else "-"

    def source(record: Any) -> str:
        return record.update_source.value if record.update_source else "?"

    lines = [
        f"Location {location.location_id}   last_updated {at(location.last_updated)}",
        f"  received {at(location.updated_at)} from {source(location)} ({_ago(location.updated_at, now)})",
        "  feed     "
        + (f"last heard from {_ago(heard[0], now)} ({heard[1].value})" if heard else "nothing pushed or pulled yet"),
        f"  EVSEs    (a status received more than {max_age} min ago is stale)",
    ]
    for evse in location.evses:
        stale = evse.updated_at is None or (now - evse.updated_at).total_seconds() > max_age * 60
        lines.append(
            f"    {evse.uid:<10} {evse.status.value:<12} changed {at(evse.last_updated)}  received "
            f"{at(evse.updated_at)} from {source(evse)} ({_ago(evse.updated_at, now)})"
            + ("  STALE" if stale else "")
            + (f"  [{', '.join(evse.capabilities)}]" if evse.capabilities else "")
        )
    data = {
        "location": location.model_dump(mode="json"),
        "feed_last_heard_from": {"at": at(heard[0]), "source": heard[1].value} if heard else None,
        "evse_status_max_age_minutes": max_age,
    }
    out(args, data, "\n".join(lines))


def register(sub: Any) -> None:
    locations = sub.add_parser("locations", help="Locations as the decisions see them").add_subparsers(
        dest="action", required=True
    )
    show = locations.add_parser("show", help="one Location, its EVSEs' status, when and from where they came")
    show.add_argument("location_id")
    show.set_defaults(func=cmd_locations_show)
