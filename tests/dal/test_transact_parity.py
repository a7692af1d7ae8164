"""The emulation's TransactWriteItems (``moto_patches.transact_write_items``) behaves as DynamoDB's.

The same sequence of transactions runs on moto with the emulation's replacement and on DynamoDB Local;
each transaction's outcome (success, or the cancellation reasons with the items returned) and the
table afterwards must be the same on both.
"""

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError


def S(value: str) -> dict[str, str]:
    return {"S": value}


def SCENARIO(table: str) -> list[list[dict[str, Any]]]:
    """Transactions shaped as the repository writes them: puts guarded by attribute_not_exists or an
    expiry, updates with conditions, deletes, a condition check, and the failures of each."""

    def put(pk: str, condition: str | None = None, **attrs: Any) -> dict[str, Any]:
        op: dict[str, Any] = {"TableName": table, "Item": {"pk": S(pk), "sk": S("X"), **attrs}}
        if condition:
            op["ConditionExpression"] = condition
            op["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return {"Put": op}

    not_exists = "attribute_not_exists(pk)"
    expired = "attribute_not_exists(pk) OR expires_at < :now"
    now = {":now": {"N": "1000"}}
    guard = put("G#1", expired, expires_at={"N": "2000"}, v=S("first"))
    guard["Put"]["ExpressionAttributeValues"] = now
    return [
        [put("A#1", not_exists, v=S("a")), put("B#1", not_exists, v=S("b"))],  # both new: written
        [put("A#1", not_exists, v=S("again")), put("C#1", not_exists, v=S("c"))],  # one exists: nothing written
        [guard],
        [guard],  # the guard has not expired: refused, with the old item
        [
            {
                "Update": {
                    "TableName": table,
                    "Key": {"pk": S("B#1"), "sk": S("X")},
                    "UpdateExpression": "SET v = :v, n = if_not_exists(n, :zero) + :one",
                    "ConditionExpression": "v = :old",
                    "ExpressionAttributeValues": {
                        ":v": S("b2"),
                        ":old": S("b"),
                        ":zero": {"N": "0"},
                        ":one": {"N": "1"},
                    },
                }
            },
            {"Delete": {"TableName": table, "Key": {"pk": S("A#1"), "sk": S("X")}}},
        ],
        [
            {
                "Update": {
                    "TableName": table,
                    "Key": {"pk": S("B#1"), "sk": S("X")},
                    "UpdateExpression": "SET v = :v",
                    "ConditionExpression": "v = :old",
                    "ExpressionAttributeValues": {":v": S("b3"), ":old": S("b")},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            put("D#1", not_exists, v=S("d")),
        ],
        [
            {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": {"pk": S("B#1"), "sk": S("X")},
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            put("E#1", not_exists, v=S("e")),
        ],
    ]


def _run(client: Any, table: str) -> list[Any]:
    outcomes: list[Any] = []
    for step in SCENARIO(table):
        try:
            client.transact_write_items(TransactItems=step)
            outcomes.append("ok")
        except ClientError as exc:
            error = exc.response["Error"]["Code"]
            reasons = [
                {"Code": r.get("Code"), "Item": r.get("Item")} for r in exc.response.get("CancellationReasons") or []
            ]
            outcomes.append({"error": error, "reasons": reasons})
    items = client.scan(TableName=table, ConsistentRead=True)["Items"]
    outcomes.append(sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"])))
    return outcomes


def test_transact_write_items_matches_dynamodb_local(dynamodb_local_client, table_kwargs):
    from moto import mock_aws
    from moto.dynamodb.models import DynamoDBBackend

    from ocpi_commands_dev.emulation.moto_patches import serialised_dynamodb, transact_write_items

    table = f"parity-{uuid.uuid4().hex[:8]}"
    dynamodb_local_client.create_table(**table_kwargs(table))
    try:
        expected = _run(dynamodb_local_client, table)
    finally:
        dynamodb_local_client.delete_table(TableName=table)

    original = DynamoDBBackend.transact_write_items
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    try:
        with mock_aws(), serialised_dynamodb():
            import boto3

            client = boto3.client("dynamodb", region_name="us-east-1")
            client.create_table(**table_kwargs(table))
            actual = _run(client, table)
    finally:
        DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]
    assert len(actual) == len(expected)
    for number, (mine, theirs) in enumerate(zip(actual, expected, strict=True)):
        assert mine == theirs, f"step {number}"


pytestmark = pytest.mark.dynamodb_local
