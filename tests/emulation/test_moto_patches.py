"""What the emulation changes in moto for speed leaves moto's answers as they were (moto_patches 8-13)."""

from typing import Any

from ocpi_commands_dev.emulation.moto_patches import MotoPatches


class _NoHooks:
    def invoke_lambda(self, function_name: str, event: dict[str, Any], asynchronous: bool) -> Any:
        return None

    def stream_record(self, record: dict[str, Any]) -> None:
        return None

    def take_fault(self, service: str, action: str) -> str | None:
        return None


def S(value: str) -> dict[str, str]:
    return {"S": value}


ITEM = {
    "pk": S("CMD#1"),
    "sk": S("CMD"),
    "text": S('zoë ✓ "quoted" \\ slash'),
    "number": {"N": "12.50"},
    "binary": {"B": b"\x00\xffbytes"},
    "flag": {"BOOL": False},
    "nothing": {"NULL": True},
    "strings": {"SS": ["a", "b"]},
    "numbers": {"NS": ["1", "2.5"]},
    "attempts": {"L": [{"M": {"n": {"N": "1"}, "at": S("2026-01-01T00:00:00Z")}}, S("x")]},
    "token": {"M": {"uid": S("U1"), "valid": {"BOOL": True}}},
}


def _answers(patched: bool) -> list[Any]:
    """The SDK's view of a sequence of item operations, the way the repository makes them."""
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws

    from ocpi_commands_dev.emulation import template as tpl

    answers: list[Any] = []
    with mock_aws():
        patches = MotoPatches(_NoHooks())
        if patched:
            patches.install()
        try:
            client = boto3.client("dynamodb", region_name="us-east-1")
            client.create_table(**tpl.create_table_kwargs(tpl.load_template(), "CommandsTable", "t"))
            key = {"pk": S("CMD#1"), "sk": S("CMD")}
            calls: list[tuple[str, dict[str, Any]]] = [
                ("put_item", {"Item": ITEM}),
                ("get_item", {"Key": key, "ConsistentRead": True}),
                (
                    "update_item",
                    {
                        "Key": key,
                        "UpdateExpression": "SET attempts = list_append(attempts, :a), #s = :s REMOVE flag",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":a": {"L": [S("y")]}, ":s": S("RESOLVED")},
                        "ReturnValues": "ALL_NEW",
                    },
                ),
                (
                    "update_item",
                    {
                        "Key": key,
                        "UpdateExpression": "SET #s = :s",
                        "ConditionExpression": "#s = :pending",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":s": S("X"), ":pending": S("PENDING")},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    },
                ),
                ("query", {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": S("CMD#1")}}),
                ("scan", {}),
                (
                    "transact_write_items",
                    {"TransactItems": [{"Put": {"TableName": "t", "Item": {"pk": S("CMD#2"), "sk": S("CMD")}}}]},
                ),
                ("delete_item", {"Key": key, "ReturnValues": "ALL_OLD"}),
            ]
            for operation, kwargs in calls:
                if operation != "transact_write_items":
                    kwargs = {"TableName": "t", **kwargs}
                try:
                    response = getattr(client, operation)(**kwargs)
                except ClientError as error:
                    response = {"error": error.response["Error"], "item": error.response.get("Item")}
                response.pop("ResponseMetadata", None)
                answers.append((operation, response))
            batch = client.batch_get_item(RequestItems={"t": {"Keys": [{"pk": S("CMD#2"), "sk": S("CMD")}]}})
            answers.append(("batch_get_item", batch["Responses"]))
        finally:
            patches.remove()
    return answers


def test_item_operations_answer_the_same_with_the_emulations_serializer():
    assert _answers(patched=True) == _answers(patched=False)
