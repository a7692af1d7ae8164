"""The live-data writes: Locations, EVSE status, the feed's heartbeat and the pulls' progress.

Every write is conditional (domain/feed.py states the ordering rule):

* a whole Location is written over the revision its merge was computed from (``revision = :read``, or
  ``attribute_not_exists(pk)`` for a new one): a concurrent update makes it fail, and the merge is redone;
* an EVSE status is one UpdateItem of that EVSE's entry, on the condition that its ``last_updated_ms`` is
  not newer: no read, and an older update never overwrites a newer one;
* the heartbeat only moves forward; a pull takes a lease, so that two never run at once.
"""

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ocpi_commands.adapters import aws
from ocpi_commands.adapters.dynamodb import keys
from ocpi_commands.adapters.dynamodb.codec import attribute, deserialize, serialize
from ocpi_commands.adapters.dynamodb.locations import epoch_ms, location_item, location_of, new_revision
from ocpi_commands.adapters.dynamodb.repository import DynamoRepository
from ocpi_commands.domain.events import EvseStatusReport
from ocpi_commands.domain.model import NetworkLocation, UpdateSource
from ocpi_commands.domain.ports import FeedOutcome, PullState
from ocpi_commands.ocpi.types import ci_key, format_datetime, parse_datetime


def _values(**values: Any) -> dict[str, Any]:
    return {f":{k}": attribute(v) for k, v in values.items()}


def _failed_condition(exc: ClientError) -> bool:
    return aws.error_code(exc) == "ConditionalCheckFailedException"


class DynamoFeedStore(DynamoRepository):
    """The repository, plus the feed's conditional writes (the domain's ``FeedStore``)."""

    def read_location(self, location_id: str) -> tuple[NetworkLocation | None, str | None]:
        item = self._get(keys.location(location_id))
        if item is None:
            return None, None
        return location_of(item), item.get("revision", "")

    def write_location(self, location: NetworkLocation, revision: str | None) -> bool:
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        if revision == "":  # an item written before revisions: only while it still has none
            condition = {"ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(revision)"}
        elif revision is not None:
            condition = {"ConditionExpression": "revision = :read", "ExpressionAttributeValues": _values(read=revision)}
        try:
            self.client.put_item(TableName=self.table_name, Item=serialize(location_item(location)), **condition)
        except ClientError as exc:
            if _failed_condition(exc):
                return False
            raise
        return True

    def apply_evse_status(self, report: EvseStatusReport, now: datetime, source: UpdateSource) -> FeedOutcome:
        for _ in range(2):  # a second time only after rewriting an item of the list form
            outcome = self._update_evse(report, now, source)
            if outcome is not None:
                return outcome
        return FeedOutcome.UNKNOWN

    def _update_evse(self, report: EvseStatusReport, now: datetime, source: UpdateSource) -> FeedOutcome | None:
        names = {
            "#m": "evse_map",
            "#k": ci_key(report.evse_uid),
            "#s": "status",
            "#lu": "last_updated",
            "#ms": "last_updated_ms",
            "#at": "updated_at",
            "#src": "update_source",
            "#rev": "revision",
        }
        values: dict[str, Any] = {
            "status": report.status.value,
            "lu": format_datetime(report.last_updated),
            "ms": epoch_ms(report.last_updated),
            "now": format_datetime(now),
            "src": source.value,
            "rev": new_revision(),
        }
        sets = ["#m.#k.#s = :status", "#m.#k.#lu = :lu", "#m.#k.#ms = :ms", "#m.#k.#at = :now", "#m.#k.#src = :src"]
        sets += ["#at = :now", "#src = :src", "#rev = :rev"]
        if report.capabilities is not None:
            names["#caps"] = "capabilities"
            values["caps"] = list(report.capabilities)
            sets.append("#m.#k.#caps = :caps")
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=serialize(keys.location(report.location_id)),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_exists(#m.#k) AND (attribute_not_exists(#m.#k.#ms) OR #m.#k.#ms <= :ms)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=_values(**values),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not _failed_condition(exc):
                raise
            old = exc.response.get("Item")
            item = deserialize(old) if old else self._get(keys.location(report.location_id))
            if item is None:
                return FeedOutcome.UNKNOWN
            if "evse_map" not in item:  # the list form: rewritten as a map, then the update is tried again
                self.write_location(location_of(item), item.get("revision", ""))
                return None
            return FeedOutcome.OLDER if ci_key(report.evse_uid) in item["evse_map"] else FeedOutcome.UNKNOWN
        return FeedOutcome.APPLIED

    # ------------------------------------------------------------------ heartbeat

    def record_heartbeat(self, now: datetime, source: UpdateSource) -> None:
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=serialize(keys.feed_heartbeat()),
                UpdateExpression="SET #t = :type, last_update_at = :now, last_update_ms = :ms, last_source = :src",
                ConditionExpression="attribute_not_exists(last_update_ms) OR last_update_ms < :ms",
                ExpressionAttributeNames={"#t": "type"},
                ExpressionAttributeValues=_values(
                    type="FEED", now=format_datetime(now), ms=epoch_ms(now), src=source.value
                ),
            )
        except ClientError as exc:
            if not _failed_condition(exc):  # a later heartbeat is already recorded
                raise

    def last_heartbeat(self) -> tuple[datetime, UpdateSource] | None:
        item = self._get(keys.feed_heartbeat())
        if not item or "last_update_at" not in item:
            return None
        return parse_datetime(item["last_update_at"]), UpdateSource(item.get("last_source", UpdateSource.PUSH.value))

    # ------------------------------------------------------------------ pulls

    def get_pull_state(self, kind: str) -> PullState:
        item = self._get(keys.feed_pull(kind)) or {}
        return PullState(
            high_water=_when(item.get("high_water")),
            last_success_at=_when(item.get("last_success_at")),
            lease_until=_when(item.get("lease_until")),
        )

    def begin_pull(self, kind: str, now: datetime, lease_until: datetime) -> bool:
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=serialize(keys.feed_pull(kind)),
                UpdateExpression=(
                    "SET #t = :type, lease_until = :until, lease_until_ms = :until_ms, last_attempt_at = :now"
                ),
                ConditionExpression="attribute_not_exists(lease_until_ms) OR lease_until_ms < :now_ms",
                ExpressionAttributeNames={"#t": "type"},
                ExpressionAttributeValues=_values(
                    type="FEED",
                    until=format_datetime(lease_until),
                    until_ms=epoch_ms(lease_until),
                    now=format_datetime(now),
                    now_ms=epoch_ms(now),
                ),
            )
        except ClientError as exc:
            if _failed_condition(exc):
                return False
            raise
        return True

    def finish_pull(self, kind: str, now: datetime, high_water: datetime | None, error: str | None) -> None:
        sets = ["last_finished_at = :now"]
        values: dict[str, Any] = {"now": format_datetime(now)}
        if error is None:
            sets += ["last_success_at = :now", "last_error = :none"]
            values["none"] = ""
            if high_water is not None:
                sets.append("high_water = :hw")
                values["hw"] = format_datetime(high_water)
        else:
            sets.append("last_error = :error")
            values["error"] = error[:500]
        self.client.update_item(
            TableName=self.table_name,
            Key=serialize(keys.feed_pull(kind)),
            UpdateExpression="SET " + ", ".join(sets) + " REMOVE lease_until, lease_until_ms",
            ExpressionAttributeValues=_values(**values),
        )


def _when(value: Any) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) and value else None
