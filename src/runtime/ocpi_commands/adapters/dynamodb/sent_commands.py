"""DynamoDB records of the eMSP side: sent commands, their Idempotency-Keys and their outbox events.

Each final transition and its "Command Completed" event are one transaction (the event item's
insertion reaches the bus through the table's stream); so is each late result and its event.
"""

import json
import time
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from pydantic import TypeAdapter

from ocpi_commands.adapters import aws
from ocpi_commands.adapters.dynamodb import keys
from ocpi_commands.adapters.dynamodb.codec import attribute, deserialize, serialize
from ocpi_commands.adapters.dynamodb.table import Table
from ocpi_commands.domain.model import CpoAnswer, HistoryEntry, SentCommand, SentStatus
from ocpi_commands.domain.sending import CreateSent, SentTransition

IDEMPOTENCY_KEY_SECONDS = 24 * 3600
EVENT_RETENTION_SECONDS = 7 * 24 * 3600
_DATETIME = TypeAdapter(datetime)


class DynamoSentCommands(Table):
    """The eMSP side's store (``domain.sending.SentCommandStore``), in the stack's one table."""

    @staticmethod
    def _item(command: SentCommand) -> dict[str, Any]:
        body = command.model_dump(mode="json", exclude_none=True, exclude={"task_token"})
        return {**keys.sent_command(command.command_id), "type": "SENT_COMMAND", "cpo_key": command.cpo.key, **body}

    @staticmethod
    def _to_command(item: dict[str, Any] | None) -> SentCommand | None:
        return SentCommand.model_validate(item) if item else None

    def _event_put(self, command_id: str, name: str, event: tuple[str, dict[str, Any]]) -> dict[str, Any]:
        detail_type, detail = event
        item = {
            **keys.sent_event(command_id, name),
            "type": "EMSP_EVENT",
            "detail_type": detail_type,
            "detail": json.dumps(detail, separators=(",", ":")),
            "expires_at": int(time.time()) + EVENT_RETENTION_SECONDS,
        }
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": serialize(item),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def get(self, command_id: str) -> SentCommand | None:
        return self._to_command(self._get(keys.sent_command(command_id)))

    def create(self, command: SentCommand, idempotency_key: str | None, fingerprint: str) -> CreateSent:
        put = {
            "TableName": self.table_name,
            "Item": serialize(self._item(command)),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        if not idempotency_key:
            self.client.put_item(**put)
            return CreateSent(True, command)
        now = int(time.time())
        guard = {
            **keys.idempotency_key(idempotency_key),
            "type": "IDEMK",
            "command_id": command.command_id,
            "fingerprint": fingerprint,
            "expires_at": now + IDEMPOTENCY_KEY_SECONDS,
        }
        found = self._put_guarded(put, guard, now)
        if found is None:
            return CreateSent(True, command)
        return CreateSent(False, self.get(str(found["command_id"])), found.get("fingerprint") == fingerprint)

    def transition(
        self,
        command_id: str,
        *,
        answered: bool | None,
        sets: dict[str, Any],
        history: HistoryEntry,
        event: tuple[str, dict[str, Any]] | None,
    ) -> SentTransition:
        names = {"#s": "status", "#h": "history"}
        values: dict[str, Any] = {":pending": attribute(SentStatus.PENDING.value)}
        parts = []
        for index, (field, value) in enumerate(sets.items()):
            names[f"#f{index}"] = field
            values[f":v{index}"] = attribute(_stored(value))
            parts.append(f"#f{index} = :v{index}")
        values[":h"] = attribute([_stored(history)])
        parts.append("#h = list_append(#h, :h)")
        condition = "#s = :pending"
        if answered is True:
            condition += " AND attribute_exists(answer)"
        elif answered is False:
            condition += " AND attribute_not_exists(answer)"
        update = {
            "TableName": self.table_name,
            "Key": serialize(keys.sent_command(command_id)),
            "UpdateExpression": "SET " + ", ".join(parts),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if event is None:
            try:
                response = self.client.update_item(**update, ReturnValues="ALL_NEW")
            except ClientError as exc:
                if aws.error_code(exc) != "ConditionalCheckFailedException":
                    raise
                return SentTransition(False, self.get(command_id))
            return SentTransition(True, self._to_command(deserialize(response["Attributes"])))
        try:
            self.client.transact_write_items(
                TransactItems=[{"Update": update}, self._event_put(command_id, "COMPLETED", event)]
            )
        except ClientError as exc:
            if aws.error_code(exc) != "TransactionCanceledException":
                raise
            return SentTransition(False, self.get(command_id))
        return SentTransition(True, self.get(command_id))

    def attach_answer(self, command_id: str, answer: CpoAnswer, now: datetime) -> SentCommand | None:
        entry = HistoryEntry(at=now, event="answer_after_outcome", detail={"http_status": answer.http_status})
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=serialize(keys.sent_command(command_id)),
                UpdateExpression="SET answer = :a, answered_at = :now, #h = list_append(#h, :h)",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(answer)",
                ExpressionAttributeNames={"#h": "history"},
                ExpressionAttributeValues={
                    ":a": attribute(_stored(answer)),
                    ":now": attribute(_stored(now)),
                    ":h": attribute([_stored(entry)]),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if aws.error_code(exc) != "ConditionalCheckFailedException":
                raise
            return self.get(command_id)
        return self._to_command(deserialize(response["Attributes"]))

    def keep_task_token(self, command_id: str, token: str, execution_arn: str | None) -> SentTransition:
        values = {":pending": attribute(SentStatus.PENDING.value), ":t": attribute(token)}
        expression = "SET task_token = :t"
        if execution_arn:
            expression += ", execution_arn = :arn"
            values[":arn"] = attribute(execution_arn)
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=serialize(keys.sent_command(command_id)),
                UpdateExpression=expression,
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if aws.error_code(exc) != "ConditionalCheckFailedException":
                raise
            return SentTransition(False, self.get(command_id))
        return SentTransition(True, self._to_command(deserialize(response["Attributes"])))

    def add_late_result(
        self, command_id: str, entry: dict[str, Any], key: str, event: tuple[str, dict[str, Any]]
    ) -> bool:
        update = {
            "TableName": self.table_name,
            "Key": serialize(keys.sent_command(command_id)),
            "UpdateExpression": "SET late_results = list_append(if_not_exists(late_results, :empty), :l)",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {":empty": {"L": []}, ":l": attribute([entry])},
        }
        try:
            self.client.transact_write_items(
                TransactItems=[{"Update": update}, self._event_put(command_id, f"LATE#{key}", event)]
            )
        except ClientError as exc:
            if aws.error_code(exc) != "TransactionCanceledException":
                raise
            return False
        return True


def _stored(value: Any) -> Any:
    """A value as the record stores it (the JSON form of models, datetimes and enums)."""
    if isinstance(value, CpoAnswer | HistoryEntry):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, datetime):
        return _DATETIME.dump_python(value, mode="json")
    if isinstance(value, SentStatus):
        return value.value
    return value
