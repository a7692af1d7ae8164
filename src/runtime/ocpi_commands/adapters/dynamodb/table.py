"""The stack's one DynamoDB table: what every store over it shares."""

import time
from typing import Any

from botocore.exceptions import ClientError

from ocpi_commands.adapters import aws
from ocpi_commands.adapters.dynamodb.codec import attribute, deserialize, serialize


class Table:
    """A store in the table: its client (made on first use) and a strongly consistent read."""

    def __init__(self, table_name: str, client: Any | None = None):
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("dynamodb")
        return self._client

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        response = self.client.get_item(TableName=self.table_name, Key=serialize(key), ConsistentRead=True)
        item = response.get("Item")
        return deserialize(item) if item else None

    def _put_guarded(self, put: dict[str, Any], guard: dict[str, Any], now: int) -> dict[str, Any] | None:
        """``put`` (a conditional Put) with its guard item (keyed by what recognises a retry, with an
        ``expires_at``) in one transaction. None when both were written; else the unexpired guard that
        was there already. A concurrent transaction on the same guard is backed off from and looked at again."""
        guard_key = {"pk": guard["pk"], "sk": guard["sk"]}
        transact = [
            {"Put": put},
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": serialize(guard),
                    "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
                    "ExpressionAttributeValues": {":now": attribute(now)},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
        ]
        for attempt in range(4):
            try:
                self.client.transact_write_items(TransactItems=transact)
                return None
            except ClientError as exc:
                if aws.error_code(exc) != "TransactionCanceledException":
                    raise
                reasons = exc.response.get("CancellationReasons") or []
                if len(reasons) > 1 and reasons[1].get("Code") == "ConditionalCheckFailed":
                    old = reasons[1].get("Item")
                    found = deserialize(old) if old else self._get(guard_key)
                    if found is not None:
                        return found
                time.sleep(0.02 * (2**attempt))
        raise RuntimeError("could not record the command: repeated transaction conflicts")
