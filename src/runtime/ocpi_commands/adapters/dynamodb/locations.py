"""The Location item: one per Location, so that a command reads its Location with one GetItem.

    pk LOC#<ID>  sk LOC  type LOCATION  location_id  last_updated  last_updated_ms  updated_at  update_source
    revision     (a random token, new on every write: a merge writes only over the state it read)
    evse_map     {<UID upper-cased>: {uid, evse_id, status, capabilities, connectors, last_updated,
                  last_updated_ms, updated_at, update_source, position}}

The EVSEs are a map keyed by uid so that one EVSE's status can be updated without reading the item, on
the condition that its ``last_updated_ms`` (epoch milliseconds: numbers compare as times, ISO strings with
and without fractions do not) is not newer. ``position`` keeps the platform's order. Items written before
the map form (``evses`` as a list) are read as they are and rewritten by the first feed update.
"""

import uuid
from datetime import datetime
from typing import Any

from ocpi_commands.adapters.dynamodb import keys
from ocpi_commands.domain.model import NetworkLocation
from ocpi_commands.ocpi.types import ci_key


def epoch_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def new_revision() -> str:
    return uuid.uuid4().hex


def location_item(location: NetworkLocation, revision: str | None = None) -> dict[str, Any]:
    body = location.model_dump(mode="json", exclude_none=True, exclude={"evses"})
    evse_map: dict[str, Any] = {}
    for position, evse in enumerate(location.evses):
        entry = evse.model_dump(mode="json", exclude_none=True)
        entry["position"] = position
        if evse.last_updated is not None:
            entry["last_updated_ms"] = epoch_ms(evse.last_updated)
        evse_map[ci_key(evse.uid)] = entry
    item = {**keys.location(location.location_id), "type": "LOCATION", **body, "evse_map": evse_map}
    if location.last_updated is not None:
        item["last_updated_ms"] = epoch_ms(location.last_updated)
    item["revision"] = revision or new_revision()
    return item


def location_of(item: dict[str, Any]) -> NetworkLocation:
    if "evse_map" in item:
        evses = sorted(item["evse_map"].values(), key=lambda entry: entry.get("position", 0))
        return NetworkLocation.model_validate({**item, "evses": evses})
    return NetworkLocation.model_validate(item)  # the list form of earlier versions
