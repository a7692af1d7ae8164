"""DynamoDB access for every record of the product, behind one small repository.

Conditional writes are the arbiter of every state change; a failed condition becomes a domain
outcome (``Duplicate``, "already resolved", ...), never an exception that reaches a client.
"""

import math
import time
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ocpi_commands.adapters import aws
from ocpi_commands.adapters.dynamodb import keys
from ocpi_commands.adapters.dynamodb.codec import attribute, deserialize, serialize
from ocpi_commands.adapters.dynamodb.locations import epoch_ms, location_item, location_of
from ocpi_commands.adapters.dynamodb.table import Table
from ocpi_commands.domain.model import (
    CommandRecord,
    CommandStatus,
    CredentialsStatus,
    DeliveryAttempt,
    DeliveryStatus,
    NetworkLocation,
    Party,
    PartyRef,
    Reservation,
    ReservationStatus,
    ResultSource,
    SessionRecord,
)
from ocpi_commands.domain.ports import CreateOutcome, Transition
from ocpi_commands.ocpi.types import format_datetime
from ocpi_commands.ocpi.vocabulary import CommandResultType

COMMAND_RETENTION_SECONDS = 7 * 24 * 3600
REQUEST_ID_GUARD_SECONDS = 24 * 3600


def _values(**values: Any) -> dict[str, Any]:
    return {f":{k}": attribute(v) for k, v in values.items()}


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class DynamoRepository(Table):
    """Every record in one table (keys in ``keys``); implements the domain's store ports."""

    # ------------------------------------------------------------------ generic

    def _batch_get(self, keys_: list[dict[str, str]]) -> list[dict[str, Any]]:
        """Strongly consistent BatchGetItem of a few keys (retries unprocessed keys)."""
        pending = [serialize(k) for k in keys_]
        found: list[dict[str, Any]] = []
        for attempt in range(5):
            response = self.client.batch_get_item(
                RequestItems={self.table_name: {"Keys": pending, "ConsistentRead": True}}
            )
            found.extend(deserialize(i) for i in response.get("Responses", {}).get(self.table_name, []))
            pending = response.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
            if not pending:
                return found
            time.sleep(0.05 * (2**attempt))
        raise RuntimeError("BatchGetItem left keys unprocessed after retries")

    def _put(self, item: dict[str, Any]) -> None:
        self.client.put_item(TableName=self.table_name, Item=serialize(item))

    # ------------------------------------------------------------------ parties

    @staticmethod
    def _party_item(party: Party) -> dict[str, Any]:
        body = party.model_dump(mode="json", exclude_none=True)
        body["permissions"] = sorted(body["permissions"])
        return {**keys.party(party.ref), "type": "PARTY", **body}

    @staticmethod
    def _credentials_items(party: Party) -> list[dict[str, Any]]:
        """The token look-up items of a party: its token, and the next one while an update runs."""
        hashes = [party.token_sha256] + ([party.next_token_sha256] if party.next_token_sha256 else [])
        return [
            {
                **keys.credentials(sha),
                "type": "CREDENTIALS",
                "party": party.ref.model_dump(),
                "token_sha256": sha,
                "credentials_status": party.credentials_status.value,
            }
            for sha in hashes
            if sha
        ]

    def _party_writes(self, party: Party, previous: Party | None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = [
            {"Put": {"TableName": self.table_name, "Item": serialize(self._party_item(party))}},
            *(
                {"Put": {"TableName": self.table_name, "Item": serialize(item)}}
                for item in self._credentials_items(party)
            ),
        ]
        if previous is not None:
            kept = {party.token_sha256, party.next_token_sha256}
            for sha in (previous.token_sha256, previous.next_token_sha256):
                if sha and sha not in kept:
                    items.append({"Delete": {"TableName": self.table_name, "Key": serialize(keys.credentials(sha))}})
            if previous.ref.key != party.ref.key:
                items.append({"Delete": {"TableName": self.table_name, "Key": serialize(keys.party(previous.ref))}})
        return items

    def put_party(self, party: Party, previous_token_sha256: str | None = None) -> None:
        """Create or replace a party and its credentials look-up items, atomically."""
        items = self._party_writes(party, None)
        if previous_token_sha256 and previous_token_sha256 not in (party.token_sha256, party.next_token_sha256):
            items.append(
                {"Delete": {"TableName": self.table_name, "Key": serialize(keys.credentials(previous_token_sha256))}}
            )
        self.client.transact_write_items(TransactItems=items)

    def register_party(self, party: Party, replaces: Party) -> bool:
        """Store ``party`` in place of ``replaces`` (tokens, and the key, may change) if ``replaces`` is
        still as read: one transaction, so a handshake is complete or did not happen."""
        items = self._party_writes(party, replaces)
        guard = {
            "ConditionExpression": "token_sha256 = :sha AND credentials_status = :status",
            "ExpressionAttributeValues": _values(sha=replaces.token_sha256, status=replaces.credentials_status.value),
        }
        if replaces.ref.key == party.ref.key:
            items[0]["Put"].update(guard)
        else:
            for item in items:
                if "Delete" in item and item["Delete"]["Key"] == serialize(keys.party(replaces.ref)):
                    item["Delete"].update(guard)
            items[0]["Put"]["ConditionExpression"] = "attribute_not_exists(pk) OR credentials_status <> :registered"
            items[0]["Put"]["ExpressionAttributeValues"] = _values(registered=CredentialsStatus.REGISTERED.value)
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if aws.error_code(exc) == "TransactionCanceledException":
                return False
            raise
        return True

    def delete_party(self, party: Party) -> None:
        """Unregister: the token look-ups go, the party stays as UNREGISTERED (history), without tokens."""
        gone = party.model_copy(
            update={
                "credentials_status": CredentialsStatus.UNREGISTERED,
                "outbound_token": None,
                "next_token_sha256": None,
                "token_sha256": "",
            }
        )
        items: list[dict[str, Any]] = [
            {"Delete": {"TableName": self.table_name, "Key": serialize(keys.credentials(sha))}}
            for sha in (party.token_sha256, party.next_token_sha256)
            if sha
        ]
        if party.ref.country_code == "--":  # a connection that was never made leaves nothing behind
            items.append({"Delete": {"TableName": self.table_name, "Key": serialize(keys.party(party.ref))}})
        else:
            items.append({"Put": {"TableName": self.table_name, "Item": serialize(self._party_item(gone))}})
        self.client.transact_write_items(TransactItems=items)

    def get_party(self, ref: PartyRef) -> Party | None:
        item = self._get(keys.party(ref))
        return Party.model_validate(item) if item else None

    def get_party_by_token_sha256(self, token_sha256: str) -> tuple[Party, CredentialsStatus] | None:
        cred = self._get(keys.credentials(token_sha256))
        if cred is None:
            return None
        party = self.get_party(PartyRef.model_validate(cred["party"]))
        if party is None or token_sha256 not in (party.token_sha256, party.next_token_sha256):
            return None
        return party, party.credentials_status

    def list_parties(self) -> list[Party]:
        return [Party.model_validate(i) for i in self._scan_type("PARTY")]

    def _scan_type(self, record_type: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "FilterExpression": "#t = :t",
            "ExpressionAttributeNames": {"#t": "type"},
            "ExpressionAttributeValues": _values(t=record_type),
        }
        while True:
            response = self.client.scan(**kwargs)
            found.extend(deserialize(i) for i in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return found
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # ------------------------------------------------------------------ locations and sessions

    def put_location(self, location: NetworkLocation) -> None:
        """Create or replace a Location (CLI and seed loads; the feed's conditional writes: dynamodb/feed.py)."""
        self._put(location_item(location))

    def get_location(self, location_id: str) -> NetworkLocation | None:
        item = self._get(keys.location(location_id))
        return location_of(item) if item else None

    def put_session(self, session: SessionRecord, only_if_newer: bool = False) -> bool:
        """Create or replace a session; ``only_if_newer``: unless the stored one has a later last_updated."""
        body = session.model_dump(mode="json", exclude_none=True)
        item = {**keys.session(session.session_id), "type": "SESSION", **body}
        if session.last_updated is not None:
            item["last_updated_ms"] = epoch_ms(session.last_updated)
        if not only_if_newer or session.last_updated is None:
            self._put(item)
            return True
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=serialize(item),
                ConditionExpression="attribute_not_exists(last_updated_ms) OR last_updated_ms <= :ms",
                ExpressionAttributeValues=_values(ms=item["last_updated_ms"]),
            )
        except ClientError as exc:
            if aws.error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get_session(self, session_id: str) -> SessionRecord | None:
        item = self._get(keys.session(session_id))
        return SessionRecord.model_validate(item) if item else None

    # ------------------------------------------------------------------ reservations

    @staticmethod
    def _reservation_item(reservation: Reservation) -> dict[str, Any]:
        body = reservation.model_dump(mode="json", exclude_none=True)
        return {
            **keys.reservation(reservation.owner, reservation.reservation_id),
            "type": "RESERVATION",
            "gsi1pk": keys.cp_reservation_index(reservation.cp_reservation_id),
            "gsi1sk": "RSV",
            # Keep response_url and the party reference until the reservation expires (+1 day of audit).
            "expires_at": _epoch(reservation.expiry_date) + 24 * 3600,
            **body,
        }

    def put_reservation(self, reservation: Reservation) -> None:
        self._put(self._reservation_item(reservation))

    def get_reservation(self, owner: PartyRef, reservation_id: str) -> Reservation | None:
        item = self._get(keys.reservation(owner, reservation_id))
        return Reservation.model_validate(item) if item else None

    def get_location_and_reservation(
        self, location_id: str, owner: PartyRef, reservation_id: str
    ) -> tuple[NetworkLocation | None, Reservation | None]:
        """One round trip for RESERVE_NOW's two look-ups."""
        location_key = keys.location(location_id)
        found = self._batch_get([location_key, keys.reservation(owner, reservation_id)])
        location = reservation = None
        for item in found:
            if item["pk"] == location_key["pk"]:
                location = location_of(item)
            else:
                reservation = Reservation.model_validate(item)
        return location, reservation

    def find_reservation_by_cp_id(self, cp_reservation_id: int) -> Reservation | None:
        response = self.client.query(
            TableName=self.table_name,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :pk",
            ExpressionAttributeValues=_values(pk=keys.cp_reservation_index(cp_reservation_id)),
        )
        for item in response.get("Items", []):
            full = self._get({"pk": item["pk"]["S"], "sk": item["sk"]["S"]})
            if full:
                return Reservation.model_validate(full)
        return None

    def cancel_reservation(self, owner: PartyRef, reservation_id: str, now: datetime, by: str) -> Reservation | None:
        """ACTIVE -> CANCELED if still active; returns the reservation when this call cancelled it."""
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=serialize(keys.reservation(owner, reservation_id)),
                UpdateExpression="SET #s = :canceled, canceled_at = :now, canceled_by = :by",
                ConditionExpression="#s = :active AND expiry_date > :now",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=_values(
                    canceled=ReservationStatus.CANCELED.value,
                    active=ReservationStatus.ACTIVE.value,
                    now=format_datetime(now),
                    by=by,
                ),
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if aws.error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        return Reservation.model_validate(deserialize(response["Attributes"]))

    def next_cp_reservation_id(self) -> int:
        """A CPO-unique reservation id for the charge point (OCPP reservationId is an integer)."""
        response = self.client.update_item(
            TableName=self.table_name,
            Key=serialize(keys.counter("CP_RESERVATION")),
            UpdateExpression="ADD #v :one SET #t = :type",
            ExpressionAttributeNames={"#v": "value", "#t": "type"},
            ExpressionAttributeValues=_values(one=1, type="COUNTER"),
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["value"]["N"])

    # ------------------------------------------------------------------ commands

    @staticmethod
    def _command_item(command: CommandRecord) -> dict[str, Any]:
        body = command.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
        body["party"] = command.party.model_dump()
        item = {**keys.command(command.command_id), "type": "COMMAND", "party_key": command.party.key, **body}
        if command.status == CommandStatus.PENDING:
            item["gsi1pk"] = keys.pending_shard(command.command_id)
            item["gsi1sk"] = f"{format_datetime(command.deadline)}#{command.command_id}"
        item["deadline_epoch"] = math.ceil(command.deadline.timestamp())
        # To the millisecond: the starter rounds the remaining wait down to whole seconds.
        item["answer_by_epoch"] = round((command.answer_by or command.deadline).timestamp(), 3)
        item["expires_at"] = command.expires_at or _epoch(command.accepted_at) + COMMAND_RETENTION_SECONDS
        return item

    @staticmethod
    def _to_command(item: dict[str, Any] | None) -> CommandRecord | None:
        return CommandRecord.model_validate(item) if item else None

    def create_command(
        self, command: CommandRecord, client_request_id: str | None, body_fingerprint: str
    ) -> CreateOutcome:
        """Write a new PENDING command exactly once, with its idempotency guard, in one transaction.

        The guard is the X-Request-ID of the request, per party and command type, for a day: the same
        X-Request-ID again is a retry of the same request (the same body: the same answer, nothing new
        recorded) or a client error (another body). A response_url is no key: two commands may name the
        same URL, and each gets its own CommandResult. Without an X-Request-ID there is nothing to
        recognise a retry by, and the command is written with one conditional put.
        """
        command_put = {
            "TableName": self.table_name,
            "Item": serialize(self._command_item(command)),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        if not client_request_id:
            self.client.put_item(**command_put)
            return CreateOutcome(created=True, command=command)
        now_epoch = int(time.time())
        guard_item = {
            **keys.request_id_guard(command.party, command.command_type.value, client_request_id),
            "type": "IDEM",
            "command_id": command.command_id,
            "fingerprint": body_fingerprint,
            "guard": "request_id",
            "expires_at": now_epoch + REQUEST_ID_GUARD_SECONDS,
        }
        guard = self._put_guarded(command_put, guard_item, now_epoch)
        if guard is None:
            return CreateOutcome(created=True, command=command)
        return CreateOutcome(
            created=False,
            command=self.get_command(guard["command_id"]),
            conflict="request_id",
            same_body=guard.get("fingerprint") == body_fingerprint,
        )

    def get_command(self, command_id: str) -> CommandRecord | None:
        return self._to_command(self._get(keys.command(command_id)))

    def list_pending_commands(self) -> list[CommandRecord]:
        found: list[CommandRecord] = []
        for shard in range(keys.PENDING_SHARDS):
            kwargs: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": "gsi1",
                "KeyConditionExpression": "gsi1pk = :pk",
                "ExpressionAttributeValues": _values(pk=f"PENDING#{shard}"),
            }
            while True:
                response = self.client.query(**kwargs)
                for item in response.get("Items", []):
                    command = self.get_command(item["pk"]["S"].removeprefix("CMD#"))
                    if command and command.status == CommandStatus.PENDING:
                        found.append(command)
                if "LastEvaluatedKey" not in response:
                    break
                kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return sorted(found, key=lambda c: c.deadline)

    def _update_command(self, command_id: str, **kwargs: Any) -> Transition:
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=serialize(keys.command(command_id)),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **kwargs,
            )
        except ClientError as exc:
            if aws.error_code(exc) != "ConditionalCheckFailedException":
                raise
            old = exc.response.get("Item")
            return Transition(False, self._to_command(deserialize(old)) if old else self.get_command(command_id))
        return Transition(True, self._to_command(deserialize(response["Attributes"])))

    def record_dispatch(
        self, command_id: str, task_token: str, execution_arn: str | None, now: datetime, cp_reservation_id: int | None
    ) -> Transition:
        """Keep the task token with the pending command; only while it is still PENDING."""
        sets = ["task_token = :token", "dispatched_at = :now"]
        values: dict[str, Any] = {"token": task_token, "now": format_datetime(now), "pending": "PENDING"}
        if execution_arn:
            sets.append("execution_arn = :arn")
            values["arn"] = execution_arn
        if cp_reservation_id is not None:
            sets.append("cp_reservation_id = :cp")
            values["cp"] = cp_reservation_id
        return self._update_command(
            command_id,
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression="#s = :pending",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=_values(**values),
        )

    def resolve_command(
        self,
        command_id: str,
        result: CommandResultType,
        source: ResultSource,
        message: list[dict[str, str]] | None,
        now: datetime,
        delivery_owner: str,
        first_attempt: DeliveryAttempt,
    ) -> Transition:
        """The one transition out of PENDING. Whoever makes it owns the delivery of the CommandResult.

        The same update opens the first delivery attempt, so a won transition costs one write.
        """
        sets = [
            "#s = :resolved",
            "#r = :result",
            "result_source = :source",
            "resolved_at = :now",
            "delivery_status = :delivering",
            "delivery_owner = :owner",
            "delivery_attempts = :attempts",
        ]
        values: dict[str, Any] = {
            "resolved": CommandStatus.RESOLVED.value,
            "pending": CommandStatus.PENDING.value,
            "result": result.value,
            "source": source.value,
            "now": format_datetime(now),
            "delivering": DeliveryStatus.DELIVERING.value,
            "owner": delivery_owner,
            "attempts": [first_attempt.model_dump(mode="json", exclude_none=True)],
        }
        if message:
            sets.append("result_message = :message")
            values["message"] = message
        return self._update_command(
            command_id,
            UpdateExpression="SET " + ", ".join(sets) + " REMOVE gsi1pk, gsi1sk",
            ConditionExpression="#s = :pending",
            ExpressionAttributeNames={"#s": "status", "#r": "result"},
            ExpressionAttributeValues=_values(**values),
        )

    def count_late_result(self, command_id: str) -> None:
        self.client.update_item(
            TableName=self.table_name,
            Key=serialize(keys.command(command_id)),
            UpdateExpression="ADD late_results :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=_values(one=1),
        )

    def begin_delivery_attempt(self, command_id: str, owner: str, attempt: DeliveryAttempt) -> Transition:
        """Open attempt N (N = attempts so far + 1) if this owner still holds the delivery."""
        return self._update_command(
            command_id,
            UpdateExpression="SET delivery_attempts = list_append(delivery_attempts, :attempt)",
            ConditionExpression=(
                "delivery_status = :delivering AND delivery_owner = :owner AND size(delivery_attempts) = :before"
            ),
            ExpressionAttributeValues=_values(
                attempt=[attempt.model_dump(mode="json", exclude_none=True)],
                delivering=DeliveryStatus.DELIVERING.value,
                owner=owner,
                before=attempt.number - 1,
            ),
        )

    def finish_delivery_attempt(
        self,
        command_id: str,
        owner: str,
        attempt: DeliveryAttempt,
        final_status: DeliveryStatus | None,
        now: datetime,
        error: str | None = None,
        request_id: str | None = None,
    ) -> Transition:
        """Record the outcome of attempt N and, when final, the delivery status."""
        index = attempt.number - 1
        sets = [f"delivery_attempts[{index}] = :attempt"]
        values: dict[str, Any] = {
            "attempt": attempt.model_dump(mode="json", exclude_none=True),
            "owner": owner,
        }
        if request_id:
            sets.append("delivery_request_id = :rid")
            values["rid"] = request_id
        if final_status is not None:
            sets.append("delivery_status = :final")
            values["final"] = final_status.value
            if final_status == DeliveryStatus.DELIVERED:
                sets.append("delivered_at = :now")
                values["now"] = format_datetime(now)
            if error:
                sets.append("delivery_error = :error")
                values["error"] = error[:500]
        return self._update_command(
            command_id,
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression="delivery_owner = :owner",
            ExpressionAttributeValues=_values(**values),
        )

    def put_resolved_notice(self, command: CommandRecord) -> bool:
        """Store a CPO-initiated CommandResult (e.g. CANCELED_RESERVATION) as an already resolved record.

        Returns False when a notice with this id already exists."""
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=serialize(self._command_item(command)),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if aws.error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # ------------------------------------------------------------------ charge point simulator

    def put_simulator_behaviour(self, location_id: str, evse_uid: str | None, behaviour: dict[str, Any]) -> None:
        self._put({**keys.simulator(location_id, evse_uid), "type": "SIMULATOR", "behaviour": behaviour})

    def get_simulator_behaviour(self, location_id: str | None, evse_uid: str | None) -> dict[str, Any] | None:
        if not location_id:
            return None
        for key in ([keys.simulator(location_id, evse_uid)] if evse_uid else []) + [keys.simulator(location_id, None)]:
            item = self._get(key)
            if item:
                return item["behaviour"]
        return None
