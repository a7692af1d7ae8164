"""What the emulation changes in moto, in one place, for exactly one moto version.

moto gives DynamoDB, EventBridge and Step Functions (executing the real ASL). Without Docker it cannot
run Lambda functions, and a few of its behaviours differ from AWS in ways this product relies on.
These hooks patch moto internals, so they are written against one moto version (``PINNED_MOTO``, the
pin of requirements/dev.txt) and refuse to start on any other:

1. ``LambdaFunction.invoke``: the function runs in this process (``Hooks.invoke_lambda``).
2. ``Rule.send_to_targets``: EventBridge rule targets that are Lambda functions run in this process, and
   those that are SQS queues feeding a function go to the emulation's queues (``queues.py``: moto's SQS
   scans every message on each receive and delete, which takes minutes for a 10,000-event refresh).
3. ``StreamShard.add``: stream records are handed to the emulation's stream mapping instead of kept.
4. ``DynamoHandler.call_action``: one request at a time (DynamoDB applies each request atomically),
   and stream records of a failed request (a cancelled transaction) are dropped, as on AWS.
5. ``DynamoDBBackend.transact_write_items``: conditions checked, then writes applied (moto's own
   deep-copies every table of the transaction: O(table size)). A parity test checks it against
   DynamoDB Local.
6. ``EventsHandler.call_action`` and 7. ``StepFunctionResponse.call_action``: fault injection.

And three changes that only make moto's Step Functions interpreter cheaper per execution (the
behaviour is moto's own; ``make load`` measures them):

8. ``AmazonStateLanguageParser.parse``: moto parses the definition with ANTLR and builds its
   evaluation components for every execution (~21 ms for this product's ASL). The program is kept
   per definition text: moto's interpreter keeps an execution's state in the execution's
   ``Environment`` (stack, heap, retry counts), never in the components. The one thing a component
   creates lazily, its heap key, is created before the program is shared.
9. ``jsonpath_ng`` ``parse`` as the interpreter calls it (``json_path.extract_json``, ``ResultPath``):
   each call builds a new yacc parser (~1.5 ms); parsed paths are immutable, so they are kept per
   path text.
10. ``boto_client_for``: the interpreter creates a new boto3 client for every task it runs (the
    Lambda invoke of each state, ~10 ms each); one client per region and service is kept (boto3
    clients are thread-safe).

And two that make every request cheaper:

11. ``DynamoHandler.serialized``: the item operations' results (``DynamoResult``, already DynamoDB
    JSON) are written with ``json.dumps`` (binary values base64-encoded, as moto's generic
    serializer does), instead of moto's shape-driven serializer (~35 % of the emulation's CPU time
    under load, for the command records' many attributes). A test checks both give the same JSON.
12. ``method_names_from_class`` (``inspect.getmembers`` of the handler class on every request): kept
    per class.
13. ``UpdateExpressionParser.make``: an UpdateExpression is tokenised and parsed twice per UpdateItem
    (~1 ms each); the tree is kept per expression text. Nothing changes it: moto only reads it, and
    its validator works on a deep copy.
14. ``DepthFirstTraverser.traverse_node_recursively``, which each of the ten validation passes of
    an UpdateExpression runs over every node (half of an UpdateItem's time): the same traversal,
    with the answers to "is this a node?" and "does this pass process this node class?" kept per
    class, instead of two ABC ``isinstance`` checks and a new dict of bound methods per node; and
    ``Node.find_clauses`` (called at every level of the tree by the clause-count check) likewise.
    (The node classes are ABCs that nothing registers virtual subclasses with: the class decides.)
15. The copy of an UpdateExpression tree its validator makes (``validators.deepcopy``): the same
    copy (cycles and shared nodes included; the node classes define no copy hooks) made for what
    the tree holds, plain objects, lists, dicts and scalars, about ten times faster.
16. ``ConditionExpressionParser._lex_condition_expression``: the tokens of a condition depend on its
    text only (names and values are substituted after); they are kept per text.
17. The 400 KB item limit: moto sums the sizes of all attributes at every attribute it adds or
    sets (quadratic). An item built from attributes is checked once, on the total (sizes only add
    up: the same answer); an attribute set on an item is checked against the item's total kept since
    (with moto's own full sum once the item nears the limit, since moto can also change nested
    values in place).
18. The clause-count check of an UpdateExpression (at most one SET, REMOVE, ADD) runs at every node
    and collects the clauses below it (quadratic): it is made once, at the root, which sees every
    clause; only when it fails does moto's own check run, for moto's own error.
19. UpdateItem's copies of the item before the update: the backend keeps one only for the stream
    record, whose old image a NEW_IMAGE or KEYS_ONLY stream does not carry (for those, the keys are
    kept); the handler renders one only for ReturnValues ALL_OLD, UPDATED_OLD and UPDATED_NEW (for
    NONE and ALL_NEW it is not made).
"""

import base64
import collections
import contextlib
import copy
import functools
import json
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

PINNED_MOTO = "5.2.5"


class EmulationUnavailable(RuntimeError):
    """The emulation cannot run with what is installed."""


def check_moto_version() -> None:
    import moto

    if moto.__version__ != PINNED_MOTO:
        raise EmulationUnavailable(
            f"the local emulation is written against moto {PINNED_MOTO}, but moto {moto.__version__} is installed; "
            f"reinstall the pinned requirements (make venv) or update ocpi_commands_dev/emulation/moto_patches.py"
        )


# One lock for every DynamoDB request of the process: moto applies a request atomically only when
# requests do not interleave.
DYNAMODB_LOCK = threading.RLock()


@contextlib.contextmanager
def serialised_dynamodb() -> Iterator[None]:
    """DynamoDB requests to moto one at a time (for tests that use moto without the whole emulation)."""
    from moto.dynamodb.responses import DynamoHandler

    check_moto_version()
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with DYNAMODB_LOCK:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoHandler.call_action = original  # type: ignore[method-assign]


class Hooks(Protocol):
    """What the patched moto calls back into (implemented by ``stack.LocalAws``)."""

    def invoke_lambda(self, function_name: str, event: dict[str, Any], asynchronous: bool) -> Any: ...

    def stream_record(self, record: dict[str, Any]) -> None: ...

    def queue_handles(self, queue_arn: str) -> bool: ...

    def queue_message(self, queue_arn: str, body: str) -> None: ...

    def take_fault(self, service: str, action: str) -> str | None: ...


class MotoPatches:
    """Install the patches above; ``remove`` restores moto exactly."""

    def __init__(self, hooks: Hooks):
        self.hooks = hooks
        self._saved: list[tuple[Any, str, Any]] = []
        self._pending: list[dict[str, Any]] | None = None
        self._sequence = 0

    def install(self) -> None:
        check_moto_version()
        from moto.awslambda.models import LambdaFunction
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.table import StreamShard
        from moto.dynamodb.responses import DynamoHandler
        from moto.events.models import Rule
        from moto.events.responses import EventsHandler
        from moto.stepfunctions.responses import StepFunctionResponse

        hooks, patches = self.hooks, self

        def lambda_invoke(fn: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
            event = json.loads(body) if body else {}
            invocation_type = (request_headers or {}).get("x-amz-invocation-type", "RequestResponse")
            if invocation_type == "Event":
                hooks.invoke_lambda(fn.function_name, event, True)
                return b""
            try:
                result = hooks.invoke_lambda(fn.function_name, event, False)
            except Exception as exc:
                response_headers["x-amz-function-error"] = "Unhandled"
                error_type = getattr(exc, "error_type", None) or type(exc).__name__  # a worker's error keeps its type
                return json.dumps({"errorType": error_type, "errorMessage": str(exc)[:1000]}).encode()
            return json.dumps(result).encode()

        original_send = Rule.send_to_targets

        def send_to_targets(rule: Any, event: Any, transform_input: bool = True) -> None:
            lambda_targets = [t for t in rule.targets if ":lambda:" in t["Arn"]]
            queue_targets = [t for t in rule.targets if hooks.queue_handles(t["Arn"])]
            if not lambda_targets and not queue_targets:
                return original_send(rule, event, transform_input)
            if not rule.event_pattern.matches_event(event):
                return None
            for target in lambda_targets:
                name = target["Arn"].rsplit(":", 1)[-1]
                hooks.invoke_lambda(name, json.loads(json.dumps(event, default=str)), True)
            if queue_targets:
                message = json.loads(json.dumps(event, default=str))
                if isinstance(message.get("time"), int | float | str) and not str(message["time"]).endswith("Z"):
                    # What EventBridge writes to a queue: the event, its time in ISO 8601.
                    stamp = datetime.fromtimestamp(float(message["time"]), UTC)
                    message["time"] = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
                for target in queue_targets:
                    hooks.queue_message(target["Arn"], json.dumps(message))
            return None

        def stream_add(shard: Any, old: Any, new: Any) -> None:
            # moto's StreamRecord, built directly: moto would also render the image the view type
            # leaves out and dump the record once more to size it. Handed over here, so moto neither
            # keeps the records nor copies them; the JSON round trip detaches them from moto's items.
            patches._sequence += 1
            view = shard.table.stream_specification["StreamViewType"]
            item = old if old is not None else new
            keys = {shard.table.hash_key_attr: item.hash_key.to_json()}
            if shard.table.range_key_attr is not None:
                keys[shard.table.range_key_attr] = item.range_key.to_json()
            dynamodb: dict[str, Any] = {
                "StreamViewType": view,
                "ApproximateCreationDateTime": datetime.now(UTC),
                "SequenceNumber": str(patches._sequence),
                "Keys": keys,
            }
            if view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") and new is not None:
                dynamodb["NewImage"] = new.to_json()["Attributes"]
            if view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and old is not None:
                dynamodb["OldImage"] = old.to_json()["Attributes"]
            text = json.dumps(dynamodb, default=_json_default)
            dynamodb = json.loads(text)
            dynamodb["SizeBytes"] = len(text)
            record = {
                "eventID": uuid.uuid4().hex,
                "eventName": "INSERT" if old is None else "REMOVE" if new is None else "MODIFY",
                "eventSource": "aws:dynamodb",
                "eventVersion": "1.0",
                "awsRegion": "us-east-1",
                "dynamodb": dynamodb,
            }
            if patches._pending is None:
                hooks.stream_record(record)
            else:
                patches._pending.append(record)

        def guarded(handler_cls: Any, service: str, serialise: bool) -> None:
            original = handler_cls.call_action

            def call_action(self: Any) -> Any:
                fault = hooks.take_fault(service, self._get_action())
                if fault is not None:
                    from moto.core.exceptions import JsonRESTError

                    raise JsonRESTError(fault, f"injected fault: {fault}")
                if not serialise:
                    return original(self)
                with DYNAMODB_LOCK:
                    # Held until the request succeeds: a cancelled transaction emits no stream record
                    # on AWS, while moto adds them before rolling the table back.
                    patches._pending = []
                    try:
                        response = original(self)
                        status = response[0] if isinstance(response, tuple) else 200
                        if isinstance(status, int) and status < 400:
                            for record in patches._pending:
                                hooks.stream_record(record)
                        return response
                    finally:
                        patches._pending = None

            self._patch(handler_cls, "call_action", call_action)

        self._patch_step_functions_interpreter()
        self._patch_request_handling()
        self._patch(DynamoDBBackend, "transact_write_items", transact_write_items)
        self._patch(LambdaFunction, "invoke", lambda_invoke)
        self._patch(Rule, "send_to_targets", send_to_targets)
        self._patch(StreamShard, "add", stream_add)
        guarded(DynamoHandler, "dynamodb", serialise=True)
        guarded(EventsHandler, "events", serialise=False)
        guarded(StepFunctionResponse, "stepfunctions", serialise=False)

    def _patch_step_functions_interpreter(self) -> None:
        from moto.stepfunctions.parser.asl.component.common.path import result_path
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
        from moto.stepfunctions.parser.asl.utils import boto_client, json_path

        programs: dict[str, tuple[Any, Any]] = {}
        programs_lock = threading.Lock()
        original_parse = AmazonStateLanguageParser.parse

        def parse_definition(definition: str) -> tuple[Any, Any]:
            found = programs.get(definition)
            if found is None:
                with programs_lock:
                    found = programs.get(definition)
                    if found is None:
                        found = original_parse(definition)
                        _create_heap_keys(found[0])
                        programs[definition] = found
            return found

        self._patch(AmazonStateLanguageParser, "parse", staticmethod(parse_definition))
        self._patch(json_path, "parse", functools.lru_cache(maxsize=1024)(json_path.parse))
        self._patch(result_path, "parse", functools.lru_cache(maxsize=1024)(result_path.parse))

        clients: dict[tuple[str, str, bool], Any] = {}
        clients_lock = threading.Lock()
        original_client_for = boto_client.boto_client_for

        def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
            from moto.core.models import botocore_stubber

            key = (region, service, bool(botocore_stubber.enabled))
            with clients_lock:
                found = clients.get(key)
                if found is None:
                    found = clients[key] = original_client_for(region, service, state_credentials)
                return found

        # Every interpreter module imported the function by name: replace it where it is bound.
        for name, module in list(sys.modules.items()):
            if name.startswith("moto.stepfunctions.parser") and getattr(module, "boto_client_for", None) is (
                original_client_for
            ):
                self._patch(module, "boto_client_for", client_for)

    def _patch_request_handling(self) -> None:
        from moto.core import responses as core_responses
        from moto.dynamodb.responses import DynamoHandler, DynamoResult

        original_serialized = DynamoHandler.serialized

        def serialized(handler: Any, action_result: Any) -> Any:
            if type(action_result) is DynamoResult and handler._get_action() in FAST_DYNAMODB_ACTIONS:
                try:
                    body = json.dumps(action_result.result, default=_dynamodb_json_default)
                except TypeError:  # something else than DynamoDB JSON: moto's own serializer
                    return original_serialized(handler, action_result)
                return 200, {"Content-Type": "application/x-amz-json-1.0", **handler.response_headers}, body
            return original_serialized(handler, action_result)

        self._patch(DynamoHandler, "serialized", serialized)

        from moto.dynamodb.exceptions import ItemSizeTooLarge
        from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
        from moto.dynamodb.models.utilities import bytesize
        from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node  # type: ignore[attr-defined]
        from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

        processed: dict[tuple[type, type], bool] = {}

        def processes(traverser_class: type, traverser: Any, node_class: type) -> bool:
            found = processed.get((traverser_class, node_class))
            if found is None:
                types = tuple(traverser._processing_map().keys())
                found = processed[(traverser_class, node_class)] = issubclass(node_class, types)
            return found

        node_classes: dict[type, bool] = {}

        def is_node(cls: type) -> bool:
            found = node_classes.get(cls)
            if found is None:
                found = node_classes[cls] = issubclass(cls, Node)
            return found

        def traverse_node_recursively(traverser: Any, node: Any, child_id: int = -1) -> Any:
            if is_node(type(node)):
                parent_node = node.parent
                if node.children is not None:
                    for index, child_node in enumerate(node.children):
                        traverser.pre_processing_of_child(node, index)
                        traverse_node_recursively(traverser, child_node, index)
                if processes(type(traverser), traverser, type(node)):
                    node = traverser.process(node)
                    node.parent = parent_node
                    if parent_node:
                        parent_node.children[child_id] = node
            return node

        self._patch(DepthFirstTraverser, "traverse_node_recursively", traverse_node_recursively)

        from moto.dynamodb.parsing.ast_nodes import Expression, UpdateExpressionFunction  # type: ignore[attr-defined]

        descends: dict[type, bool] = {}

        def find_clauses(node: Any, clause_types: Any) -> list[Any]:
            clauses = []
            for child in node.children or []:
                child_class = type(child)
                if child_class in clause_types:
                    clauses.append(child)
                    continue
                found = descends.get(child_class)
                if found is None:
                    found = descends[child_class] = issubclass(child_class, (Expression, UpdateExpressionFunction))
                if found:
                    clauses.extend(find_clauses(child, clause_types))
            return clauses

        self._patch(Node, "find_clauses", find_clauses)

        def item_init(item: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
            item.hash_key = hash_key
            item.range_key = range_key
            values = LimitedSizeDict.__new__(LimitedSizeDict)
            for key, value in attrs.items():
                dict.__setitem__(values, key, DynamoType(value))
            total = sum(bytesize(key) + value.size() for key, value in values.items())
            if total > ITEM_LIMIT:
                raise ItemSizeTooLarge
            values.__dict__["_emulation_size"] = total
            item.attrs = values

        def set_attribute(values: Any, key: str, value: Any) -> None:
            new_size = bytesize(key) + (value.size() if type(value) is DynamoType else bytesize(str(value)))
            total = values.__dict__.get("_emulation_size")
            if total is None or total + new_size > ITEM_LIMIT * 3 // 4:  # moto's own sum
                total = sum(
                    item.size() if type(item) is DynamoType else bytesize(str(item))
                    for item in (list(values.keys()) + list(values.values()))
                )
            if total + new_size > ITEM_LIMIT:
                raise ItemSizeTooLarge
            old = dict.get(values, key)
            dict.__setitem__(values, key, value)
            if old is not None:
                total -= bytesize(key) + (old.size() if type(old) is DynamoType else bytesize(str(old)))
            values.__dict__["_emulation_size"] = total + new_size

        self._patch(LimitedSizeDict, "__setitem__", set_attribute)
        self._patch(Item, "__init__", item_init)

        from moto.dynamodb.parsing.validators import ActionCountValidator

        original_count = ActionCountValidator.traverse

        def count_clauses_at_the_root(validator: Any, node: Any) -> Any:
            try:
                validator.verify_action_counts(node)
            except Exception:  # noqa: BLE001 - moto's own traversal finds and raises its own error
                return original_count(validator, node)
            return node

        self._patch(ActionCountValidator, "traverse", count_clauses_at_the_root)

        import moto.dynamodb.models as dynamodb_models
        from moto.dynamodb.models import DynamoDBBackend

        keys_only = threading.local()
        original_update_item = DynamoDBBackend.update_item

        def update_item(backend: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
            spec = backend.get_table(table_name).stream_specification or {}
            keys_only.old = spec.get("StreamViewType") in (None, "NEW_IMAGE", "KEYS_ONLY")
            try:
                return original_update_item(backend, table_name, *args, **kwargs)
            finally:
                keys_only.old = False

        class _CopyForTheStream:
            """``copy`` as moto's DynamoDB models module sees it (its one deepcopy is the old item)."""

            def __getattr__(self, name: str) -> Any:
                return getattr(copy, name)

            def deepcopy(self, value: Any, memo: Any = None) -> Any:
                if getattr(keys_only, "old", False) and isinstance(value, Item):
                    old = object.__new__(Item)
                    old.hash_key, old.range_key = value.hash_key, value.range_key
                    old.attrs = LimitedSizeDict.__new__(LimitedSizeDict)
                    return old
                return copy.deepcopy(value, memo)

        self._patch(DynamoDBBackend, "update_item", update_item)
        self._patch(dynamodb_models, "copy", _CopyForTheStream())

        import moto.dynamodb.responses as dynamodb_responses

        original_handler_update = DynamoHandler.update_item

        def handler_update_item(handler: Any) -> Any:
            keys_only.unused_old = handler.body.get("ReturnValues", "NONE") in ("NONE", "ALL_NEW")
            try:
                return original_handler_update(handler)
            finally:
                keys_only.unused_old = False

        class _CopyForReturnValues:
            """``copy`` as moto's DynamoDB handler sees it (its one deepcopy is the item for ReturnValues)."""

            def __getattr__(self, name: str) -> Any:
                return getattr(copy, name)

            def deepcopy(self, value: Any, memo: Any = None) -> Any:
                if getattr(keys_only, "unused_old", False) and isinstance(value, Item):
                    return None  # moto then compares nothing, which NONE and ALL_NEW never look at
                return copy.deepcopy(value, memo)

        self._patch(DynamoHandler, "update_item", handler_update_item)
        self._patch(dynamodb_responses, "copy", _CopyForReturnValues())

        from moto.dynamodb import comparisons
        from moto.dynamodb.parsing import validators

        def copy_tree(value: Any, memo: dict[int, Any] | None = None) -> Any:
            """deepcopy, for the plain objects, lists, dicts and scalars an expression tree is made of."""
            if memo is None:
                memo = {}
            if value is None or type(value) in _SCALARS:
                return value
            found = memo.get(id(value))
            if found is not None:
                return found
            if type(value) is list:
                copied_list: list[Any] = []
                memo[id(value)] = copied_list
                copied_list.extend(copy_tree(v, memo) for v in value)
                return copied_list
            if type(value) is dict:
                copied_dict: dict[Any, Any] = {}
                memo[id(value)] = copied_dict
                copied_dict.update((k, copy_tree(v, memo)) for k, v in value.items())
                return copied_dict
            if isinstance(value, Node):
                copied = object.__new__(type(value))
                memo[id(value)] = copied
                copied.__dict__.update((k, copy_tree(v, memo)) for k, v in value.__dict__.items())
                return copied
            return copy.deepcopy(value, memo)

        self._patch(validators, "deepcopy", copy_tree)

        tokens: dict[str, Any] = {}
        original_lex = comparisons.ConditionExpressionParser._lex_condition_expression

        def lex_condition_expression(parser: Any) -> Any:
            found = tokens.get(parser.condition_expression)
            if found is None:
                found = original_lex(parser)
                if len(tokens) < 4096:
                    tokens[parser.condition_expression] = tuple(found)
                return found
            return collections.deque(found)

        self._patch(comparisons.ConditionExpressionParser, "_lex_condition_expression", lex_condition_expression)

        parse = functools.lru_cache(maxsize=1024)(UpdateExpressionParser.make)

        def make(cls: Any, expression: str) -> Any:
            return parse(expression)

        self._patch(UpdateExpressionParser, "make", classmethod(make))
        method_names = functools.lru_cache(maxsize=256)(core_responses.method_names_from_class)
        self._patch(core_responses, "method_names_from_class", method_names)

    def _patch(self, owner: Any, name: str, replacement: Any) -> None:
        # A class's own attribute as stored (a staticmethod stays one when restored).
        original = vars(owner)[name] if isinstance(owner, type) and name in vars(owner) else getattr(owner, name)
        self._saved.append((owner, name, original))
        setattr(owner, name, replacement)

    def remove(self) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)
        self._saved.clear()


def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
    """TransactWriteItems: every condition is checked, then every write applied (DynamoDB's semantics).

    Requests are serialised by the emulation (``DYNAMODB_LOCK``), so checking first and writing
    second is atomic here.
    """
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen: set[tuple[str, str]] = set()
    errors: list[tuple[Any, Any, Any]] = []
    operations = []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException()
        op_type, op = next(iter(item.items()))
        table = backend.get_table(op["TableName"])
        if op_type == "Put":
            key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = op["Item"][table.range_key_attr]
        else:
            key = op["Key"]
        identity = (op["TableName"], json.dumps(key, sort_keys=True))
        if identity in seen:
            raise MultipleTransactionsException()
        seen.add(identity)
        current = backend.get_item(op["TableName"], key)
        condition = op.get("ConditionExpression")
        failed = condition is not None and not get_filter_expression(
            condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        ).expr(current)
        if failed:
            old = (
                current.to_json()["Attributes"]
                if current and op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
                else None
            )
            errors.append(("ConditionalCheckFailed", "The conditional request failed", old))
        else:
            errors.append((None, None, None))
        operations.append((op_type, op, key))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    for op_type, op, key in operations:
        if op_type == "Put":
            backend.put_item(op["TableName"], op["Item"])
        elif op_type == "Delete":
            backend.delete_item(op["TableName"], key)
        elif op_type == "Update":
            backend.update_item(
                op["TableName"],
                key,
                update_expression=op["UpdateExpression"],
                expression_attribute_names=op.get("ExpressionAttributeNames"),
                expression_attribute_values=op.get("ExpressionAttributeValues"),
            )


_SCALARS = frozenset({str, int, float, bool, bytes})
ITEM_LIMIT = 405000  # moto's item size limit (DynamoDB's 400 KB, as moto measures it)

# Item operations: their results hold only DynamoDB JSON (no timestamps), which json.dumps writes as is.
FAST_DYNAMODB_ACTIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)


def _dynamodb_json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"not DynamoDB JSON: {type(value).__name__}")


def _create_heap_keys(program: Any) -> None:
    """Touch ``heap_key`` on every evaluation component of ``program`` (moto creates it lazily)."""
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    seen: set[int] = set()
    todo = [program]
    while todo:
        value = todo.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, EvalComponent):
            _ = value.heap_key
        if isinstance(value, (list, tuple, set)):
            todo.extend(value)
        elif isinstance(value, dict):
            todo.extend(value.values())
        elif hasattr(value, "__dict__") and type(value).__module__.startswith("moto.stepfunctions"):
            todo.extend(vars(value).values())


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    return str(value)
